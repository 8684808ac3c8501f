"""CSV export of a session search, streamed to S3 (multipart, bounded buffer) under a per-tenant
prefix with an unguessable key, and handed out as a presigned link that expires.

An export that cannot finish inside API Gateway's 30 seconds continues asynchronously: the request
streams for at most SYNC_SECONDS; if the search is not done by then it aborts its upload, records the
export as running, hands the job to the export worker (a Lambda Event invocation; a thread when no
worker function is configured, as in the local stack and the tests) and answers 202. The worker
streams the whole search again and records the export as ready (or failed); `export_status` answers
`GET /v1/exports/{export_id}` with a fresh link once it is ready.

DynamoDB round trips of an export that finishes in time: one Query for the group and its contract,
the search's query pages, and one PutItem of the Export record (what GET /v1/exports/{id} reads)."""
import csv
import io
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from . import fields, models, settings
from .errors import InvalidInput, NotFound
from .models import Export, keys
from .contracts import group_contract
from .reporting import parse_period, parse_status, query_sessions as _query
from .sessions import session_view

COLUMNS = (
    "session_id", "group_id", "technician", "computer_id", "started_at", "ended_at",
    "connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "cost", "currency",
    "status", "locked_at", "profile_id", "profile_version", "notes",
)
TEXT_COLUMNS = {"session_id", "group_id", "technician", "computer_id", "currency", "status", "profile_id", "notes"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DELIMITERS = (",", ";")
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


def neutralise(value: str) -> str:
    """A spreadsheet must not run a cell as a formula: text that starts like one gets a quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_row(view: dict) -> list:
    row = []
    for column in COLUMNS:
        value = view[column]
        if value is None:
            row.append("")
        elif column in TEXT_COLUMNS:
            row.append(neutralise(str(value)))
        else:
            row.append(value)
    return row


def s3_client():
    import boto3  # only the export functions pay for it
    from botocore.config import Config

    endpoint = settings.aws_endpoint_url()
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else {})
    return boto3.client("s3", region_name=settings.region(), endpoint_url=endpoint, config=config)


class StreamedUpload:
    """Writes text to one S3 object: a single put when small, else a multipart upload whose
    buffer never holds more than one part."""

    def __init__(self, client, bucket: str, key: str):
        self.client, self.bucket, self.key = client, bucket, key
        self.buffer = io.BytesIO()
        self.upload_id = None
        self.parts: list[dict] = []

    def write(self, text: str) -> None:
        self.buffer.write(text.encode("utf-8"))
        if self.buffer.tell() >= PART_BYTES:
            self._flush_part()

    def _flush_part(self) -> None:
        if self.upload_id is None:
            started = self.client.create_multipart_upload(Bucket=self.bucket, Key=self.key, ContentType="text/csv; charset=utf-8")
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        self.buffer.seek(0)  # the buffer itself is the body: no copy of the part
        answer = self.client.upload_part(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=self.buffer)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.buffer = io.BytesIO()

    def close(self) -> None:
        if self.upload_id is None:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=self.buffer.getvalue(), ContentType="text/csv; charset=utf-8")
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


def parse_export(values: dict):
    period = parse_period(values)
    status = parse_status(values.get("status"))
    delimiter = values.get("delimiter", ",")
    if delimiter not in DELIMITERS:
        raise InvalidInput("delimiter", "must be \",\" or \";\"")
    ttl = values.get("expires_in_minutes")
    if ttl is None:
        ttl_seconds = settings.export_url_ttl_seconds()
    elif not isinstance(ttl, int) or isinstance(ttl, bool) or not 1 <= ttl <= MAX_TTL_SECONDS // 60:
        raise InvalidInput("expires_in_minutes", f"must be a whole number from 1 to {MAX_TTL_SECONDS // 60} (7 days)")
    else:
        ttl_seconds = ttl * 60
    return period, status, delimiter, ttl_seconds


class _Lines:
    """csv.writer target that hands each line on to the upload."""

    def __init__(self, upload: StreamedUpload):
        self.upload = upload

    def write(self, text: str) -> None:
        self.upload.write(text)


@dataclass
class ExportJob:
    """One export: what the request asked (validated) and where the file goes. It travels to the
    worker as the Event payload, so it holds plain JSON values only."""

    tenant_id: str
    group_id: str
    export_id: str
    key: str
    values: dict
    actor: str | None

    @classmethod
    def new(cls, tenant_id: str, group_id: str, values: dict, actor: str | None) -> "ExportJob":
        return cls(
            tenant_id=tenant_id,
            group_id=group_id,
            export_id=f"exp_{secrets.token_hex(8)}",
            key=f"tenants/{tenant_id}/exports/{secrets.token_urlsafe(24)}.csv",
            values=dict(values),
            actor=actor or None,
        )


class DeadlinePassed(Exception):
    """The search did not finish streaming in time; the upload was aborted."""


def stream_export(job: ExportJob, client, deadline: float | None = None) -> int:
    """Streams the search's CSV to S3 and answers the number of rows; DeadlinePassed (upload
    aborted) when time.monotonic() passes `deadline` before the search is done."""
    period, status, delimiter, _ = parse_export(job.values)
    contract = group_contract(job.tenant_id, job.group_id)
    upload = StreamedUpload(client, settings.exports_bucket(), job.key)
    writer = csv.writer(_Lines(upload), delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    try:
        for session in _query(job.tenant_id, job.group_id, period, status):
            if deadline is not None and time.monotonic() > deadline:
                raise DeadlinePassed(job.export_id)
            writer.writerow(csv_row(session_view(session, contract)))
            rows += 1
        upload.close()
    except BaseException:
        upload.abort()
        raise
    return rows


def _record(job: ExportJob, status: str, rows: int = 0) -> None:
    now = fields.utc_now()
    models.bind()
    Export(
        keys.export(job.tenant_id, job.export_id), "EXPORT",
        export_id=job.export_id, group_id=job.group_id, key=job.key, status=status, rows=rows,
        created_at=now, created_by=job.actor, link_ttl_seconds=parse_export(job.values)[3],
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


def _link(client, export_id: str, key: str, ttl_seconds: int) -> dict:
    signer = getattr(client, "_request_signer", None)  # the credentials this client signs with
    ttl_seconds = link_seconds(ttl_seconds, getattr(signer, "_credentials", None))
    expires_at = fields.utc_now() + timedelta(seconds=ttl_seconds)
    url = client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.exports_bucket(),
            "Key": key,
            "ResponseContentDisposition": f'attachment; filename="sessions-{export_id}.csv"',
        },
        ExpiresIn=ttl_seconds,
    )
    return {"url": url, "expires_at": fields.utc_text(expires_at), "key": key}


def export_sessions(tenant_id: str, group_id: str, values: dict, actor: str | None, budget_seconds: float | None = None) -> tuple[int, dict]:
    """201 and the link when the export finishes within `budget_seconds` (SYNC_SECONDS), else 202
    `{export_id, status: running}` while the worker finishes it."""
    _, _, _, ttl_seconds = parse_export(values)  # bad input is a 400 before any work
    job = ExportJob.new(tenant_id, group_id, values, actor)
    client = s3_client()
    budget = SYNC_SECONDS if budget_seconds is None else budget_seconds
    try:
        rows = stream_export(job, client, deadline=time.monotonic() + budget)
    except DeadlinePassed:
        _record(job, RUNNING)
        invoke_worker(job)
        return 202, {"export_id": job.export_id, "status": RUNNING, "rows": 0}
    _record(job, READY, rows)
    return 201, {"export_id": job.export_id, "status": READY, "rows": rows, **_link(client, job.export_id, job.key, ttl_seconds)}


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
        rows = stream_export(job, s3_client())
    except Exception:
        _record(job, FAILED)
        raise
    _record(job, READY, rows)
    return {"export_id": job.export_id, "status": READY, "rows": rows}


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
        answer.update(_link(s3_client(), record.export_id, record.key, ttl_seconds))
    return answer
