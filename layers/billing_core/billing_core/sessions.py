"""Remote sessions: record (exactly once), read, search, adjust, lock, lock all, totals.

Pricing rule: a `to_account` session is priced when read, by its group's current contract (one
read, since the contract carries its profile's latest tariff). A lock freezes that price in the
same transaction that deducts the subscription balance, conditioned on the session and the
contract being exactly as priced; an accounted session is never written again.
"""
import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable, Iterator

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from . import fields, history, models
from .errors import BillingError, Conflict, InvalidInput, NotFound
from .models import BillingItem, Contract, Group, HistoryEntry, Session, keys
from .tariff import Pricing, Subscription, connection_seconds, is_recorded, price, total_seconds

TO_ACCOUNT, ACCOUNTED = "to_account", "accounted"
STATUSES = (TO_ACCOUNT, ACCOUNTED)
UPLOAD_FIELDS = ("session_id", "technician", "computer_id", "group_id", "started_at", "ended_at", "notes")
ADJUST_FIELDS = ("extra_minutes", "notes")
MAX_BATCH = 100
WRITE_CHUNK = 25  # sessions per recording transaction: one duplicate re-reads only its chunk
LOCK_CHUNK = 99  # sessions per lock-all transaction, plus the contract: DynamoDB's 100 actions
MAX_ATTEMPTS = 4
BELOW_MINIMUM = "below_minimum_duration"


# ---------------------------------------------------------------- views


def priced(session: Session, contract: Contract | None) -> Pricing | None:
    """The price of a session: frozen when accounted, else by the current contract (None: no contract)."""
    if session.status == ACCOUNTED:
        return Pricing(session.total_seconds, session.billed_minutes, session.cost)
    if contract is None:
        return None
    return price(contract.tariff, session.connection_seconds, session.extra_minutes)


def session_view(session: Session, contract: Contract | None) -> dict:
    pricing = priced(session, contract)
    accounted = session.status == ACCOUNTED
    if accounted:
        currency, profile_id, profile_version = session.currency, session.profile_id, session.profile_version
    elif contract is not None:
        currency, profile_id, profile_version = contract.tariff.currency, contract.profile_id, contract.profile_version
    else:
        currency = profile_id = profile_version = None
    return {
        "session_id": session.session_id,
        "group_id": session.group_id,
        "technician": session.technician,
        "computer_id": session.computer_id,
        "started_at": fields.utc_text(session.started_at),
        "ended_at": fields.utc_text(session.ended_at),
        "connection_seconds": session.connection_seconds,
        "extra_minutes": session.extra_minutes,
        "total_seconds": pricing.total_seconds if pricing else total_seconds(session.connection_seconds, session.extra_minutes),
        "billed_minutes": pricing.billed_minutes if pricing else None,
        "cost": fields.money_text(pricing.cost) if pricing else None,
        "currency": currency,
        "status": session.status,
        "notes": session.notes,
        "locked_at": fields.utc_text(session.locked_at) if session.locked_at else None,
        "profile_id": profile_id,
        "profile_version": profile_version,
    }


# ---------------------------------------------------------------- reads


def find_contract(tenant_id: str, group_id: str) -> Contract | None:
    models.bind()
    try:
        return Contract.get(keys.group(tenant_id, group_id), "CONTRACT", consistent_read=True)
    except DoesNotExist:
        return None


def _session(tenant_id: str, session_id: str) -> Session:
    models.bind()
    try:
        return Session.get(keys.session(tenant_id, session_id), "SESSION", consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"session {session_id} not found") from None


def get_session(tenant_id: str, session_id: str) -> dict:
    session = _session(tenant_id, session_id)
    contract = None if session.status == ACCOUNTED else find_contract(tenant_id, session.group_id)
    return session_view(session, contract)


# ---------------------------------------------------------------- recording


