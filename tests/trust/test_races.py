"""Exactly-once accounting under real concurrency (SPEC §7, §8): the local stack exactly as `make
run` starts it — `python -m billing_local.stack` in a child process, its embedded store on disk —
raced over HTTP by real concurrent clients (threads, urllib), with the store's fault injection off
and on (conflicts, throttling, 500s and answers lost after the commit, as DynamoDB can answer).

Each race sets up its own groups with faults off, runs with the module's faults on or off, and is
followed by `check_invariants` (faults off again): every 200/201 answered is durable, nothing is
counted twice, the balance adds up, every frozen price matches the profile version it names.
During a race only these answers are acceptable: a success, a 409 with a code that is not
`retry`, or a 503 `retry` with a Retry-After header. A 500, or any other answer, fails."""
import json
import math
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from billing_core import tariff, tariff_fields, tenants
from billing_core.dal import models
from billing_local.stack import StackProcess

from .conftest import GOLD, count, upload

# Shares of DynamoDB requests failing while the faults are on (billing_local.store).
FAULTS = "conflict=0.08,throughput=0.03,throttle=0.03,error500=0.02,lost=0.02"
STEP = GOLD["step_minutes"]


def faults_param():
    return pytest.mark.parametrize("faults", [pytest.param(False, id="faults-off"), pytest.param(True, id="faults-on")])


# ---------------------------------------------------------------- the stack, over HTTP


@dataclass
class Answer:
    status: int
    body: object
    headers: dict


class Client:
    """One Authorization header; one real HTTP request per call."""

    def __init__(self, api: str, token: str, token_id: str | None = None):
        self.api, self.token, self.token_id = api, token, token_id

    def call(self, method: str, path: str, body=None, query: str = "", headers: dict | None = None) -> Answer:
        url = f"{self.api}{path}" + (f"?{query}" if query else "")
        raw = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=raw, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                status, text, headers = answer.status, answer.read(), answer.headers
        except urllib.error.HTTPError as error:
            status, text, headers = error.code, error.read(), error.headers
        return Answer(status, json.loads(text) if text else None, {k.lower(): v for k, v in headers.items()})

    def get(self, path, query=""):
        return self.call("GET", path, query=query)

    def post(self, path, body=None):
        return self.call("POST", path, body)

    def put(self, path, body=None):
        return self.call("PUT", path, body)

    def patch(self, path, body=None):
        return self.call("PATCH", path, body)


def ok(answer: Answer, *statuses) -> dict:
    assert answer.status in (statuses or (200,)), (answer.status, answer.body)
    return answer.body


def finished_job(caller: "Client", answer: Answer) -> Answer:
    """A lock-all slower than its request's 20 s (a busy machine, faults) goes on as a job (202):
    followed to its end, its result is what the request would have answered."""
    if answer.status != 202:
        return answer
    for _ in range(2400):
        status = caller.get(f"/v1/jobs/{answer.body['job_id']}")
        if status.status == 200 and status.body["status"] != "running":
            assert status.body["status"] == "succeeded", status.body
            return Answer(200, status.body["result"], {})
        time.sleep(0.05)
    raise AssertionError(f"job {answer.body['job_id']} did not finish")


def acceptable(answer: Answer) -> bool:
    """True for a success; False for a refusal a client must accept (409 non-retry, 503 retry);
    fails the test on anything else (a 500, a 409 `retry`, a 503 without Retry-After)."""
    if 200 <= answer.status < 300:
        return True
    error = (answer.body or {}).get("error") if isinstance(answer.body, dict) else None
    assert isinstance(error, dict) and error.get("code") and error.get("message"), (answer.status, answer.body)
    if answer.status == 409 and error["code"] != "retry":
        return False
    if answer.status == 503 and error["code"] == "retry" and answer.headers.get("retry-after"):
        count("503 retry answered during races", 1)
        return False
    raise AssertionError(f"unacceptable answer during a race: {answer.status} {answer.body}")


