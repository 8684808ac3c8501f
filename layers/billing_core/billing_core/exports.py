"""Exports of a session search — one client's or every client's — in the file a finance person
asked for (`files`: CSV, spreadsheet CSV, XLSX, QuickBooks or Xero invoices), streamed to S3
(multipart, bounded buffer) under a per-tenant prefix with an unguessable key, and handed out as a
presigned link that expires and saves under a name that says the client and the period.

An export that cannot finish inside API Gateway's 30 seconds goes on as a job (billing_core.jobs):
the request streams for at most SYNC_SECONDS, then keeps what it wrote (its parts, the bytes not
yet a part as a carry object, the writer's state, the search's position after the last row),
creates the job with that state and answers 202. The job's worker goes on from there — the same
upload, the same file, no row read or written twice — saving its state at every part, so a
retried or restarted worker goes on from the last part, and a worker out of time hands the job
on. `export_status` answers `GET /v1/exports/{export_id}` (rows so far, then a fresh link);
`GET /v1/jobs/{job_id}` shows the job's progress.

DynamoDB round trips of a one-client export that finishes in time: one BatchGetItem of the group and its
contract, the search's query pages, one PutItem of the Export record (what GET /v1/exports/{id}
reads), and for the names beside the ids: one Query of the group's computers (once there is a
session), one of the tenant's profiles only when a session was priced by a profile other than the
contract's, one BatchGetItem per 100 computers not (or no longer) in the group. An export of every
client adds the pages of the tenant's group list and, per client, its group query and search pages.
A job adds one TransactWriteItems per 8 MiB part (its state)."""
import io
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from . import fields, files, jobs, settings
from .dal import jobs as stored_jobs
from .dal import models
from .dal import store as storage
from .errors import InvalidInput, NotFound
from .contracts import group_and_contract
from .files.writers import MACHINE_COLUMNS, Line, open_writer
from .dal.models import Computer, Contract, Export, Group, ProfileVersion, keys
# The only names exports take from the sessions modules: the search, its filters and a session's view.
from .reporting import Period, parse_status, query_sessions as _query
from .sessions import ACCOUNTED, TO_ACCOUNT, session_view

COLUMNS = MACHINE_COLUMNS  # §4's machine CSV
NAME_CHUNK = 500  # sessions held while the names of their unknown computers are fetched (one BatchGetItem per 100)
PART_BYTES = 8 * 1024 * 1024  # memory stays near one part
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (but the last)
STATE_IN_ITEM_BYTES = 64 * 1024  # a job's state larger than this goes to S3 (an item holds 400 KB)
MAX_TTL_SECONDS = 7 * 24 * 3600
# API Gateway answers 504 after 30 s. Streaming stops after SYNC_SECONDS, which leaves the abort,
# the record and the hand-off (well under a second) inside the function's 29 s timeout.
SYNC_SECONDS = 20.0
# Records of the former export worker (no job): one still running after its 15-minute timeout died with it.
STALE_AFTER = timedelta(minutes=16)
RECORD_DAYS = 8  # DynamoDB's TTL removes the Export record after the longest link has expired
RUNNING, READY, FAILED = "running", "ready", "failed"
# A presigned link dies with the credentials that signed it. Lambda's role credentials carry a
# session token but no expiry the function can read; they are renewed well within an hour of
# use, so a link signed with them is capped at an hour and GET /v1/exports/{id} answers a fresh one.
SESSION_LINK_SECONDS = 3600
EXPIRY_MARGIN_SECONDS = 60


def s3_client():
    import boto3  # only the export functions pay for it
    from botocore.config import Config

    endpoint = settings.aws_endpoint_url()
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else {})
    return boto3.client("s3", region_name=settings.region(), endpoint_url=endpoint, config=config)