@dataclass
class Upload:
    """One session as the agent sent it, validated."""

    session_id: str
    technician: str
    computer_id: str
    group_id: str | None
    started_at: datetime
    ended_at: datetime
    notes: str
    connection_seconds: int
    fingerprint: str


def parse_upload(values) -> Upload:
    if not isinstance(values, dict):
        raise InvalidInput("session", "must be a JSON object")
    unknown = sorted(set(values) - set(UPLOAD_FIELDS))
    if unknown:
        raise InvalidInput(unknown[0], "is not a field of a session upload")
    for required in ("session_id", "technician", "computer_id", "started_at", "ended_at"):
        if values.get(required) is None:
            raise InvalidInput(required, "is required")
    started_at = fields.timestamp("started_at", values["started_at"])
    ended_at = fields.timestamp("ended_at", values["ended_at"])
    upload = Upload(
        session_id=fields.identifier("session_id", values["session_id"]),
        technician=fields.name("technician", values["technician"]),
        computer_id=fields.identifier("computer_id", values["computer_id"]),
        group_id=None if values.get("group_id") is None else fields.identifier("group_id", values["group_id"]),
        started_at=started_at,
        ended_at=ended_at,
        notes=fields.notes("notes", values.get("notes") or ""),
        connection_seconds=connection_seconds(started_at, ended_at),
        fingerprint="",
    )
    canonical = {
        "session_id": upload.session_id,
        "technician": upload.technician,
        "computer_id": upload.computer_id,
        "group_id": upload.group_id,
        "started_at": fields.sortable_utc(started_at),
        "ended_at": fields.sortable_utc(ended_at),
        "notes": upload.notes,
    }
    upload.fingerprint = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
    return upload


@dataclass
class Outcome:
    """What one upload answered: the HTTP status of the single route and its body."""

    status: int
    body: dict


def _error(error: BillingError) -> Outcome:
    return Outcome(error.status, {"recorded": False, "error": {"code": error.code, "message": error.message}})


def _new_session(tenant_id: str, upload: Upload, group_id: str, now: datetime, actor: str | None) -> Session:
    return Session(
        keys.session(tenant_id, upload.session_id),
        "SESSION",
        GSI1PK=keys.sessions_of(tenant_id, group_id),
        GSI1SK=f"{fields.sortable_utc(upload.started_at)}#{upload.session_id}",
        session_id=upload.session_id,
        group_id=group_id,
        computer_id=upload.computer_id,
        technician=upload.technician,
        started_at=upload.started_at,
        ended_at=upload.ended_at,
        connection_seconds=upload.connection_seconds,
        extra_minutes=0,
        notes=upload.notes,
        status=TO_ACCOUNT,
        upload_fingerprint=upload.fingerprint,
        recorded_at=now,
        recorded_by=actor or None,
        revision=1,
    )


def _recorded_entry(session: Session) -> HistoryEntry:
    recorded = {
        "group_id": session.group_id,
        "computer_id": session.computer_id,
        "technician": session.technician,
        "started_at": fields.utc_text(session.started_at),
        "ended_at": fields.utc_text(session.ended_at),
        "connection_seconds": session.connection_seconds,
        "notes": session.notes,
    }
    changes = {name: history.change(None, value) for name, value in recorded.items()}
    return history.entry(session.PK, session.recorded_by, history.RECORDED, changes, session.recorded_at)


def _batch_get(item_keys: list[tuple[str, str]]) -> dict[tuple[str, str], BillingItem]:
    if not item_keys:
        return {}
    models.bind()
    return {(item.PK, item.SK): item for item in BillingItem.batch_get(item_keys, consistent_read=True)}


