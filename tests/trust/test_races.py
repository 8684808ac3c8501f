"""Exactly-once accounting under real concurrency (SPEC §7): many threads drive the API at once,
through the template's authorizer and handlers, against a moto *server* over HTTP.

Why the server is serialised: DynamoDB applies each request (a conditional put, an update, a
TransactWriteItems) atomically. moto does not: its server is a threaded werkzeug server, the only
lock in `DomainDispatcherApplication` guards choosing the backend app, and
`DynamoDBBackend.transact_write_items` checks every condition, writes, and on failure restores a
deep copy of the whole table taken before it began, so two overlapping requests could both pass a
condition, or one could undo the other's write. `OneRequestAtATime` below makes each AWS request
atomic, as in AWS, while the application threads still race freely between their reads and their
conditional writes: the gaps the product must survive are exactly the real ones.

Every race runs ROUNDS times (the 150-session one 3 times), each round with a new tenant on one
table, and after each one the invariant is checked: the
contract's used_minutes equals the sum of the billed_minutes of its accounted sessions, and every
session appears exactly once."""
import json
import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from billing_core import models, tenants
from billing_local import moto_shims, template
from billing_local.gateway import Gateway

from .conftest import GOLD, Caller, Tenant, assert_error_shape, count, upload

ROUNDS = 5
AGENTS = 8
STEP = GOLD["step_minutes"]


class OneRequestAtATime:
    """WSGI middleware: one AWS request is handled at a time (the whole answer is built under the
    lock), so each DynamoDB call is atomic as in AWS. Counts the requests that had to wait."""

    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()
        self.requests = self.waited = 0

    def __call__(self, environ, start_response):
        if not self.lock.acquire(blocking=False):
            self.waited += 1
            self.lock.acquire()
        try:
            self.requests += 1
            return list(self.app(environ, start_response))
        finally:
            self.lock.release()


class SerialisedMotoServer(ThreadedMotoServer):
    """moto's ThreadedMotoServer (threaded: connections are served concurrently), with each
    request applied atomically."""

    def _server_entry(self) -> None:
        self.app = OneRequestAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, self.app, threaded=True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


ENV = ("AWS_ENDPOINT_URL", "TABLE_NAME", "EXPORTS_BUCKET")


@pytest.fixture(scope="module")
def server():
    # With one request at a time, a transaction's rollback needs only the items it names (see
    # billing_local.moto_shims), not a copy of the whole table: same outcome, far faster.
    with moto_shims.transactions_back_up_only_their_items():
        yield from _serialised_server()


def _serialised_server():
    saved = {name: os.environ.get(name) for name in ENV}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    moto = SerialisedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    os.environ["EXPORTS_BUCKET"] = "trust-race-exports"
    os.environ["TABLE_NAME"] = "trust-race"
    models.reset()
    template.create_table(boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"]), os.environ["TABLE_NAME"])
    template.create_bucket(boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]), os.environ["EXPORTS_BUCKET"])
    try:
        yield moto
    finally:
        count("AWS requests served by the moto server during the races", moto.app.requests)
        count("AWS requests that arrived while another was being served", moto.app.waited)
        _threads.shutdown()
        moto.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        models.reset()


@pytest.fixture(scope="module")
def gateway(server):
    gateway = Gateway()
    for route in template.routes():  # import every handler once, before threads share them
        gateway.invoke(route.method, route.path, {}, "", None)
    return gateway


