"""Exports of a session search — one client's or every client's — in the file a finance person
asked for (`files`: CSV, spreadsheet CSV, XLSX, QuickBooks or Xero invoices), streamed to S3
(multipart, bounded buffer) under a per-tenant prefix with an unguessable key, and handed out as a
presigned link that expires and saves under a name that says the client and the period.

An export that cannot finish inside API Gateway's 30 seconds continues asynchronously: the request
streams for at most SYNC_SECONDS; if the search is not done by then it aborts its upload, records the
export as running, hands the job to the export worker (a Lambda Event invocation; a thread when no
worker function is configured, as in the local stack and the tests) and answers 202. The worker
streams the whole search again and records the export as ready (or failed); `export_status` answers
`GET /v1/exports/{export_id}` with a fresh link once it is ready.

DynamoDB round trips of a one-client export that finishes in time: one BatchGetItem of the group and its
contract, the search's query pages, one PutItem of the Export record (what GET /v1/exports/{id}
reads), and for the names beside the ids: one Query of the group's computers (once there is a
session), one of the tenant's profiles only when a session was priced by a profile other than the
contract's, one BatchGetItem per 100 computers not (or no longer) in the group. An export of every
client adds the pages of the tenant's group list and, per client, its group query and search pages."""
import io
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from . import fields, files, models, settings, storage
from .errors import InvalidInput, NotFound
from .contracts import group_and_contract
from .files.writers import MACHINE_COLUMNS, Line, open_writer
from .models import Computer, Contract, Export, Group, ProfileVersion, keys
# The only names exports take from the sessions modules: the search, its filters and a session's view.
from .reporting import Period, parse_status, query_sessions as _query
from .sessions import ACCOUNTED, session_view

COLUMNS = MACHINE_COLUMNS  # §4's machine CSV
NAME_CHUNK = 500  # sessions held while the names of their unknown computers are fetched (one BatchGetItem per 100)
PART_BYTES = 8 * 1024 * 1024  # S3 parts are at least 5 MiB; memory stays near one part
MAX_TTL_SECONDS = 7 * 24 * 3600
# API Gateway answers 504 after 30 s. Streaming stops after SYNC_SECONDS, which leaves the abort,
# the record and the hand-off (well under a second) inside the function's 29 s timeout.
SYNC_SECONDS = 20.0
# The worker's Lambda timeout is 15 minutes: a record still running after that has died with it.
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
    upload whose buffer never holds more than one part."""

    def __init__(self, client, bucket: str, key: str, content_type: str = "text/csv; charset=utf-8"):
        self.client, self.bucket, self.key, self.content_type = client, bucket, key, content_type
        self.buffer = io.BytesIO()
        self.upload_id = None
        self.parts: list[dict] = []

    def write(self, data: str | bytes) -> None:
        self.buffer.write(data.encode("utf-8") if isinstance(data, str) else data)
        if self.buffer.tell() >= PART_BYTES:
            self._flush_part()

    def _flush_part(self) -> None:
        if self.upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType=self.content_type)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        self.buffer.seek(0)  # the buffer itself is the body: no copy of the part
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=self.buffer)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer = io.BytesIO()

    def close(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self.buffer.getvalue(), ContentType=self.content_type)
            return
        if self.buffer.tell():
            self._flush_part()
        self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )

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


class DeadlinePassed(Exception):
    """The search did not finish streaming in time; the upload was aborted."""


@dataclass
class Written:
    rows: int
    file_name: str


# ---------------------------------------------------------------- the names beside the ids


def _clients(job: ExportJob):
    """(group, contract) of the export's client, or of every client of the tenant by group id."""
    if job.group_id is not None:
        yield group_and_contract(job.tenant_id, job.group_id)
        return
    for group in storage.query(Group, keys.groups(job.tenant_id), index="gsi1"):
        yield group_and_contract(job.tenant_id, group.group_id)


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

    def lines(self, sessions, group: Group, contract: Contract | None):
        """The sessions as Lines, NAME_CHUNK at a time (so each chunk's unknown computers are one batch)."""
        chunk = []
        for session in sessions:
            chunk.append(session)
            if len(chunk) == NAME_CHUNK:
                yield from self._named(chunk, group, contract)
                chunk = []
        if chunk:
            yield from self._named(chunk, group, contract)

    def _named(self, chunk, group: Group, contract: Contract | None):
        self.read_group(group.group_id)
        self.read_computers({s.computer_id for s in chunk})
        for session in chunk:
            view = session_view(session, contract)
            yield Line(
                view=view, started_at=session.started_at, ended_at=session.ended_at, locked_at=session.locked_at,
                client=group.name, computer=self.computers.get(session.computer_id),
                profile=self.profile(view["profile_id"], contract),
            )


