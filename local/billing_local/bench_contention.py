"""Bench table 8: contention on one subscription client. Every lock of a subscription charges the
client's one balance, on its contract item: while the balance has room for them (ledger.Balance.
shared_room) concurrent locks add their minutes to its pending minutes and do not fail each other;
recharges write the balance whole, and a profile update writes a new version every lock in flight
then prices with. Measured: 12 threads locking sessions of one client, with 3 threads recharging
it, without and with a thread updating its profile: locks per second, the median and the slowest
lock, and how many answered 503."""
import json
import statistics
import threading
import time
from datetime import datetime, timedelta, timezone

GOLD = {"name": "Gold", "type": "subscription", "currency": "EUR", "min_duration_minutes": 1, "total_hours": 1000,
        "amount": "500.00", "step_minutes": 15}
LOCKERS, RECHARGERS = 12, 3


def _call(gateway, token, method, path, body=None):
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    status, _, text = gateway.invoke(method, path, headers, "", json.dumps(body).encode() if body is not None else None)
    return status, json.loads(text) if text else None


def _client(gateway, tokens, group_id: str, sessions: int) -> list[str]:
    """A group on the Gold profile with `sessions` open sessions; answers their ids."""
    assert _call(gateway, tokens["admin"], "PUT", f"/v1/groups/{group_id}", {"name": group_id})[0] in (200, 201)
    assert _call(gateway, tokens["admin"], "PUT", f"/v1/groups/{group_id}/computers/{group_id}-pc", {"name": "pc"})[0] == 200
    assert _call(gateway, tokens["admin"], "PUT", f"/v1/groups/{group_id}/contract", {"profile_id": "gold"})[0] == 200
    ids = [f"{group_id}-{n:05d}" for n in range(sessions)]
    first = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)
    for start in range(0, sessions, 100):
        batch = [{"session_id": session_id, "technician": "ann", "computer_id": f"{group_id}-pc", "group_id": group_id,
                  "started_at": (first + timedelta(minutes=30 * n)).isoformat(),
                  "ended_at": (first + timedelta(minutes=30 * n + 20)).isoformat()}
                 for n, session_id in enumerate(ids[start:start + 100], start=start)]
        status, body = _call(gateway, tokens["agent"], "POST", "/v1/sessions/batch", {"sessions": batch})
        assert status == 200, body
    return ids


def run(gateway, tokens, group_id: str, sessions: int, profile_updates: bool) -> dict:
    ids = _client(gateway, tokens, group_id, sessions)
    queue, lock = list(ids), threading.Lock()
    latencies, unavailable, other = [], [0], []
    done = threading.Event()

    def locker():
        while True:
            with lock:
                if not queue:
                    return
                session_id = queue.pop()
            began = time.perf_counter()
            status, body = _call(gateway, tokens["technician"], "POST", f"/v1/sessions/{session_id}/lock")
            with lock:
                if status == 200:
                    latencies.append(time.perf_counter() - began)
                elif status == 503:
                    unavailable[0] += 1
                else:
                    other.append((status, body))

    def recharger():
        while not done.is_set():
            _call(gateway, tokens["admin"], "POST", f"/v1/groups/{group_id}/recharges", {"hours": 1, "amount": "1.00"})
            time.sleep(0.2)

    def updater():
        step = 15
        while not done.is_set():
            step = 30 if step == 15 else 15
            _call(gateway, tokens["admin"], "PUT", "/v1/profiles/gold", {**GOLD, "step_minutes": step})
            time.sleep(0.1)

    helpers = [threading.Thread(target=recharger) for _ in range(RECHARGERS)]
    if profile_updates:
        helpers.append(threading.Thread(target=updater))
    lockers = [threading.Thread(target=locker) for _ in range(LOCKERS)]
    began = time.perf_counter()
    for thread in helpers + lockers:
        thread.start()
    for thread in lockers:
        thread.join()
    elapsed = time.perf_counter() - began
    done.set()
    for thread in helpers:
        thread.join()
    assert not other, other[:3]
    return {"locks": len(latencies), "seconds": elapsed, "per_second": len(latencies) / elapsed,
            "median_ms": 1000 * statistics.median(latencies) if latencies else 0,
            "max_ms": 1000 * max(latencies) if latencies else 0, "unavailable": unavailable[0]}


def contention_table(sessions: int) -> tuple[list[str], dict]:
    """Table 8 against the embedded store in a child process (as the local stack serves it)."""
    from billing_core import tenants

    from .bench import _table, bench_store
    from .gateway import Gateway

    with bench_store():
        gateway = Gateway()
        tenant_id = tenants.create_tenant("Contention IT")["tenant_id"]
        tokens = {role: tenants.issue_token(tenant_id, role)["token"] for role in tenants.ROLES}
        status, body = _call(gateway, tokens["admin"], "POST", "/v1/profiles", {**GOLD, "profile_id": "gold"})
        assert status == 201, body
        figures = {"without profile updates": run(gateway, tokens, "calm", sessions, False),
                   "with profile updates (every 0.1 s)": run(gateway, tokens, "busy", sessions, True)}
    rows = [(name, f["locks"], f"{f['per_second']:.1f}", f"{f['median_ms']:.0f}", f"{f['max_ms']:.0f}", f["unavailable"])
            for name, f in figures.items()]
    header = (f"{LOCKERS} lockers + {RECHARGERS} rechargers, one client", "locks", "locks/s", "median ms", "max ms", "503s")
    return _table(header, rows), figures
