"""CSV export of a session search, streamed to S3 (multipart, bounded buffer) under a per-tenant
prefix with an unguessable key, and handed out as a presigned link that expires."""
import csv
import io
import secrets
from datetime import timedelta

from . import fields, models, settings
from .errors import InvalidInput
from .models import Export, keys
from .sessions import _group_exists, _query, find_contract, parse_period, parse_status, session_view

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
    import boto3  # only the export function pays for it
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
        answer = self.client.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=self.buffer.getvalue()
        )
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


def export_sessions(tenant_id: str, group_id: str, values: dict, actor: str) -> dict:
    period, status, delimiter, ttl_seconds = parse_export(values)
    _group_exists(tenant_id, group_id)
    contract = find_contract(tenant_id, group_id)
    export_id = f"exp_{secrets.token_hex(8)}"
    key = f"tenants/{tenant_id}/exports/{secrets.token_urlsafe(24)}.csv"
    client = s3_client()
    bucket = settings.exports_bucket()
    upload = StreamedUpload(client, bucket, key)
    writer = csv.writer(_Lines(upload), delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    rows = 0
    try:
        for session in _query(tenant_id, group_id, period, status):
            writer.writerow(csv_row(session_view(session, contract)))
            rows += 1
        upload.close()
    except BaseException:
        upload.abort()
        raise
    now = fields.utc_now()
    expires_at = now + timedelta(seconds=ttl_seconds)
    url = client.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": f'attachment; filename="sessions-{export_id}.csv"'},
        ExpiresIn=ttl_seconds,
    )
    models.bind()
    Export(
        keys.export(tenant_id, export_id), "EXPORT",
        export_id=export_id, group_id=group_id, key=key, status="ready", rows=rows,
        created_at=now, created_by=actor or None, expires_at=int((now + timedelta(days=8)).timestamp()),
    ).save()
    return {"export_id": export_id, "url": url, "expires_at": fields.utc_text(expires_at), "rows": rows, "key": key}
