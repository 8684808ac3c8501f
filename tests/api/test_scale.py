"""SPEC §9: running totals, the sparse index of open sessions, the tenant overview and lock-all
jobs. Figures at scale are in `make bench`; here the behaviour: totals read from the running
totals equal the totals of the raw history for any period, the open-session reads never touch
accounted sessions, and a lock-all job locks each session once whatever happens to its worker."""
import json
import time
from datetime import timedelta

import pytest

from billing_core import fields, jobs, locking, settings
from billing_core.dal import store as storage
from billing_core.dal.models import Job, Session, keys
from billing_local.bench import call_counted
from .conftest import GOLD, T0, create_group, create_profile, record, record_many, upload


def spread(prefix: str, count: int, group_id: str = "acme", hours: int = 7) -> list[dict]:
    """`count` uploads, one every `hours` hours from T0 (so they span many UTC days), of varied length."""
    return [upload(f"{prefix}-{n:04d}", 600 + 97 * (n % 41), start=T0 + timedelta(hours=hours * n), group_id=group_id)
            for n in range(count)]


def history_totals(msp, group_id: str, query: str) -> dict:
    """The totals of the period computed from every session of it (the search), as SPEC §4 defines them."""
    sums = {}
    cursor = None
    while True:
        status, page = msp.finance.get(f"/v1/groups/{group_id}/sessions", "&".join(
            filter(None, [query, "limit=1000", f"cursor={cursor}" if cursor else ""])))
        assert status == 200, page
        for s in page["sessions"]:
            line = sums.setdefault(s["status"], {"sessions": 0, "total_seconds": 0, "billed_minutes": 0, "cost": 0})
            line["sessions"] += 1
            line["total_seconds"] += s["total_seconds"]
            line["billed_minutes"] += s["billed_minutes"] or 0
            line["cost"] += int((s["cost"] or "0").replace(".", ""))
        cursor = page["next_cursor"]
        if cursor is None:
            return sums


def figures(line: dict) -> dict:
    return {"sessions": line["sessions"], "total_seconds": line["total_seconds"], "billed_minutes": line["billed_minutes"],
            "cost": int(line["cost"].replace(".", ""))}


def test_a_session_is_in_the_open_index_until_its_lock_removes_it(msp, acme):
    record(msp, "s-1")
    stored = storage.get(Session, keys.session(msp.tenant_id, "s-1"), "SESSION")
    assert (stored.GSI2PK, stored.GSI2SK) == (keys.open_sessions_of(msp.tenant_id, "acme"), stored.GSI1SK)
    assert msp.technician.post("/v1/sessions/s-1/lock")[0] == 200
    stored = storage.get(Session, keys.session(msp.tenant_id, "s-1"), "SESSION")
    assert stored.status == "accounted" and stored.GSI2PK is None and stored.GSI2SK is None


PERIODS = [
    "",  # everything
    "from=2026-03-03T00:00:00Z&to=2026-03-20T00:00:00Z",  # whole days only
    "from=2026-03-03T05:30:00Z&to=2026-03-20T17:45:00Z",  # both edges partial
    "from=2026-03-04T05:30:00+02:00",  # open-ended, the edge in another offset
    "to=2026-03-11T13:00:00Z",
    "from=2026-03-05T01:00:00Z&to=2026-03-05T23:00:00Z",  # within one day
    "from=2026-03-05T00:00:00Z&to=2026-03-06T00:00:00Z",  # exactly one day
]


def test_totals_from_running_totals_equal_the_totals_of_the_raw_history(msp, acme):
    record_many(msp, spread("s", 120))  # 120 sessions over 35 days
    # accounted in several ways: a lock-all of a period, single locks, a lock-all with a technician filter
    assert msp.finance.post("/v1/groups/acme/lock-all", {"from": "2026-03-04T10:00:00Z", "to": "2026-03-12T03:00:00Z"})[0] == 200
    for n in (0, 1, 77, 119):
        assert msp.technician.post(f"/v1/sessions/s-{n:04d}/lock")[0] == 200
    assert msp.technician.patch("/v1/sessions/s-0100", {"extra_minutes": 13})[0] == 200
    assert msp.finance.post("/v1/groups/acme/lock-all", {"from": "2026-03-25T00:00:00Z", "technician": "ann"})[0] == 200
    for query in PERIODS:
        expected = history_totals(msp, "acme", query)
        status, totals = msp.finance.get("/v1/groups/acme/totals", query)
        assert status == 200, totals
        for line in ("accounted", "to_account"):
            want = expected.get(line, {"sessions": 0, "total_seconds": 0, "billed_minutes": 0, "cost": 0})
            assert figures(totals[line]) == want, (query, line)


