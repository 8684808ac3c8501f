"""Locks as AWS runs them: a keyed retry answers what the first request did (even after a crash
or while the first is still running), lock-all is exact while the index of open sessions lags,
every request stops in time, and no price above the money limit is ever frozen."""
import threading
import time
from datetime import timedelta

import pytest

from billing_core.dal import store

from .conftest import GOLD, STANDARD, T0, assert_error, assert_invalid, create_group, create_profile, record, record_many, upload

LIMIT = "999999999.99"


def keyed(client, method, path, body, key):
    return client.call(method, path, body, headers={"Idempotency-Key": key})


def statuses(tenant, group_id="acme"):
    page = tenant.admin.get(f"/v1/groups/{group_id}/sessions", query="limit=1000")[1]
    return {s["session_id"]: s["status"] for s in page["sessions"]}


def job_when_done(tenant, job_id: str, seconds: float = 10) -> dict:
    """The job as it is once it stopped running (or after `seconds`)."""
    until = time.monotonic() + seconds
    while True:
        job = tenant.finance.get(f"/v1/jobs/{job_id}")[1]
        if job["status"] != "running" or time.monotonic() > until:
            return job
        time.sleep(0.05)


# ---------------------------------------------------------------- Idempotency-Key races and crashes


def test_a_keyed_lock_that_loses_the_race_replays_the_winners_answer(msp, gold, monkeypatch):
    from billing_core import locking

    record(msp, "s-1", 1800, start=T0)
    real = locking._lock_transaction

    def slow(*args, **kwargs):  # the winner holds the key a moment before its lock commits
        time.sleep(0.4)
        return real(*args, **kwargs)

    monkeypatch.setattr(locking, "_lock_transaction", slow)
    answers = {}
    winner = threading.Thread(target=lambda: answers.setdefault("winner", keyed(msp.technician, "POST", "/v1/sessions/s-1/lock", None, "lock-1")))
    winner.start()
    time.sleep(0.1)  # the winner has claimed the key
    answers["loser"] = keyed(msp.technician, "POST", "/v1/sessions/s-1/lock", None, "lock-1")
    winner.join()
    assert answers["winner"][0] == 200, answers
    assert answers["loser"] == answers["winner"]  # not 409 idempotency_key_in_use
    entries = msp.finance.get("/v1/groups/acme/ledger")[1]["entries"]
    assert [e["session_id"] for e in entries if e["kind"] == "deduction"] == ["s-1"]


def test_a_key_still_running_past_the_wait_is_a_409(msp, gold, monkeypatch):
    from billing_core import idempotency

    monkeypatch.setenv("RETRY_BUDGET_SECONDS", "0.3")  # how long a request waits on the first with its key
    idempotency.claim(msp.tenant_id, "busy", "POST /v1/sessions/{session_id}/lock [('session_id', 's-1')]", None)
    record(msp, "s-1", 1800, start=T0)
    began = time.monotonic()
    assert_error(keyed(msp.technician, "POST", "/v1/sessions/s-1/lock", None, "busy"), 409, "idempotency_key_in_use")
    assert 0.1 < time.monotonic() - began < 5  # it waited for the first answer, within its budget
    assert msp.finance.get("/v1/sessions/s-1")[1]["status"] == "to_account"


class Crash(BaseException):
    """The function dies (timeout, kill): no answer, nothing after this point runs."""


def test_a_keyed_lock_all_rerun_after_a_crash_answers_the_whole_run(msp, acme, monkeypatch):
    from billing_core import observability

    record_many(msp, [upload(f"s-{n:03d}", 1320, start=T0 + timedelta(minutes=n)) for n in range(120)])

    def crash(*args):  # every lock committed, the answer not yet written
        raise Crash()

    monkeypatch.setattr(observability, "sessions_locked", crash)
    with pytest.raises(Crash):
        keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end")
    monkeypatch.undo()
    assert set(statuses(msp).values()) == {"accounted"}
    whole = {"locked": 120, "billed_minutes": 120 * 25, "cost": "3600.00", "costs": [{"currency": "EUR", "amount": "3600.00"}]}
    assert keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end") == (200, whole)  # not locked: 0
    assert keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end") == (200, whole)


