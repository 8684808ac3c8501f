"""Data access of contracts and their ledgers: where a group's current and closed contracts are,
the ledger entries of a balance, and the writes that change them (assign, refresh to a profile's
latest version, recharge), each over exactly the contract read. A write that finds the contract
or the profile changed answers `LostRace`; the caller reads again."""
import json
import re
import secrets
from datetime import datetime
from typing import Callable, Iterable, Iterator

from .. import ledger
from ..ledger import Balance, Change
from . import listings, store
from .models import Contract, Group, HistoryEntry, LedgerEntry, ProfileVersion, keys
from .outcomes import LostRace

ENTRY_POSITION = re.compile(r"E#[0-9]{9}(#[^\x00-\x1f]{1,255})?")
Extra = Callable[[store.Transaction], None] | None  # what else the caller's request writes in the same transaction


def answered(claim, answer: dict) -> Extra:
    """The request's Idempotency-Key answer, written in the effect's own transaction (None: the
    request sent no key)."""
    return (lambda transaction: claim.save(transaction, answer)) if claim else None


# ---------------------------------------------------------------- reads


def current(tenant_id: str, group_id: str) -> Contract | None:
    return store.get(Contract, keys.group(tenant_id, group_id), "CONTRACT")


def group(tenant_id: str, group_id: str) -> Group | None:
    return store.get(Group, keys.group(tenant_id, group_id), "GROUP")


def group_and_current(tenant_id: str, group_id: str) -> tuple[Group | None, Contract | None]:
    """The group and its current contract in one BatchGetItem."""
    partition = keys.group(tenant_id, group_id)
    found = store.batch_get([(partition, "GROUP"), (partition, "CONTRACT")])
    group_item, contract = found.get((partition, "GROUP")), found.get((partition, "CONTRACT"))
    return (group_item if isinstance(group_item, Group) else None,
            contract if isinstance(contract, Contract) else None)


def closed(tenant_id: str, group_id: str, newest_first: bool = False) -> Iterator[Contract]:
    return store.query(Contract, keys.closed_contracts(tenant_id, group_id), scan_index_forward=not newest_first,
                       consistent_read=True)


def ledger_page(tenant_id: str, group_id: str, contract_id: str, after: str | None, limit: int) -> list[LedgerEntry]:
    """Up to `limit` entries of a contract's ledger after the entry `after` (`entry_position`),
    oldest first."""
    condition = LedgerEntry.SK > (after or keys.ledger_entry(0))
    return list(store.query(LedgerEntry, keys.ledger(tenant_id, group_id, contract_id), range_key_condition=condition,
                            limit=limit, consistent_read=True))


def entry_position(entry: LedgerEntry) -> str:
    """Where a page of the ledger goes on after `entry`."""
    return entry.SK


def is_entry_position(text: str) -> bool:
    return bool(ENTRY_POSITION.fullmatch(text))


def on_profile(tenant_id: str, profile_id: str) -> Iterator[Contract]:
    """The current contracts on a profile (an index: eventually consistent, each refresh is
    conditioned on the contract as read), once the list has settled as far as the time left allows
    (a contract it misses takes the latest version at its next lock)."""
    listings.settled(keys.contracts_of(tenant_id, profile_id), wait_at_most_the_time_left=True)
    return store.query(Contract, keys.contracts_of(tenant_id, profile_id), index="gsi1")


# ---------------------------------------------------------------- items


def ledger_entries(tenant_id: str, contract: Contract, before: Balance, changes: list[Change], actor: str | None) -> list[LedgerEntry]:
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


def shared_entries(tenant_id: str, contract: Contract, changes: list[Change], actor: str | None) -> list[LedgerEntry]:
    """The deduction entries of locks that share the balance's room: after the contract's last
    entry as read, by session (others may commit theirs first: their number is not known), the
    running balance the previous entry's plus their minutes (read so)."""
    partition = keys.ledger(tenant_id, contract.group_id, contract.contract_id)
    return [LedgerEntry(
        partition, keys.ledger_entry(contract.ledger_seq, change.session_id),
        entry_id=f"{contract.contract_id}-{contract.ledger_seq}-{change.session_id}", contract_id=contract.contract_id,
        entry_kind=change.kind, minutes=change.minutes, amount=change.amount, at=change.at, actor=actor or None,
        session_id=change.session_id, running_balance=None,
    ) for change in changes]


def new_contract(tenant_id: str, group_id: str, current_contract: Contract | None, profile: ProfileVersion,
                 actor: str | None, now: datetime, valid_until: datetime | None) -> Contract:
    """Contract n+1 of a group, on the profile's latest version (not written yet)."""
    return Contract(
        keys.group(tenant_id, group_id), "CONTRACT",
        GSI1PK=keys.contracts_of(tenant_id, profile.profile_id), GSI1SK=group_id,
        contract_id=f"ctr_{secrets.token_hex(8)}", number=current_contract.number + 1 if current_contract else 1,
        group_id=group_id, profile_id=profile.profile_id, profile_version=profile.version, profile_name=profile.name,
        tariff=profile.tariff, assigned_at=now, assigned_by=actor or None, valid_until=valid_until,
        ledger_seq=0, revision=(current_contract.revision + 1) if current_contract else 1,
    )


