"""Jobs in the table: one item per job (`T#<tenant>#J#<job_id>`, "JOB"), whose `step` orders
its progress. Every change but the creation is conditioned on the job still running, and a step
on the step read, so two runs of one job never both go on from the same step.

Outcomes: `advance_job` and `finish_job` answer `JobMoved` when the step read is no longer the
job's (another run went on, or the job ended); `fail_job` answers whether it ended the job."""
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import fields, jsonio
from . import store
from .models import Job, keys

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
KEEP = timedelta(days=7)


@dataclass(frozen=True)
class JobMoved:
    """The job is no longer at the step this run read: another run of it went on, or it ended."""


@dataclass(frozen=True)
class JobAdvanced:
    step: int


def tenant_of(job: Job) -> str:
    return job.PK[len("T#"):-len(f"#J#{job.job_id}")]


def new_job(tenant_id: str, kind: str, state: dict, actor: str | None, done: int = 0, job_id: str | None = None) -> Job:
    now = fields.utc_now()
    job_id = job_id or f"j-{secrets.token_hex(10)}"
    job = Job(keys.job(tenant_id, job_id), "JOB", job_id=job_id, job_kind=kind, status=RUNNING, step=0, done=done,
              state=jsonio.dumps(state), created_at=now, created_by=actor or None, updated_at=now,
              expires_at=int((now + KEEP).timestamp()))
    try:
        store.transact(lambda t: t.save(job, condition=Job.PK.does_not_exist()), "the job")
    except store.ConditionFailed:
        raise JobExists() from None
    return job


class JobExists(Exception):
    """A job of that id was created first (the same request sent twice)."""


def read_job(tenant_id: str, job_id: str) -> Job | None:
    return store.get(Job, keys.job(tenant_id, job_id), "JOB")


def _step_update(job: Job, actions: list, at: datetime):
    """The job's update of one step: conditioned on the step read and the job still running."""
    return dict(actions=actions + [Job.updated_at.set(at)], condition=(Job.step == job.step) & (Job.status == RUNNING))


def advance_action(transaction, job: Job, state: dict, done: int, at: datetime) -> None:
    """Adds the job's next step to the transaction of that step's work (for the dal operations
    that do a job's work: `at` and the state are the caller's, read once for the transaction)."""
    transaction.update(job, **_step_update(job, [Job.state.set(jsonio.dumps(state)), Job.step.set(job.step + 1),
                                                 Job.done.set(done)], at))


def stepped(job: Job, state: dict, done: int) -> None:
    """The job as its last committed step left it, without reading it again."""
    job.step += 1
    job.state = jsonio.dumps(state)
    job.done = done


def advance_job(job: Job, state: dict, done: int) -> JobAdvanced | JobMoved:
    """Replaces the job's state (a step with no other work in its transaction)."""
    at = fields.utc_now()
    try:
        store.transact(lambda t: advance_action(t, job, state, done, at), "the job")
    except store.ConditionFailed:
        return JobMoved()
    stepped(job, state, done)
    return JobAdvanced(job.step)


def finish_job(job: Job, status: str, result: dict) -> bool | JobMoved:
    """Ends the job at the step read with its result (or its error); JobMoved if it moved."""
    text, at = jsonio.dumps(result), fields.utc_now()
    actions = [Job.status.set(status), Job.result.set(text), Job.done.set(job.done)]
    try:
        store.transact(lambda t: t.update(job, **_step_update(job, actions, at)), "the job")
    except store.ConditionFailed:
        return JobMoved()
    job.status, job.result = status, text
    return True


def fail_job(tenant_id: str, job_id: str, error: dict) -> bool:
    """Ends a running job as failed at whatever step it is (its last attempt failed, or its
    message was dead-lettered). False: it had ended already, or never existed."""
    job = read_job(tenant_id, job_id)
    if job is None or job.status != RUNNING:
        return False
    text, at = jsonio.dumps({"error": error}), fields.utc_now()
    try:
        store.transact(lambda t: t.update(job, actions=[Job.status.set(FAILED), Job.result.set(text), Job.updated_at.set(at)],
                                          condition=Job.status == RUNNING), "the job")
    except store.ConditionFailed:
        return False
    return True
