"""Recording sessions exactly once: an agent's retry answers what its first upload did, the same
session_id with other content is a 409, and one bad item of a batch never sinks the others."""
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Iterator

from . import fields, history
from .dal import recording as stored
from .contract_views import current_contract
from .dal.periods import PeriodClosed
from .errors import BillingError, Conflict, InvalidInput, NotFound
from .periods import Calendar, calendar_from, closed_error
from .sessions import priced, session_view
from .tariff import connection_seconds, is_recorded

UPLOAD_FIELDS = ("session_id", "technician", "computer_id", "group_id", "started_at", "ended_at", "notes")
MAX_BATCH = 100
WRITE_CHUNK = 25  # sessions per recording transaction at most: one duplicate re-reads only its chunk
MAX_ACTIONS = 100  # DynamoDB's limit per transaction
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
    content: dict  # what the fingerprint is of, but the group

    def fingerprint_for(self, group_id: str | None) -> str:
        return hashlib.sha256(json.dumps({**self.content, "group_id": group_id}, sort_keys=True).encode()).hexdigest()

    def repeats(self, session) -> bool:
        """Whether `session` (stored) was recorded by this same upload: the same content, and the
        group it was booked to, or none (the computer's: sent or not, the same upload)."""
        if self.group_id not in (None, session.group_id):
            return False
        return session.upload_fingerprint in (self.fingerprint_for(None), self.fingerprint_for(session.group_id))


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
        notes=fields.notes("notes", "" if values.get("notes") is None else values["notes"]),  # [] or 0 are not "no notes"
        connection_seconds=connection_seconds(started_at, ended_at),
        fingerprint="",
        content={},
    )
    upload.content = {
        "session_id": upload.session_id,
        "technician": upload.technician,
        "computer_id": upload.computer_id,
        "started_at": fields.sortable_utc(started_at),
        "ended_at": fields.sortable_utc(ended_at),
        "notes": upload.notes,
    }
    upload.fingerprint = upload.fingerprint_for(upload.group_id)
    return upload


@dataclass
class Outcome:
    """What one upload answered: the HTTP status of the single route and its body."""

    status: int
    body: dict


def _error(error: BillingError) -> Outcome:
    return Outcome(error.status, {"recorded": False, "error": {"code": error.code, "message": error.message}})


def _new_session(tenant_id: str, upload: Upload, group_id: str, now: datetime, actor: str | None):
    return stored.new_session(
        tenant_id, session_id=upload.session_id, group_id=group_id, computer_id=upload.computer_id,
        technician=upload.technician, started_at=upload.started_at, ended_at=upload.ended_at,
        connection_seconds=upload.connection_seconds, notes=upload.notes, fingerprint=upload.fingerprint,
        recorded_at=now, recorded_by=actor)


def _recorded_entry(session):
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
    unbooked = {u.computer_id for _, u in uploads.values() if u.group_id is None}
    computers = stored.computers_groups(tenant_id, unbooked) if unbooked else {}
    booked: dict[str, str] = {}
    for session_id, (index, upload) in uploads.items():
        if upload.group_id is not None:
            booked[session_id] = upload.group_id
        elif upload.computer_id not in computers:
            outcomes[index] = _error(InvalidInput("group_id", f"is required: computer {upload.computer_id} is not in the address book"))
        else:
            booked[session_id] = computers[upload.computer_id]
    known, contracts, calendar = stored.booking(tenant_id, booked.values()) if booked else (set(), {}, None)
    calendar = calendar_from(calendar)

    now = fields.utc_now()
    to_write: list[tuple[int, Upload, object]] = []
    for session_id, group_id in booked.items():
        index, upload = uploads[session_id]
        if group_id not in known:
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

    closed: list = []  # started in a closed month: never written (see _in_closed_months)
    writable: list = []
    for item in to_write:
        (closed if calendar.month(item[1].started_at) in calendar.closed else writable).append(item)
    for chunk in _fitting(writable, calendar):
        for index, outcome in _write_new_sessions(tenant_id, chunk, contracts, calendar, closed):
            outcomes[index] = outcome
    for index, outcome in _in_closed_months(tenant_id, closed, contracts, calendar):
        outcomes[index] = outcome

    for index, upload in repeats:
        first_index, first = uploads[upload.session_id]
        same_group = upload.group_id in (None, booked.get(first.session_id, first.group_id))  # the computer's, sent or not
        if upload.fingerprint_for(None) != first.fingerprint_for(None) or not same_group:
            outcomes[index] = _error(Conflict(f"session {upload.session_id} appears twice with different content", "session_conflict"))
        else:
            first_outcome = outcomes[first_index]
            outcomes[index] = Outcome(200 if first_outcome.status == 201 else first_outcome.status, first_outcome.body)
    return outcomes