# ---------------------------------------------------------------- streaming a file


def stream_export(job: ExportJob, client, deadline: float | None = None) -> Written:
    """Streams the export's file to S3 and answers its rows and file name; DeadlinePassed (upload
    aborted) when time.monotonic() passes `deadline` before the search is done."""
    request = parse_export(job.values)
    options = request.options
    upload = StreamedUpload(client, settings.exports_bucket(), job.key, options.content_type)
    names = Names(job.tenant_id)
    rows, client_name = 0, "all-clients"
    try:
        writer = open_writer(options, upload, many_clients=job.group_id is None)
        for group, contract in _clients(job):
            if job.group_id is not None:
                client_name = group.name
            writer.start_client(group.group_id, group.name)
            sessions = _query(job.tenant_id, group.group_id, request.period, request.status)
            for line in names.lines(sessions, group, contract):
                if deadline is not None and time.monotonic() > deadline:
                    raise DeadlinePassed(job.export_id)
                writer.add(line)
                rows += 1
            writer.end_client()
        writer.close()
        upload.close()
    except BaseException:
        upload.abort()
        raise
    return Written(rows, files.file_name(client_name, options, fallback=job.group_id or "all-clients"))


def _record(job: ExportJob, status: str, written: Written | None = None) -> None:
    now = fields.utc_now()
    models.bind()
    Export(
        keys.export(job.tenant_id, job.export_id), "EXPORT",
        export_id=job.export_id, group_id=job.group_id, key=job.key, status=status,
        rows=written.rows if written else 0, file_name=written.file_name if written else None,
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
    `{export_id, status: running}` while the worker finishes it. `group_id` None: every client."""
    ttl_seconds = parse_export(values).ttl_seconds  # bad input is a 400 before any work
    job = ExportJob.new(tenant_id, group_id, values, actor)
    client = s3_client()
    budget = SYNC_SECONDS if budget_seconds is None else budget_seconds
    try:
        written = stream_export(job, client, deadline=time.monotonic() + budget)
    except DeadlinePassed:
        _record(job, RUNNING)
        invoke_worker(job)
        return 202, {"export_id": job.export_id, "status": RUNNING, "rows": 0}
    _record(job, READY, written)
    link = _link(client, job.export_id, job.key, ttl_seconds, written.file_name)
    return 201, {"export_id": job.export_id, "status": READY, "rows": written.rows, **link}


# ---------------------------------------------------------------- asynchronous exports


def invoke_worker(job: ExportJob) -> None:
    """Hands the job to the export worker function (InvocationType=Event). Without a configured
    worker function (the local stack, the tests) it runs in a thread of this process."""
    function_name = settings.export_worker_function()
    payload = {"export_job": asdict(job)}
    if function_name is None:
        threading.Thread(target=_run_in_thread, args=(payload,), name=f"export-{job.export_id}", daemon=True).start()
        return
    import boto3

    client = boto3.client("lambda", region_name=settings.region(), endpoint_url=settings.aws_endpoint_url())
    client.invoke(FunctionName=function_name, InvocationType="Event", Payload=json.dumps(payload).encode())


def run_export(event: dict) -> dict:
    """The worker: streams the whole export and records it as ready, or as failed."""
    job = ExportJob(**event["export_job"])
    try:
        written = stream_export(job, s3_client())
    except Exception:
        _record(job, FAILED)
        raise
    _record(job, READY, written)
    return {"export_id": job.export_id, "status": READY, "rows": written.rows}


def _run_in_thread(event: dict) -> None:
    try:
        run_export(event)
    except Exception:  # recorded as failed; a thread has no caller to raise to
        logging.getLogger(__name__).exception("export %s failed", event["export_job"]["export_id"])


def export_status(tenant_id: str, export_id: str) -> dict:
    """`GET /v1/exports/{export_id}`: running, failed, or ready with a fresh link. Another
    tenant's id is not found (the key starts with the caller's tenant)."""
    models.bind()
    try:
        record = Export.get(keys.export(tenant_id, export_id), "EXPORT", consistent_read=True)
    except Export.DoesNotExist:
        raise NotFound(f"export {export_id} not found") from None
    status = record.status
    if status == RUNNING and fields.utc_now() - record.created_at > STALE_AFTER:
        status = FAILED  # the worker was stopped by its timeout and could not say so
    answer = {"export_id": record.export_id, "group_id": record.group_id, "status": status, "rows": record.rows}
    if status == READY:
        ttl_seconds = record.link_ttl_seconds or settings.export_url_ttl_seconds()
        answer.update(_link(s3_client(), record.export_id, record.key, ttl_seconds, record.file_name))
    return answer