def record_sessions(tenant_id: str, raw_uploads: list, actor: str | None = None) -> list[Outcome]:
    """Records uploads exactly once: a replay answers what the first upload did (200), the same
    session_id with other content is a 409, and one bad item never sinks the others."""
    outcomes: list[Outcome | None] = [None] * len(raw_uploads)
    uploads: dict[str, tuple[int, Upload]] = {}  # the first item of each session_id
    repeats: list[tuple[int, Upload]] = []
    for index, raw in enumerate(raw_uploads):
        try:
            upload = parse_upload(raw)
        except BillingError as error:
            outcomes[index] = _error(error)
            continue
        if upload.session_id in uploads:
            repeats.append((index, upload))
        else:
            uploads[upload.session_id] = (index, upload)

    # Where each session is booked: its group, or its computer's group.
    computer_keys = {(keys.computer(tenant_id, u.computer_id), "COMPUTER") for _, u in uploads.values() if u.group_id is None}
    computers = _batch_get(sorted(computer_keys))
    booked: dict[str, str] = {}
    for session_id, (index, upload) in uploads.items():
        if upload.group_id is not None:
            booked[session_id] = upload.group_id
            continue
        computer = computers.get((keys.computer(tenant_id, upload.computer_id), "COMPUTER"))
        if computer is None:
            outcomes[index] = _error(InvalidInput("group_id", f"is required: computer {upload.computer_id} is not in the address book"))
        else:
            booked[session_id] = computer.group_id
    group_keys = sorted({(keys.group(tenant_id, g), sk) for g in booked.values() for sk in ("GROUP", "CONTRACT")})
    known = _batch_get(group_keys)
    contracts = {g: known.get((keys.group(tenant_id, g), "CONTRACT")) for g in booked.values()}

    now = fields.utc_now()
    to_write: list[tuple[int, Upload, Session]] = []
    for session_id, group_id in booked.items():
        index, upload = uploads[session_id]
        if (keys.group(tenant_id, group_id), "GROUP") not in known:
            outcomes[index] = _error(NotFound(f"group {group_id} not found"))
            continue
        contract = contracts[group_id]
        if not is_recorded(contract.tariff if contract else None, upload.connection_seconds):
            outcomes[index] = Outcome(200, {"recorded": False, "reason": BELOW_MINIMUM})
            continue
        to_write.append((index, upload, _new_session(tenant_id, upload, group_id, now, actor)))

    for chunk in _chunks(to_write, WRITE_CHUNK):
        for index, outcome in _write_new_sessions(tenant_id, chunk, contracts):
            outcomes[index] = outcome

    for index, upload in repeats:
        first_index, first = uploads[upload.session_id]
        if upload.fingerprint != first.fingerprint:
            outcomes[index] = _error(Conflict(f"session {upload.session_id} appears twice with different content", "session_conflict"))
        else:
            first_outcome = outcomes[first_index]
            outcomes[index] = Outcome(200 if first_outcome.status == 201 else first_outcome.status, first_outcome.body)
    return outcomes


def _write_new_sessions(tenant_id: str, chunk: list, contracts: dict) -> Iterator[tuple[int, Outcome]]:
    """One transaction of conditional puts (each session with its history entry). A duplicate
    cancels it; DynamoDB then hands back the stored session (ALL_OLD), which answers that upload
    as a replay or a conflict, and the rest are written again."""
    pending = list(chunk)
    for _ in range(MAX_ATTEMPTS):
        try:
            with TransactWrite(connection=models.connection()) as transaction:
                for _, _, session in pending:
                    transaction.save(session, condition=Session.PK.does_not_exist(), return_values="ALL_OLD")
                    transaction.save(_recorded_entry(session))
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            stored = _stored_duplicates(pending, error.cancellation_reasons)
            still_new = []
            for index, upload, session in pending:
                existing = stored.get(session.PK)
                if existing is None:
                    still_new.append((index, upload, session))
                elif existing.upload_fingerprint == upload.fingerprint:
                    if existing.group_id not in contracts:
                        contracts[existing.group_id] = find_contract(tenant_id, existing.group_id)
                    yield index, Outcome(200, {"recorded": True, "session": session_view(existing, contracts[existing.group_id])})
                else:
                    yield index, _error(Conflict(f"session {upload.session_id} was recorded with different content", "session_conflict"))
            pending = still_new
            if not pending:
                return
            continue
        for index, _, session in pending:
            yield index, Outcome(201, {"recorded": True, "session": session_view(session, contracts[session.group_id])})
        return
    for index, upload, _ in pending:
        yield index, _error(Conflict(f"session {upload.session_id} is being recorded concurrently; retry", "retry"))