class StreamedUpload:
    """Writes bytes (or text, as UTF-8) to one S3 object: a single put when small, else a multipart
    upload whose buffer never holds more than about one part. An export sends its parts itself
    (`by_caller`), at row boundaries where it also records where it stands; `state()` and a
    carry object (the buffer not yet a part) let another worker go on with the same upload."""

    def __init__(self, client, bucket: str, key: str, content_type: str = "text/csv; charset=utf-8",
                 state: dict | None = None, by_caller: bool = False):
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self.buffer = io.BytesIO()
        self.upload_id = state["upload_id"] if state else None
        self.parts: list[dict] = list(state["parts"]) if state else []
        self.by_caller = by_caller

    def write(self, data: str | bytes) -> None:
        self.buffer.write(data.encode("utf-8") if isinstance(data, str) else data)
        if not self.by_caller and self.part_ready:
            self.send_part()

    @property
    def part_ready(self) -> bool:
        return self.buffer.tell() >= PART_BYTES

    def send_part(self) -> None:
        if self.upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        self.buffer.seek(0)  # the buffer itself is the body: no copy of the part
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=self.buffer)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer = io.BytesIO()

    def state(self) -> dict:
        return {"upload_id": self.upload_id, "parts": list(self.parts)}

    def keep_buffer(self, name: str) -> str | None:
        """The bytes not yet sent, made safe for whoever goes on: a part when S3 takes it as one,
        else a carry object (a part but the last must be 5 MiB). Answers the carry's key, if any."""
        if self.buffer.tell() >= MIN_PART_BYTES:
            self.send_part()
        if not self.buffer.tell():
            return None
        key = f"{self.key}.{name}.carry"
        self.client.put_object(Bucket=self.bucket, Key=key, Body=self.buffer.getvalue())
        return key

    def take_carry(self, key: str) -> None:
        self.buffer.write(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def close(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self.buffer.getvalue(), ContentType=self.content_type)
            return
        if self.buffer.tell():
            self.send_part()
        self.complete()

    def complete(self) -> None:
        """Completes the multipart upload; done already (a worker that died right after) is done."""
        try:
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
            )
        except self.client.exceptions.NoSuchUpload:
            self.client.head_object(Bucket=self.bucket, Key=self.key)  # the file is there, or this raises

    def abort(self) -> None:
        if self.upload_id is not None:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
            self.upload_id = None


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
    for group in storage.query(Group, keys.groups(job.tenant_id), index="gsi1", last_evaluated_key=at.groups_after()):
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
            for computer in storage.query(Computer, keys.computers_of(self.tenant_id, group_id), index="gsi1"):
                self.computers[computer.computer_id] = computer.name

    def read_computers(self, computer_ids: set[str]) -> None:
        missing = sorted(c for c in computer_ids if c not in self.computers)
        found = storage.batch_get((keys.computer(self.tenant_id, c), "COMPUTER") for c in missing)
        named = {item.computer_id: item.name for item in found.values() if isinstance(item, Computer)}
        for computer_id in missing:
            self.computers[computer_id] = named.get(computer_id)

    def profile(self, profile_id: str | None, contract: Contract | None) -> str | None:
        if profile_id is None:
            return None
        if contract is not None and contract.profile_id == profile_id:
            return contract.profile_name
        if self.profiles is None:
            self.profiles = {p.profile_id: p.name for p in storage.query(ProfileVersion, keys.profiles(self.tenant_id), index="gsi1")}
        return self.profiles.get(profile_id)

    def chunks(self, sessions, group: Group, contract: Contract | None):
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

    def _named(self, chunk, group: Group, contract: Contract | None):
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
            last, index = self.last, "GSI2" if self.open_index else "GSI1"
            self.session_key = {"PK": last.PK, "SK": last.SK, f"{index}PK": getattr(last, f"{index}PK"),
                                f"{index}SK": getattr(last, f"{index}SK")}
            self.last = None
        return {"rows": self.rows, "group_id": self.group_id, "group_key": self.group_key, "session_key": self.session_key}

    def start_client(self, group: Group) -> None:
        self.group_id, self.session_key, self.last = group.group_id, None, None
        self.group_key = {"PK": group.PK, "SK": group.SK, "GSI1PK": group.GSI1PK, "GSI1SK": group.GSI1SK}

    def wrote(self, session) -> None:
        self.rows += 1
        self.last = session

    @staticmethod
    def _start_key(key: dict | None) -> dict | None:
        return None if key is None else {name: {"S": value} for name, value in key.items()}

    def sessions_after(self) -> dict | None:
        return self._start_key(self.session_key)

    def groups_after(self) -> dict | None:
        return self._start_key(self.group_key)


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


