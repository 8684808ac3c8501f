"""Jobs on the local stack behave as on AWS (issue 23): the stack started as `make run` starts it,
a lock-all handed to a job, the stack killed with SIGKILL while the job's worker is mid-way, and
started again on the same data: the job's message is still queued (journaled beside the data),
the worker goes on from the last committed step, and the job finishes with every session locked
exactly once — never a job left `running` for ever."""
import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from billing_local.stack import StackProcess

SESSIONS = 600


def call(api: str, method: str, path: str, token: str, body=None):
    request = urllib.request.Request(f"{api}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def uploads(start: int, count: int) -> list[dict]:
    first = datetime(2026, 9, 1, 8, tzinfo=timezone.utc)
    sessions = []
    for n in range(start, start + count):
        began = first + timedelta(minutes=40 * n)
        sessions.append({"session_id": f"kill-{n}", "technician": "ann", "computer_id": "pc-kill", "group_id": "kill-test",
                         "started_at": began.strftime("%Y-%m-%dT%H:%M:%SZ"),
                         "ended_at": (began + timedelta(minutes=22)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return sessions


@pytest.fixture
def lock_all_as_a_job(monkeypatch):
    monkeypatch.setenv("LOCK_ALL_REQUEST_SECONDS", "0")  # the request hands every session to the job


def test_a_stack_killed_mid_job_and_started_again_finishes_the_job(tmp_path, lock_all_as_a_job):
    stack = StackProcess(tmp_path / "stack.json", "--faults", "conflict=0.2")  # conflicts: the worker takes its time
    try:
        api, tokens = stack.description["api_url"], stack.description["tenants"][0]["tokens"]
        assert call(api, "PUT", "/v1/groups/kill-test", tokens["admin"], {"name": "Kill test"})[0] in (200, 201)
        assert call(api, "PUT", "/v1/groups/kill-test/contract", tokens["admin"], {"profile_id": "standard"})[0] == 200
        for start in range(0, SESSIONS, 100):
            status, body = call(api, "POST", "/v1/sessions/batch", tokens["agent"], {"sessions": uploads(start, 100)})
            assert status == 200 and all(r["recorded"] for r in body["results"]), body
        status, started = call(api, "POST", "/v1/groups/kill-test/lock-all", tokens["finance"], {})
        assert status == 202, started
        job_path = f"/v1/jobs/{started['job_id']}"
        while True:  # the worker is under way: some sessions locked, not all
            job = call(api, "GET", job_path, tokens["finance"])[1]
            assert job["status"] == "running", job
            if job["progress"]["done"] > 0:
                break
            time.sleep(0.01)
        stack.kill()
        assert os.path.exists(stack.data / "jobs-queue.json")
    finally:
        stack.stop()

    with StackProcess(tmp_path / "stack.json", data=stack.data) as again:
        api = again.description["api_url"]
        killed_at = call(api, "GET", job_path, tokens["finance"])[1]
        assert killed_at["status"] == "running" and 0 < killed_at["progress"]["done"] < SESSIONS, killed_at
        deadline = time.monotonic() + 120
        while (job := call(api, "GET", job_path, tokens["finance"])[1])["status"] == "running":
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "succeeded" and job["result"]["locked"] == SESSIONS, job
        totals = call(api, "GET", "/v1/groups/kill-test/totals", tokens["finance"])[1]
        assert totals["accounted"]["sessions"] == SESSIONS and totals["to_account"]["sessions"] == 0, totals
        replay = call(api, "POST", "/v1/groups/kill-test/lock-all", tokens["finance"], {})
        assert replay[0] in (200, 202) and replay[1].get("locked", 0) == 0  # nothing left to lock, nothing twice