def _stored_duplicates(pending: list, reasons: list) -> dict[str, Session]:
    """The sessions that already exist, by key: from the cancellation reasons (two actions per
    session, the put first), or, where a reason carries no item, read back."""
    stored: dict[str, Session] = {}
    unexplained = []
    for position, (_, _, session) in enumerate(pending):
        reason = reasons[2 * position] if len(reasons) == 2 * len(pending) else None
        if reason is not None and reason.code == "ConditionalCheckFailed" and reason.raw_item:
            stored[session.PK] = BillingItem.from_raw_data(reason.raw_item)
        elif reason is None and len(reasons) == 2 * len(pending):
            continue  # this put did not fail: it is written on the next attempt
        else:
            unexplained.append((session.PK, session.SK))
    for item in _batch_get(unexplained).values():
        stored[item.PK] = item
    return stored


def record_batch(tenant_id: str, values: dict, actor: str | None = None) -> list[dict]:
    sessions = values.get("sessions")
    if not isinstance(sessions, list) or not sessions:
        raise InvalidInput("sessions", "must be a non-empty list of sessions")
    if len(sessions) > MAX_BATCH:
        raise InvalidInput("sessions", f"must hold at most {MAX_BATCH} sessions")
    return [outcome.body for outcome in record_sessions(tenant_id, sessions, actor)]


# ---------------------------------------------------------------- adjust and lock


def parse_adjustment(values: dict) -> dict:
    if not values:
        raise InvalidInput("body", "give extra_minutes, notes or both")
    wanted = {}
    if "extra_minutes" in values:
        wanted["extra_minutes"] = fields.extra_minutes("extra_minutes", values["extra_minutes"])
    if "notes" in values:
        wanted["notes"] = fields.notes("notes", values["notes"])
    return wanted


def adjust_session(tenant_id: str, session_id: str, values: dict, actor: str | None = None) -> dict:
    """Extra minutes and notes, with a history entry, on a session that is still to account."""
    wanted = parse_adjustment(values)
    for _ in range(MAX_ATTEMPTS):
        session = _session(tenant_id, session_id)
        if session.status == ACCOUNTED:
            raise Conflict(f"session {session_id} is accounted and can no longer change", "session_accounted")
        changes = {
            name: history.change(getattr(session, name), value)
            for name, value in wanted.items()
            if getattr(session, name) != value
        }
        if not changes:
            break
        try:
            with TransactWrite(connection=models.connection()) as transaction:
                transaction.update(
                    session,
                    actions=[getattr(Session, name).set(value) for name, value in wanted.items()] + [Session.revision.add(1)],
                    condition=(Session.status == TO_ACCOUNT) & (Session.revision == session.revision),
                )
                transaction.save(history.entry(session.PK, actor, history.ADJUSTED, changes))
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            continue  # locked or adjusted meanwhile: look again
        for name, value in wanted.items():
            setattr(session, name, value)
        session.revision += 1
        break
    else:
        raise Conflict(f"session {session_id} keeps changing; retry", "retry")
    return session_view(session, find_contract(tenant_id, session.group_id))