def _record(job: ExportJob, status: str, written: Written | None = None, job_id: str | None = None, rows: int = 0) -> None:
    now = fields.utc_now()
    models.bind()
    Export(
        keys.export(job.tenant_id, job.export_id), "EXPORT",
        export_id=job.export_id, group_id=job.group_id, key=job.key, status=status, job_id=job_id,
        rows=written.rows if written else rows, file_name=written.file_name if written else None,
        created_at=now, created_by=job.actor, link_ttl_seconds=parse_export(job.values).ttl_seconds,
        expires_at=int((now + timedelta(days=RECORD_DAYS)).timestamp()),
    ).save()


def link_seconds(requested: int, credentials) -> int:
    """How long a link signed with `credentials` can really work: what was asked, at most the
    credentials' remaining life (refreshable credentials know their expiry), at most
    SESSION_LINK_SECONDS for session credentials of unknown expiry; long-term keys: as asked."""
    if credentials is None:
        return requested
    expiry = getattr(credentials, "_expiry_time", None)  # botocore's RefreshableCredentials
    if expiry is not None:
        remaining = int((expiry - fields.utc_now()).total_seconds()) - EXPIRY_MARGIN_SECONDS
        return max(1, min(requested, remaining))
    if getattr(credentials, "token", None):
        return min(requested, SESSION_LINK_SECONDS)
    return requested


def _link(client, export_id: str, key: str, ttl_seconds: int, file_name: str | None) -> dict:
    """A presigned GET whose answer tells the browser to save the file under its name."""
    signer = getattr(client, "_request_signer", None)  # the credentials this client signs with
    ttl_seconds = link_seconds(ttl_seconds, getattr(signer, "_credentials", None))
    expires_at = fields.utc_now() + timedelta(seconds=ttl_seconds)
    file_name = file_name or f"sessions-{export_id}.{key.rsplit('.', 1)[-1]}"
    url = client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.exports_bucket(),
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="{file_name}"',
        },
        ExpiresIn=ttl_seconds,
    )
    return {"url": url, "expires_at": fields.utc_text(expires_at), "key": key, "file_name": file_name}


def export_sessions(tenant_id: str, group_id: str | None, values: dict, actor: str | None, budget_seconds: float | None = None) -> tuple[int, dict]:
    """201 and the link when the export finishes within `budget_seconds` (SYNC_SECONDS), else 202
    `{export_id, job_id, status: running, rows}`: a job's worker goes on from the row the request
    stopped at (progress at `GET /v1/jobs/{job_id}`). `group_id` None: every client."""
    ttl_seconds = parse_export(values).ttl_seconds  # bad input is a 400 before any work
    job = ExportJob.new(tenant_id, group_id, values, actor)
    client = s3_client()
    budget = SYNC_SECONDS if budget_seconds is None else budget_seconds
    handed: list = []

    def hand_over(state: dict, stopping: bool) -> None:
        if stopping:  # the request's parts are its own until then: nobody else goes on with them
            handed.append(_start_job(client, job, state))

    written = stream_export(job, client, deadline=time.monotonic() + budget, save=hand_over)
    if written is None:
        rows = handed[0].done
        return 202, {"export_id": job.export_id, "job_id": handed[0].job_id, "status": RUNNING, "rows": int(rows)}
    _record(job, READY, written)
    link = _link(client, job.export_id, job.key, ttl_seconds, written.file_name)
    return 201, {"export_id": job.export_id, "status": READY, "rows": written.rows, **link}


# ---------------------------------------------------------------- exports as jobs


def _start_job(client, job: ExportJob, state: dict):
    rows = state["position"]["rows"]
    kept = _in_item(client, job, {"export": asdict(job), **state})
    work = jobs.create(job.tenant_id, jobs.EXPORT, kept, job.actor, done=rows)
    _record(job, RUNNING, job_id=work.job_id, rows=rows)
    jobs.start(work)
    return work


def _in_item(client, job: ExportJob, state: dict) -> dict:
    """The state as the job item keeps it: itself, or — a workbook of very many clients carries
    their figures for its summary sheet — an S3 object it names (a DynamoDB item holds 400 KB)."""
    text = json.dumps(state)
    if len(text) <= STATE_IN_ITEM_BYTES:
        return state
    key = f"{job.key}.{secrets.token_hex(6)}.state"  # never overwritten: a duplicate worker writes its own
    client.put_object(Bucket=settings.exports_bucket(), Key=key, Body=text.encode())
    return {"export": state["export"], "state_key": key, "position": state["position"]}


