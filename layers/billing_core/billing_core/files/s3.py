"""Files in S3: a streamed upload (one put when small, else a multipart upload holding about
one part in memory, which a later worker can go on with) and presigned links that say the file's
name and live no longer than the credentials that sign them."""
import io
from datetime import timedelta

from .. import fields, settings

PART_BYTES = 8 * 1024 * 1024  # memory stays near one part
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (but the last)
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


def link(client, export_id: str, key: str, ttl_seconds: int, file_name: str | None) -> dict:
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