def session_history(tenant_id: str, session_id: str) -> dict:
    """One Query: the session's entries and the session itself (whose lock is its last entry)."""
    entries, subjects = history.read(keys.session(tenant_id, session_id))
    session = next((item for item in subjects if isinstance(item, Session)), None)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    if session.status == ACCOUNTED:
        frozen = {
            "status": history.change(TO_ACCOUNT, ACCOUNTED),
            "total_seconds": history.change(None, session.total_seconds),
            "billed_minutes": history.change(None, session.billed_minutes),
            "cost": history.change(None, fields.money_text(session.cost)),
            "profile_id": history.change(None, session.profile_id),
            "profile_version": history.change(None, session.profile_version),
        }
        entries.append(history.view(session.locked_at, session.locked_by, history.LOCKED, frozen))
    return {"session_id": session_id, "history": entries}


def _lock_values(contract: Contract, pricing: Pricing, actor: str | None, now: datetime) -> dict:
    """What a lock freezes on the session."""
    return {
        "status": ACCOUNTED,
        "locked_at": now,
        "locked_by": actor or None,
        "total_seconds": pricing.total_seconds,
        "billed_minutes": pricing.billed_minutes,
        "cost": pricing.cost,
        "currency": contract.tariff.currency,
        "profile_id": contract.profile_id,
        "profile_version": contract.profile_version,
        "contract_id": contract.contract_id,
    }


def _lock_transaction(contract: Contract, locks: list[tuple[Session, Pricing]], actor: str | None) -> None:
    """Locks sessions and deducts their minutes from the balance, all or nothing. Each session
    must still be as it was priced (status and revision), and so must the contract."""
    now = fields.utc_now()
    frozen = [_lock_values(contract, pricing, actor, now) for _, pricing in locks]
    with TransactWrite(connection=models.connection()) as transaction:
        for (session, _), values in zip(locks, frozen):
            actions = [getattr(Session, name).set(value) for name, value in values.items() if value is not None]
            transaction.update(
                session,
                actions=actions + [Session.revision.add(1)],
                condition=(Session.status == TO_ACCOUNT) & (Session.revision == session.revision),
            )
        unchanged = Contract.revision == contract.revision
        if isinstance(contract.tariff, Subscription):
            used = sum(pricing.billed_minutes for _, pricing in locks)
            transaction.update(contract, actions=[Contract.used_minutes.add(used)], condition=unchanged)
        else:
            transaction.condition_check(Contract, contract.PK, contract.SK, condition=unchanged)
    for (session, _), values in zip(locks, frozen):
        for name, value in values.items():
            setattr(session, name, value)
        session.revision += 1


def lock_session(tenant_id: str, session_id: str, actor: str | None = None) -> dict:
    """Idempotent: locking an accounted session answers it unchanged and deducts nothing."""
    for _ in range(MAX_ATTEMPTS):
        session = _session(tenant_id, session_id)
        if session.status == ACCOUNTED:
            return session_view(session, None)
        contract = find_contract(tenant_id, session.group_id)
        if contract is None:
            raise Conflict(f"group {session.group_id} has no contract: assign a profile before locking", "no_contract")
        try:
            _lock_transaction(contract, [(session, priced(session, contract))], actor)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            continue  # locked, adjusted or re-priced meanwhile: look again
        return session_view(session, None)
    raise Conflict(f"session {session_id} keeps changing; retry", "retry")


# ---------------------------------------------------------------- search, lock all, totals


@dataclass
class Period:
    start: datetime | None
    end: datetime | None

    def range_condition(self):
        low = fields.sortable_utc(self.start) if self.start else "0"
        high = fields.sortable_utc(self.end) if self.end else "9"  # "<end>" sorts before "<end>#id": end excluded
        return Session.GSI1SK.between(low, high)

    def view(self) -> dict:
        return {
            "from": fields.utc_text(self.start) if self.start else None,
            "to": fields.utc_text(self.end) if self.end else None,
        }


def parse_period(values: dict) -> Period:
    start = None if values.get("from") in (None, "") else fields.timestamp("from", values["from"])
    end = None if values.get("to") in (None, "") else fields.timestamp("to", values["to"])
    if start and end and end < start:
        raise InvalidInput("to", "must not be before from")
    return Period(start, end)