def _whole(client, state: dict) -> dict:
    if "state_key" not in state:
        return state
    return json.loads(client.get_object(Bucket=settings.exports_bucket(), Key=state["state_key"])["Body"].read())


def _objects_of(state: dict) -> set[str]:
    """The S3 objects (besides the file) a saved state needs: its carry, its spilled state."""
    return {key for key in (state.get("carry"), state.get("state_key")) if key}


def continue_export(tenant_id: str, work, deadline: float | None) -> dict | None:
    """The job worker's part of an export: goes on writing the file from the job's last saved
    state (same upload, same writer, the search after the last row written). Each save replaces
    the job's state under its step, so a retried, restarted or duplicated worker goes on from the
    last one and no row is written twice. Answers the result once the file is whole, None when
    `deadline` came first (the state saved: the next worker goes on)."""
    saved = json.loads(work.state)
    job = ExportJob(**saved["export"])
    record = storage.get(Export, keys.export(tenant_id, job.export_id), "EXPORT")
    if record is not None and record.status == READY:  # a worker wrote it whole and died before the job said so
        work.done = record.rows
        return {"export_id": job.export_id, "rows": int(record.rows), "file_name": record.file_name}
    client = s3_client()
    state = _whole(client, saved)
    needed = [_objects_of(saved) | _objects_of(state)]

    def save(kept: dict, stopping: bool) -> None:
        new = _in_item(client, job, {"export": saved["export"], **kept})
        rows = kept["position"]["rows"]
        if isinstance(stored_jobs.advance_job(work, new, rows), stored_jobs.JobMoved):
            raise jobs.JobMoved()
        _drop(client, job, needed, _objects_of(new) | _objects_of(kept))

    try:
        written = stream_export(job, client, deadline, resume=state, save=save)
    except (InvalidInput, NotFound):  # can never finish (e.g. the client was deleted): say so
        _record(job, FAILED, job_id=work.job_id, rows=int(work.done))
        raise  # the job fails with this error (jobs.run)
    if written is None:
        return None
    _record(job, READY, written, job_id=work.job_id)
    work.done = written.rows  # the job's progress ends at the file's rows (jobs.run saves it)
    _drop(client, job, needed, set())
    from . import observability

    observability.export_done(written.rows, job=True)
    return {"export_id": job.export_id, "rows": written.rows, "file_name": written.file_name}


def _drop(client, job: ExportJob, needed: list, now_needed: set[str]) -> None:
    """The objects of an earlier state, once the saved state no longer needs them (best effort:
    the bucket's lifecycle rule removes what is left)."""
    for key in needed[0] - now_needed:
        try:
            client.delete_object(Bucket=settings.exports_bucket(), Key=key)
        except Exception:  # noqa: BLE001 — a leftover costs bytes for a few days, nothing else
            logging.getLogger(__name__).warning("%s of export %s not deleted", key, job.export_id)
    needed[0] = set(now_needed)


def export_status(tenant_id: str, export_id: str) -> dict:
    """`GET /v1/exports/{export_id}`: running (with the rows written so far), failed, or ready
    with a fresh link. Another tenant's id is not found (the key starts with the caller's tenant)."""
    models.bind()
    try:
        record = Export.get(keys.export(tenant_id, export_id), "EXPORT", consistent_read=True)
    except Export.DoesNotExist:
        raise NotFound(f"export {export_id} not found") from None
    status, rows = record.status, record.rows
    if status == RUNNING and record.job_id:
        work = storage.get(models.Job, keys.job(tenant_id, record.job_id), "JOB")
        if work is None or work.status == jobs.FAILED:
            status = FAILED
        else:
            rows = int(work.done)
    elif status == RUNNING and fields.utc_now() - record.created_at > STALE_AFTER:
        status = FAILED  # a record of the former worker, stopped by its timeout before it could say so
    answer = {"export_id": record.export_id, "group_id": record.group_id, "status": status, "rows": int(rows)}
    if record.job_id:
        answer["job_id"] = record.job_id
    if status == READY:
        ttl_seconds = record.link_ttl_seconds or settings.export_url_ttl_seconds()
        answer.update(_link(s3_client(), record.export_id, record.key, ttl_seconds, record.file_name))
    return answer
