"""Contracts and their balances (SPEC §3, §8): which profile a group is accounted by, versioned
and never overwritten, and a subscription's balance kept as a ledger whose entries are written in
the same transaction as their cause (assignment, recharge, lock, carry-over, closing, expiry)."""
import base64
import binascii
import json
import secrets
from datetime import datetime

from . import fields, history, ledger
from .dal import store as storage
from .errors import Conflict, InvalidInput, NotFound
from .idempotency import Claim
from .ledger import Balance, Change
from .dal.models import Contract, Group, LedgerEntry, ProfileVersion, keys
from .tariff import Subscription, tariff_values

BALANCE_MODES = ("carry_over", "close")
LEDGER_PAGE = 500


# ---------------------------------------------------------------- reads


def current_contract(tenant_id: str, group_id: str) -> Contract | None:
    return storage.get(Contract, keys.group(tenant_id, group_id), "CONTRACT")


def group_and_contract(tenant_id: str, group_id: str) -> tuple[Group, Contract | None]:
    """The group and its current contract in one BatchGetItem; 404 when there is no group."""
    partition = keys.group(tenant_id, group_id)
    found = storage.batch_get([(partition, "GROUP"), (partition, "CONTRACT")])
    group = found.get((partition, "GROUP"))
    if not isinstance(group, Group):
        raise NotFound(f"group {group_id} not found")
    contract = found.get((partition, "CONTRACT"))
    return group, contract if isinstance(contract, Contract) else None


def group_contract(tenant_id: str, group_id: str) -> Contract | None:
    return group_and_contract(tenant_id, group_id)[1]


def balance_of(contract: Contract) -> Balance | None:
    return ledger.load(json.loads(contract.balance)) if contract.balance else None


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


def contract_answer(contract: Contract) -> dict:
    answer = contract_view(contract)
    if isinstance(contract.tariff, Subscription):
        answer["balance"] = balance_view(contract, contract.closed_at)
    return answer


def list_contracts(tenant_id: str, group_id: str) -> dict:
    """Every contract of the group, newest first: the current one, then the closed ones."""
    _, current = group_and_contract(tenant_id, group_id)
    closed = storage.query(Contract, keys.closed_contracts(tenant_id, group_id), scan_index_forward=False, consistent_read=True)
    found = ([current] if current else []) + list(closed)
    return {"group_id": group_id, "contracts": [contract_answer(c) for c in found]}


def _contract_by_id(tenant_id: str, group_id: str, contract_id: str) -> Contract:
    _, current = group_and_contract(tenant_id, group_id)
    if current is not None and current.contract_id == contract_id:
        return current
    for contract in storage.query(Contract, keys.closed_contracts(tenant_id, group_id), consistent_read=True):
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
    after = _ledger_cursor(query.get("cursor"), contract)
    limit = fields.page_limit(query.get("limit"), LEDGER_PAGE)
    partition = keys.ledger(tenant_id, group_id, contract.contract_id)
    condition = LedgerEntry.SK > keys.ledger_entry(after)
    entries = list(storage.query(LedgerEntry, partition, range_key_condition=condition, limit=limit + 1, consistent_read=True))
    more = len(entries) > limit
    entries = entries[:limit]
    answer = [entry_view(entry) for entry in entries]
    balance = balance_of(contract)
    if not more and balance is not None and contract.closed_at is None:
        running = entries[-1].running_balance if entries else balance.entered_minutes()
        for change in balance.expire(fields.utc_now())[1]:
            running += change.minutes
            answer.append({**change_view(change, running), "entry_id": None, "pending": True})
    return {
        "group_id": group_id,
        "contract_id": contract.contract_id,
        "entries": answer,
        "next_cursor": _encode_ledger_cursor(contract, entries[-1]) if more else None,
    }


def entry_view(entry: LedgerEntry) -> dict:
    role, _, token_id = (entry.actor or "").partition(":")
    return {
        "entry_id": entry.entry_id,
        "kind": entry.entry_kind,
        "minutes": entry.minutes,
        "amount": fields.money_text(entry.amount),
        "at": fields.utc_text(entry.at),
        "actor": token_id or None,
        "role": role or None,
        "session_id": entry.session_id,
        "block_id": entry.block_id,
        "expires_at": fields.utc_text(entry.expires_at) if entry.expires_at else None,
        "running_balance": entry.running_balance,
    }


def change_view(change: Change, running: int) -> dict:
    return {
        "kind": change.kind, "minutes": change.minutes, "amount": fields.money_text(change.amount),
        "at": fields.utc_text(change.at), "actor": None, "role": None, "session_id": change.session_id,
        "block_id": change.block_id, "expires_at": fields.utc_text(change.expires_at) if change.expires_at else None,
        "running_balance": running,
    }