def parse_status(value) -> str | None:
    if value in (None, ""):
        return None
    if value not in STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}")
    return value


def group_contract(tenant_id: str, group_id: str) -> Contract | None:
    """The group's contract (None: no contract) in one Query of the group's partition, whose
    sort keys CONTRACT and GROUP are the two ends of the range; 404 when there is no group."""
    models.bind()
    found = {
        item.SK: item
        for item in BillingItem.query(
            keys.group(tenant_id, group_id), BillingItem.SK.between("CONTRACT", "GROUP"), consistent_read=True
        )
    }
    if not isinstance(found.get("GROUP"), Group):
        raise NotFound(f"group {group_id} not found")
    contract = found.get("CONTRACT")
    return contract if isinstance(contract, Contract) else None


def _query(tenant_id: str, group_id: str, period: Period, status=None, technician=None, page_size=None, start_key=None):
    condition = None
    if status:
        condition = Session.status == status
    if technician:
        by_technician = Session.technician == technician
        condition = by_technician if condition is None else condition & by_technician
    models.bind()
    return Session.gsi1.query(
        keys.sessions_of(tenant_id, group_id),
        range_key_condition=period.range_condition(),
        filter_condition=condition,
        page_size=page_size,
        last_evaluated_key=start_key,
    )


def _encode_cursor(session: Session) -> str:
    position = {"PK": session.PK, "SK": session.SK, "GSI1PK": session.GSI1PK, "GSI1SK": session.GSI1SK}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_cursor(tenant_id: str, group_id: str, cursor: str) -> dict:
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if (
            isinstance(position, dict)
            and set(position) == {"PK", "SK", "GSI1PK", "GSI1SK"}
            and all(isinstance(v, str) for v in position.values())
            and position["GSI1PK"] == keys.sessions_of(tenant_id, group_id)
            and position["PK"].startswith(keys.session(tenant_id, ""))
        ):
            return {name: {"S": value} for name, value in position.items()}
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput("cursor", "is not a cursor this search gave")


def _limit(value) -> int:
    if value in (None, ""):
        return 100
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= 1000:
        raise InvalidInput("limit", "must be a whole number from 1 to 1000")
    return int(value)