def test_a_keyed_lock_all_crashed_midway_goes_on_where_it_stopped(msp, acme, monkeypatch):
    from billing_core import locking

    record_many(msp, [upload(f"s-{n:03d}", 1320, start=T0 + timedelta(minutes=n)) for n in range(150)])
    real, chunks = locking._lock_chunk, []

    def dies_after_one_chunk(*args, **kwargs):
        if chunks:
            raise Crash()
        chunks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(locking, "_lock_chunk", dies_after_one_chunk)
    with pytest.raises(Crash):
        keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end")
    monkeypatch.undo()
    assert 0 < list(statuses(msp).values()).count("accounted") < 150
    record(msp, "s-late", 1320, start=T0 - timedelta(days=1))  # recorded after the first request: not its work
    status, answer = keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end")
    assert (status, answer["locked"], answer["cost"]) == (200, 150, "4500.00"), answer
    assert statuses(msp).pop("s-late") == "to_account"


def test_a_keyed_lock_all_handed_to_a_job_is_that_job_for_every_retry(msp, acme, monkeypatch):
    record_many(msp, [upload(f"s-{n:03d}", 1320, start=T0 + timedelta(minutes=n)) for n in range(3)])
    monkeypatch.setenv("LOCK_ALL_REQUEST_SECONDS", "0")  # no time for one chunk: the job does it all
    status, first = keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end")
    assert status == 202 and first["kind"] == "lock_all", first
    assert keyed(msp.finance, "POST", "/v1/groups/acme/lock-all", {}, "month-end") == (202, first)
    job = job_when_done(msp, first["job_id"])
    assert job["status"] == "succeeded" and job["result"]["locked"] == 3, job
    assert set(statuses(msp).values()) == {"accounted"}


# ---------------------------------------------------------------- lock-all under index lag


@pytest.fixture
def lagging_index(monkeypatch):
    """The index of open sessions shows a session only a second after it was written, as a global
    secondary index on AWS may (eventually consistent); lock-all trusts it 1.3 s after its cutoff."""
    monkeypatch.setenv("INDEX_SETTLE_SECONDS", "1.3")
    real = store.query

    def query(model, hash_key, **options):
        found = real(model, hash_key, **options)
        if options.get("index") != "gsi2":
            return found
        shown_until = store.time.time() - 1.0
        return (item for item in found if item.recorded_at.timestamp() <= shown_until)

    monkeypatch.setattr(store, "query", query)


def test_lock_all_locks_a_session_recorded_just_before_it_under_index_lag(msp, acme, lagging_index):
    record(msp, "s-1", 1320, start=T0)
    status, answer = msp.finance.post("/v1/groups/acme/lock-all", {})
    assert (status, answer["locked"]) == (200, 1), answer
    assert statuses(msp) == {"s-1": "accounted"}


# ---------------------------------------------------------------- time budgets


def test_a_lock_all_with_too_little_time_left_hands_the_work_to_a_job(msp, acme, short_timeout):
    record_many(msp, [upload(f"s-{n:03d}", 1320, start=T0 + timedelta(minutes=n)) for n in range(5)])
    short_timeout["LockAllFunction"] = 4  # 3 s after the answer's margin: no time for a chunk and its retries
    status, job = msp.finance.post("/v1/groups/acme/lock-all", {})
    assert status == 202 and job["status"] == "running", job
    job = job_when_done(msp, job["job_id"])
    assert job["status"] == "succeeded" and job["result"]["locked"] == 5, job


