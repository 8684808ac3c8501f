"""Exports too large for a request body (up to 5 MB of text): the file is uploaded to a
presigned S3 link (`POST /v1/imports/uploads`), then `POST /v1/imports` names it by `upload_id`
and a job (jobs.py, kind "import") reads it and records its connections, CHUNK at a time, each
chunk's counts saved in the job's state under its step (a retried or restarted worker goes on
from the last saved chunk; the sessions themselves are keyed, so none is ever written twice).
The job's result is the import's answer; GET /v1/jobs/{job_id} shows its progress."""
import secrets
from datetime import timedelta

from . import fields, importing, jobs, settings
from .dal import jobs as stored_jobs
from .errors import InvalidInput, NotFound, TooLarge
from .files.s3 import link_seconds, s3_client

UPLOAD_LINK_SECONDS = 900
MAX_UPLOAD_BYTES = 200 * 1024 * 1024  # ~500,000 TeamViewer connections; held in the worker's memory once


def upload_key(tenant_id: str, upload_id: str) -> str:
    return f"tenants/{tenant_id}/imports/{upload_id}"


def new_upload(tenant_id: str) -> dict:
    """A presigned PUT for one export file: PUT its bytes to `url` before the link expires."""
    upload_id = f"u-{secrets.token_hex(12)}"
    client = s3_client()
    signer = getattr(client, "_request_signer", None)
    seconds = link_seconds(UPLOAD_LINK_SECONDS, getattr(signer, "_credentials", None))
    url = client.generate_presigned_url("put_object", Params={"Bucket": settings.exports_bucket(),
                                                              "Key": upload_key(tenant_id, upload_id)}, ExpiresIn=seconds)
    return {"upload_id": upload_id, "url": url, "method": "PUT", "max_bytes": MAX_UPLOAD_BYTES,
            "expires_at": fields.utc_text(fields.utc_now() + timedelta(seconds=seconds))}


def _uploaded_size(client, tenant_id: str, upload_id: str) -> int:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=settings.exports_bucket(), Key=upload_key(tenant_id, upload_id))
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "403"):
            raise NotFound(f"upload {upload_id} not found: PUT the file to the link of POST /v1/imports/uploads first") from None
        raise
    return int(head["ContentLength"])


def start_import(tenant_id: str, values: dict, actor: str | None) -> dict:
    """POST /v1/imports with `upload_id`: the job that reads the uploaded file. The job's id is the
    upload's, so naming one upload again answers the same job (never a second import of it)."""
    options = importing.parse_options(values)
    upload_id = fields.identifier("upload_id", values.get("upload_id"))
    job_id = f"import-{upload_id}"
    job = stored_jobs.read_job(tenant_id, job_id)
    if job is None:
        size = _uploaded_size(s3_client(), tenant_id, upload_id)
        if size > MAX_UPLOAD_BYTES:
            raise TooLarge(f"the uploaded file is larger than {MAX_UPLOAD_BYTES} bytes: split it")
        try:
            job = jobs.create(tenant_id, jobs.IMPORT, {"upload_id": upload_id, "options": options.state(), "next": 0,
                                                       "summary": None}, actor, job_id=job_id)
        except stored_jobs.JobExists:  # created meanwhile by the same request sent twice: answer that job
            job = stored_jobs.read_job(tenant_id, job_id)
            if job is None:
                raise
        else:
            jobs.start(job)
    return {"job_id": job.job_id, "upload_id": upload_id, "status": job.status}


def go_on_later(tenant_id: str, options: importing.ImportOptions, content: str, done: int, summary: importing.Summary,
                actor: str | None) -> dict:
    """An import that ran out of its request's time: its text kept as an upload, and a job that
    goes on from the `done` connections already through (with their counts)."""
    upload_id = f"u-{secrets.token_hex(12)}"
    s3_client().put_object(Bucket=settings.exports_bucket(), Key=upload_key(tenant_id, upload_id), Body=content.encode("utf-8"))
    job = jobs.create(tenant_id, jobs.IMPORT, {"upload_id": upload_id, "options": options.state(), "next": done,
                                               "summary": summary.view()}, actor, job_id=f"import-{upload_id}")
    jobs.start(job)
    return {"job_id": job.job_id, "upload_id": upload_id, "status": job.status}


def _content(tenant_id: str, upload_id: str) -> str:
    body = s3_client().get_object(Bucket=settings.exports_bucket(), Key=upload_key(tenant_id, upload_id))["Body"].read()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("content", "the uploaded file is not UTF-8 text") from None


def continue_import(tenant_id: str, job, deadline: float | None) -> dict | None:
    """The job worker's part: parses the file, then records its connections from the last saved
    chunk on; each chunk's counts are saved with the job's step. Answers the import's summary
    once done, None when the deadline came first."""
    from .jsonio import parse_object
    from .locking import out_of_time

    state = parse_object(job.state, "state")
    options = importing.ImportOptions(**state["options"])
    importer = importing.Importer(tenant_id, options, job.created_by,
                                  importing.Summary.from_view(state["summary"]) if state["summary"] else None)
    parsed = importer.parse(_content(tenant_id, state["upload_id"]))
    if state["summary"] is None:  # the first step: the lines the file itself refuses
        importer.rejected(parsed.rejected)
        importer.summary.rows += len(parsed.rejected)
    position = state["next"]
    connections = parsed.connections
    while position < len(connections):
        if out_of_time(deadline):
            return None
        chunk = connections[position:position + importing.CHUNK]
        importer.record(chunk)
        position += len(chunk)
        state = {**state, "next": position, "summary": importer.summary.view()}
        if isinstance(stored_jobs.advance_job(job, state, importer.summary.rows), stored_jobs.JobMoved):
            raise jobs.JobMoved()
    return {**importer.summary.view(), "upload_id": state["upload_id"]}