def test_totals_read_the_running_totals_and_only_the_open_pages(msp, acme, gateway):
    record_many(msp, spread("s", 300, hours=2))
    assert msp.finance.post("/v1/groups/acme/lock-all", {})[1]["locked"] == 300
    record_many(msp, spread("open", 5, hours=5))
    time.sleep(settings.index_settle_seconds())  # the round trips of a read whose indexes show every write (a lagging one reads again)
    for query, expected in (("", 3), ("from=2026-03-03T00:00:00Z&to=2026-03-20T00:00:00Z", 3),
                            ("from=2026-03-03T05:30:00Z&to=2026-03-20T17:45:00Z", 5)):
        status, body, trips = call_counted(gateway, msp.tokens["finance"], "GET", "/v1/groups/acme/totals", query=query)
        assert status == 200, body
        # the group, its contract and months, one page of the sparse index, the edge days'
        # sessions (one Query each), the months' running totals: 4 + the open pages at most
        assert trips.dynamodb == expected <= 4 + 1, (query, trips.summary())
        assert [c.index for c in trips.calls if c.operation == "Query"][0] == "GSI2"


def test_an_open_session_search_and_lock_all_read_only_open_sessions(msp, acme, gateway):
    record_many(msp, spread("s", 200, hours=1))
    assert msp.finance.post("/v1/groups/acme/lock-all", {})[1]["locked"] == 200
    record_many(msp, spread("open", 3, hours=3))
    time.sleep(settings.index_settle_seconds())  # the round trips of a read whose indexes show every write (a lagging one reads again)
    status, page, trips = call_counted(gateway, msp.tokens["technician"], "GET", "/v1/groups/acme/sessions",
                                       query="status=to_account&limit=1")
    assert status == 200 and [s["session_id"] for s in page["sessions"]] == ["open-0000"]
    assert [c.index for c in trips.calls if c.operation == "Query"] == ["GSI2"] and trips.dynamodb == 3  # + the month's marks
    seen = ["open-0000"]
    while page["next_cursor"]:  # the cursor of the open index pages through exactly the open sessions
        status, page = msp.technician.get("/v1/groups/acme/sessions", f"status=to_account&limit=1&cursor={page['next_cursor']}")
        assert status == 200, page
        seen += [s["session_id"] for s in page["sessions"]]
    assert seen == ["open-0000", "open-0001", "open-0002"]
    status, body, trips = call_counted(gateway, msp.tokens["finance"], "POST", "/v1/groups/acme/lock-all", {})
    assert (status, body["locked"]) == (200, 3)
    assert trips.dynamodb == 1 + 1 + 1  # group + contract, one page of the open index, one transaction


