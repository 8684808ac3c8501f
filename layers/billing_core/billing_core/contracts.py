"""Contracts and their balances (SPEC §3, §8): which profile a group is accounted by, versioned
and never overwritten, and a subscription's balance kept as a ledger whose entries are written in
the same transaction as their cause (assignment, recharge, lock, carry-over, closing, expiry)."""
from __future__ import annotations

import base64
import binascii
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from . import actors, fields, history, ledger
from .dal import contracts as dal_contracts
from .dal import periods as dal_periods
from .dal import store
from .dal.models import Contract, Group, LedgerEntry, ProfileVersion
from .dal.outcomes import LostRace
from .errors import Conflict, InvalidInput, NotFound
from .contract_views import balance_of, balance_view, contract_view, group_and_contract
from .ledger import Balance, Change
from .periods import calendar_from
from .tariff import Subscription
from .tariff_fields import tariff_values

if TYPE_CHECKING:  # annotations only: idempotency is loaded by a request that sends a key
    from .idempotency import Claim

BALANCE_MODES = ("carry_over", "close")
LEDGER_PAGE = 500


# ---------------------------------------------------------------- reads


def group_contract(tenant_id: str, group_id: str) -> Contract | None:
    return group_and_contract(tenant_id, group_id)[1]


def dated_now(tenant_id: str, group_id: str, what: str) -> tuple[Group, Contract | None, datetime, list[str]]:
    """For a change made now (a recharge, an assignment): the group and its contract, now, and
    now's month, read with the tenant's calendar in one BatchGetItem; 404 without the group, 409
    `period_closed` when the month is closed (the write holds it open: `_answered`)."""
    group, contract, calendar = dal_periods.group_contract_calendar(tenant_id, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    now = fields.utc_now()
    return group, contract, now, calendar_from(calendar).refuse_closed([now], what)


def _answered(tenant_id: str, months: list[str], claim: Claim | None, answer: dict):
    """What a dated write holds besides its effect: its months still open, the key's answer."""
    return dal_periods.with_open_checks(tenant_id, months, dal_contracts.answered(claim, answer))


def contract_answer(contract: Contract) -> dict:
    answer = contract_view(contract)
    if isinstance(contract.tariff, Subscription):
        answer["balance"] = balance_view(contract, contract.closed_at)
    return answer


def list_contracts(tenant_id: str, group_id: str) -> dict:
    """Every contract of the group, newest first: the current one, then the closed ones."""
    _, current = group_and_contract(tenant_id, group_id)
    closed = dal_contracts.closed(tenant_id, group_id, newest_first=True)
    found = ([current] if current else []) + list(closed)
    return {"group_id": group_id, "contracts": [contract_answer(c) for c in found]}


def _contract_by_id(tenant_id: str, group_id: str, contract_id: str) -> Contract:
    _, current = group_and_contract(tenant_id, group_id)
    if current is not None and current.contract_id == contract_id:
        return current
    for contract in dal_contracts.closed(tenant_id, group_id):
        if contract.contract_id == contract_id:
            return contract
    raise NotFound(f"group {group_id} has no contract {contract_id}")


def ledger_view(tenant_id: str, group_id: str, query: dict) -> dict:
    """The contract's entries, oldest first, each with the available minutes after it. Blocks that
    expired since the last entry are shown as pending `expiry` entries, so the last running
    balance is always the balance answered now."""
    unknown = sorted(set(query) - {"contract_id", "cursor", "limit"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of the ledger")
    if query.get("contract_id") in (None, ""):
        _, contract = group_and_contract(tenant_id, group_id)
        if contract is None:
            raise NotFound(f"group {group_id} has no contract")
    else:
        contract = _contract_by_id(tenant_id, group_id, fields.identifier("contract_id", query["contract_id"]))
    after, running = _ledger_cursor(query.get("cursor"), contract)
    limit = fields.page_limit(query.get("limit"), LEDGER_PAGE)
    entries = dal_contracts.ledger_page(tenant_id, group_id, contract.contract_id, after, limit + 1)
    more = len(entries) > limit
    entries = entries[:limit]
    answer = []
    for entry in entries:  # a shared lock's entry has no running balance of its own: the previous one's plus its minutes
        running = int(entry.running_balance) if entry.running_balance is not None else running + int(entry.minutes)
        answer.append(entry_view(entry, running))
    balance = balance_of(contract)
    if not more and balance is not None and contract.closed_at is None:
        running = running if entries or after else balance.entered_minutes()
        for change in balance.expire(fields.utc_now())[1]:
            running += change.minutes
            answer.append({**change_view(change, running), "entry_id": None, "pending": True})
    return {
        "group_id": group_id,
        "contract_id": contract.contract_id,
        "entries": answer,
        "next_cursor": _encode_ledger_cursor(contract, entries[-1], running) if more else None,
    }


def entry_view(entry: LedgerEntry, running: int) -> dict:
    who, role = actors.view(entry.actor)
    return {
        "entry_id": entry.entry_id,
        "kind": entry.entry_kind,
        "minutes": entry.minutes,
        "amount": fields.money_text(entry.amount),
        "at": fields.utc_text(entry.at),
        "actor": who,
        "role": role,
        "session_id": entry.session_id,
        "block_id": entry.block_id,
        "expires_at": fields.utc_text(entry.expires_at) if entry.expires_at else None,
        "running_balance": running,
    }


def change_view(change: Change, running: int) -> dict:
    return {
        "kind": change.kind, "minutes": change.minutes, "amount": fields.money_text(change.amount),
        "at": fields.utc_text(change.at), "actor": None, "role": None, "session_id": change.session_id,
        "block_id": change.block_id, "expires_at": fields.utc_text(change.expires_at) if change.expires_at else None,
        "running_balance": running,
    }


def _encode_ledger_cursor(contract: Contract, entry: LedgerEntry, running: int) -> str:
    text = json.dumps({"contract_id": contract.contract_id, "after": dal_contracts.entry_position(entry), "running": running})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _ledger_cursor(cursor, contract: Contract) -> tuple[str | None, int]:
    """Where the page starts (None: at the first entry) and the running balance before it."""
    if cursor in (None, ""):
        return None, 0
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (isinstance(position, dict) and position.get("contract_id") == contract.contract_id
                and isinstance(position.get("after"), str) and dal_contracts.is_entry_position(position["after"])
                and type(position.get("running")) is int):
            return position["after"], position["running"]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput("cursor", "is not a cursor this ledger gave")


# ---------------------------------------------------------------- writes


def refresh(tenant_id: str, contract: Contract, profile: ProfileVersion, actor: str | None, extra=None) -> Contract:
    """The contract takes the profile's latest tariff (its balance untouched: the allotment was
    copied at assignment), with an entry in its group's history. `LostRace` when it changed."""
    changes = {
        "profile_version": history.change(contract.profile_version, profile.version),
        "tariff": history.change(tariff_values(contract.tariff), tariff_values(profile.tariff)),
    }
    entry = history.entry(contract.PK, actor, history.PROFILE_UPDATED, changes)
    return dal_contracts.refresh_contract(tenant_id, contract, profile, entry, extra)


def _group(tenant_id: str, group_id: str) -> Group:
    group = dal_contracts.group(tenant_id, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    return group


def parse_assignment(values: dict) -> tuple[str, str | None, datetime | None]:
    if "profile_id" not in values:
        raise InvalidInput("profile_id", "is required")
    profile_id = fields.identifier("profile_id", values["profile_id"])
    mode = values.get("balance")
    if mode is not None and mode not in BALANCE_MODES:
        raise InvalidInput("balance", f"must be one of {', '.join(BALANCE_MODES)}")
    valid_until = None if values.get("valid_until") is None else fields.timestamp("valid_until", values["valid_until"])
    return profile_id, mode, valid_until


def assign_profile(tenant_id: str, group_id: str, values: dict, actor: str | None, claim: Claim | None = None) -> dict:
    """Makes a profile the group's contract (SPEC §8). The same profile again re-syncs the contract
    to its latest version; another profile starts contract n+1 with the allotment copied from the
    profile, after the current balance is carried over or closed, as the request says."""
    from .profiles import latest_version

    profile_id, mode, valid_until = parse_assignment(values)
    backoff = store.Backoff("the assignment")
    now_current = None  # the current contract as a lost race handed it back: the group and profile stay as read
    while True:
        if now_current is None:
            group, current, now, months = dated_now(tenant_id, group_id, f"assigning a profile to group {group_id}")
            profile = latest_version(tenant_id, profile_id)
        else:  # the instant and month stay those read (the write holds the month open)
            current, now_current = now_current, None
            backoff.progressed()  # locks charged the balance meanwhile: their progress, not a livelock
        try:
            if current is not None and current.profile_id == profile_id and valid_until is None:
                return _resync(tenant_id, current, profile, actor, claim, months)
            return _new_contract(tenant_id, group, current, profile, mode, valid_until, actor, now, claim, months)
        except LostRace as lost:
            now_current = lost.contract  # None: the contract or the profile changed otherwise, read again
            backoff.wait()


def _resync(tenant_id: str, current: Contract, profile: ProfileVersion, actor, claim: Claim | None, months: list[str]) -> dict:
    if current.profile_version == profile.version:
        answer = contract_answer(current)
        dal_contracts.confirm_contract(tenant_id, current, _answered(tenant_id, months, claim, answer))
        return answer
    answer = contract_answer(dal_contracts.refreshed_copy(current, profile))
    refresh(tenant_id, current, profile, actor, _answered(tenant_id, months, claim, answer))
    return answer


def _new_contract(tenant_id, group: Group, current: Contract | None, profile: ProfileVersion, mode, valid_until, actor, now,
                  claim: Claim | None, months: list[str]) -> dict:
    if current is not None and profile.tariff.currency != current.tariff.currency and mode == "carry_over":
        raise Conflict("a balance carries over only into a profile of the same currency", "carry_over_currency")
    old_balance = balance_of(current) if current is not None else None
    old_changes: list[Change] = []
    carried = 0
    if old_balance is not None:
        old_balance, old_changes = old_balance.expire(now)
        open_minutes = old_balance.entered_minutes()
        if open_minutes != 0 and mode is None:
            raise Conflict(
                f"the current contract's balance is {open_minutes} minutes: re-assign with \"balance\": \"carry_over\" "
                "(moved into the new contract) or \"close\" (ended with the old contract)", "balance_open")
        if mode == "carry_over" and open_minutes != 0:
            if not isinstance(profile.tariff, Subscription):
                raise Conflict("only a subscription can take a carried-over balance", "carry_over_needs_subscription")
            carried = open_minutes
            old_changes.append(Change(ledger.CARRY_OVER, -open_minutes, now))
        elif open_minutes != 0:
            old_changes.append(old_balance.close(now))

    contract = dal_contracts.new_contract(tenant_id, group.group_id, current, profile, actor, now, valid_until)
    new_entries: list[LedgerEntry] = []
    if isinstance(profile.tariff, Subscription):
        start = Balance()
        balance, allotment = start.add_block(ledger.ALLOTMENT, f"{contract.contract_id}-allotment", profile.tariff.total_minutes,
                                             profile.tariff.amount, now, valid_until)
        changes = [allotment]
        if carried > 0:
            balance, change = balance.add_block(ledger.CARRY_OVER, f"{contract.contract_id}-carried", carried, ledger.ZERO, now)
            changes.append(change)
        elif carried < 0:
            balance, change = balance.carry_overrun(-carried, now)
            changes.append(change)
        new_entries = dal_contracts.ledger_entries(tenant_id, contract, start, changes, actor)
        dal_contracts.set_balance(contract, balance, len(new_entries))

    closed = None
    old_entries: list[LedgerEntry] = []
    if current is not None:
        closed = dal_contracts.closed_copy(tenant_id, current, now)
        if old_balance is not None:
            old_entries = dal_contracts.ledger_entries(tenant_id, current, balance_of(current), old_changes, actor)
            # Carried over or closed, nothing is left in the old contract's blocks.
            dal_contracts.set_balance(closed, old_balance.replace(blocks=(), overrun_minutes=0) if mode else old_balance,
                                      len(old_entries))

    changes = {
        "contract_id": history.change(current.contract_id if current else None, contract.contract_id),
        "profile_id": history.change(current.profile_id if current else None, profile.profile_id),
        "profile_version": history.change(current.profile_version if current else None, profile.version),
    }
    if mode:
        changes["balance"] = history.change(None, mode)
    entry = history.entry(group.PK, actor, history.ASSIGNED, changes, now)
    answer = contract_answer(contract)
    dal_contracts.assign_contract(tenant_id, group, current, contract, closed, old_entries + new_entries, entry,
                                  _answered(tenant_id, months, claim, answer))
    return answer


def parse_recharge(values: dict):
    for required in ("hours", "amount"):
        if required not in values:
            raise InvalidInput(required, "is required")
    hours = fields.hours("hours", values["hours"])
    amount = fields.money("amount", values["amount"])
    if hours == 0 and amount == 0:
        raise InvalidInput("hours", "a recharge must add hours or an amount")
    expires_at = None if values.get("expires_at") is None else fields.timestamp("expires_at", values["expires_at"])
    return hours, amount, expires_at


def recharge(tenant_id: str, group_id: str, values: dict, actor: str | None, claim: Claim | None = None) -> dict:
    """Adds a block of hours (and its amount) to the group's subscription balance; the block
    settles any overrun first. Written with its ledger entry, over exactly the balance read."""
    hours, amount, expires_at = parse_recharge(values)
    minutes = int(hours * 60)
    backoff = store.Backoff("the recharge")
    contract = None  # as the last attempt's failure handed it back: read again only when it did not
    while True:
        if contract is None:  # else the instant and month stay those read (the write holds the month open)
            _, contract, now, months = dated_now(tenant_id, group_id, f"a recharge of group {group_id}")
        if contract is None:
            raise Conflict(f"group {group_id} has no contract", "no_contract")
        if not isinstance(contract.tariff, Subscription):
            raise Conflict(f"group {group_id} is on a pay-per-use profile: only subscriptions are recharged", "not_subscription")
        before = balance_of(contract)
        balance, changes = before.expire(now)
        block_id = f"rch_{secrets.token_hex(6)}"
        balance, change = balance.add_block(ledger.RECHARGE, block_id, minutes, amount, now, expires_at)
        balance = balance.rearm(contract.tariff.alert_thresholds, now)
        entries = dal_contracts.ledger_entries(tenant_id, contract, before, changes + [change], actor)
        history_entry = history.entry(contract.PK, actor, history.RECHARGED, {
            "hours": history.change(None, hours),
            "amount": history.change(None, fields.money_text(amount)),
            "block_id": history.change(None, block_id),
            "recharged_minutes": history.change(before.recharged_minutes, balance.recharged_minutes),
            "recharged_amount": history.change(fields.money_text(before.recharged_amount), fields.money_text(balance.recharged_amount)),
        }, now)
        answer = {
            "group_id": group_id,
            "contract_id": contract.contract_id,
            "block_id": block_id,
            "hours": hours,
            "amount": fields.money_text(amount),
            "expires_at": fields.utc_text(expires_at) if expires_at else None,
            "recharged_at": fields.utc_text(now),
            "balance": balance.view(now),
        }
        try:
            dal_contracts.recharge(contract, balance, entries, history_entry, _answered(tenant_id, months, claim, answer))
            return answer
        except LostRace as lost:
            contract = lost.contract  # a lock or another recharge changed the balance meanwhile: go again on it
            if contract is not None:
                backoff.progressed()  # others' progress, not a livelock
            backoff.wait()
