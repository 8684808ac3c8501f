"""`make bench`, table 7: the goals of SPEC §9 (issue 11), against the embedded store in a
child process (bench.embedded_store), the function's own CPU measured in this process.

Seeding is a direct bulk path: sessions are built as recording._new_session builds them; the
accounted history is written already locked (its frozen price from tariff.price) together with
the running totals its locks would have added (one DayTotal per UTC day), through pynamodb's
BatchWriteItem against whatever endpoint the bench uses — the API would take hours for 200,000.
"""
import cProfile
import json
import os
import pstats
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

from .bench import PAY_PER_USE, RoundTrips, _progress, _table, upload

TOTALS_GOAL_TRIPS = 4 + 1
TOTALS_GOAL_CPU = 0.5


def _tenant(name: str) -> str:
    """A tenant with the bench's pay-per-use profile `p-bench` (version 1, as the lock checks it)."""
    from billing_core import profiles, tenants

    tenant_id = tenants.create_tenant(name)["tenant_id"]
    profiles.create_profile(tenant_id, {**PAY_PER_USE, "profile_id": "p-bench"}, "bench")
    return tenant_id


def _contract(tenant_id: str, group_id: str, name: str = "Big client") -> None:
    from billing_core import fields
    from billing_core.dal import models
    from billing_core.dal.models import Contract, Group, keys
    from billing_core.tariff_fields import parse_tariff

    models.bind()
    values = dict(PAY_PER_USE)
    profile_name, kind = values.pop("name"), values.pop("type")
    now = fields.utc_now()
    Group(keys.group(tenant_id, group_id), "GROUP", GSI1PK=keys.groups(tenant_id), GSI1SK=group_id, group_id=group_id,
          name=name, profile_id="p-bench", created_at=now).save()
    Contract(keys.group(tenant_id, group_id), "CONTRACT", GSI1PK=keys.contracts_of(tenant_id, "p-bench"), GSI1SK=group_id,
             contract_id=f"c-{group_id}", group_id=group_id, profile_id="p-bench", profile_version=1,
             profile_name=profile_name, tariff=parse_tariff(kind, values), assigned_at=now).save()


def seed(tenant_id: str, group_id: str, accounted: int, open_: int, minutes_apart: int = 30, first: int = 0) -> float:
    """`accounted` locked sessions with their running totals, then `open_` to_account ones after
    them. Seconds taken."""
    from billing_core import fields, recording
    from billing_core.dal import models, totals
    from billing_core.dal.models import Session
    from billing_core.tariff import price
    from billing_core.tariff_fields import parse_tariff

    values = dict(PAY_PER_USE)
    values.pop("name")
    tariff = parse_tariff(values.pop("type"), values)
    began = time.perf_counter()
    now = fields.utc_now()
    months: dict[str, dict[str, int | Decimal]] = {}  # the MonthTotals the recordings and locks would have made
    with Session.batch_write() as batch:
        for n in range(first, first + accounted + open_):
            raw = upload(n, group_id)
            raw["session_id"] = f"{group_id}-{n:07d}"
            started_at = fields.timestamp("started_at", raw["started_at"])
            raw["started_at"] = (started_at + timedelta(minutes=(minutes_apart - 30) * n)).isoformat()
            raw["ended_at"] = (fields.timestamp("started_at", raw["started_at"]) + timedelta(minutes=20 + n % 40)).isoformat()
            session = recording._new_session(tenant_id, recording.parse_upload(raw), group_id, now, "bench")
            if n - first < accounted:
                pricing = price(tariff, session.connection_seconds, session.extra_minutes)
                session.status, session.locked_at, session.locked_by = "accounted", now, "bench"
                session.total_seconds, session.billed_minutes, session.cost = pricing.total_seconds, pricing.billed_minutes, pricing.cost
                session.currency, session.profile_id, session.profile_version = tariff.currency, "p-bench", 1
                session.contract_id, session.revision = f"c-{group_id}", 2
                session.GSI2PK = session.GSI2SK = None
            day = totals.day_of(session)
            row = months.setdefault(day[:7], {})
            if session.status == "accounted":
                for letter, value in zip("stbc", (1, pricing.total_seconds, pricing.billed_minutes, pricing.cost)):
                    name = f"{letter}{day[8:10]}{tariff.currency}"
                    row[name] = row.get(name, 0) + value
            else:
                row[f"o{day[8:10]}"] = row.get(f"o{day[8:10]}", 0) + totals.mark(session.session_id)
            batch.save(session)
    client, table = models.connection().client, models.settings.table_name()
    for month, row in months.items():
        client.put_item(TableName=table, Item={
            "PK": {"S": totals.month_partition(tenant_id, month)}, "SK": {"S": totals.month_row(group_id)},
            "kind": {"S": "month_total"}, "group_id": {"S": group_id}, "month": {"S": month}, "rev": {"N": "1"},
            **{name: {"N": str(value)} for name, value in row.items()}})
    pk, sk = totals.months_key(tenant_id, group_id)
    client.put_item(TableName=table, Item={"PK": {"S": pk}, "SK": {"S": sk}, "kind": {"S": "group_months"},
                                           "group_id": {"S": group_id}, "months": {"SS": sorted(months)}})
    return time.perf_counter() - began


