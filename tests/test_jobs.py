"""Jobs never die silently (issue 18, issue 23): a transaction retried under its
ClientRequestToken sends the same content; a worker that fails has its message back after a
short backoff, not the queue's 90-minute visibility timeout; the last attempt that fails, or a
message that reached the dead-letter queue, ends the job `failed`, and GET /v1/jobs/{job_id}
says so with the reason. The local queue (billing_local.jobqueue) runs the worker function as
the SQS event source does: a worker that raises is retried and the job finishes; a job that
always fails ends failed after maxReceiveCount receives."""
import json

import botocore.exceptions
import pytest
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

from billing_core import jobs, settings
from billing_core.dal import jobs as stored_jobs
from billing_core.dal import store as storage
from billing_local.gateway import LambdaContext, function_handler
from billing_local.jobqueue import LocalQueue, queue_settings


def _throttled() -> TransactWriteError:
    cause = botocore.exceptions.ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                                            "TransactWriteItems")
    return TransactWriteError("Failed to write transaction items", cause=cause)


@pytest.fixture
def sent(monkeypatch):
    """Every TransactWriteItems request, the first one throttled (the store retries it)."""
    requests, real = [], Connection.transact_write_items

    def transact_write_items(self, *args, **kwargs):
        requests.append(json.dumps(kwargs, sort_keys=True, default=str))
        if len(requests) == 1:
            raise _throttled()
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", transact_write_items)
    return requests


def test_a_job_step_retried_sends_the_same_content_under_its_token(msp, sent):
    job = stored_jobs.new_job(msp.tenant_id, jobs.LOCK_ALL, {"at": 0}, "finance:t")
    sent.clear()
    storage.transact(lambda t: jobs.advance(t, job, {"at": 1}, 1), "the step")
    assert len(sent) == 2 and "client_request_token" in sent[0]
    assert sent[1] == sent[0]  # DynamoDB answers IdempotentParameterMismatch to one token with two contents


def test_ending_a_job_retried_sends_the_same_content(msp, sent):
    job = stored_jobs.new_job(msp.tenant_id, jobs.EXPORT, {"at": 0}, "finance:t")
    sent.clear()
    assert stored_jobs.finish_job(job, jobs.SUCCEEDED, {"rows": 3}) is True
    assert len(sent) == 2 and sent[1] == sent[0]


class Recorded:
    """The queue as the worker sees it: what it sent and the visibility it asked for."""

    def __init__(self):
        self.sent, self.later = [], []

    def send(self, message):
        self.sent.append(message)

    def retry_later(self, record, seconds):
        self.later.append((record["receiptHandle"], seconds))


@pytest.fixture
def recorded(monkeypatch):
    queue = Recorded()
    monkeypatch.setattr(jobs, "queue", lambda: queue)
    return queue


def _record(tenant_id: str, job_id: str, receives: int, source: str = "arn:aws:sqs:us-east-1:1:JobsQueue") -> dict:
    return {"messageId": "m", "receiptHandle": f"r{receives}", "eventSourceARN": source,
            "body": json.dumps({"tenant_id": tenant_id, "job_id": job_id}),
            "attributes": {"ApproximateReceiveCount": str(receives)}}


WORK = []  # what the test kind's worker does, set by each test


def carry_on(tenant_id, job, deadline):
    return WORK[-1](tenant_id, job, deadline)


def _failing(monkeypatch, error: Exception | None = None, work=None) -> list:
    """Jobs of kind "test" run `work`, or raise `error`; answers the calls made."""
    calls = []

    def failing(tenant_id, job, deadline):
        calls.append(job.job_id)
        raise error

    def counted(tenant_id, job, deadline):
        calls.append(job.job_id)
        return work(len(calls))

    monkeypatch.setitem(jobs.KINDS, "test", f"{__name__}:carry_on")
    WORK[:] = [counted if work else failing]
    return calls


def _worker():
    return function_handler("JobWorkerFunction")