def _fitting(items: list, calendar: Calendar) -> Iterator[list]:
    """The sessions in chunks of at most WRITE_CHUNK whose transactions DynamoDB takes: each session
    is 2 actions (it and its history entry), each new group and UTC month of them 1 (its running
    totals), each new group 1 (its months), each new month that may close meanwhile 1 (it is open)."""
    chunk: list = []
    months: set = set()
    groups: set = set()
    held: set = set()
    for item in items:
        session = item[2]
        month_utc, month = fields.sortable_utc(session.started_at)[:7], calendar.month(session.started_at)
        need = 2 + ((session.group_id, month_utc) not in months) + (session.group_id not in groups) \
            + (calendar.may_close(month) and month not in held)
        if chunk and (len(chunk) == WRITE_CHUNK or 2 * len(chunk) + len(months) + len(groups) + len(held) + need > MAX_ACTIONS):
            yield chunk
            chunk, months, groups, held = [], set(), set(), set()
        chunk.append(item)
        months.add((session.group_id, month_utc))
        groups.add(session.group_id)
        if calendar.may_close(month):
            held.add(month)
    if chunk:
        yield chunk


def _write_new_sessions(tenant_id: str, chunk: list, contracts: dict, calendar: Calendar, closed: list) -> Iterator[tuple[int, Outcome]]:
    """One transaction of conditional puts (each session with its history entry), holding that
    their months are open; a session already recorded answers its upload as a replay or a
    conflict, the rest are written. A month closed meanwhile: its sessions go to `closed`."""
    while True:
        sessions = [session for _, _, session in chunk]
        months = {session.PK: month for session in sessions  # only those that may close before this commits
                  if calendar.may_close(month := calendar.month(session.started_at))}
        try:
            written = stored.record_new(tenant_id, sessions, {session.PK: _recorded_entry(session) for session in sessions}, months)
            break
        except PeriodClosed as meanwhile:
            closed += [item for item in chunk if months[item[2].PK] in meanwhile.months]
            chunk = [item for item in chunk if months[item[2].PK] not in meanwhile.months]
            calendar = Calendar(calendar.time_zone, calendar.closed | set(meanwhile.months))
    for index, upload, session in chunk:
        yield index, _answer_again(tenant_id, upload, written[session.session_id], session, contracts)


def _answer_again(tenant_id: str, upload: Upload, existing, session, contracts: dict) -> Outcome:
    """What an upload answers given the session stored under its id before it (None: it wrote `session`)."""
    if existing is None:
        return Outcome(201, {"recorded": True, "session": session_view(session, contracts[session.group_id])})
    if upload.repeats(existing):
        if existing.group_id not in contracts:
            contracts[existing.group_id] = current_contract(tenant_id, existing.group_id)
        return Outcome(200, {"recorded": True, "session": session_view(existing, contracts[existing.group_id])})
    return _error(Conflict(f"session {upload.session_id} was recorded with different content", "session_conflict"))


def _in_closed_months(tenant_id: str, items: list, contracts: dict, calendar: Calendar) -> Iterator[tuple[int, Outcome]]:
    """Uploads of sessions started in a closed month: a replay of one recorded before the close
    answers as a replay (nothing changes); anything else is a 409 `period_closed`."""
    found = stored.sessions_by_id(tenant_id, [session.session_id for _, _, session in items]) if items else {}
    for index, upload, session in items:
        existing = found.get(session.session_id)
        if existing is None:
            yield index, _error(closed_error(calendar.month(upload.started_at), f"recording session {upload.session_id}"))
        else:
            yield index, _answer_again(tenant_id, upload, existing, session, contracts)


def record_batch(tenant_id: str, values: dict, actor: str | None = None) -> list[dict]:
    sessions = values.get("sessions")
    fields.bounded_list("sessions", sessions, MAX_BATCH, "a non-empty list of sessions", "sessions", non_empty=True)
    return [outcome.body for outcome in record_sessions(tenant_id, sessions, actor)]




def batch_kept(answer: dict) -> dict:
    """What an Idempotency-Key keeps of a batch's answer: each recorded session by id only (a
    batch of 100 sessions with long notes would pass DynamoDB's 400 KB item limit), the rest
    (refusals, errors) as answered."""
    return {"results": [{"recorded": True, "session_id": result["session"]["session_id"]} if result.get("session") else result
                        for result in answer["results"]]}


def batch_answer_again(tenant_id: str, kept: dict) -> dict:
    """A batch's answer again from what its key kept: each recorded session read back and
    answered as it is (one BatchGetItem per 100 sessions, one per 50 groups of their contracts)."""
    ids = [result["session_id"] for result in kept["results"] if "session_id" in result]
    sessions = stored.sessions_by_id(tenant_id, ids)
    _, contracts = stored.groups_and_contracts(tenant_id, {s.group_id for s in sessions.values()})
    results = []
    for result in kept["results"]:
        if "session_id" in result:
            session = sessions[result["session_id"]]
            result = {"recorded": True, "session": session_view(session, contracts[session.group_id])}
        results.append(result)
    return {"results": results}