def _row(rows: list, row: tuple) -> None:
    rows.append(row)
    _progress(" | ".join(str(cell) for cell in row))


def measured(action):
    with RoundTrips() as trips:
        began, cpu = time.perf_counter(), time.process_time()
        result = action()
        return result, trips, time.perf_counter() - began, time.process_time() - cpu


def _profile(action, top: int = 5) -> list[str]:
    """The functions where `action` spends its own CPU (cProfile, by own time)."""
    profiler = cProfile.Profile()
    profiler.enable()
    action()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    ranked = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    return [f"{name} ({os.path.basename(path)}) {own:.2f} s" for (path, _, name), (_, _, own, _, _) in ranked]


def _export_job(tenant_id: str, size: int, endpoint: str, rows: list, notes: list) -> bool:
    """An export as a job: the request stops after its budget, a worker in a child process stops at
    its own deadline and hands the job on, this process writes the rest; the file is compared with
    the one a single request writes, and the rows each read are counted. Answers: the same file,
    every row read once."""
    import boto3

    from billing_core import export_stream, exports, jobs, settings
    from billing_core.dal import store as storage
    from billing_core.dal.models import Job, keys

    _contract(tenant_id, "exports", "Export client")
    _progress(f"seeding {size:,} accounted sessions for the export job")
    seed(tenant_id, "exports", size, 0, minutes_apart=10)
    reads = [0]
    real_query = export_stream._query

    def counting(*args, **kwargs):
        for session in real_query(*args, **kwargs):
            reads[0] += 1
            yield session

    answer, _, wall, cpu = measured(lambda: exports.export_sessions(tenant_id, "exports", {}, "bench", budget_seconds=1e9))
    whole = answer.body
    assert answer.finished, whole
    # the request and the first worker each get a share of what one request took, whatever the size
    budget, child_budget = round(wall / 6, 2), round(wall / 4, 2)
    _row(rows, ("export, one request (the reference)", f"{size:,} accounted", "-", f"{cpu:.2f}", f"{wall:.1f}", f"{whole['rows']:,} rows"))
    started = []
    export_stream._query, real_start, jobs.start = counting, jobs.start, started.append  # the bench plays the worker
    try:
        answer, trips, wall, cpu = measured(lambda: exports.export_sessions(tenant_id, "exports", {}, "bench", budget_seconds=budget))
        body = answer.body
        assert not answer.finished, body
        by_request, read_by_request = body["rows"], reads[0]
        _row(rows, (f"export job: the request ({budget} s budget)", f"{size:,} accounted", trips.dynamodb, f"{cpu:.2f}", f"{wall:.1f}",
                    f"wrote {by_request:,} rows, read {read_by_request:,}; answered 202 with job {body['job_id']}"))
        message = {"tenant_id": tenant_id, "job_id": body["job_id"]}
        child = subprocess.run(
            [sys.executable, "-c", "import json, sys, time; from billing_core import jobs; from billing_core.dal import models; models.BillingItem.Meta.read_timeout_seconds = 300; "
             "jobs.start = lambda job: None; print(jobs.run(json.loads(sys.argv[1]), time.monotonic() + float(sys.argv[2])))",
             json.dumps(message), str(child_budget)],
            env={**os.environ, "AWS_ENDPOINT_URL": endpoint}, capture_output=True, text=True, check=True)
        job = storage.get(Job, keys.job(tenant_id, body["job_id"]), "JOB")
        by_child = int(job.done) - by_request
        reads[0] = 0
        status_after, trips, wall, cpu = measured(lambda: jobs.run(message, None))
    finally:
        export_stream._query, jobs.start = real_query, real_start
    job = storage.get(Job, keys.job(tenant_id, body["job_id"]), "JOB")
    ready = exports.export_status(tenant_id, body["export_id"])
    client = boto3.client("s3", endpoint_url=endpoint)
    same = (client.get_object(Bucket=settings.exports_bucket(), Key=ready["key"])["Body"].read()
            == client.get_object(Bucket=settings.exports_bucket(), Key=whole["key"])["Body"].read())
    rest = size - by_request - by_child
    once = status_after == jobs.SUCCEEDED and ready["rows"] == size and reads[0] == rest and read_by_request == by_request
    saves = sum(1 for c in trips.calls if c.operation == "TransactWriteItems")
    _row(rows, ("export job: the last worker", f"{size:,} accounted", trips.dynamodb, f"{cpu:.2f}", f"{wall:.1f}",
                f"a first worker (child process, {child_budget} s deadline, then {child.stdout.strip()}) wrote {by_child:,}; this one wrote "
                f"{rest:,} and read {reads[0]:,} in {trips.pages} pages, {saves} state saves; per 1,000 rows "
                f"{1000 * cpu / max(rest, 1):.2f} s CPU; job {job.status}, {ready['rows']:,} rows, "
                f"file identical to one request's: {'yes' if same else 'NO'}; every row read once: {'yes' if once else 'NO'}"))
    notes.append("export job: the request and each worker stop between chunks of rows, before reading the next, and hand "
                 "over the upload, a carry object of the bytes not yet a part and the writer's state; the next goes on "
                 "after the last row written")
    return same and once


