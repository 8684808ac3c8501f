"""A client group's current contract as read and answered (its view, its balance), for those who
change no contract (exports, totals, locks): billing_core.contracts, which changes contracts,
loads the calendar and the tenant's periods on top (~5 ms of a cold start the export function
does without)."""
import json
from datetime import datetime

from . import fields, ledger
from .dal import contracts as dal_contracts
from .dal.models import Contract, Group
from .errors import NotFound
from .ledger import Balance


def current_contract(tenant_id: str, group_id: str) -> Contract | None:
    return dal_contracts.current(tenant_id, group_id)


def group_and_contract(tenant_id: str, group_id: str) -> tuple[Group, Contract | None]:
    """The group and its current contract in one BatchGetItem; 404 when there is no group."""
    group, contract = dal_contracts.group_and_current(tenant_id, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    return group, contract


def written_balance(contract: Contract) -> Balance | None:
    """The balance as last written whole (without the minutes locks took from its room since)."""
    return ledger.load(json.loads(contract.balance)) if contract.balance else None


def balance_of(contract: Contract) -> Balance | None:
    """The balance now: as written whole, less the minutes locks took from its room since."""
    balance = written_balance(contract)
    pending = int(contract.pending_minutes or 0)
    return balance.draw(pending) if balance is not None and pending else balance


def balance_view(contract: Contract, at: datetime | None = None) -> dict | None:
    balance = balance_of(contract)
    return None if balance is None else balance.view(at or fields.utc_now())


def contract_view(contract: Contract | None) -> dict | None:
    if contract is None:
        return None
    return {
        "contract_id": contract.contract_id,
        "number": contract.number,
        "group_id": contract.group_id,
        "profile_id": contract.profile_id,
        "profile_version": contract.profile_version,
        "profile_name": contract.profile_name,
        "type": contract.tariff.type,
        "currency": contract.tariff.currency,
        "assigned_at": fields.utc_text(contract.assigned_at),
        "closed_at": fields.utc_text(contract.closed_at) if contract.closed_at else None,
        "valid_until": fields.utc_text(contract.valid_until) if contract.valid_until else None,
    }