class World:
    """A new tenant (on the module's table) with a subscription profile and a group on it. Each
    round gets its own tenant, so rounds never see each other's sessions."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.tenant = Tenant(gateway, "Racing IT")
        self.profile = self.ok(self.tenant.admin.post("/v1/profiles", {**GOLD, "profile_id": "gold"}), 201)
        self.group = self.new_group("acme")

    @staticmethod
    def ok(answer, *statuses):
        status, body = answer
        assert status in (statuses or (200,)), (status, body)
        return body

    def new_group(self, group_id: str) -> str:
        self.ok(self.tenant.admin.put(f"/v1/groups/{group_id}", {"name": f"{group_id} Ltd"}), 201)
        self.ok(self.tenant.admin.put(f"/v1/groups/{group_id}/contract", {"profile_id": "gold"}))
        return group_id

    def callers(self, role: str, number: int) -> list[Caller]:
        """`number` callers of the role, each with its own token (N agents, N technicians...)."""
        made = []
        for _ in range(number):
            issued = tenants.issue_token(self.tenant.tenant_id, role)
            made.append(Caller(self.gateway, issued["token"]))
            made[-1].token_id = issued["token_id"]
        return made

    # -------------------------------------------------------- the invariant

    def sessions(self, group_id: str) -> list[dict]:
        found, cursor = [], None
        while True:
            query = "limit=100" + (f"&cursor={cursor}" if cursor else "")
            page = self.ok(self.tenant.finance.get(f"/v1/groups/{group_id}/sessions", query))
            found += page["sessions"]
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    def assert_exactly_once(self, group_id: str, expected_ids=None) -> list[dict]:
        """used_minutes == Σ billed_minutes of the accounted sessions; every session once."""
        sessions = self.sessions(group_id)
        ids = [s["session_id"] for s in sessions]
        assert len(ids) == len(set(ids)), "a session appears twice"
        if expected_ids is not None:
            assert sorted(ids) == sorted(expected_ids)
        accounted = [s for s in sessions if s["status"] == "accounted"]
        billed = sum(s["billed_minutes"] for s in accounted)
        totals = self.ok(self.tenant.finance.get(f"/v1/groups/{group_id}/totals"))
        balance = totals["balance"]
        assert balance["used_minutes"] == billed, (balance, billed)
        assert totals["accounted"]["billed_minutes"] == billed
        assert totals["accounted"]["sessions"] == len(accounted)
        assert totals["to_account"]["sessions"] == len(sessions) - len(accounted)
        assert balance["available_minutes"] == balance["total_minutes"] + balance["recharged_minutes"] - billed
        count("invariant checks after a race", 1)
        return sessions

    def history(self, session_id: str) -> list[dict]:
        return self.ok(self.tenant.finance.get(f"/v1/sessions/{session_id}/history"))["history"]


@pytest.fixture
def world(gateway):
    return lambda: World(gateway)


MAX_THREADS = 12
# The racing threads live as long as the module: pynamodb gives every thread its own botocore
# session and client per model (thread-local), which costs far more to build than a request.
_threads = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="race")


def race(calls):
    """Runs every call in its own thread, all released together by a barrier; answers in order."""
    assert len(calls) <= MAX_THREADS
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    answers = [future.result() for future in [_threads.submit(run, call) for call in calls]]
    count("races run", 1)
    return answers


def billed(connection_seconds: int, extra_minutes: int, step: int) -> int:
    """SPEC §3, subscription: step × ceil(total_seconds / (60 × step)), written out again here."""
    total = max(0, connection_seconds + 60 * extra_minutes)
    return step * math.ceil(total / (60 * step))


# ---------------------------------------------------------------- uploads


def test_the_same_upload_sent_by_n_agents_at_once_is_one_session(world):
    for round_ in range(ROUNDS):
        w = world()
        agents = w.callers("agent", AGENTS)
        sent = upload(f"s-{round_}", w.group, 47, notes="replayed")
        answers = race([lambda agent=agent: agent.post("/v1/sessions", sent) for agent in agents])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] * (AGENTS - 1) + [201], answers
        bodies = {json.dumps(body, sort_keys=True) for _, body in answers}
        assert len(bodies) == 1, bodies  # the replays answer exactly what the first upload did
        assert [e["action"] for e in w.history(sent["session_id"])] == ["recorded"]
        w.assert_exactly_once(w.group, [sent["session_id"]])
        w.ok(w.tenant.technician.post(f"/v1/sessions/{sent['session_id']}/lock"))
        (session,) = w.assert_exactly_once(w.group, [sent["session_id"]])
        assert session["billed_minutes"] == 60  # 47 minutes in started 15-minute steps


def test_one_session_id_with_different_content_at_once_is_one_winner_and_409s(world):
    for round_ in range(ROUNDS):
        w = world()
        agents = w.callers("agent", AGENTS)
        variants = [upload(f"s-{round_}", w.group, 20 + n, notes=f"variant {n}") for n in range(AGENTS)]
        answers = race([lambda agent=agent, sent=sent: agent.post("/v1/sessions", sent) for agent, sent in zip(agents, variants)])
        winners = [index for index, (status, _) in enumerate(answers) if status == 201]
        assert len(winners) == 1, answers
        for index, (status, body) in enumerate(answers):
            if index != winners[0]:
                assert status == 409, (status, body)
                assert_error_shape(status, body, code="session_conflict")
        stored = w.ok(w.tenant.finance.get(f"/v1/sessions/s-{round_}"))
        assert stored == answers[winners[0]][1]["session"]
        assert stored["notes"] == f"variant {winners[0]}"
        assert [e["action"] for e in w.history(f"s-{round_}")] == ["recorded"]
        w.ok(w.tenant.finance.post(f"/v1/groups/{w.group}/lock-all", {}))
        w.assert_exactly_once(w.group, [f"s-{round_}"])


def test_batches_repeating_one_session_sent_at_once_record_it_once(world):
    for round_ in range(ROUNDS):
        w = world()
        agents = w.callers("agent", 6)
        first, second, third = (upload(f"b{round_}-{n}", w.group, 16 + 10 * n, hour=9 + n) for n in range(3))
        changed = {**second, "notes": "other content"}
        batch = [first, second, first, third, first, changed, third]
        answers = race([lambda agent=agent: agent.post("/v1/sessions/batch", {"sessions": batch}) for agent in agents])
        bodies = {}
        for status, body in answers:
            assert status == 200, body
            results = body["results"]
            assert len(results) == len(batch)
            for sent, result in zip(batch, results):
                if sent is changed:
                    assert result["recorded"] is False and result["error"]["code"] == "session_conflict", result
                    continue
                assert result["recorded"] is True, result
                bodies.setdefault(sent["session_id"], set()).add(json.dumps(result["session"], sort_keys=True))
        assert {sid: len(found) for sid, found in bodies.items()} == {s["session_id"]: 1 for s in (first, second, third)}
        for sent in (first, second, third):
            assert [e["action"] for e in w.history(sent["session_id"])] == ["recorded"]
        assert w.ok(w.tenant.finance.get(f"/v1/sessions/{second['session_id']}"))["notes"] == ""
        w.ok(w.tenant.finance.post(f"/v1/groups/{w.group}/lock-all", {}))
        sessions = w.assert_exactly_once(w.group, [s["session_id"] for s in (first, second, third)])
        assert sum(s["billed_minutes"] for s in sessions) == 30 + 30 + 45


# ---------------------------------------------------------------- locks


def test_n_concurrent_locks_of_one_session_and_recharges_deduct_once(world):
    for round_ in range(ROUNDS):
        w = world()
        session_id = f"s-{round_}"
        w.ok(w.tenant.agent.post("/v1/sessions", upload(session_id, w.group, 52)), 201)
        lockers = w.callers("technician", 3) + w.callers("finance", 3) + w.callers("admin", 2)
        calls = [lambda c=c: c.post(f"/v1/sessions/{session_id}/lock") for c in lockers]
        calls += [lambda: w.tenant.admin.post(f"/v1/groups/{w.group}/recharges", {"hours": "1.5", "amount": "75.00"})] * 2
        answers = race(calls)
        locks, recharges = answers[:len(lockers)], answers[len(lockers):]
        assert all(status == 200 for status, _ in locks), locks
        assert len({json.dumps(body, sort_keys=True) for _, body in locks}) == 1  # one lock, answered to all
        assert locks[0][1]["status"] == "accounted" and locks[0][1]["billed_minutes"] == 60
        done = [body for status, body in recharges if status == 201]
        for status, body in recharges:
            if status != 201:
                assert status == 409, (status, body)
                assert_error_shape(status, body, code="retry")
        assert done, recharges
        assert [e["action"] for e in w.history(session_id)] == ["recorded", "locked"]
        w.assert_exactly_once(w.group, [session_id])
        balance = w.ok(w.tenant.finance.get(f"/v1/groups/{w.group}/totals"))["balance"]
        assert balance["used_minutes"] == 60
        assert balance["recharged_minutes"] == 90 * len(done)
        assert balance["amount"] == f"{500 + 75 * len(done)}.00"


def test_lock_all_racing_single_locks_over_150_sessions_locks_each_once(world):
    sessions_per_round = 150
    for round_ in range(3):
        w = world()
        ids = [f"s-{n:03d}" for n in range(sessions_per_round)]
        uploads = [upload(sid, w.group, 5 + n % 50, day=1 + n // 10, hour=9 + n % 10) for n, sid in enumerate(ids)]
        for start in range(0, len(uploads), 100):
            results = w.ok(w.tenant.agent.post("/v1/sessions/batch", {"sessions": uploads[start:start + 100]}))["results"]
            assert all(r["recorded"] for r in results), results
        expected = {sid: billed(60 * (5 + n % 50), 0, STEP) for n, sid in enumerate(ids)}
        technicians = w.callers("technician", 4)

        def lock_some(caller, offset):
            # each technician locks 5 sessions spread over both lock-all transactions (99 + 51),
            # half of them walking from the end, against the lock-all's order
            mine = ids[offset::30]
            return [caller.post(f"/v1/sessions/{sid}/lock") for sid in (mine if offset % 2 else reversed(mine))]

        lock_all_callers = w.callers("finance", 1) + w.callers("admin", 1)
        calls = [lambda c=c: c.post(f"/v1/groups/{w.group}/lock-all", {}) for c in lock_all_callers]
        calls += [lambda c=c, offset=offset: lock_some(c, offset) for offset, c in enumerate(technicians)]
        answers = race(calls)
        lock_alls, singles = answers[:2], [a for batch in answers[2:] for a in batch]
        for status, body in singles:
            assert status == 200 and body["status"] == "accounted", (status, body)
        # Who locked each session: the lock records "<role>:<token_id>" (read straight from the table).
        locked_by = {
            session.session_id: (session.locked_by or "").partition(":")[2]
            for session in models.Session.gsi1.query(models.keys.sessions_of(w.tenant.tenant_id, w.group))
        }
        assert sorted(locked_by) == ids
        for caller, (status, body) in zip(lock_all_callers, lock_alls):
            # Each lock-all finishes (other locks only shrink its work) and its answer says exactly
            # what it locked: finance reconciles these figures with the balance.
            assert status == 200, (status, body)
            mine = [sid for sid, token_id in locked_by.items() if token_id == caller.token_id]
            assert body["locked"] == len(mine), (body, len(mine))
            assert body["billed_minutes"] == sum(expected[sid] for sid in mine)
            count("lock-all races: sessions locked by a lock-all", len(mine))
        sessions = w.assert_exactly_once(w.group, ids)
        assert all(s["status"] == "accounted" for s in sessions)
        assert {s["session_id"]: s["billed_minutes"] for s in sessions} == expected
        count("lock-all races: sessions locked by a single lock", sum(1 for token_id in locked_by.values() if token_id in {c.token_id for c in technicians}))
        count("lock-all races: sessions (150 per round)", len(ids))


def test_adjustments_racing_a_lock_leave_the_lock_priced_as_the_session_is_stored(world):
    for round_ in range(ROUNDS):
        w = world()
        ids = [f"s-{round_}-{n}" for n in range(3)]
        for n, sid in enumerate(ids):
            w.ok(w.tenant.agent.post("/v1/sessions", upload(sid, w.group, 14 + n, hour=9 + n)), 201)
        technicians = w.callers("technician", 3)
        extras = (10, 25, -5)
        calls, plan = [], []
        for sid in ids:
            for technician, extra in zip(technicians, extras):
                calls.append(lambda c=technician, sid=sid, extra=extra: c.patch(f"/v1/sessions/{sid}", {"extra_minutes": extra, "notes": f"+{extra}"}))
                plan.append(("adjust", sid, extra))
            calls.append(lambda sid=sid: w.tenant.finance.post(f"/v1/sessions/{sid}/lock"))
            plan.append(("lock", sid, None))
        answers = race(calls)
        for sid in ids:
            mine = [(kind, extra, answer) for (kind, s, extra), answer in zip(plan, answers) if s == sid]
            stored = w.ok(w.tenant.finance.get(f"/v1/sessions/{sid}"))
            (lock,) = [answer for kind, _, answer in mine if kind == "lock"]
            assert lock[0] == 200 and lock[1] == stored, (lock, stored)
            applied = []
            for kind, extra, (status, body) in mine:
                if kind != "adjust":
                    continue
                if status == 200:
                    assert body["extra_minutes"] == extra and body["status"] == "to_account", body
                    applied.append(extra)
                else:
                    assert status == 409, (status, body)
                    assert_error_shape(status, body)
                    assert body["error"]["code"] in ("session_accounted", "retry"), body
            entries = w.history(sid)
            adjusted = [e for e in entries if e["action"] == "adjusted"]
            assert len(adjusted) == len(applied)
            assert entries[-1]["action"] == "locked"
            final = adjusted[-1]["changes"]["extra_minutes"]["after"] if adjusted else 0
            assert stored["extra_minutes"] == final and final in applied + [0]
            assert stored["notes"] == (f"+{final}" if adjusted else "")
            assert stored["status"] == "accounted"
            assert stored["billed_minutes"] == billed(stored["connection_seconds"], stored["extra_minutes"], STEP), stored
            assert stored["total_seconds"] == max(0, stored["connection_seconds"] + 60 * stored["extra_minutes"])
            status, body = w.tenant.technician.patch(f"/v1/sessions/{sid}", {"extra_minutes": 1})
            assert status == 409, body
            assert_error_shape(status, body, code="session_accounted")
        w.assert_exactly_once(w.group, ids)


def test_profile_updates_racing_locks_price_each_session_by_the_version_it_records(world):
    steps = (10, 30, 5)
    for round_ in range(ROUNDS):
        w = world()
        ids = [f"s-{round_}-{n:02d}" for n in range(12)]
        for n, sid in enumerate(ids):
            w.ok(w.tenant.agent.post("/v1/sessions", upload(sid, w.group, 7 + 3 * n, hour=8 + n)), 201)
        lockers = w.callers("technician", 6)

        def update_profile():
            return [w.tenant.admin.put("/v1/profiles/gold", {**GOLD, "step_minutes": step}) for step in steps]

        calls = [update_profile]
        calls += [lambda c=c, part=ids[n::6]: [c.post(f"/v1/sessions/{sid}/lock") for sid in part] for n, c in enumerate(lockers)]
        answers = race(calls)
        updates, locks = answers[0], [a for batch in answers[1:] for a in batch]
        assert [(status, body["version"]) for status, body in updates] == [(200, 2), (200, 3), (200, 4)]
        for status, body in locks:
            if status == 409:  # the contract was re-priced under it four times in a row: retry
                assert_error_shape(status, body, code="retry")
                count("single lock answered 409 retry during a race", 1)
            else:
                assert status == 200 and body["status"] == "accounted", body
        w.ok(w.tenant.finance.post(f"/v1/groups/{w.group}/lock-all", {}))
        step_of = {1: STEP, **{2 + n: step for n, step in enumerate(steps)}}
        for version, step in step_of.items():
            stored = w.ok(w.tenant.finance.get("/v1/profiles/gold", f"version={version}"))
            assert stored["step_minutes"] == step
        sessions = w.assert_exactly_once(w.group, ids)
        for session in sessions:
            assert session["status"] == "accounted" and session["profile_id"] == "gold"
            step = step_of[session["profile_version"]]
            assert session["billed_minutes"] == billed(session["connection_seconds"], session["extra_minutes"], step), session
        count("profile versions used by sessions locked during the profile races", len({s["profile_version"] for s in sessions}))
