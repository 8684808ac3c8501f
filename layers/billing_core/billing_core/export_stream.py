"""What an export writes and how: the request's options validated (`parse_export`), the export
as it travels to a job's worker (`ExportJob`), and the streaming of its file — one client's
sessions or every client's, with the names beside the ids — to S3, from the start or from where an
earlier run stopped (`stream_export`). billing_core.exports answers the requests and runs the jobs.

Round trips of a one-client file: one BatchGetItem of the group and its contract, the search's
query pages, and for the names: one Query of the group's computers (once there is a session), one
of the tenant's profiles only when a session was priced by a profile other than the contract's,
one BatchGetItem per 100 computers not (or no longer) in the group. Every client adds the pages
of the tenant's group list and, per client, its group query and search pages."""
import secrets
import time
from dataclasses import dataclass

from . import files, settings
from .dal import exports as stored
from .errors import InvalidInput, NotFound
from .contract_views import group_and_contract
from .files.s3 import StreamedUpload
from .files.writers import MACHINE_COLUMNS, Line, open_writer
# The only names exports take from the sessions modules: the search, its filters and a session's view.
from .reporting import Period, parse_status, query_sessions as _query
from .sessions import ACCOUNTED, TO_ACCOUNT, session_view

COLUMNS = MACHINE_COLUMNS  # §4's machine CSV
NAME_CHUNK = 500  # sessions held while the names of their unknown computers are fetched (one BatchGetItem per 100)
MAX_TTL_SECONDS = 7 * 24 * 3600


@dataclass
class ExportRequest:
    options: files.FileOptions
    status: str | None
    ttl_seconds: int

    @property
    def period(self) -> Period:
        return Period(self.options.start, self.options.end)


def parse_export(values: dict) -> ExportRequest:
    options = files.parse_options(values)
    status = parse_status(values.get("status"))
    if status is None and options.invoicing is not None:
        status = ACCOUNTED  # an invoice bills what was accounted; status=to_account asks for a draft
    ttl = values.get("expires_in_minutes")
    if ttl is None:
        ttl_seconds = settings.export_url_ttl_seconds()
    elif not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL_SECONDS // 60:
        raise InvalidInput("expires_in_minutes", f"must be a whole number from 1 to {MAX_TTL_SECONDS // 60} (7 days)")
    else:
        ttl_seconds = ttl * 60
    return ExportRequest(options, status, ttl_seconds)


@dataclass
class ExportJob:
    """One export: what the request asked (validated) and where the file goes. It travels to the
    worker as the Event payload, so it holds plain JSON values only. `group_id` None: every client."""

    tenant_id: str
    group_id: str | None
    export_id: str
    key: str
    values: dict
    actor: str | None

    @classmethod
    def new(cls, tenant_id: str, group_id: str | None, values: dict, actor: str | None) -> "ExportJob":
        extension = files.parse_options(values).extension
        return cls(
            tenant_id=tenant_id,
            group_id=group_id,
            export_id=f"exp_{secrets.token_hex(8)}",
            key=f"tenants/{tenant_id}/exports/{secrets.token_urlsafe(24)}.{extension}",
            values=dict(values),
            actor=actor or None,
        )


@dataclass
class Written:
    rows: int
    file_name: str


# ---------------------------------------------------------------- the names beside the ids


def _clients(job: ExportJob, at: "Position"):
    """(group, contract, resumed) of the export's client, or of every client of the tenant by group
    id; `resumed`: the client whose sessions the export was writing when it stopped."""
    if job.group_id is not None:
        yield (*group_and_contract(job.tenant_id, job.group_id), at.group_id is not None)
        return
    if at.group_id is not None:
        yield (*group_and_contract(job.tenant_id, at.group_id), True)
    for group in stored.clients_after(job.tenant_id, at.groups_after()):
        yield (*group_and_contract(job.tenant_id, group.group_id), False)


class Names:
    """Names of the computers and profiles the sessions name, read as they are first needed: the
    group's computers in one query, computers elsewhere (moved, or never in the address book) by
    batch, the tenant's profiles in one query when a session names a profile other than the
    contract's. A name that is not found stays empty: the id beside it still says which."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id
        self.computers: dict[str, str | None] = {}
        self.profiles: dict[str, str] | None = None
        self.groups_read: set[str] = set()

    def read_group(self, group_id: str) -> None:
        if group_id not in self.groups_read:
            self.groups_read.add(group_id)
            self.computers.update(stored.computers_of(self.tenant_id, group_id))

    def read_computers(self, computer_ids: set[str]) -> None:
        missing = sorted(c for c in computer_ids if c not in self.computers)
        named = stored.computer_names(self.tenant_id, missing)
        for computer_id in missing:
            self.computers[computer_id] = named.get(computer_id)

    def profile(self, profile_id: str | None, contract) -> str | None:
        if profile_id is None:
            return None
        if contract is not None and contract.profile_id == profile_id:
            return contract.profile_name
        if self.profiles is None:
            self.profiles = stored.profile_names(self.tenant_id)
        return self.profiles.get(profile_id)

    def chunks(self, sessions, group, contract):
        """[(session, Line)] of NAME_CHUNK sessions at a time (so each chunk's unknown computers are
        one batch); a chunk's sessions are read only when it is asked for."""
        chunk = []
        for session in sessions:
            chunk.append(session)
            if len(chunk) == NAME_CHUNK:
                yield list(self._named(chunk, group, contract))
                chunk = []
        if chunk:
            yield list(self._named(chunk, group, contract))

    def _named(self, chunk, group, contract):
        self.read_group(group.group_id)
        self.read_computers({s.computer_id for s in chunk})
        for session in chunk:
            view = session_view(session, contract)
            yield session, Line(
                view=view, started_at=session.started_at, ended_at=session.ended_at, locked_at=session.locked_at,
                client=group.name, computer=self.computers.get(session.computer_id),
                profile=self.profile(view["profile_id"], contract),
            )


