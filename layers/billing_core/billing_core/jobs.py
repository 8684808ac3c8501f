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

A worker that fails (a transient store failure, a crash) makes its message visible again after a
short backoff (ChangeMessageVisibility: not the visibility timeout, sized for a worker that runs
15 minutes); one that fails on the message's last receive (ApproximateReceiveCount reaching the
queue's maxReceiveCount) ends the job `failed` with the reason, and a message that reached the
dead-letter queue all the same (a worker killed on its last receive) ends its job `failed` there:
`GET /v1/jobs/{job_id}` never shows a dead job as running.

Queues: SQS when JOBS_QUEUE_URL is set (AWS), else the queue `use_queue` installed (the local
stack's, billing_local.jobqueue, with the same semantics).

Kinds: `KINDS` maps a kind to the function that continues it, `(tenant_id, job, deadline) ->
result | None` (None: not finished by the deadline): lock-all (a transaction of locks per step)
and exports (a part of the file per step: the upload, the writer and the search's position).
"""
import importlib
import json
import logging
import time

from . import deadline as invocation
from . import fields, jsonio, settings
from .dal import jobs as stored
from .dal.jobs import FAILED, RUNNING, SUCCEEDED
from .errors import BillingError, NotFound, Unavailable

LOCK_ALL, EXPORT, INVOICE_RUN, IMPORT = "lock_all", "export", "invoice_run", "import"
KINDS = {LOCK_ALL: "billing_core.locking:continue_lock_all", EXPORT: "billing_core.exports:continue_export",
         INVOICE_RUN: "billing_core.invoice_runs:continue_run", IMPORT: "billing_core.import_uploads:continue_import"}
WORKER_MARGIN_SECONDS = 30  # a worker stops taking new steps this long before its timeout
MAX_RETRY_SECONDS = 900  # a failed worker's message is visible again after 10 s, 20 s, 40 s... (at most 15 min)

logger = logging.getLogger(__name__)


class JobMoved(Exception):
    """Raised by a kind's work when the job moved under it (a step answered dal.jobs.JobMoved):
    another run of the job went on meanwhile and carries it."""


def create(tenant_id: str, kind: str, state: dict, actor: str | None, done: int = 0, job_id: str | None = None):
    """A new running job (`job_id`: one derived by the caller, e.g. from an Idempotency-Key)."""
    return stored.new_job(tenant_id, kind, state, actor, done, job_id)


def advance(transaction, job, state: dict, done: int) -> None:
    """Adds the job's next step to the transaction of that step's work (the time read once, here,
    before the transaction is sent: its retries carry the same content)."""
    stored.advance_action(transaction, job, state, done, fields.utc_now())


committed = stored.stepped


def finish(job, result: dict) -> bool:
    """A job its request carried to the end itself (a keyed lock-all that finished in time)."""
    return stored.finish_job(job, SUCCEEDED, result) is True


class SqsQueue:
    """JobsQueue on AWS (the worker function's event source)."""

    def __init__(self, url: str):
        import boto3  # lazily: only a request that starts a job pays for it

        self.url = url
        self.client = boto3.client("sqs", endpoint_url=settings.aws_endpoint_url(), region_name=settings.region())

    def send(self, message: dict) -> None:
        self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(message))

    def retry_later(self, record: dict, seconds: float) -> None:
        self.client.change_message_visibility(QueueUrl=self.url, ReceiptHandle=record["receiptHandle"],
                                              VisibilityTimeout=round(seconds))


_installed = None


def use_queue(queue) -> None:
    """Where jobs go when no JOBS_QUEUE_URL is set (the local stack's queue; None: none)."""
    global _installed
    _installed = queue


def queue():
    url = settings.jobs_queue_url()
    if url:
        return SqsQueue(url)
    if _installed is None:
        raise RuntimeError("no jobs queue: set JOBS_QUEUE_URL or install one with jobs.use_queue")
    return _installed


def start(job) -> None:
    """Hands the job to the worker, through the queue."""
    queue().send({"tenant_id": stored.tenant_of(job), "job_id": job.job_id})


def run(message: dict, deadline: float | None) -> str:
    """The worker: goes on with the job from its last committed step until done or `deadline`
    (time.monotonic()); then sends it on again. Answers the job's status. A transient failure
    raises (the queue retries it); a failure that can never succeed ends the job failed."""
    tenant_id, job_id = message["tenant_id"], message["job_id"]
    job = stored.read_job(tenant_id, job_id)
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
        stored.finish_job(job, FAILED, {"error": {"code": error.code, "message": error.message}})
        return FAILED
    if result is None:
        start(job)  # out of time: the next worker goes on from the last step
        return RUNNING
    if stored.finish_job(job, SUCCEEDED, result) is True and job.job_kind == LOCK_ALL:
        from . import observability

        # the whole lock-all, counted once (its request answered 202 and counted nothing)
        observability.sessions_locked(result["locked"], result["billed_minutes"], result.get("costs") or [])
    return job.status


def retry_seconds(receives: int) -> float:
    return min(MAX_RETRY_SECONDS, settings.jobs_first_retry_seconds() * 2 ** max(0, receives - 1))


def worker_handler(event: dict, context=None) -> dict:
    """SQS → the job worker function (batch size 1): works until shortly before its timeout (the
    store's retries too: they read the invocation's time left). A record of the dead-letter
    queue ends its job failed."""
    started = invocation.start(context)
    try:
        return _work(event, context)
    finally:
        invocation.stop(started)


def _work(event: dict, context) -> dict:
    for record in event.get("Records") or []:
        message = json.loads(record["body"])
        if _dead_lettered(record):
            stored.fail_job(message["tenant_id"], message["job_id"], {
                "code": "job_failed", "message": "the job's worker kept failing; it was stopped"})
            continue
        deadline = None
        if context is not None:
            deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - WORKER_MARGIN_SECONDS
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        try:
            run(message, deadline)
        except Exception as error:  # noqa: BLE001 — whatever it was, the job must not die silently
            if receives >= settings.jobs_max_receives():
                logger.exception("job %s failed on its last attempt (%s)", message.get("job_id"), receives)
                stored.fail_job(message["tenant_id"], message["job_id"], {
                    "code": "job_failed", "message": f"the job stopped after {receives} attempts: {type(error).__name__}"})
                continue  # ended: the message is deleted, not dead-lettered
            logger.warning("job %s attempt %s failed: %s; retried", message.get("job_id"), receives, error)
            queue().retry_later(record, retry_seconds(receives))
            raise
    return {"ok": True}


def _dead_lettered(record: dict) -> bool:
    source = settings.jobs_dead_letter_arn()
    return bool(source) and record.get("eventSourceARN") == source


def job_view(job) -> dict:
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
    job = stored.read_job(tenant_id, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job_view(job)
