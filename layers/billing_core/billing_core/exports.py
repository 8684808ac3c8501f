"""Exports of a session search — one client's or every client's — in the file a finance person
asked for (`files`: CSV, spreadsheet CSV, XLSX, QuickBooks or Xero invoices), streamed to S3
(billing_core.export_stream) under a per-tenant prefix with an unguessable key, and handed out as
a presigned link that expires and saves under a name that says the client and the period.

An export that cannot finish inside API Gateway's 30 seconds goes on as a job (billing_core.jobs):
the request streams for at most SYNC_SECONDS (less when its invocation has less time left), then
keeps what it wrote (its parts, the bytes not yet a part as a carry object, the writer's state,
the search's position after the last row), creates the job with that state and answers that it
is running. The job's worker goes on from there — the same upload, the same file, no row read or
written twice — saving its state at every part, so a retried or restarted worker goes on from
the last part, and a worker out of time hands the job on. `export_status` answers
`GET /v1/exports/{export_id}` (rows so far, then a fresh link); `GET /v1/jobs/{job_id}` shows
the job's progress. The answers say finished or running; the API picks the HTTP status.

Round trips beyond the file's (export_stream): one PutItem of the Export record (what
GET /v1/exports/{id} reads); a job adds one TransactWriteItems per 8 MiB part (its state)."""
import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import timedelta

from . import fields, settings
from .deadline import remaining as time_left
from .deadline import settle as settle_indexes
from .dal import exports as stored
from .errors import InvalidInput, NotFound
from .export_stream import ExportJob, Written, parse_export, stream_export
from .files.s3 import link, s3_client


STATE_IN_ITEM_BYTES = 64 * 1024  # a job's state larger than this goes to S3 (an item holds 400 KB)
# API Gateway answers 504 after 30 s. Streaming stops after SYNC_SECONDS, which leaves the abort,
# the record and the hand-off (well under a second) inside the function's 29 s timeout.
SYNC_SECONDS = 20.0
HAND_OVER_SECONDS = 4.0  # kept back from the invocation's time left for the hand-off and the answer
# Records of the former export worker (no job): one still running after its 15-minute timeout died with it.
STALE_AFTER = timedelta(minutes=16)
RUNNING, READY, FAILED = "running", "ready", "failed"


@dataclass(frozen=True)
class Answer:
    """An export's answer: `finished` (the link is in `body`) or still running as a job."""

    finished: bool
    body: dict


def _record(job: ExportJob, status: str, written: Written | None = None, job_id: str | None = None, rows: int = 0) -> None:
    stored.put_export(job.tenant_id, job.export_id, job.group_id, job.key, status, written.rows if written else rows, job_id,
                      written.file_name if written else None, job.actor, parse_export(job.values).ttl_seconds)


def export_sessions(tenant_id: str, group_id: str | None, values: dict, actor: str | None,
                    budget_seconds: float | None = None) -> Answer:
    """Finished with the link when the export ends within `budget_seconds` (SYNC_SECONDS, at most
    the invocation's time left), else running: `{export_id, job_id, status: running, rows}`, a
    job's worker going on from the row the request stopped at. `group_id` None: every client."""
    ttl_seconds = parse_export(values).ttl_seconds  # bad input is a 400 before any work
    # The file reads indexes, which show a write a moment after it (as DynamoDB's do): it starts
    # once they have settled past this request, so a lock or an upload answered before it is in it.
    settle_indexes(fields.utc_now(), "the indexes", reserve=HAND_OVER_SECONDS)
    job = ExportJob.new(tenant_id, group_id, values, actor)
    client = s3_client()
    budget = min(SYNC_SECONDS if budget_seconds is None else budget_seconds, time_left() - HAND_OVER_SECONDS)
    handed: list = []

    def hand_over(state: dict, stopping: bool) -> None:
        if stopping:  # the request's parts are its own until then: nobody else goes on with them
            handed.append(_start_job(client, job, state))

    written = stream_export(job, client, deadline=time.monotonic() + budget, save=hand_over)
    if written is None:
        rows = handed[0].done
        return Answer(False, {"export_id": job.export_id, "job_id": handed[0].job_id, "status": RUNNING, "rows": int(rows)})
    _record(job, READY, written)
    return Answer(True, {"export_id": job.export_id, "status": READY, "rows": written.rows,
                         **link(client, job.export_id, job.key, ttl_seconds, written.file_name)})


def replayed(tenant_id: str, body: dict) -> dict:
    """An export's first answer, sent again for its Idempotency-Key: its link signed afresh (the
    first one may have expired), the rest as it was."""
    if "run_id" in body and "key" in body:  # an invoice run's file (POST /v1/exports {run_id})
        from .files.invoice_files import fresh_link

        return fresh_link(body)
    if body.get("status") != READY or "url" not in body:
        return body
    record = stored.read_export(tenant_id, body["export_id"])
    if record is None:  # the record outlives the longest link: gone, the file is too
        return body
    ttl_seconds = record.link_ttl_seconds or settings.export_url_ttl_seconds()
    fresh = link(s3_client(), record.export_id, record.key, ttl_seconds, record.file_name)
    return {**body, "url": fresh["url"], "expires_at": fresh["expires_at"]}


# ---------------------------------------------------------------- exports as jobs


def _start_job(client, job: ExportJob, state: dict):
    from . import jobs  # only an export longer than its request (and its worker) loads jobs

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
    from . import jobs
    from .dal import jobs as stored_jobs

    saved = json.loads(work.state)
    job = ExportJob(**saved["export"])
    record = stored.read_export(tenant_id, job.export_id)
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
    record = stored.read_export(tenant_id, export_id)
    if record is None:
        raise NotFound(f"export {export_id} not found")
    status, rows = record.status, record.rows
    if status == RUNNING and record.job_id:
        from .dal import jobs as stored_jobs  # an export that went on as a job

        work = stored_jobs.read_job(tenant_id, record.job_id)
        if work is None or work.status == stored_jobs.FAILED:
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
        answer.update(link(s3_client(), record.export_id, record.key, ttl_seconds, record.file_name))
    return answer