def search_sessions(tenant_id: str, group_id: str, query: dict) -> dict:
    unknown = sorted(set(query) - {"from", "to", "status", "technician", "limit", "cursor"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of this search")
    period = parse_period(query)
    status = parse_status(query.get("status"))
    technician = None if query.get("technician") in (None, "") else fields.name("technician", query["technician"])
    limit = _limit(query.get("limit"))
    start_key = _decode_cursor(tenant_id, group_id, query["cursor"]) if query.get("cursor") else None
    contract = group_contract(tenant_id, group_id)
    filtered = status is not None or technician is not None
    found: list[Session] = []
    more = False
    # One item past the page tells whether a next page exists.
    for session in _query(tenant_id, group_id, period, status, technician, None if filtered else limit + 1, start_key):
        if len(found) == limit:
            more = True
            break
        found.append(session)
    return {
        "sessions": [session_view(session, contract) for session in found],
        "next_cursor": _encode_cursor(found[-1]) if more else None,
    }


def parse_lock_all(values: dict) -> tuple[Period, str | None]:
    technician = None if values.get("technician") in (None, "") else fields.name("technician", values["technician"])
    return parse_period(values), technician


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _lock_chunk(tenant_id: str, group_id: str, contract: Contract, chunk: list[Session], actor: str | None):
    """Locks one chunk in one transaction, looking again while others make progress on it.
    Answers the contract as it now is and (sessions, billed minutes, cost) locked here."""
    stalled = 0  # failed attempts in which no session of the chunk got locked elsewhere
    while chunk:
        locks = [(session, priced(session, contract)) for session in chunk]
        try:
            _lock_transaction(contract, locks, actor)
        except TransactWriteError as error:
            if error.cause_response_code != "TransactionCanceledException":
                raise
            # Someone locked or adjusted a session, or the contract changed: look again.
            contract = find_contract(tenant_id, group_id)
            fresh = _batch_get([(s.PK, s.SK) for s in chunk])
            still = [s for s in fresh.values() if s.status == TO_ACCOUNT]
            if len(still) == len(chunk):  # no progress: an adjustment or a new tariff
                stalled += 1
                if stalled == MAX_ATTEMPTS:
                    raise Conflict("sessions keep changing while locking; retry", "retry") from None
            chunk = still
            continue
        cost = sum((p.cost for _, p in locks if p.cost is not None), Decimal("0.00"))
        return contract, (len(locks), sum(p.billed_minutes for _, p in locks), cost)
    return contract, (0, 0, Decimal("0.00"))


def lock_all(tenant_id: str, group_id: str, values: dict, actor: str | None = None) -> dict:
    """Locks every to_account session of the search in transactions of 99 sessions + the balance."""
    period, technician = parse_lock_all(values)
    contract = group_contract(tenant_id, group_id)
    locked, billed, cost = 0, 0, Decimal("0.00")
    # Lock as the query streams, 99 at a time: memory stays at one chunk however many there are.
    for chunk in _chunks(_query(tenant_id, group_id, period, TO_ACCOUNT, technician), LOCK_CHUNK):
        if contract is None:
            raise Conflict(f"group {group_id} has no contract: assign a profile before locking", "no_contract")
        contract, (sessions, minutes, amount) = _lock_chunk(tenant_id, group_id, contract, chunk, actor)
        locked, billed, cost = locked + sessions, billed + minutes, cost + amount
    return {
        "locked": locked,
        "billed_minutes": billed,
        "cost": fields.money_text(cost) if contract is None or not isinstance(contract.tariff, Subscription) else None,
    }


def balance_view(contract: Contract) -> dict:
    tariff = contract.tariff
    total = tariff.total_minutes
    return {
        "total_minutes": total,
        "recharged_minutes": contract.recharged_minutes,
        "used_minutes": contract.used_minutes,
        "available_minutes": total + contract.recharged_minutes - contract.used_minutes,
        "amount": fields.money_text(tariff.amount + contract.recharged_amount),
    }


def contract_view(contract: Contract | None) -> dict | None:
    if contract is None:
        return None
    return {
        "contract_id": contract.contract_id,
        "group_id": contract.group_id,
        "profile_id": contract.profile_id,
        "profile_version": contract.profile_version,
        "profile_name": contract.profile_name,
        "type": contract.tariff.type,
        "currency": contract.tariff.currency,
        "assigned_at": fields.utc_text(contract.assigned_at),
    }


def totals(tenant_id: str, group_id: str, query: dict) -> dict:
    unknown = sorted(set(query) - {"from", "to"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of totals")
    period = parse_period(query)
    contract = group_contract(tenant_id, group_id)
    sums = {status: {"sessions": 0, "total_seconds": 0, "billed_minutes": 0, "cost": Decimal("0.00")} for status in STATUSES}
    for session in _query(tenant_id, group_id, period):
        pricing = priced(session, contract)
        line = sums[session.status]
        line["sessions"] += 1
        line["total_seconds"] += pricing.total_seconds if pricing else total_seconds(session.connection_seconds, session.extra_minutes)
        if pricing:
            line["billed_minutes"] += pricing.billed_minutes
            if pricing.cost is not None:
                line["cost"] += pricing.cost
    for status, line in sums.items():
        line["cost"] = fields.money_text(line["cost"])
    answer = {"group_id": group_id, **period.view(), "contract": contract_view(contract), **sums}
    if contract is not None and isinstance(contract.tariff, Subscription):
        answer["balance"] = balance_view(contract)
    return answer