def test_a_profile_update_without_time_to_refresh_answers_and_the_lock_refreshes(msp, gold, short_timeout):
    record(msp, "s-1", 1800, start=T0)
    short_timeout["ProfilesFunction"] = 1  # nothing left once the version is written
    status, updated = msp.admin.put("/v1/profiles/gold", {**GOLD, "step_minutes": 20})
    assert (status, updated["version"]) == (200, 2), updated
    contracts = msp.finance.get("/v1/groups/acme/contracts")[1]["contracts"]
    assert contracts[0]["profile_version"] == 1  # not reached by the update: refreshed where next used
    locked = msp.technician.post("/v1/sessions/s-1/lock")[1]
    assert (locked["profile_version"], locked["billed_minutes"]) == (2, 40)  # 30 min in 20-minute steps


# ---------------------------------------------------------------- the money limit


def test_extra_minutes_past_the_money_limit_are_a_400_and_change_nothing(msp):
    create_profile(msp, STANDARD, profile_id="dear", initial_step_minutes=1, initial_step_cost="100000.00",
                   step_minutes=1, step_cost="100000.00")
    create_group(msp, "acme", "dear")
    record(msp, "s-1", 3600, start=T0)
    assert_invalid(msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 10_080}), "extra_minutes")
    session = msp.finance.get("/v1/sessions/s-1")[1]
    assert (session["extra_minutes"], session["cost"]) == (0, "6000000.00")
    assert msp.finance.post("/v1/groups/acme/lock-all", {})[1]["cost"] == "6000000.00"


def test_a_profile_update_that_would_price_open_sessions_past_the_limit_is_refused_naming_them(msp, acme):
    record(msp, "s-long", 31 * 86_400 - 60, start=T0)
    record(msp, "s-short", 1320, start=T0 + timedelta(days=40))
    error = assert_error(msp.admin.put("/v1/profiles/standard", {**STANDARD, "step_cost": "999999.99"}), 409, "cost_limit")
    assert "s-long" in error["message"] and "s-short" not in error["message"]
    assert msp.admin.get("/v1/profiles/standard")[1]["version"] == 1
    assert msp.finance.get("/v1/sessions/s-long")[1]["cost"] != LIMIT


def test_overage_past_the_money_limit_is_never_frozen(msp):
    create_profile(msp, GOLD, profile_id="tiny", total_hours="0.25", step_minutes=15, overage_step_cost=LIMIT)
    create_group(msp, "acme", "tiny")
    record(msp, "s-1", 3600, start=T0)
    assert_error(msp.technician.post("/v1/sessions/s-1/lock"), 409, "cost_limit")
    assert_error(msp.finance.post("/v1/groups/acme/lock-all", {}), 409, "cost_limit")
    assert msp.finance.get("/v1/sessions/s-1")[1]["status"] == "to_account"
    assert msp.finance.get("/v1/groups/acme/totals")[1]["balance"]["used_minutes"] == 0


# ---------------------------------------------------------------- input


@pytest.mark.parametrize("field", ["technician", "from", "to", "recorded_before"])
@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_lock_all_filter_is_a_400_not_every_session(msp, acme, field, value):
    record(msp, "s-1", 1320, start=T0)
    assert_invalid(msp.finance.post("/v1/groups/acme/lock-all", {field: value}), field)
    assert statuses(msp) == {"s-1": "to_account"}


@pytest.mark.parametrize("notes", [[], {}, False, 0])
def test_notes_that_are_not_text_are_a_400(msp, acme, notes):
    record(msp, "s-1", 1320, start=T0, notes="kept")
    assert_invalid(msp.technician.patch("/v1/sessions/s-1", {"notes": notes}), "notes")
    assert msp.finance.get("/v1/sessions/s-1")[1]["notes"] == "kept"


@pytest.mark.parametrize("multiplier", ["1e1", "1E0", "0.15e1"])
def test_a_surcharge_multiplier_with_an_exponent_is_a_400(msp, multiplier):
    rule = {"name": "night", "days": ["mon"], "from": "00:00", "to": "06:00", "multiplier": multiplier}
    assert_invalid(msp.admin.post("/v1/profiles", {**STANDARD, "surcharges": [rule]}), "surcharges[0].multiplier")