def closed_copy(tenant_id: str, contract: Contract, now: datetime) -> Contract:
    """The contract as it is kept once closed: under the group's closed contracts, out of the
    index of contracts on its profile."""
    copy = Contract.from_raw_data(contract.serialize())
    copy.PK, copy.SK = keys.closed_contracts(tenant_id, contract.group_id), keys.contract_number(contract.number)
    copy.GSI1PK = copy.GSI1SK = None
    copy.closed_at = now
    return copy


def refreshed_copy(contract: Contract, profile: ProfileVersion) -> Contract:
    """The contract with the profile's latest tariff (its balance untouched)."""
    copy = Contract.from_raw_data(contract.serialize())
    copy.tariff, copy.profile_version, copy.profile_name = profile.tariff, profile.version, profile.name
    copy.revision = contract.revision + 1
    return copy


def priced_copy(contract: Contract, tariff, profile_version: int, profile_name: str) -> Contract:
    """The contract as a lock prices with it: its balance as read, the tariff of `profile_version`
    (in memory; the item keeps its own copy until its refresh)."""
    copy = Contract.from_raw_data(contract.serialize())
    copy.tariff, copy.profile_version, copy.profile_name = tariff, profile_version, profile_name
    return copy


def balance_text(balance: Balance, ledger_seq: int) -> str:
    """The balance as the contract item keeps it, with the number of the entry it was written
    whole at: no two writes leave the same text, which locks sharing its room condition on."""
    return json.dumps({**ledger.dump(balance), "written_at_entry": ledger_seq})


def set_balance(contract: Contract, balance: Balance | None, entries: int = 0) -> None:
    """The contract item as a write that added `entries` left it (no read again)."""
    contract.ledger_seq += entries
    contract.balance = None if balance is None else balance_text(balance, contract.ledger_seq)
    contract.pending_minutes = None  # the balance written whole has them


def set_shared(contract: Contract, minutes: int, entries: int) -> None:
    """The contract item as a lock that shared the balance's room left it (others may have added theirs)."""
    contract.pending_minutes = int(contract.pending_minutes or 0) + minutes
    contract.ledger_seq += entries


# ---------------------------------------------------------------- parts of transactions (dal only)


def add_balance_update(transaction, contract: Contract, balance: Balance, entries: list[LedgerEntry],
                       same_tariff: bool = True) -> None:
    """A new balance and its entries, only over exactly the balance that was read (else the
    contract as it is now comes back with the failure), and with `same_tariff` only while the
    contract's tariff copy is the one read. A lock passes False: it checks the profile version it
    priced with itself, so a refresh of the copy (a profile update) does not fail it."""
    condition = (Contract.contract_id == contract.contract_id) & (Contract.ledger_seq == contract.ledger_seq)
    transaction.update(
        contract,
        actions=[Contract.balance.set(balance_text(balance, contract.ledger_seq + len(entries))),
                 Contract.ledger_seq.add(len(entries)), Contract.pending_minutes.remove()],
        condition=condition & (Contract.revision == contract.revision) if same_tariff else condition,
        return_values="ALL_OLD",
    )
    for entry in entries:
        transaction.save(entry, condition=LedgerEntry.PK.does_not_exist())


def add_shared_charge(transaction, contract: Contract, minutes: int, room: int, entries: list[LedgerEntry]) -> None:
    """`minutes` taken from the balance's room (ledger.Balance.shared_room) with their entries: over
    the balance as written whole when read, whatever other shared locks took meanwhile as long as
    all of them stay within `room` (else the contract as it is now comes back with the failure)."""
    within = Contract.pending_minutes <= room - minutes
    if minutes <= room:
        within = within | Contract.pending_minutes.does_not_exist()
    transaction.update(
        contract,
        actions=[Contract.pending_minutes.add(minutes), Contract.ledger_seq.add(len(entries))],
        condition=(Contract.contract_id == contract.contract_id) & (Contract.balance == contract.balance) & within,
        return_values="ALL_OLD",
    )
    for entry in entries:
        transaction.save(entry, condition=LedgerEntry.PK.does_not_exist())


def add_unchanged(transaction, contract: Contract) -> None:
    """The contract is still the one read (no tariff change, no re-assignment)."""
    transaction.condition_check(Contract, contract.PK, contract.SK, condition=Contract.revision == contract.revision)


def add_same_contract(transaction, contract: Contract) -> None:
    """The group's contract is still the one read (not re-assigned); its tariff copy may have been
    refreshed meanwhile."""
    transaction.condition_check(Contract, contract.PK, contract.SK, condition=Contract.contract_id == contract.contract_id)


def add_latest_check(transaction, tenant_id: str, profile_id: str, version: int) -> None:
    """`version` is still the profile's latest (only the latest carries the listing key)."""
    transaction.condition_check(ProfileVersion, keys.profile(tenant_id, profile_id), keys.version(version),
                                condition=ProfileVersion.GSI1PK.exists())


