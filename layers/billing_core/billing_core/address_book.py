"""The address book (client groups and their computers) and contracts: which profile a group is
accounted by, with that group's own subscription balance and its recharges."""
import secrets
from decimal import Decimal

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from . import fields, history, models
from .errors import Conflict, InvalidInput, NotFound
from .models import Computer, Contract, Group, keys
from .profiles import latest_version
from .sessions import balance_view, contract_view, find_contract
from .tariff import Subscription


def group_view(group: Group) -> dict:
    return {"group_id": group.group_id, "name": group.name, "profile_id": group.profile_id}


def _group(tenant_id: str, group_id: str) -> Group:
    models.bind()
    try:
        return Group.get(keys.group(tenant_id, group_id), "GROUP", consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"group {group_id} not found") from None


def put_group(tenant_id: str, group_id: str, values: dict) -> tuple[bool, dict]:
    """Creates or renames a group; answers (created, group)."""
    name = fields.name("name", values.get("name")) if "name" in values else None
    if name is None:
        raise InvalidInput("name", "is required")
    models.bind()
    try:
        group = _group(tenant_id, group_id)
    except NotFound:
        group = Group(
            keys.group(tenant_id, group_id), "GROUP",
            GSI1PK=keys.groups(tenant_id), GSI1SK=group_id,
            group_id=group_id, name=name, created_at=fields.utc_now(),
        )
        group.save()  # the same PUT twice stores the same group: no condition needed
        return True, group_view(group)
    group.update(actions=[Group.name.set(name)])
    return False, group_view(group)


def list_groups(tenant_id: str) -> dict:
    models.bind()
    return {"groups": [group_view(group) for group in Group.gsi1.query(keys.groups(tenant_id))]}


def put_computer(tenant_id: str, group_id: str, computer_id: str, values: dict) -> dict:
    """Creates or moves a computer into a group: its uploads are booked there from now on."""
    if "name" not in values:
        raise InvalidInput("name", "is required")
    name = fields.name("name", values["name"])
    computer = Computer(
        keys.computer(tenant_id, computer_id), "COMPUTER",
        GSI1PK=keys.computers_of(tenant_id, group_id), GSI1SK=computer_id,
        computer_id=computer_id, group_id=group_id, name=name,
    )
    try:
        with TransactWrite(connection=models.connection()) as transaction:
            transaction.condition_check(Group, keys.group(tenant_id, group_id), "GROUP", condition=Group.PK.exists())
            transaction.save(computer)
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise NotFound(f"group {group_id} not found") from None
        raise
    return {"computer_id": computer_id, "group_id": group_id, "name": name}


def assign_profile(tenant_id: str, group_id: str, values: dict, actor: str) -> dict:
    """Makes a profile the group's contract. Re-assigning the same profile keeps the contract and
    its balance; another profile starts a new contract (a new balance). Accounted sessions keep
    the price they were locked with."""
    if "profile_id" not in values:
        raise InvalidInput("profile_id", "is required")
    profile_id = fields.identifier("profile_id", values["profile_id"])
    group = _group(tenant_id, group_id)
    profile = latest_version(tenant_id, profile_id)
    current = find_contract(tenant_id, group_id)
    if current is not None and current.profile_id == profile_id:
        return contract_answer(current)
    contract = Contract(
        keys.group(tenant_id, group_id), "CONTRACT",
        GSI1PK=keys.contracts_of(tenant_id, profile_id), GSI1SK=group_id,
        contract_id=f"ctr_{secrets.token_hex(8)}",
        group_id=group_id,
        profile_id=profile_id,
        profile_version=profile.version,
        profile_name=profile.name,
        tariff=profile.tariff,
        assigned_at=fields.utc_now(),
        assigned_by=actor or None,
        recharged_minutes=0,
        recharged_amount=Decimal("0.00"),
        used_minutes=0,
        revision=(current.revision + 1) if current else 1,
    )
    # Replace exactly the contract that was read: a lock priced on it fails on the revision.
    unchanged = Contract.PK.does_not_exist() if current is None else (Contract.revision == current.revision)
    changes = {
        "contract_id": history.change(current.contract_id if current else None, contract.contract_id),
        "profile_id": history.change(current.profile_id if current else None, profile_id),
        "profile_version": history.change(current.profile_version if current else None, profile.version),
    }
    try:
        with TransactWrite(connection=models.connection()) as transaction:
            transaction.save(contract, condition=unchanged)
            transaction.update(group, actions=[Group.profile_id.set(profile_id)], condition=Group.PK.exists())
            transaction.save(history.entry(group.PK, actor, history.ASSIGNED, changes, contract.assigned_at))
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise Conflict(f"the contract of group {group_id} changed meanwhile; retry", "retry") from None
        raise
    return contract_answer(contract)


def contract_answer(contract: Contract) -> dict:
    answer = contract_view(contract)
    if isinstance(contract.tariff, Subscription):
        answer["balance"] = balance_view(contract)
    return answer


def recharge(tenant_id: str, group_id: str, values: dict, actor: str) -> dict:
    """Adds hours and an amount to the group's subscription balance."""
    for required in ("hours", "amount"):
        if required not in values:
            raise InvalidInput(required, "is required")
    hours = fields.hours("hours", values["hours"])
    amount = fields.money("amount", values["amount"])
    if hours == 0 and amount == 0:
        raise InvalidInput("hours", "a recharge must add hours or an amount")
    _group(tenant_id, group_id)
    contract = find_contract(tenant_id, group_id)
    if contract is None:
        raise Conflict(f"group {group_id} has no contract", "no_contract")
    if not isinstance(contract.tariff, Subscription):
        raise Conflict(f"group {group_id} is on a pay-per-use profile: only subscriptions are recharged", "not_subscription")
    minutes = int(hours * 60)
    changes = {
        "hours": history.change(None, hours),
        "amount": history.change(None, fields.money_text(amount)),
        "recharged_minutes": history.change(contract.recharged_minutes, contract.recharged_minutes + minutes),
        "recharged_amount": history.change(
            fields.money_text(contract.recharged_amount), fields.money_text(contract.recharged_amount + amount)
        ),
    }
    entry = history.entry(contract.PK, actor, history.RECHARGED, changes)
    try:
        with TransactWrite(connection=models.connection()) as transaction:
            # Exactly the balance that was read, so the entry's before/after are true.
            transaction.update(
                contract,
                actions=[Contract.recharged_minutes.add(minutes), Contract.recharged_amount.add(amount)],
                condition=(Contract.contract_id == contract.contract_id)
                & (Contract.recharged_minutes == contract.recharged_minutes)
                & (Contract.recharged_amount == contract.recharged_amount),
            )
            transaction.save(entry)
    except TransactWriteError as error:
        if error.cause_response_code == "TransactionCanceledException":
            raise Conflict(f"the contract of group {group_id} changed meanwhile; retry", "retry") from None
        raise
    contract.recharged_minutes += minutes
    contract.recharged_amount += amount
    return {
        "group_id": group_id,
        "contract_id": contract.contract_id,
        "hours": hours,
        "amount": fields.money_text(amount),
        "recharged_at": fields.utc_text(entry.at),
        "balance": balance_view(contract),
    }


def group_history(tenant_id: str, group_id: str) -> dict:
    """One Query of the group's partition: the group, its contract and every entry about them."""
    entries, subjects = history.read(keys.group(tenant_id, group_id))
    if not any(isinstance(item, Group) for item in subjects):
        raise NotFound(f"group {group_id} not found")
    return {"group_id": group_id, "history": entries}