# ---------------------------------------------------------------- streaming a file


class Position:
    """Where an export stands: rows written, the client being written and its place in the
    tenant's group list, the last session written (the search goes on after it; its key is
    taken only when the position is saved, not at every row)."""

    def __init__(self, status: str | None, state: dict | None = None):
        state = state or {}
        self.open_index = status == TO_ACCOUNT  # that search reads the open-session index (GSI2)
        self.rows = state.get("rows", 0)
        self.group_id = state.get("group_id")
        self.group_key = state.get("group_key")
        self.session_key = state.get("session_key")
        self.last = None  # the last session written since the key above

    def state(self) -> dict:
        if self.last is not None:
            self.session_key, self.last = stored.session_position(self.last, self.open_index), None
        return {"rows": self.rows, "group_id": self.group_id, "group_key": self.group_key, "session_key": self.session_key}

    def start_client(self, group) -> None:
        self.group_id, self.session_key, self.last = group.group_id, None, None
        self.group_key = stored.group_position(group)

    def wrote(self, session) -> None:
        self.rows += 1
        self.last = session

    def sessions_after(self) -> dict | None:
        return stored.start_key(self.session_key)

    def groups_after(self) -> dict | None:
        return stored.start_key(self.group_key)


def stream_export(job: ExportJob, client, deadline: float | None = None, resume: dict | None = None, save=None) -> Written | None:
    """Streams the export's file to S3, from the start or from `resume` (a state `save` was given),
    and answers its rows and file name.

    At each full part (a row boundary) the writer hands over what it holds, the part goes up, and
    `save(state, stopping=False)` may record where the file stands. `deadline` (time.monotonic(),
    given with `save`) is looked at between chunks of rows, before the next is read: once it has
    passed, the buffer is kept (a part, or a carry object), `save(state, stopping=True)` and the
    answer is None; whoever resumes that state reads and writes the rest, no row twice. A failure
    before any state was handed on aborts the upload; one after leaves it to the job's retry."""
    request = parse_export(job.values)
    options = request.options
    resume = resume or {}
    upload = StreamedUpload(client, settings.exports_bucket(), job.key, options.content_type, resume.get("upload"), by_caller=True)
    at = Position(request.status, resume.get("position"))
    if resume.get("finishing"):  # every part is up: what is left is to complete the upload
        upload.complete()
        return Written(at.rows, resume["file_name"])
    if resume.get("carry"):
        upload.take_carry(resume["carry"])
    names = Names(job.tenant_id)
    client_name = "all-clients"

    def state(stopping: bool) -> dict:
        kept = {"writer": writer.checkpoint()}  # first: the writer's last bytes into the buffer
        carry = upload.keep_buffer(str(at.rows)) if stopping else None
        if not stopping:
            upload.send_part()
        return {**kept, "upload": upload.state(), "position": at.state(), "carry": carry}

    try:
        writer = open_writer(options, upload, many_clients=job.group_id is None, state=resume.get("writer"))
        for group, contract, resumed in _clients(job, at):
            if job.group_id is not None:
                client_name = group.name
            if not resumed:
                at.start_client(group)
                writer.start_client(group.group_id, group.name)
            sessions = _query(job.tenant_id, group.group_id, request.period, request.status,
                              start_key=at.sessions_after() if resumed else None)
            chunks = names.chunks(sessions, group, contract)
            while True:
                # between chunks, before reading the next: a stop leaves no row read and not written
                if deadline is not None and time.monotonic() > deadline:
                    save(state(stopping=True), True)
                    return None
                chunk = next(chunks, None)
                if chunk is None:
                    break
                for session, line in chunk:
                    writer.add(line)
                    at.wrote(session)
                    if upload.part_ready:
                        kept = state(stopping=False)
                        if save is not None:
                            save(kept, False)
            writer.end_client()
        writer.close()
        written = Written(at.rows, files.file_name(client_name, options, fallback=job.group_id or "all-clients"))
        if upload.upload_id is None:
            upload.close()  # small: one put
            return written
        if upload.buffer.tell():
            upload.send_part()
        if save is not None:  # the file is whole in its parts: a retry only completes it
            save({"finishing": True, "file_name": written.file_name, "upload": upload.state(),
                  "position": at.state()}, False)
        upload.complete()
        return written
    except (InvalidInput, NotFound):  # can never finish (e.g. its client was deleted)
        upload.abort()
        raise
    except BaseException:
        if not resume:  # nobody goes on with this upload
            upload.abort()
        raise  # a job's worker: the retry goes on from the last state saved, with this upload