def test_a_failed_worker_has_its_message_back_after_a_short_backoff(msp, recorded, monkeypatch):
    _failing(monkeypatch, RuntimeError("read timeout"))
    job = stored_jobs.new_job(msp.tenant_id, "test", {}, "finance:t")
    with pytest.raises(RuntimeError):
        _worker()({"Records": [_record(msp.tenant_id, job.job_id, 1)]}, LambdaContext.of("JobWorkerFunction"))
    with pytest.raises(RuntimeError):
        _worker()({"Records": [_record(msp.tenant_id, job.job_id, 2)]}, LambdaContext.of("JobWorkerFunction"))
    visibility, _ = queue_settings()
    assert recorded.later == [("r1", 10), ("r2", 20)]  # not the 90-minute visibility timeout
    assert all(seconds < visibility / 100 for _, seconds in recorded.later)
    assert msp.finance.get(f"/v1/jobs/{job.job_id}")[1]["status"] == "running"  # it will be tried again


def test_the_last_attempt_that_fails_ends_the_job_failed_with_its_reason(msp, recorded, monkeypatch):
    _failing(monkeypatch, RuntimeError("read timeout"))
    job = stored_jobs.new_job(msp.tenant_id, "test", {}, "finance:t")
    last = queue_settings()[1]
    answer = _worker()({"Records": [_record(msp.tenant_id, job.job_id, last)]}, LambdaContext.of("JobWorkerFunction"))
    assert answer == {"ok": True} and recorded.later == []  # handled: the message is deleted, not dead-lettered
    status, view = msp.finance.get(f"/v1/jobs/{job.job_id}")
    assert status == 200 and view["status"] == "failed", view
    assert view["error"]["code"] == "job_failed" and f"after {last} attempts" in view["error"]["message"]


def test_a_dead_lettered_job_ends_failed(msp, recorded, monkeypatch):
    monkeypatch.setenv("JOBS_DEAD_LETTER_ARN", "arn:aws:sqs:us-east-1:1:JobsDeadLetterQueue")
    job = stored_jobs.new_job(msp.tenant_id, jobs.LOCK_ALL, {}, "finance:t")
    record = _record(msp.tenant_id, job.job_id, 1, source=settings.jobs_dead_letter_arn())
    _worker()({"Records": [record]}, LambdaContext.of("JobWorkerFunction"))
    view = msp.finance.get(f"/v1/jobs/{job.job_id}")[1]
    assert view["status"] == "failed" and view["error"]["code"] == "job_failed", view


def _through_a_local_queue(msp, monkeypatch) -> dict:
    """A job of the test kind sent through a queue of its own; answers its view once the queue is idle."""
    monkeypatch.setenv("JOBS_FIRST_RETRY_SECONDS", "0.02")
    queue = LocalQueue().start()
    monkeypatch.setattr(jobs, "_installed", queue)
    try:
        job = stored_jobs.new_job(msp.tenant_id, "test", {}, "finance:t")
        jobs.start(job)
        assert queue.idle(30)
    finally:
        queue.stop()
    return msp.finance.get(f"/v1/jobs/{job.job_id}")[1]


def test_the_local_queue_retries_a_worker_that_raised_and_the_job_finishes(msp, monkeypatch):
    def flaky(attempt):
        if attempt < 3:
            raise storage.Unavailable("the store is busy just now; retry")
        return {"done": True}

    calls = _failing(monkeypatch, work=flaky)
    view = _through_a_local_queue(msp, monkeypatch)
    assert len(calls) == 3 and view["status"] == "succeeded" and view["result"] == {"done": True}, view


def test_the_local_queue_ends_a_job_that_always_fails_after_its_last_attempt(msp, monkeypatch):
    calls = _failing(monkeypatch, RuntimeError("read timeout"))
    view = _through_a_local_queue(msp, monkeypatch)
    assert len(calls) == queue_settings()[1] == 5
    assert view["status"] == "failed" and "after 5 attempts" in view["error"]["message"], view
