"""Recording sessions exactly once: an agent's retry answers what its first upload did, the same
session_id with other content is a 409, and one bad item of a batch never sinks the others."""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Iterator

from . import fields, history
from .dal import store as storage
from .contracts import current_contract
from .errors import BillingError, Conflict, InvalidInput, NotFound
from .dal.models import BillingItem, HistoryEntry, Session, keys  # noqa: F401
from .sessions import TO_ACCOUNT, priced, session_view
from .tariff import connection_seconds, is_recorded

UPLOAD_FIELDS = ("session_id", "technician", "computer_id", "group_id", "started_at", "ended_at", "notes")
MAX_BATCH = 100
WRITE_CHUNK = 25  # sessions per recording transaction: one duplicate re-reads only its chunk
MAX_SESSION = timedelta(days=31)
BELOW_MINIMUM = "below_minimum_duration"


def chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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
    if ended_at - started_at > MAX_SESSION:
        raise InvalidInput("ended_at", "a session may last at most 31 days")
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
        GSI2PK=keys.open_sessions_of(tenant_id, group_id),  # the sparse index of open sessions: the lock removes it
        GSI2SK=f"{fields.sortable_utc(upload.started_at)}#{upload.session_id}",
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
    computers = storage.batch_get(sorted(computer_keys))
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
    known = storage.batch_get(group_keys)
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
        session = _new_session(tenant_id, upload, group_id, now, actor)
        pricing = priced(session, contract)
        if pricing is not None and pricing.cost is not None and pricing.cost > fields.MAX_MONEY:
            outcomes[index] = _error(InvalidInput("ended_at", f"the session would cost more than {fields.MAX_MONEY}"))
            continue
        to_write.append((index, upload, session))

    for chunk in chunks(to_write, WRITE_CHUNK):
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
    entries = {session.PK: _recorded_entry(session) for _, _, session in pending}
    while pending:
        def fill(transaction, writing=tuple(pending)):
            for _, _, session in writing:
                transaction.save(session, condition=Session.PK.does_not_exist(), return_values="ALL_OLD")
                transaction.save(entries[session.PK])

        try:
            storage.transact(fill, "the recording")
        except storage.ConditionFailed as failed:
            stored = _stored_duplicates(pending, failed.reasons)
            still_new = []
            for index, upload, session in pending:
                existing = stored.get(session.PK)
                if existing is None:
                    still_new.append((index, upload, session))
                elif existing.upload_fingerprint == upload.fingerprint:
                    if existing.group_id not in contracts:
                        contracts[existing.group_id] = current_contract(tenant_id, existing.group_id)
                    yield index, Outcome(200, {"recorded": True, "session": session_view(existing, contracts[existing.group_id])})
                else:
                    yield index, _error(Conflict(f"session {upload.session_id} was recorded with different content", "session_conflict"))
            pending = still_new
            continue
        for index, _, session in pending:
            yield index, Outcome(201, {"recorded": True, "session": session_view(session, contracts[session.group_id])})
        return


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
    for item in storage.batch_get(unexplained).values():
        stored[item.PK] = item
    return stored


def record_batch(tenant_id: str, values: dict, actor: str | None = None) -> list[dict]:
    sessions = values.get("sessions")
    fields.bounded_list("sessions", sessions, MAX_BATCH, "a non-empty list of sessions", "sessions", non_empty=True)
    return [outcome.body for outcome in record_sessions(tenant_id, sessions, actor)]