def _encode_ledger_cursor(contract: Contract, entry: LedgerEntry) -> str:
    text = json.dumps({"contract_id": contract.contract_id, "after": int(entry.SK[2:])})
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _ledger_cursor(cursor, contract: Contract) -> int:
    if cursor in (None, ""):
        return 0
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (isinstance(position, dict) and position.get("contract_id") == contract.contract_id
                and isinstance(position.get("after"), int) and 0 <= position["after"] <= contract.ledger_seq):
            return position["after"]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput("cursor", "is not a cursor this ledger gave")


# ---------------------------------------------------------------- writes


def entries_for(tenant_id: str, contract: Contract, before: Balance, changes: list[Change], actor: str | None) -> list[LedgerEntry]:
    """The ledger items of `changes`, numbered after the contract's last entry."""
    items, running = [], before.entered_minutes()
    for offset, change in enumerate(changes, start=1):
        running += change.minutes
        sequence = contract.ledger_seq + offset
        items.append(LedgerEntry(
            keys.ledger(tenant_id, contract.group_id, contract.contract_id), keys.ledger_entry(sequence),
            entry_id=f"{contract.contract_id}-{sequence}", contract_id=contract.contract_id, entry_kind=change.kind,
            minutes=change.minutes, amount=change.amount, at=change.at, actor=actor or None, session_id=change.session_id,
            block_id=change.block_id, expires_at=change.expires_at, running_balance=running,
        ))
    return items


def balance_update(transaction, contract: Contract, balance: Balance, entries: list[LedgerEntry], extra_actions=()) -> None:
    """Writes a new balance and its entries, only over exactly the contract that was read."""
    transaction.update(
        contract,
        actions=[Contract.balance.set(json.dumps(ledger.dump(balance))), Contract.ledger_seq.add(len(entries)), *extra_actions],
        condition=(Contract.contract_id == contract.contract_id) & (Contract.ledger_seq == contract.ledger_seq)
        & (Contract.revision == contract.revision),
    )
    for entry in entries:
        transaction.save(entry, condition=LedgerEntry.PK.does_not_exist())


def is_latest(transaction, profile_id: str, version: int, tenant_id: str) -> None:
    """Checks, inside a transaction, that `version` is still the profile's latest."""
    transaction.condition_check(
        ProfileVersion, keys.profile(tenant_id, profile_id), keys.version(version), condition=ProfileVersion.GSI1PK.exists()
    )


def _group(tenant_id: str, group_id: str) -> Group:
    group = storage.get(Group, keys.group(tenant_id, group_id), "GROUP")
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
    backoff = storage.Backoff("the assignment")
    while True:
        group, current = group_and_contract(tenant_id, group_id)
        profile = latest_version(tenant_id, profile_id)
        now = fields.utc_now()
        if current is not None and current.profile_id == profile_id and valid_until is None:
            contract, fill = _resync(tenant_id, group, current, profile, actor)
        else:
            contract, fill = _new_contract(tenant_id, group, current, profile, mode, valid_until, actor, now)
        answer = contract_answer(contract)
        try:
            storage.transact(lambda t: (fill(t), claim and claim.save(t, answer)), "the assignment")
            return answer
        except storage.ConditionFailed:
            backoff.wait()  # the contract or the profile changed meanwhile: read again


def _resync(tenant_id, group, current: Contract, profile: ProfileVersion, actor):
    if current.profile_version == profile.version:
        def unchanged(transaction):
            transaction.condition_check(Contract, current.PK, current.SK, condition=Contract.revision == current.revision)
            is_latest(transaction, profile.profile_id, profile.version, tenant_id)
        return current, unchanged
    refreshed, fill = refresh_action(tenant_id, current, profile, actor)
    return refreshed, fill


def refresh_action(tenant_id: str, contract: Contract, profile: ProfileVersion, actor):
    """The contract with the profile's latest tariff (its balance untouched: the allotment was
    copied at assignment), and the transaction action that writes it with a history entry."""
    refreshed = Contract.from_raw_data(contract.serialize())
    refreshed.tariff, refreshed.profile_version, refreshed.profile_name = profile.tariff, profile.version, profile.name
    refreshed.revision = contract.revision + 1
    changes = {
        "profile_version": history.change(contract.profile_version, profile.version),
        "tariff": history.change(tariff_values(contract.tariff), tariff_values(profile.tariff)),
    }
    entry = history.entry(contract.PK, actor, history.PROFILE_UPDATED, changes)

    def fill(transaction):
        transaction.update(
            contract,
            actions=[
                Contract.tariff.set(Contract.tariff.serialize(profile.tariff)),
                Contract.profile_version.set(profile.version),
                Contract.profile_name.set(profile.name),
                Contract.revision.add(1),
            ],
            condition=(Contract.revision == contract.revision) & (Contract.profile_id == profile.profile_id),
        )
        is_latest(transaction, profile.profile_id, profile.version, tenant_id)
        transaction.save(entry)

    return refreshed, fill