def overview_rows(overview_groups: int, rows: list) -> None:
    """The tenant overview of `overview_groups` clients for a month they are invoiced for (every
    session locked), 500 a page: round trips and the function's CPU. First in its table: moto
    scans the whole table for an index Query, so it runs before the big history is seeded."""
    from billing_core import reporting

    overview_tenant = _tenant("Overview")
    _progress(f"seeding {overview_groups} groups for the overview")
    for n in range(overview_groups):
        group_id = f"g{n:04d}"
        _contract(overview_tenant, group_id, f"Client {n}")
        seed(overview_tenant, group_id, 8, 0, minutes_apart=600)  # the invoicing run: the month locked

    def overview():
        pages, cursor, groups = 0, None, 0
        while True:
            page = reporting.tenant_overview(overview_tenant, {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
                                                               "limit": "500", **({"cursor": cursor} if cursor else {})})
            pages, groups, cursor = pages + 1, groups + len(page["groups"]), page["next_cursor"]
            if not cursor:
                return pages, groups

    (pages, groups), trips, wall, cpu = measured(overview)
    _row(rows, (f"tenant overview, a month, {pages} pages of 500", f"{groups} groups", trips.dynamodb, f"{cpu:.2f}", f"{wall:.1f}",
                 f"{groups / max(trips.dynamodb, 1):.0f} groups per round trip ({trips.summary()})"))