def test_the_tenant_overview_has_one_row_per_group_paginated(msp, other_msp, acme):
    gold = create_profile(msp, GOLD, profile_id="gold")
    create_group(msp, "beta", gold["profile_id"])
    create_group(msp, "cyan")  # no contract
    record_many(msp, spread("a", 30) + spread("b", 10, group_id="beta") + spread("c", 4, group_id="cyan"))
    assert msp.finance.post("/v1/groups/acme/lock-all", {"to": "2026-03-05T00:00:00Z"})[0] == 200
    assert msp.finance.post("/v1/groups/beta/lock-all", {})[0] == 200
    period = "from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z"
    status, first = msp.finance.get("/v1/totals", f"{period}&limit=2")
    assert status == 200, first
    assert [g["group_id"] for g in first["groups"]] == ["acme", "beta"] and first["next_cursor"]
    status, second = msp.admin.get("/v1/totals", f"{period}&limit=2&cursor={first['next_cursor']}")
    assert status == 200, second
    assert [g["group_id"] for g in second["groups"]] == ["cyan"] and second["next_cursor"] is None
    rows = {g["group_id"]: g for g in first["groups"] + second["groups"]}
    for group_id, row in rows.items():
        totals = msp.finance.get(f"/v1/groups/{group_id}/totals", period)[1]
        assert (row["accounted"], row["to_account"], row["balance"]) == (totals["accounted"], totals["to_account"],
                                                                         totals.get("balance"))
        assert row["name"] == f"{group_id} Ltd"
    assert rows["acme"]["contract"] == {"contract_id": rows["acme"]["contract"]["contract_id"], "type": "pay_per_use",
                                        "profile_id": "standard", "profile_name": "Standard", "currency": "EUR"}
    assert rows["beta"]["contract"]["type"] == "subscription" and rows["beta"]["balance"]["used_minutes"] > 0
    assert rows["cyan"]["contract"] is None and rows["cyan"]["to_account"]["sessions"] == 4
    assert rows["acme"]["accounted"]["sessions"] + rows["acme"]["to_account"]["sessions"] == 30
    # a cursor is valid for its own period only; other tenants' groups never appear
    status, body = msp.finance.get("/v1/totals", f"from=2026-02-01T00:00:00Z&limit=2&cursor={first['next_cursor']}")
    assert status == 400 and body["error"]["message"].startswith("cursor:"), body
    assert other_msp.finance.get("/v1/totals", period) == (200, {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
                                                                  "groups": [], "next_cursor": None})
    assert msp.technician.get("/v1/totals", period)[0] == 403


def wait_for(msp, job_id: str) -> dict:
    for _ in range(600):
        status, job = msp.finance.get(f"/v1/jobs/{job_id}")
        assert status == 200, job
        if job["status"] != "running":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still running: {job}")


def test_a_lock_all_longer_than_the_request_goes_on_as_a_job(msp, other_msp, acme, monkeypatch):
    record_many(msp, spread("s", 250, hours=3))
    ticks = iter(range(10_000))
    request_ends = time.monotonic() + 60  # the request's deadline (the worker's is minutes away)
    monkeypatch.setattr(locking, "out_of_time",
                        lambda deadline: deadline is not None and deadline < request_ends and next(ticks) >= 1)
    status, started = msp.finance.post("/v1/groups/acme/lock-all", {})
    assert status == 202, started
    assert started["kind"] == "lock_all" and started["status"] == "running"
    assert 0 < started["progress"]["done"] < 250  # the request locked one transaction's worth, then handed over
    done = wait_for(msp, started["job_id"])  # the worker (through the local queue here, SQS on AWS) went on from there
    assert done["status"] == "succeeded" and done["progress"]["done"] == 250, done
    expected = history_totals(msp, "acme", "")["accounted"]
    assert done["result"] == {"locked": 250, "billed_minutes": expected["billed_minutes"],
                              "cost": f"{expected['cost'] / 100:.2f}", "costs": [{"currency": "EUR", "amount": f"{expected['cost'] / 100:.2f}"}]}
    totals = msp.finance.get("/v1/groups/acme/totals")[1]
    assert totals["accounted"]["sessions"] == 250 and totals["to_account"]["sessions"] == 0
    assert other_msp.finance.get(f"/v1/jobs/{started['job_id']}")[0] == 404  # a job is its tenant's only
    assert msp.technician.get(f"/v1/jobs/{started['job_id']}")[0] == 403
    assert msp.finance.get("/v1/jobs/j-nothing")[0] == 404