def _run(fill: Callable, what: str) -> None:
    try:
        store.transact(fill, what)
    except store.ConditionFailed:
        raise LostRace() from None


# ---------------------------------------------------------------- writes


def refresh_contract(tenant_id: str, contract: Contract, profile: ProfileVersion, entry: HistoryEntry,
                     extra: Extra = None) -> Contract:
    """The contract takes the profile's latest tariff, with its history entry; answers the
    contract as written. `LostRace`: re-assigned, refreshed or a newer version meanwhile."""
    refreshed = refreshed_copy(contract, profile)

    def fill(transaction):
        transaction.update(
            contract,
            actions=[Contract.tariff.set(Contract.tariff.serialize(profile.tariff)),
                     Contract.profile_version.set(profile.version), Contract.profile_name.set(profile.name),
                     Contract.revision.add(1)],
            condition=(Contract.revision == contract.revision) & (Contract.profile_id == profile.profile_id),
        )
        add_latest_check(transaction, tenant_id, profile.profile_id, profile.version)
        transaction.save(entry)
        if extra:
            extra(transaction)

    _run(fill, "the contract refresh")
    return refreshed


def confirm_contract(tenant_id: str, contract: Contract, extra: Extra = None) -> None:
    """Nothing changes, but `extra` is written only while the contract and its profile version
    are still current (a re-assignment of the same, already current, profile)."""
    def fill(transaction):
        add_unchanged(transaction, contract)
        add_latest_check(transaction, tenant_id, contract.profile_id, contract.profile_version)
        if extra:
            extra(transaction)

    _run(fill, "the assignment")


def assign_contract(tenant_id: str, group_item: Group, current_contract: Contract | None, contract: Contract,
                    closed_contract: Contract | None, entries: Iterable[LedgerEntry], entry: HistoryEntry,
                    extra: Extra = None) -> None:
    """Contract n+1 replaces the current one (kept, closed), with the ledger entries of both and
    the group's history entry; only over the current contract as read and while its profile
    version is the latest. `LostRace` otherwise, with the current contract as it now is when only
    it (its balance: locks charged it meanwhile) failed."""
    entries = list(entries)
    positions = {}

    def fill(transaction):
        if current_contract is None:
            transaction.save(contract, condition=Contract.PK.does_not_exist())
        else:
            positions["contract"] = len(transaction.added)
            transaction.save(contract, condition=(Contract.contract_id == current_contract.contract_id)
                             & (Contract.ledger_seq == current_contract.ledger_seq)
                             & (Contract.revision == current_contract.revision), return_values="ALL_OLD")
            transaction.save(closed_contract, condition=Contract.PK.does_not_exist())
        for item in entries:
            transaction.save(item, condition=LedgerEntry.PK.does_not_exist())
        positions["entries"] = len(transaction.added)
        transaction.update(group_item, actions=[Group.profile_id.set(contract.profile_id)], condition=Group.PK.exists())
        add_latest_check(transaction, tenant_id, contract.profile_id, contract.profile_version)
        transaction.save(entry)
        if extra:
            extra(transaction)

    try:
        listings.transact(fill, "the assignment", keys.groups(tenant_id), keys.contracts_of(tenant_id, contract.profile_id),
                          keys.contracts_of(tenant_id, current_contract.profile_id) if current_contract else None)
    except store.ConditionFailed as failed:
        raise LostRace(contract_now(failed, positions)) from None


def recharge(contract: Contract, balance: Balance, entries: list[LedgerEntry], entry: HistoryEntry,
             extra: Extra = None) -> None:
    """A recharged balance with its ledger entries and history entry, over exactly the balance
    read (its thresholds re-armed by the tariff read: as if it came before a refresh racing it).
    `LostRace`: a lock or another recharge changed it meanwhile, with the contract as it now is."""
    positions = {}

    def fill(transaction):
        positions["contract"] = len(transaction.added)
        add_balance_update(transaction, contract, balance, entries, same_tariff=False)
        positions["entries"] = len(transaction.added)
        transaction.save(entry)
        if extra:
            extra(transaction)

    try:
        store.transact(fill, "the recharge")
    except store.ConditionFailed as failed:
        raise LostRace(contract_now(failed, positions)) from None
    set_balance(contract, balance, len(entries))


def contract_now(failed: store.ConditionFailed, positions: dict) -> Contract | None:
    """The contract as DynamoDB handed it back, when only the balance failed its condition (it was
    charged meanwhile: the ledger entries numbered after the one read exist already, which fails
    their own condition too); None when anything else failed."""
    position = positions.get("contract")
    balance_part = range(position, positions["entries"]) if position is not None else range(0)
    failing = [n for n in range(len(failed.reasons)) if failed.failed(n)]
    if position not in failing or any(n not in balance_part for n in failing):
        return None
    now = failed.item(position)
    return now if isinstance(now, Contract) else None