class Stack:
    """The running stack, a tenant of its own with tokens per role, the store's fault switch."""

    def __init__(self, process: StackProcess):
        self.process = process
        self.api = process.description["api_url"]
        self.endpoint = process.description["aws_endpoint_url"]
        with self.store_env():
            self.tenant_id = tenants.create_tenant("Racing IT")["tenant_id"]
            self.tokens = {role: [tenants.issue_token(self.tenant_id, role) for _ in range(number)]
                           for role, number in {"admin": 2, "finance": 2, "technician": 6, "agent": 8}.items()}
        self.admin, self.finance = self.clients("admin")[0], self.clients("finance")[0]

    def clients(self, role: str) -> list[Client]:
        return [Client(self.api, issued["token"], issued["token_id"]) for issued in self.tokens[role]]

    @contextmanager
    def store_env(self):
        """This process's billing_core pointed at the stack's store (tokens are issued with the
        admin CLI's own calls, which the API does not offer)."""
        names = ("AWS_ENDPOINT_URL", "TABLE_NAME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        saved = {name: os.environ.get(name) for name in names}
        os.environ.update({"AWS_ENDPOINT_URL": self.endpoint, "TABLE_NAME": self.process.description["table"],
                           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"})
        os.environ.pop("AWS_SESSION_TOKEN", None)
        models.reset()
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            models.reset()

    def faults(self, enabled: bool) -> dict:
        request = urllib.request.Request(f"{self.endpoint}/_store/faults", data=json.dumps({"enabled": enabled}).encode(), method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def put_rates(self, rates: dict) -> dict:
        request = urllib.request.Request(f"{self.endpoint}/_store/faults", data=json.dumps({"rates": rates}).encode(), method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    @contextmanager
    def racing(self, faults: bool):
        before = self.faults(faults)["injected"]
        try:
            yield
        finally:
            after = self.faults(False)["injected"]
            for kind, number in after.items():
                count(f"faults injected during races: {kind}", number - before[kind])

    def new_group(self, profile_id: str = "gold") -> str:
        group_id = f"g-{uuid.uuid4().hex[:10]}"
        ok(self.admin.put(f"/v1/groups/{group_id}", {"name": f"{group_id} Ltd"}), 201)
        ok(self.admin.put(f"/v1/groups/{group_id}/contract", {"profile_id": profile_id}))
        return group_id

    def new_profile(self, values: dict) -> str:
        return ok(self.admin.post("/v1/profiles", {**values, "profile_id": f"p-{uuid.uuid4().hex[:10]}"}), 201)["profile_id"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    process = StackProcess(tmp_path_factory.mktemp("races") / "stack.json", "--no-seed", "--faults", FAULTS, "--fault-seed", "10")
    try:
        running = Stack(process)
        running.faults(False)  # on only while racing
        ok(running.admin.post("/v1/profiles", {**GOLD, "profile_id": "gold"}), 201)
        yield running
    finally:
        process.stop()  # the threads stay: other modules race with them too (tests/invoicing)


MAX_THREADS = 24
_threads = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="race")


def race(calls) -> list:
    """Every call in its own thread, all released together by a barrier; answers in order."""
    assert len(calls) <= MAX_THREADS
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    answers = [future.result() for future in [_threads.submit(run, call) for call in calls]]
    count("races run", 1)
    return answers


# ---------------------------------------------------------------- the invariants


@dataclass
class Answered:
    """The successes a race answered, which must all be durable."""

    uploads: dict = field(default_factory=dict)  # session_id → the session answered
    locks: dict = field(default_factory=dict)  # session_id → the accounted session answered
    adjusts: list = field(default_factory=list)  # (session_id, extra_minutes) answered 200
    recharges: list = field(default_factory=list)  # minutes of each recharge answered 201
    recharges_sent: list = field(default_factory=list)  # minutes of every recharge sent


def sessions_of(client: Client, group_id: str) -> list[dict]:
    found, cursor = [], None
    while True:
        page = ok(client.get(f"/v1/groups/{group_id}/sessions", "limit=100" + (f"&cursor={cursor}" if cursor else "")))
        found += page["sessions"]
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def history_of(client: Client, session_id: str) -> list[dict]:
    return ok(client.get(f"/v1/sessions/{session_id}/history"))["history"]


_profiles: dict = {}


def priced(client: Client, session: dict) -> tariff.Pricing:
    """The session's own figures priced under the profile version it names (SPEC §3)."""
    key = (session["profile_id"], session["profile_version"])
    if key not in _profiles:
        _profiles[key] = ok(client.get(f"/v1/profiles/{session['profile_id']}", f"version={session['profile_version']}"))
    profile = _profiles[key]
    assert profile["version"] == session["profile_version"], profile
    values = {k: v for k, v in profile.items() if k not in ("profile_id", "name", "type", "version", "created_at", "updated_at")}
    return tariff.price(tariff_fields.parse_tariff(profile["type"], values), session["connection_seconds"], session["extra_minutes"])


INDEX_SETTLED = 0.5  # seconds: past the stack's index lag (200 ms)


def check_invariants(stack: Stack, group_id: str, answered: Answered, expected_ids=None) -> list[dict]:
    """After a race, through the HTTP API (faults off): what was answered is there, nothing is
    counted twice, the balance adds up, every frozen price is the one its profile version gives."""
    reader = stack.finance
    time.sleep(INDEX_SETTLED)  # the listing reads an index, which shows the last writes a moment later (as on AWS)
    sessions = sessions_of(reader, group_id)
    by_id = {s["session_id"]: s for s in sessions}
    assert len(by_id) == len(sessions), "a session is listed twice"
    if expected_ids is not None:
        assert set(by_id) <= set(expected_ids)
    # every success answered is durable
    for session_id, first in answered.uploads.items():
        stored = by_id.get(session_id)
        assert stored is not None, f"{session_id} answered 201/200 and is not there"
        for name in ("group_id", "technician", "computer_id", "started_at", "ended_at", "connection_seconds"):
            assert stored[name] == first[name], (name, first, stored)
    for session_id, locked in answered.locks.items():
        stored = by_id[session_id]
        assert stored["status"] == "accounted", (session_id, stored)
        for name in ("billed_minutes", "cost", "profile_id", "profile_version", "extra_minutes", "locked_at"):
            assert stored[name] == locked[name], (name, locked, stored)
    histories = dict(zip(by_id, _threads.map(lambda session_id: history_of(reader, session_id), by_id)))
    for session_id, extra in answered.adjusts:
        changes = [e["changes"] for e in histories[session_id] if e["action"] == "adjusted"]
        assert any(c.get("extra_minutes", {}).get("after") == extra for c in changes), (session_id, extra, changes)
    # nothing counted twice
    accounted = [s for s in sessions if s["status"] == "accounted"]
    for session_id, entries in histories.items():
        actions = [e["action"] for e in entries]
        assert actions.count("recorded") == 1, (session_id, actions)
        if by_id[session_id]["status"] == "accounted":
            assert actions.count("locked") == 1 and actions[-1] == "locked", (session_id, actions)
        else:
            assert "locked" not in actions, (session_id, actions)
    totals = ok(reader.get(f"/v1/groups/{group_id}/totals"))
    billed = sum(s["billed_minutes"] for s in accounted)
    assert totals["accounted"]["sessions"] == len(accounted)
    assert totals["to_account"]["sessions"] == len(sessions) - len(accounted)
    assert totals["accounted"]["billed_minutes"] == billed
    # the balance adds up
    balance = totals.get("balance")
    if balance is not None:
        assert balance["used_minutes"] == billed, (balance, billed)
        assert balance["available_minutes"] == (balance["total_minutes"] + balance["carried_over_minutes"] + balance["recharged_minutes"]
                                                - balance["used_minutes"] - balance["expired_minutes"])
        # the balance is its ledger: a running balance that adds up, one deduction per accounted session
        entries, cursor = [], None
        while True:
            page = ok(reader.get(f"/v1/groups/{group_id}/ledger", query=f"cursor={cursor}" if cursor else ""))
            entries += page["entries"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        running = 0
        for entry in entries:
            running += entry["minutes"]
            assert entry["running_balance"] == running, entries
        assert running == balance["available_minutes"], (running, balance)
        deductions = [e["session_id"] for e in entries if e["kind"] == "deduction"]
        assert sorted(deductions) == sorted(s["session_id"] for s in accounted), "a lock deducted twice, or not at all"
        assert sum(e["minutes"] for e in entries if e["kind"] == "recharge") == balance["recharged_minutes"]
        assert -sum(e["minutes"] for e in entries if e["kind"] == "deduction") == billed
        group_history = ok(reader.get(f"/v1/groups/{group_id}/history"))["history"]
        recharged = [e for e in group_history if e["action"] == "recharged"]
        assert len(answered.recharges) <= len(recharged) <= len(answered.recharges_sent), (answered.recharges, recharged)
        assert balance["recharged_minutes"] == _recharged_minutes(recharged), (balance, recharged)
    else:
        assert totals["accounted"]["cost"] == str(sum((Decimal(s["cost"]) for s in accounted), Decimal("0.00")))
    # every frozen price is its profile version's
    for session in accounted:
        pricing = priced(reader, session)
        assert session["billed_minutes"] == pricing.billed_minutes, session
        assert session["total_seconds"] == pricing.total_seconds, session
        assert session["cost"] == (str(pricing.cost) if pricing.cost is not None else None), session
    count("invariant checks after a race", 1)
    return sessions


def _recharged_minutes(entries: list[dict]) -> int:
    minutes = 0
    for entry in entries:
        changes = entry["changes"]
        if "recharged_minutes" in changes:
            minutes += changes["recharged_minutes"]["after"] - changes["recharged_minutes"]["before"]
        else:
            minutes += int(Decimal(str(changes["hours"])) * 60)
    return minutes


def billed(connection_seconds: int, extra_minutes: int, step: int) -> int:
    """SPEC §3, subscription: step × ceil(total_seconds / (60 × step)), written out again here."""
    total = max(0, connection_seconds + 60 * extra_minutes)
    return step * math.ceil(total / (60 * step))


# ---------------------------------------------------------------- uploads


@faults_param()
def test_the_same_upload_sent_by_8_agents_at_once_is_one_session(stack, faults):
    for round_ in range(2 if faults else 1):
        group = stack.new_group()
        sent = upload(f"same-{uuid.uuid4().hex[:8]}", group, 47, notes="replayed")
        with stack.racing(faults):
            answers = race([lambda agent=agent: agent.post("/v1/sessions", sent) for agent in stack.clients("agent")])
        answered = Answered()
        done = [a for a in answers if acceptable(a)]
        assert all(a.status in (200, 201) for a in done)
        if not faults:
            assert sorted(a.status for a in answers) == [200] * 7 + [201], [(a.status, a.body) for a in answers]
        assert len({json.dumps(a.body, sort_keys=True) for a in done}) <= 1  # the replays answer what the first did
        for a in done:
            answered.uploads[sent["session_id"]] = a.body["session"]
        check_invariants(stack, group, answered, [sent["session_id"]])


@faults_param()
def test_250_distinct_uploads_by_8_agents_into_one_group_are_all_counted(stack, faults):
    group = stack.new_group()
    sessions = [upload(f"up-{n:03d}-{uuid.uuid4().hex[:6]}", group, 5 + n % 50, day=1 + n // 10, hour=8 + n % 10) for n in range(250)]
    agents = stack.clients("agent")

    def send(agent, mine):
        return [(sent, agent.post("/v1/sessions", sent)) for sent in mine]

    with stack.racing(faults):
        answers = race([lambda agent=agent, n=n: send(agent, sessions[n::len(agents)]) for n, agent in enumerate(agents)])
    answered = Answered()
    for sent, answer in [pair for batch in answers for pair in batch]:
        if acceptable(answer):
            # 200 when the store lost the answer to the product's own write: botocore's retry found it there
            assert answer.status == 201 or (faults and answer.status == 200), (answer.status, answer.body)
            answered.uploads[sent["session_id"]] = answer.body["session"]
    if not faults:
        assert len(answered.uploads) == 250
    stored = check_invariants(stack, group, answered, [s["session_id"] for s in sessions])
    count("sessions uploaded in the 250-upload races", len(stored))


# ---------------------------------------------------------------- locks


@faults_param()
def test_20_concurrent_locks_of_one_subscription_session_deduct_once(stack, faults):
    for round_ in range(2 if faults else 1):
        group = stack.new_group()
        session_id = f"lock-{uuid.uuid4().hex[:8]}"
        answered = Answered()
        answered.uploads[session_id] = ok(stack.admin.post("/v1/sessions", upload(session_id, group, 52)), 201)["session"]
        lockers = (stack.clients("technician") + stack.clients("finance") + stack.clients("admin")) * 2
        with stack.racing(faults):
            answers = race([lambda c=c: c.post(f"/v1/sessions/{session_id}/lock") for c in lockers[:20]])
        done = [a for a in answers if acceptable(a)]
        assert all(a.status == 200 for a in done)
        assert len({json.dumps(a.body, sort_keys=True) for a in done}) <= 1  # one lock, answered to all
        if done:
            assert done[0].body["status"] == "accounted" and done[0].body["billed_minutes"] == 60
            answered.locks[session_id] = done[0].body
        if not faults:
            assert len(done) == 20
        check_invariants(stack, group, answered, [session_id])


@faults_param()
def test_concurrent_locks_crossing_balance_thresholds_write_one_event_per_crossing(stack, faults):
    """SPEC §10: 12 sessions of 60 minutes locked at once on a 10-hour contract alerting at 50, 20
    and 0 %: the balance goes 600 → -120 and each threshold is crossed exactly once."""
    profile = stack.new_profile({**GOLD, "name": "Gold alerts", "alert_thresholds": [50, 20, 0]})
    group = stack.new_group(profile)
    answered = Answered()
    ids = [f"al-{n}-{uuid.uuid4().hex[:6]}" for n in range(12)]
    for n, sid in enumerate(ids):
        answered.uploads[sid] = ok(stack.admin.post("/v1/sessions", upload(sid, group, 60, day=1 + n // 8, hour=9 + n % 8)), 201)["session"]
    before = {e["event_id"] for e in ok(stack.finance.get("/v1/events"))["events"]}
    lockers = stack.clients("technician") + stack.clients("finance") + stack.clients("admin")
    with stack.racing(faults):
        answers = race([lambda c=lockers[n % len(lockers)], sid=sid: (sid, c.post(f"/v1/sessions/{sid}/lock"))
                        for n, sid in enumerate(ids)])
    for sid, answer in answers:
        assert acceptable(answer), (answer.status, answer.body)
        if answer.status == 200:
            answered.locks[sid] = answer.body
    for sid in ids:  # what a 503 left open is locked now, faults off: every crossing then happened
        if sid not in answered.locks:
            answered.locks[sid] = ok(stack.finance.post(f"/v1/sessions/{sid}/lock"))
    events, cursor = [], None
    while True:
        page = ok(stack.finance.get("/v1/events", query=f"after={cursor}" if cursor else ""))
        events += [e for e in page["events"] if e["event_id"] not in before and e["group_id"] == group]
        if not page["events"]:
            break
        cursor = page["next_cursor"]
    assert sorted(e["detail"]["threshold"] for e in events) == [0, 20, 50], events
    for event in events:  # each written by the lock that took the balance below it
        limit = 600 * event["detail"]["threshold"] / 100
        assert event["detail"]["available_minutes"] < limit <= event["detail"]["available_minutes"] + 60, event
    count("threshold events checked after concurrent locks", len(events))
    check_invariants(stack, group, answered, ids)


@faults_param()
def test_lock_all_racing_single_locks_and_adjusts_locks_each_session_once(stack, faults):
    group = stack.new_group()
    ids = [f"la-{n:03d}-{uuid.uuid4().hex[:6]}" for n in range(80)]
    uploads = [upload(sid, group, 5 + n % 50, day=1 + n // 10, hour=8 + n % 10) for n, sid in enumerate(ids)]
    answered = Answered()
    for first in range(0, len(uploads), 100):
        for sent, result in zip(uploads[first:first + 100], ok(stack.admin.post("/v1/sessions/batch", {"sessions": uploads[first:first + 100]}))["results"]):
            assert result["recorded"], result
            answered.uploads[sent["session_id"]] = result["session"]
    technicians = stack.clients("technician")
    lock_alls = stack.clients("finance")

    def lock_some(caller, offset):  # each technician locks 5 sessions, half of them walking against the lock-all's order
        mine = ids[offset::16][:5]
        return [(sid, caller.post(f"/v1/sessions/{sid}/lock")) for sid in (mine if offset % 2 else reversed(mine))]

    def adjust_some(caller, offset):
        return [(sid, extra, caller.patch(f"/v1/sessions/{sid}", {"extra_minutes": extra}))
                for sid, extra in zip(ids[offset::13][:6], (10, -5, 25, 20, 15, 5))]

    calls = [lambda c=c: c.post(f"/v1/groups/{group}/lock-all", {}) for c in lock_alls]
    calls += [lambda c=c, n=n: lock_some(c, n) for n, c in enumerate(technicians[:4])]
    calls += [lambda c=c, n=n: adjust_some(c, 7 + n) for n, c in enumerate(technicians[4:])]
    with stack.racing(faults):
        answers = race(calls)
    whole, singles, adjusts = answers[:2], answers[2:6], answers[6:]
    whole = [finished_job(caller, answer) for caller, answer in zip(lock_alls, whole)]
    for sid, answer in [pair for batch in singles for pair in batch]:
        if acceptable(answer):
            assert answer.body["status"] == "accounted", answer.body
            answered.locks[sid] = answer.body
    for sid, extra, answer in [triple for batch in adjusts for triple in batch]:
        if acceptable(answer):
            answered.adjusts.append((sid, extra))
        elif not faults:
            assert answer.body["error"]["code"] == "session_accounted", answer.body
    sessions = check_invariants(stack, group, answered, ids)
    if not faults:
        assert all(s["status"] == "accounted" for s in sessions), (
            [(a.status, a.body) for a in whole], [s["session_id"] for s in sessions if s["status"] != "accounted"])
    # each lock-all's answer says exactly what it locked: finance reconciles it with the balance
    accounted = [s["session_id"] for s in sessions if s["status"] == "accounted"]
    locked_by = dict(zip(accounted, _threads.map(lambda sid: history_of(stack.finance, sid)[-1]["actor"]["id"], accounted)))
    by_id = {s["session_id"]: s for s in sessions}
    for caller, answer in zip(lock_alls, whole):
        if acceptable(answer):
            mine = [sid for sid, actor in locked_by.items() if actor == caller.token_id]
            assert answer.body["locked"] == len(mine), (answer.body, len(mine))
            assert answer.body["billed_minutes"] == sum(by_id[sid]["billed_minutes"] for sid in mine)
            count("sessions locked by a lock-all in the races", len(mine))


@faults_param()
def test_recharges_racing_locks_credit_each_answered_recharge_once(stack, faults):
    for round_ in range(1):
        group = stack.new_group()
        answered = Answered()
        ids = [f"rc-{n}-{uuid.uuid4().hex[:6]}" for n in range(4)]
        for n, sid in enumerate(ids):
            answered.uploads[sid] = ok(stack.admin.post("/v1/sessions", upload(sid, group, 20 + 10 * n, hour=9 + n)), 201)["session"]
        lockers = stack.clients("technician") + stack.clients("finance")
        calls = [lambda c=c, sid=ids[n % 4]: ("lock", sid, c.post(f"/v1/sessions/{sid}/lock")) for n, c in enumerate(lockers)]
        for admin in stack.clients("admin") * 3:
            answered.recharges_sent.append(90)
            calls.append(lambda admin=admin: ("recharge", None, admin.post(f"/v1/groups/{group}/recharges", {"hours": "1.5", "amount": "75.00"})))
        with stack.racing(faults):
            answers = race(calls)
        for kind, sid, answer in answers:
            if not acceptable(answer):
                assert faults or kind == "recharge", (kind, answer.status, answer.body)
                continue
            if kind == "lock":
                answered.locks[sid] = answer.body
            else:
                assert answer.status == 201, answer.body
                answered.recharges.append(90)
        if not faults:
            assert len(answered.recharges) == len(answered.recharges_sent)
        check_invariants(stack, group, answered, ids)


def test_a_recharge_whose_answer_is_lost_after_its_commit_is_credited_once(stack):
    """Half of the store's answers lost after the write (as DynamoDB can): botocore retries with
    the transaction's ClientRequestToken, the store recognises it, and an admin who still gets a
    503 retries with the same Idempotency-Key, which answers the first result."""
    group = stack.new_group()
    admin = stack.clients("admin")[0]
    credited = 0
    previous = stack.faults(False)
    stack.put_rates({"lost": 0.5})
    try:
        stack.faults(True)
        for n in range(8):
            key = f"rch-lost-{group}-{n}"
            for attempt in range(20):  # the admin's own retries, with the same key
                answer = admin.call("POST", f"/v1/groups/{group}/recharges", {"hours": 1, "amount": "50.00"},
                                    headers={"Idempotency-Key": key})
                assert acceptable(answer), (answer.status, answer.body)
                if answer.status == 201:
                    credited += 1
                    break
            else:
                pytest.fail("a recharge kept answering 503")
    finally:
        lost = stack.faults(False)["injected"].get("lost", 0) - previous["injected"].get("lost", 0)
        stack.put_rates(previous["rates"])
    assert lost >= 4, lost  # answers really were lost after their commit (seeded: the same every run)
    count("recharge answers lost after their commit", lost)
    totals = ok(stack.finance.get(f"/v1/groups/{group}/totals"))
    assert credited == 8 and totals["balance"]["recharged_minutes"] == 8 * 60, totals["balance"]
    check_invariants(stack, group, Answered(recharges=[60] * 8, recharges_sent=[60] * 8))


@faults_param()
def test_profile_updates_racing_locks_price_each_session_by_the_version_it_names(stack, faults):
    steps = (10, 30, 5)
    profile_id = stack.new_profile(GOLD)
    group = stack.new_group(profile_id)
    answered = Answered()
    ids = [f"pv-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(12)]
    for n, sid in enumerate(ids):
        answered.uploads[sid] = ok(stack.admin.post("/v1/sessions", upload(sid, group, 7 + 3 * n, hour=8 + n)), 201)["session"]
    lockers = stack.clients("technician")
    admin = stack.clients("admin")[1]

    def update_profile():
        return [admin.put(f"/v1/profiles/{profile_id}", {**GOLD, "step_minutes": step}) for step in steps]

    calls = [update_profile]
    calls += [lambda c=c, part=ids[n::6]: [(sid, c.post(f"/v1/sessions/{sid}/lock")) for sid in part] for n, c in enumerate(lockers)]
    with stack.racing(faults):
        answers = race(calls)
    updates = answers[0]
    for sid, answer in [pair for batch in answers[1:] for pair in batch]:
        if acceptable(answer):
            assert answer.body["status"] == "accounted", answer.body
            answered.locks[sid] = answer.body
    versions = [a.body["version"] for a in updates if acceptable(a)]
    if not faults:
        assert versions == [2, 3, 4]
    ok(stack.finance.post(f"/v1/groups/{group}/lock-all", {}))
    sessions = check_invariants(stack, group, answered, ids)
    assert all(s["status"] == "accounted" and s["profile_id"] == profile_id for s in sessions)
    count("profile versions used by sessions locked during the profile races", len({s["profile_version"] for s in sessions}))


@faults_param()
def test_a_busy_client_locked_by_16_callers_while_recharged_and_repriced_answers_every_lock(stack, faults):
    """One subscription client's busy day: 16 callers lock its 64 sessions one at a time while an
    admin recharges it every 0.2 s and its profile is updated every 0.1 s. Every single lock is
    answered 200 (it used to be a 503 `retry` after 10-25 s of lost races on the client's one
    balance), each session is deducted once, the balance is its ledger, and each frozen price is
    the one of the profile version it names."""
    gold = {**GOLD, "name": "Gold busy", "total_hours": 100}
    profile_id = stack.new_profile(gold)
    group = stack.new_group(profile_id)
    answered = Answered()
    ids = [f"busy-{n:02d}-{uuid.uuid4().hex[:6]}" for n in range(64)]
    uploads = [upload(sid, group, 5 + n % 40, day=1 + n // 10, hour=8 + n % 10) for n, sid in enumerate(ids)]
    for sent, result in zip(uploads, ok(stack.admin.post("/v1/sessions/batch", {"sessions": uploads}))["results"]):
        answered.uploads[sent["session_id"]] = result["session"]
    lockers = (stack.clients("technician") + stack.clients("finance")) * 2
    reprice_admin, recharge_admin = stack.clients("admin")
    left, guard, done = [len(lockers)], threading.Lock(), threading.Event()

    def lock_share(caller, part):
        try:
            return [(sid, caller.post(f"/v1/sessions/{sid}/lock")) for sid in part]
        finally:
            with guard:
                left[0] -= 1
                if not left[0]:
                    done.set()

    def reprice():
        answers, step = [], 15
        while not done.is_set():
            step = 30 if step == 15 else 15
            answers.append(reprice_admin.put(f"/v1/profiles/{profile_id}", {**gold, "step_minutes": step}))
            time.sleep(0.1)
        return answers

    def recharge():
        answers = []
        while not done.is_set():
            answered.recharges_sent.append(60)
            answers.append(recharge_admin.post(f"/v1/groups/{group}/recharges", {"hours": 1, "amount": "10.00"}))
            time.sleep(0.2)
        return answers

    calls = [reprice, recharge] + [lambda c=c, n=n: lock_share(c, ids[n::len(lockers)]) for n, c in enumerate(lockers)]
    with stack.racing(faults):
        answers = race(calls)
    reprices, recharges = answers[0], answers[1]
    refused = []
    for sid, answer in [pair for share in answers[2:] for pair in share]:
        if acceptable(answer):
            assert answer.body["status"] == "accounted", answer.body
            answered.locks[sid] = answer.body
        else:
            refused.append((sid, answer.status, answer.body))
    answered.recharges = [60 for answer in recharges if acceptable(answer)]
    updated = [answer for answer in reprices if acceptable(answer)]
    if not faults:
        assert refused == [], refused
        assert len(updated) == len(reprices) >= 3, [(a.status, a.body) for a in reprices]
    sessions = check_invariants(stack, group, answered, ids)
    versions = {s["profile_version"] for s in sessions if s["status"] == "accounted"}
    count("profile versions used by the sessions of the busy client", len(versions))
    count("locks refused (503) on the busy client", len(refused))


@faults_param()
def test_lock_alls_of_a_busy_client_racing_12_single_lockers_are_answered(stack, faults):
    """Two finance users run lock-all on a busy subscription client while 12 callers lock its
    sessions one at a time: each lock-all answers what it locked (it used to answer 503 `retry`
    after 10-25 s, its big transactions losing the balance to every single lock), every single
    lock is answered, each session is deducted once and the balance is its ledger."""
    group = stack.new_group(stack.new_profile({**GOLD, "name": "Gold lock-all", "total_hours": 200}))
    answered = Answered()
    ids = [f"lab-{n:03d}-{uuid.uuid4().hex[:6]}" for n in range(120)]
    uploads = [upload(sid, group, 5 + n % 40, day=1 + n // 10, hour=8 + n % 10) for n, sid in enumerate(ids)]
    for start in range(0, len(uploads), 100):
        batch = uploads[start:start + 100]
        for sent, result in zip(batch, ok(stack.admin.post("/v1/sessions/batch", {"sessions": batch}))["results"]):
            answered.uploads[sent["session_id"]] = result["session"]
    lockers = (stack.clients("technician") * 2)[:12]
    lock_alls = stack.clients("finance")

    def lock_all(caller):
        time.sleep(0.5)  # the single locks are under way
        return finished_job(caller, caller.post(f"/v1/groups/{group}/lock-all", {}))

    calls = [lambda c=c: lock_all(c) for c in lock_alls]
    calls += [lambda c=c, n=n: [(sid, c.post(f"/v1/sessions/{sid}/lock")) for sid in ids[n::24]] for n, c in enumerate(lockers)]
    with stack.racing(faults):
        answers = race(calls)
    wholes, singles = answers[:2], answers[2:]
    refused = [("lock-all", answer.status, answer.body) for answer in wholes if not acceptable(answer)]
    count("lock-alls refused (503) on the busy client", len(refused))
    for sid, answer in [pair for share in singles for pair in share]:
        if acceptable(answer):
            answered.locks[sid] = answer.body
        else:
            refused.append((sid, answer.status, answer.body))
    if not faults:
        assert refused == [], refused
    sessions = check_invariants(stack, group, answered, ids)
    if not faults:
        assert all(s["status"] == "accounted" for s in sessions)


# ---------------------------------------------------------------- a crash


def test_every_answered_write_survives_a_sigkill(tmp_path):
    """A series of writes, the stack killed (SIGKILL: no clean stop, no snapshot), started again
    on the same data: every write that was answered is there, and the demo tokens still work."""
    state = tmp_path / "stack.json"
    first = StackProcess(state)
    try:
        tokens = first.description["tenants"][0]["tokens"]
        api = first.description["api_url"]
        admin, finance, technician = (Client(api, tokens[role]) for role in ("admin", "finance", "technician"))
        ok(admin.post("/v1/profiles", {**GOLD, "profile_id": "crash-gold"}), 201)
        ok(admin.put("/v1/groups/crash", {"name": "Crash Ltd"}), 201)
        ok(admin.put("/v1/groups/crash/contract", {"profile_id": "crash-gold"}))
        answered = Answered()
        for n in range(4):
            sid = f"crash-{n}"
            answered.uploads[sid] = ok(Client(api, tokens["agent"]).post("/v1/sessions", upload(sid, "crash", 20 + 7 * n, hour=9 + n)), 201)["session"]
        ok(technician.patch("/v1/sessions/crash-1", {"extra_minutes": 12}))
        answered.adjusts.append(("crash-1", 12))
        answered.locks["crash-1"] = ok(technician.post("/v1/sessions/crash-1/lock"))
        ok(admin.post("/v1/groups/crash/recharges", {"hours": 5, "amount": "250.00"}), 201)
        answered.recharges.append(300)
        answered.recharges_sent.append(300)
        locked_all = ok(finance.post("/v1/groups/crash/lock-all", {}))
        export = ok(finance.post("/v1/groups/crash/exports", {}), 201)
        totals_before = ok(finance.get("/v1/groups/crash/totals"))
        assert locked_all["locked"] == 3
    finally:
        first.kill()
    journals = sorted(first.data.glob("journal-*.jsonl"))
    with open(journals[-1], "ab") as torn:  # the line being written when the process died
        torn.write(b'{"at": 1, "dynamodb": "PutItem", "body": "{\\"TableName\\": \\"billing-lo')
    second = StackProcess(state)
    try:
        assert second.description["tenants"][0]["tokens"] == tokens  # not seeded twice: the same tokens
        api = second.description["api_url"]
        finance = Client(api, tokens["finance"])
        groups = [g["group_id"] for g in ok(finance.get("/v1/groups"))["groups"]]
        assert sorted(groups) == ["bakery", "crash", "dental", "law-firm"]
        stack = Stack.__new__(Stack)
        stack.finance = finance
        sessions = check_invariants(stack, "crash", answered, list(answered.uploads))
        assert all(s["status"] == "accounted" for s in sessions)
        assert ok(finance.get("/v1/groups/crash/totals")) == totals_before
        kept = ok(finance.get(f"/v1/exports/{export['export_id']}"))
        with urllib.request.urlopen(kept["url"], timeout=30) as download:  # the file, kept by the embedded S3
            assert b"crash-1" in download.read()
    finally:
        assert second.stop() == 0