def test_a_lock_all_job_locks_what_the_request_saw_and_each_session_once_through_a_killed_worker(msp, monkeypatch):
    gold = create_profile(msp, GOLD, profile_id="gold")
    create_group(msp, "acme", gold["profile_id"])
    record_many(msp, spread("s", 200, hours=3))
    started_jobs = []
    monkeypatch.setattr(jobs, "start", started_jobs.append)  # no worker yet: the test plays it
    monkeypatch.setattr(locking, "out_of_time", lambda deadline: deadline is not None)
    status, started = msp.finance.post("/v1/groups/acme/lock-all", {})
    assert status == 202 and started["progress"] == {"done": 0}, started
    record(msp, "late", start=T0 + timedelta(days=3))  # recorded after the request: not what finance was shown
    message = {"tenant_id": msp.tenant_id, "job_id": started["job_id"]}
    monkeypatch.setattr(locking, "out_of_time", lambda deadline: False)

    commits = {"n": 0}
    real_committed = jobs.committed

    def killed_after_two(job, state, done):  # the worker dies right after its second step committed
        commits["n"] += 1
        if commits["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        real_committed(job, state, done)

    monkeypatch.setattr(jobs, "committed", killed_after_two)
    with pytest.raises(KeyboardInterrupt):
        jobs.run(message, None)
    monkeypatch.setattr(jobs, "committed", real_committed)
    stale = storage.get(Job, keys.job(msp.tenant_id, started["job_id"]), "JOB")
    assert stale.step == 2 and 0 < stale.done < 200
    # a restarted worker goes on for one step, then runs out of time and sends the job on
    steps = iter([False, True])
    monkeypatch.setattr(locking, "out_of_time", lambda deadline: next(steps, True))
    assert jobs.run(message, 1.0) == jobs.RUNNING and len(started_jobs) == 2
    # a duplicate delivery still holding the older step cannot apply a step twice
    monkeypatch.setattr(locking, "out_of_time", lambda deadline: False)
    with pytest.raises(jobs.JobMoved):
        locking.continue_lock_all(msp.tenant_id, stale, None)
    assert jobs.run(message, None) == jobs.SUCCEEDED
    assert jobs.run(message, None) == jobs.SUCCEEDED  # SQS may deliver twice: nothing more happens

    status, job = msp.finance.get(f"/v1/jobs/{started['job_id']}")
    assert job["status"] == "succeeded" and job["result"]["locked"] == 200 and job["result"]["cost"] is None
    assert msp.finance.get("/v1/sessions/late")[1]["status"] == "to_account"
    entries = msp.finance.get("/v1/groups/acme/ledger", "limit=500")[1]["entries"]
    deductions = [e["session_id"] for e in entries if e["kind"] == "deduction"]
    assert len(deductions) == len(set(deductions)) == 200  # each session charged to the balance once
    accounted = history_totals(msp, "acme", "")["accounted"]
    totals = msp.finance.get("/v1/groups/acme/totals")[1]
    assert figures(totals["accounted"]) == accounted and accounted["sessions"] == 200
    assert totals["balance"]["used_minutes"] == accounted["billed_minutes"] == job["result"]["billed_minutes"]


def test_the_job_freezes_recorded_before_at_the_request(msp, acme, monkeypatch):
    record_many(msp, spread("s", 3))
    monkeypatch.setattr(jobs, "start", lambda job: None)
    monkeypatch.setattr(locking, "out_of_time", lambda deadline: deadline is not None)

    def frozen(started) -> str:
        return json.loads(storage.get(Job, keys.job(msp.tenant_id, started["job_id"]), "JOB").state)["recorded_before"]

    cutoff = fields.utc_now()  # after the sessions were recorded
    status, started = msp.finance.post("/v1/groups/acme/lock-all", {"recorded_before": fields.utc_text(cutoff)})
    assert status == 202 and frozen(started) == fields.utc_text(cutoff)
    before = fields.utc_now()  # a cutoff in the future is the request's instant: the index cannot show later ones exactly
    status, started = msp.finance.post("/v1/groups/acme/lock-all", {"recorded_before": "2099-03-02T10:30:00+01:00"})
    assert status == 202
    assert before <= fields.timestamp("recorded_before", frozen(started)) <= fields.utc_now()
    before = fields.utc_now()
    status, started = msp.finance.post("/v1/groups/acme/lock-all", {})
    assert status == 202
    assert before <= fields.timestamp("recorded_before", frozen(started)) <= fields.utc_now()  # the request's own instant
