"""`make bench`, table 9: invoicing at scale (issue 19), against its own embedded store in a child
process (bench.bench_store), the functions' CPU and round trips measured in this process.

Seeding is the direct bulk path of table 7 (bench_scale.seed): each client's group and contract,
and its month of sessions already locked with the running totals their locks would have made,
through BatchWriteItem. Then, as finance does it: the month's run as a job (its request hands it
over at once; the worker runs it to the end in this process), and every draft issued."""
import json
import time
import tracemalloc

from .bench import _progress, _table

MONTH = "2026-03"
ISSUE_GOAL_TRIPS = 3


def invoice_table(clients: int, sessions: int, endpoint: str) -> tuple[list[str], list[str]]:
    """Answers the table's lines and the goals missed."""
    from billing_core import invoice_runs, invoices, jobs
    from billing_core.dal import invoices as dal

    from .bench_scale import _contract, _tenant, measured, seed

    rows, failed = [], []
    tenant_id = _tenant("Invoices")
    began = time.perf_counter()
    for n in range(clients):
        group_id = f"c{n:04d}"
        _contract(tenant_id, group_id, f"Client {n}")
        seed(tenant_id, group_id, sessions, 0)  # 30 minutes apart from 2 March: the month's sessions, locked
        if n % 100 == 99:
            _progress(f"seeded {n + 1:,} clients of {sessions} sessions")
    rows.append(("(seed: BatchWriteItem)", f"{clients:,} × {sessions}", "-", "-", f"{time.perf_counter() - began:.0f}", "-",
                 "not an operation"))

    # the run, as a job from its first client (the request's own 20 s made 0)
    started = []
    real_start, real_seconds = jobs.start, invoice_runs.REQUEST_SECONDS
    jobs.start, invoice_runs.REQUEST_SECONDS = started.append, 0.0
    try:
        status, body = invoice_runs.run_month(tenant_id, {"month": MONTH}, "bench")
    finally:
        jobs.start, invoice_runs.REQUEST_SECONDS = real_start, real_seconds
    assert status == 202 and started, body
    message = {"tenant_id": tenant_id, "job_id": body["job_id"]}
    tracemalloc.start()
    try:
        outcome, trips, wall, cpu = measured(lambda: jobs.run(message, None))
        peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    drafts = [i for i in dal.month_invoices(tenant_id, MONTH) if i.status == "draft"]
    lines = sum(len(json.loads(i.lines)) for i in drafts)
    one_each = outcome == jobs.SUCCEEDED and len(drafts) == clients and lines == clients * sessions
    failed += [] if one_each else ["invoice run: one invoice per client with every session"]
    rows.append((f"invoice run as a job ({MONTH})", f"{clients:,} × {sessions}", trips.dynamodb, f"{cpu:.1f}", f"{wall:.0f}",
                 f"{peak_mb:.1f}", f"{len(drafts):,} drafts, {lines:,} lines; {trips.dynamodb / clients:.1f} round trips and "
                                   f"{1000 * cpu / clients:.0f} ms CPU per client ({trips.summary()})"))

    # every draft issued, one after the other
    def issue_all():
        for draft in drafts:
            invoices.issue(tenant_id, draft.invoice_id, "bench")

    _, trips, wall, cpu = measured(issue_all)
    per_invoice = trips.dynamodb / max(len(drafts), 1)
    failed += [] if per_invoice <= ISSUE_GOAL_TRIPS else [f"issue: {per_invoice:.1f} round trips per invoice"]
    rows.append((f"issue {len(drafts):,} invoices", f"{sessions} lines each", trips.dynamodb, f"{cpu:.1f}", f"{wall:.0f}", "-",
                 f"{per_invoice:.1f} round trips per invoice (goal <= {ISSUE_GOAL_TRIPS}), {1000 * cpu / max(len(drafts), 1):.0f} ms "
                 f"CPU each ({trips.summary()})"))
    return _table(("operation", "clients × sessions", "round trips", "CPU s (function)", "wall s", "peak MB (tracemalloc)",
                   "result"), rows), failed


def invoices(clients: int = 1000, sessions: int = 100) -> tuple[list[str], list[str]]:
    """Table 9 against its own embedded store (the functions' read timeout made long: the
    embedded store serves a bench-sized table slower than DynamoDB, which the figures, round trips
    and the functions' CPU, do not depend on)."""
    from billing_core.dal import models

    from .bench import bench_store

    read_timeout = models.BillingItem.Meta.read_timeout_seconds
    models.BillingItem.Meta.read_timeout_seconds = 300
    try:
        with bench_store() as endpoint:
            return invoice_table(clients, sessions, endpoint)
    finally:
        models.BillingItem.Meta.read_timeout_seconds = read_timeout
