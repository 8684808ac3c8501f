"""Jobs: long work that goes on after its request answered 202 (SPEC §9, §12), with progress at
`GET /v1/jobs/{job_id}`.

Mechanism (AWS): the request writes the job item, then sends its id to an SQS queue whose
consumer is the job worker function (template.yaml: JobsQueue, JobWorkerFunction, and a
dead-letter queue after 5 receives). SQS gives what a job needs without more code: a retry of a
worker that crashed or timed out (the message reappears after its visibility timeout), a
redrive policy to a DLQ for a job that keeps failing, and a worker that has worked for its time
budget sends the job again and returns, so a job is never bound by one function's 15 minutes.
(Lambda async invocation retries only twice and for at most 6 hours with no visibility of the
queue; Step Functions would add a state machine for what is one loop.)

Exactly-once: a kind's work is done in steps, each one transaction that also replaces the job's
`state` under the condition `step` == the step read (`advance`). A retried, restarted or
duplicated worker reads the job and goes on from its last committed step; a step it had done
already fails its condition (and the kind's own conditions, e.g. a lock's status=to_account)
and is never applied twice.

Kinds: `KINDS` maps a kind to the function that continues it, `(tenant_id, job, deadline) ->
result | None` (None: not finished by the deadline): lock-all (a transaction of locks per step)
and exports (a part of the file per step: the upload, the writer and the search's position).
"""
import importlib
import json
import logging
import secrets
import threading
import time
from datetime import timedelta

from . import fields, jsonio, settings
from .dal import store as storage
from .errors import BillingError, NotFound, Unavailable
from .dal.models import Job, keys

LOCK_ALL, EXPORT = "lock_all", "export"
KINDS = {LOCK_ALL: "billing_core.locking:continue_lock_all", EXPORT: "billing_core.exports:continue_export"}
INVOICE_RUN = "invoice_run"
KINDS[INVOICE_RUN] = "billing_core.invoice_runs:continue_run"
RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
KEEP = timedelta(days=7)
WORKER_MARGIN_SECONDS = 30  # a worker stops taking new steps this long before its timeout

logger = logging.getLogger(__name__)


class JobMoved(Exception):
    """The job's step was not the one this worker read: another run of it went on meanwhile."""


def create(tenant_id: str, kind: str, state: dict, actor: str | None, done: int = 0, job_id: str | None = None) -> Job:
    now = fields.utc_now()
    job_id = job_id or f"j-{secrets.token_hex(10)}"
    job = Job(keys.job(tenant_id, job_id), "JOB", job_id=job_id, job_kind=kind, status=RUNNING, step=0, done=done,
              state=jsonio.dumps(state), created_at=now, created_by=actor or None, updated_at=now,
              expires_at=int((now + KEEP).timestamp()))
    storage.transact(lambda t: t.save(job, condition=Job.PK.does_not_exist()), "the job")
    return job


def advance(transaction, job: Job, state: dict, done: int) -> None:
    """Adds the job's next step to the transaction of that step's work."""
    transaction.update(
        job,
        actions=[Job.state.set(jsonio.dumps(state)), Job.step.set(job.step + 1), Job.done.set(done),
                 Job.updated_at.set(fields.utc_now())],
        condition=(Job.step == job.step) & (Job.status == RUNNING),
    )


def committed(job: Job, state: dict, done: int) -> None:
    """The job as its last `advance` left it, without reading it again."""
    job.step += 1
    job.state = jsonio.dumps(state)
    job.done = done


def _finish(job: Job, status: str, result: dict) -> bool:
    def fill(transaction):
        transaction.update(job, actions=[Job.status.set(status), Job.result.set(jsonio.dumps(result)),
                                         Job.done.set(job.done), Job.updated_at.set(fields.utc_now())],
                           condition=(Job.step == job.step) & (Job.status == RUNNING))

    try:
        storage.transact(fill, "the job")
    except storage.ConditionFailed:
        return False  # another run of it went on, or finished it
    job.status, job.result = status, jsonio.dumps(result)
    return True


def finish(job: Job, result: dict) -> bool:
    """A job its request carried to the end itself (a keyed lock-all that finished in time)."""
    return _finish(job, SUCCEEDED, result)


def start(job: Job) -> None:
    """Hands the job to the worker: the SQS queue, or (no queue configured: the local stack, the
    tests) a thread of this process running the same worker code."""
    message = {"tenant_id": _tenant_of(job), "job_id": job.job_id}
    queue_url = settings.jobs_queue_url()
    if queue_url:
        import boto3  # lazily: only a request that starts a job pays for it

        boto3.client("sqs", endpoint_url=settings.aws_endpoint_url(), region_name=settings.region()).send_message(
            QueueUrl=queue_url, MessageBody=json.dumps(message))
    else:
        threading.Thread(target=_run_in_thread, args=(message,), name=f"job-{job.job_id}", daemon=True).start()


def _tenant_of(job: Job) -> str:
    return job.PK[len("T#"):-len(f"#J#{job.job_id}")]


def _run_in_thread(message: dict) -> None:
    try:
        run(message, None)
    except Exception:  # a thread has no caller: a restart (run again) goes on from the last step
        logger.exception("job %s stopped", message.get("job_id"))


def run(message: dict, deadline: float | None) -> str:
    """The worker: goes on with the job from its last committed step until done or `deadline`
    (time.monotonic()); then sends it on again. Answers the job's status."""
    tenant_id, job_id = message["tenant_id"], message["job_id"]
    job = storage.get(Job, keys.job(tenant_id, job_id), "JOB")
    if job is None or job.status != RUNNING:
        return job.status if job else "unknown"
    module, name = KINDS[job.job_kind].split(":")
    carry_on = getattr(importlib.import_module(module), name)
    try:
        result = carry_on(tenant_id, job, deadline)
    except JobMoved:
        return RUNNING  # another run of this job went on meanwhile: it carries it
    except Unavailable:
        raise  # transient: the queue retries it
    except BillingError as error:  # can never succeed (e.g. the group lost its contract): say so
        _finish(job, FAILED, {"error": {"code": error.code, "message": error.message}})
        return FAILED
    if result is None:
        start(job)  # out of time: the next worker goes on from the last step
        return RUNNING
    if _finish(job, SUCCEEDED, result) and job.job_kind == LOCK_ALL:
        from . import observability

        # the whole lock-all, counted once (its request answered 202 and counted nothing)
        observability.sessions_locked(result["locked"], result["billed_minutes"], result.get("costs") or [])
    return job.status


def worker_handler(event: dict, context=None) -> dict:
    """SQS → the job worker function (batch size 1): works until shortly before its timeout."""
    for record in event.get("Records") or []:
        deadline = None
        if context is not None:
            deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - WORKER_MARGIN_SECONDS
        run(json.loads(record["body"]), deadline)
    return {"ok": True}


def job_view(job: Job) -> dict:
    view = {"job_id": job.job_id, "kind": job.job_kind, "status": job.status, "progress": {"done": int(job.done)}}
    if job.total is not None:
        view["progress"]["total"] = int(job.total)
    if job.result is not None:
        result = jsonio.parse_object(job.result, "result")
        if job.status == SUCCEEDED:
            view["result"] = result
        else:
            view["error"] = result.get("error")
    return view


def get_job(tenant_id: str, job_id: str) -> dict:
    """A job of this tenant (another tenant's is a 404: the key starts with the caller's tenant)."""
    job_id = fields.identifier("job_id", job_id)
    job = storage.get(Job, keys.job(tenant_id, job_id), "JOB")
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job_view(job)