def _new_contract(tenant_id, group: Group, current: Contract | None, profile: ProfileVersion, mode, valid_until, actor, now):
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

    number = current.number + 1 if current is not None else 1
    contract = Contract(
        keys.group(tenant_id, group.group_id), "CONTRACT",
        GSI1PK=keys.contracts_of(tenant_id, profile.profile_id), GSI1SK=group.group_id,
        contract_id=f"ctr_{secrets.token_hex(8)}", number=number, group_id=group.group_id,
        profile_id=profile.profile_id, profile_version=profile.version, profile_name=profile.name,
        tariff=profile.tariff, assigned_at=now, assigned_by=actor or None, valid_until=valid_until,
        ledger_seq=0, revision=(current.revision + 1) if current else 1,
    )
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
        contract.balance = json.dumps(ledger.dump(balance))
        new_entries = entries_for(tenant_id, contract, start, changes, actor)
        contract.ledger_seq = len(new_entries)

    closed = None
    old_entries: list[LedgerEntry] = []
    if current is not None:
        closed = Contract.from_raw_data(current.serialize())
        closed.PK, closed.SK = keys.closed_contracts(tenant_id, group.group_id), keys.contract_number(current.number)
        closed.GSI1PK = closed.GSI1SK = None
        closed.closed_at = now
        if old_balance is not None:
            old_entries = entries_for(tenant_id, current, balance_of(current), old_changes, actor)
            # Carried over or closed, nothing is left in the old contract's blocks.
            final = old_balance.replace(blocks=(), overrun_minutes=0) if mode else old_balance
            closed.balance = json.dumps(ledger.dump(final))
            closed.ledger_seq = current.ledger_seq + len(old_entries)

    changes = {
        "contract_id": history.change(current.contract_id if current else None, contract.contract_id),
        "profile_id": history.change(current.profile_id if current else None, profile.profile_id),
        "profile_version": history.change(current.profile_version if current else None, profile.version),
    }
    if mode:
        changes["balance"] = history.change(None, mode)
    entry = history.entry(group.PK, actor, history.ASSIGNED, changes, now)

    def fill(transaction):
        if current is None:
            transaction.save(contract, condition=Contract.PK.does_not_exist())
        else:
            transaction.save(contract, condition=(Contract.contract_id == current.contract_id)
                             & (Contract.ledger_seq == current.ledger_seq) & (Contract.revision == current.revision))
            transaction.save(closed, condition=Contract.PK.does_not_exist())
        for item in old_entries + new_entries:
            transaction.save(item, condition=LedgerEntry.PK.does_not_exist())
        transaction.update(group, actions=[Group.profile_id.set(profile.profile_id)], condition=Group.PK.exists())
        is_latest(transaction, profile.profile_id, profile.version, tenant_id)
        transaction.save(entry)

    return contract, fill


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
    backoff = storage.Backoff("the recharge")
    while True:
        _, contract = group_and_contract(tenant_id, group_id)
        if contract is None:
            raise Conflict(f"group {group_id} has no contract", "no_contract")
        if not isinstance(contract.tariff, Subscription):
            raise Conflict(f"group {group_id} is on a pay-per-use profile: only subscriptions are recharged", "not_subscription")
        now = fields.utc_now()
        before = balance_of(contract)
        balance, changes = before.expire(now)
        block_id = f"rch_{secrets.token_hex(6)}"
        balance, change = balance.add_block(ledger.RECHARGE, block_id, minutes, amount, now, expires_at)
        balance = balance.rearm(contract.tariff.alert_thresholds, now)
        entries = entries_for(tenant_id, contract, before, changes + [change], actor)
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

        def fill(transaction):
            balance_update(transaction, contract, balance, entries)
            transaction.save(history_entry)
            if claim:
                claim.save(transaction, answer)

        try:
            storage.transact(fill, "the recharge")
            return answer
        except storage.ConditionFailed:
            backoff.wait()  # a lock or another recharge changed the balance meanwhile: read again