def goals_table(history: int, job_size: int, overview_groups: int, endpoint: str, export_rows: int = 50_000) -> tuple[list[str], list[str]]:
    from billing_core import jobs, locking, reporting
    from billing_core.dal import lean
    from billing_core.dal.models import Job, keys
    from billing_core.reporting import Period, query_sessions
    from billing_core.sessions import priced
    from billing_core.contracts import group_contract

    rows, notes, failed = [], [], []
    tenant_id = _tenant("Scale goals")

    overview_rows(overview_groups, rows)
    if export_rows and not _export_job(tenant_id, export_rows, endpoint, rows, notes):
        failed.append("export job: same file, every row read once")
    # -- totals at two sizes of accounted history, 50 open sessions each
    figures = {}
    for group_id, size in (("small", 1_000), ("big", history)):
        _contract(tenant_id, group_id)
        _progress(f"seeding {size:,} accounted + 50 open sessions ({group_id})")
        seconds = seed(tenant_id, group_id, size, 50, minutes_apart=5 if size > 10_000 else 30)
        _row(rows, (f"(seed {group_id}: BatchWriteItem)", f"{size:,} + 50", "-", "-", f"{seconds:.0f} s wall", "not an operation"))
        for label, query in (("totals, all", {}),
                             ("totals, edges partial", {"from": "2026-03-02T10:00:00Z", "to": "2027-12-31T12:00:00Z"})):
            answer, trips, wall, cpu = measured(lambda: reporting.totals(tenant_id, group_id, query))
            assert answer["accounted"]["sessions"] + answer["to_account"]["sessions"] > 0
            figures[(label, group_id)] = (trips.dynamodb, cpu)
            ok = trips.dynamodb <= TOTALS_GOAL_TRIPS and cpu < TOTALS_GOAL_CPU
            failed += [] if ok else [f"{label} at {size:,}"]
            _row(rows, (label, f"{size:,} + 50", trips.dynamodb, f"{cpu:.3f}", f"{wall:.2f}",
                         f"{answer['accounted']['sessions']:,} accounted, {answer['to_account']['sessions']} open; "
                         f"{trips.summary()}; goal <= {TOTALS_GOAL_TRIPS} trips, < {TOTALS_GOAL_CPU} s: {'yes' if ok else 'NO'}"))
    for label in ("totals, all", "totals, edges partial"):
        (small_trips, small_cpu), (big_trips, big_cpu) = figures[(label, "small")], figures[(label, "big")]
        notes.append(f"{label}: {history:,} / 1,000 accounted = {big_trips}/{small_trips} round trips, "
                     f"CPU ratio {big_cpu / max(small_cpu, 1e-6):.2f}x")

    # -- open-session search and lock-all with the big history: only open pages
    answer, trips, wall, cpu = measured(lambda: reporting.search_sessions(tenant_id, "big", {"status": "to_account", "limit": "1"}))
    _row(rows, ("search status=to_account&limit=1", f"{history:,} + 50", trips.dynamodb, f"{cpu:.3f}", f"{wall:.2f}",
                 f"{trips.pages} query page(s) read ({trips.summary()})"))
    failed += [] if trips.pages == 1 else ["open search pages"]
    answer, trips, wall, cpu = measured(lambda: locking.lock_all(tenant_id, "big", {}, "bench"))
    _row(rows, ("lock-all", f"{history:,} + 50", trips.dynamodb, f"{cpu:.3f}", f"{wall:.2f}",
                 f"locked {answer['locked']}; {trips.pages} query page(s) read ({trips.summary()})"))
    failed += [] if trips.pages == 1 and answer["locked"] == 50 else ["lock-all pages"]

    # -- the profile behind the lean read path: 10,000 open sessions priced, models against rows
    _contract(tenant_id, "priced")
    seed(tenant_id, "priced", 0, 10_000)
    contract = group_contract(tenant_id, "priced")
    everything = Period(None, None)

    def with_models():
        for session in query_sessions(tenant_id, "priced", everything, "to_account"):
            priced(session, contract)

    def with_rows():
        for row in lean.sessions(tenant_id, "priced", everything, "to_account"):
            locking.price(contract.tariff, row.connection_seconds, row.extra_minutes, row.started_at if contract.tariff.surcharges else None)

    for label, action in (("open sessions priced: pynamodb models (before)", with_models),
                          ("open sessions priced: lean rows (after)", with_rows)):
        _, trips, wall, cpu = measured(action)
        _row(rows, (label, "10,000 open", trips.dynamodb, f"{cpu:.3f}", f"{wall:.2f}", f"{1000 * cpu / 10_000:.3f} ms CPU per session"))
    notes.append("where the model path spends its own CPU (cProfile, by own time): " + "; ".join(_profile(with_models)))
    notes.append("where the lean path spends its own CPU: " + "; ".join(_profile(with_rows)))

    # -- lock-all as a job, with a killed worker
    _contract(tenant_id, "jobs")
    _progress(f"seeding {job_size:,} open sessions for the lock-all job")
    seed(tenant_id, "jobs", 0, job_size, minutes_apart=10)
    started = []
    real_start = jobs.start
    jobs.start = started.append  # the bench plays the worker (a child process, then this one)
    try:
        state, body = locking.request_lock_all(tenant_id, "jobs", {}, "bench", budget_seconds=0)
    finally:
        jobs.start = real_start
    assert state == locking.RUNNING, body
    message = {"tenant_id": tenant_id, "job_id": body["job_id"]}
    worker = subprocess.Popen([sys.executable, "-c", "import json, sys; from billing_core import jobs; from billing_core.dal import models; models.BillingItem.Meta.read_timeout_seconds = 300; "
                               "jobs.run(json.loads(sys.argv[1]), None)",
                               json.dumps(message)], env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from billing_core.dal import store as storage

    killed_at = 0
    began = time.perf_counter()
    while worker.poll() is None:
        job = storage.get(Job, keys.job(tenant_id, body["job_id"]), "JOB")
        if job.done >= job_size // 3:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed_at = int(storage.get(Job, keys.job(tenant_id, body["job_id"]), "JOB").done)
            break
        time.sleep(0.2)
    child_seconds = time.perf_counter() - began
    _progress(f"worker killed at {killed_at:,} of {job_size:,}; restarting it in this process")
    status_after, trips, wall, cpu = measured(lambda: jobs.run(message, None))
    job = storage.get(Job, keys.job(tenant_id, body["job_id"]), "JOB")
    result = json.loads(job.result)
    totals = reporting.totals(tenant_id, "jobs", {})
    once = (status_after == jobs.SUCCEEDED and result["locked"] == job_size == int(job.done)
            and totals["accounted"]["sessions"] == job_size and totals["to_account"]["sessions"] == 0)
    failed += [] if once else ["lock-all job exactly-once"]
    rest = job_size - killed_at
    transactions = sum(1 for c in trips.calls if c.operation == "TransactWriteItems")
    _row(rows, (f"lock-all job, worker killed at {killed_at:,}", f"{job_size:,} open", trips.dynamodb, f"{cpu:.2f}", f"{wall:.1f}",
                 f"restarted worker locked {rest:,}: {transactions} transactions, {trips.pages} pages; per 1,000: "
                 f"{1000 * trips.dynamodb / max(rest, 1):.1f} round trips, {1000 * cpu / max(rest, 1):.2f} s CPU, "
                 f"{1000 * wall / max(rest, 1):.2f} s wall; job {job.status}, locked {result['locked']:,}, "
                 f"running totals {totals['accounted']['sessions']:,}, open left {totals['to_account']['sessions']}: "
                 f"exactly once {'yes' if once else 'NO'}"))
    notes.append(f"the killed worker (a child process, SIGKILL) ran {child_seconds:.1f} s and locked {killed_at:,}; "
                 "its last committed step is where the restart went on")

    lines = _table(("operation", "sessions", "round trips", "CPU s (function)", "wall s", "result"), rows)
    return lines + [""] + [f"- {note}" for note in notes], failed
