"""`make bench`, table 9: sessions from a remote-support tool's export, through an upload — N
TeamViewer connections (the web API's connection report JSON) PUT to the presigned link, read
by the import job (run here, in this process, against the embedded store in a child process):
its time, the job's own CPU, DynamoDB round trips per 100 sessions, the session writes and the
peak RSS of this process (which holds the job, not the store); then the same file imported
again: 0 session writes. The wall time is mostly the fake store's: moto answers a BatchGetItem
of 100 consistent reads in ~0.8 s (DynamoDB in milliseconds); the CPU column is the function's."""
import json
import resource
import time
import urllib.request
from datetime import datetime, timedelta, timezone

from .bench import RoundTrips, _progress, _table

WRITE_OPERATIONS = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}


def teamviewer_report(size: int) -> bytes:
    """`size` connections as the web API's connection report answers them (one page's shape)."""
    start = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
    records = []
    for n in range(size):
        began = start + timedelta(minutes=7 * n)
        records.append({"id": f"{n:08d}-5e6f-4071-8293-a4b5c6d7e8f9", "userid": f"u{n % 40}", "username": f"Tech {n % 40}",
                        "deviceid": f"d{n % 3000}", "devicename": f"PC-{n % 3000:04d}", "groupid": "g1", "groupname": "Big client",
                        "start_date": began.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "end_date": (began + timedelta(seconds=300 + n % 3600)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "fee": 0, "currency": "EUR", "billing_state": "Bill", "notes": "", "contact_id": "c1"})
    return json.dumps({"records": records, "records_remaining": 0}).encode()


class _Held:
    """A jobs queue that holds the message: the bench runs the worker itself, in this process."""

    def __init__(self):
        self.messages = []

    def send(self, message: dict) -> None:
        self.messages.append(message)


def _uploaded(tenant_id: str, content: bytes) -> str:
    from billing_core import import_uploads

    link = import_uploads.new_upload(tenant_id)
    put = urllib.request.Request(link["url"], data=content, method="PUT", headers={"content-type": "application/octet-stream"})
    with urllib.request.urlopen(put, timeout=300):
        pass
    return link["upload_id"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _run_import(tenant_id: str, content: bytes) -> dict:
    from billing_core import import_uploads, jobs
    from billing_core.dal import recording as stored

    held = _Held()
    jobs.use_queue(held)
    upload_id = _uploaded(tenant_id, content)
    written = {"calls": 0, "sessions": 0}
    record_new = stored.record_new

    def counted(tenant, sessions, entries):
        written["calls"] += 1
        written["sessions"] += len(sessions)
        return record_new(tenant, sessions, entries)

    stored.record_new = counted
    try:
        with RoundTrips() as trips:
            began, cpu = time.perf_counter(), time.process_time()
            started = import_uploads.start_import(tenant_id, {"source": "teamviewer", "upload_id": upload_id}, "admin:bench")
            while held.messages:
                jobs.run(held.messages.pop(0), None)
            seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    finally:
        stored.record_new = record_new
    job = jobs.get_job(tenant_id, started["job_id"])
    assert job["status"] == "succeeded", job
    return {"result": job["result"], "trips": trips, "seconds": seconds, "cpu": cpu, "peak_mb": _rss_mb(), "written": written}


def import_table(size: int) -> tuple[list[str], list[str]]:
    """Table 9 against its own embedded store; answers (lines, goals missed)."""

    from billing_core.dal import models

    rows, failed = [], []
    # Bench only, as table 7: moto's answers slow down with the table (seconds per call near
    # 100,000 sessions), past the functions' 5 s read timeout; DynamoDB's do not.
    read_timeout, models.BillingItem.Meta.read_timeout_seconds = models.BillingItem.Meta.read_timeout_seconds, 300
    try:
        return _import_table(size, rows, failed)
    finally:
        models.BillingItem.Meta.read_timeout_seconds = read_timeout


def _import_table(size: int, rows: list, failed: list) -> tuple[list[str], list[str]]:
    from .bench import bench_store
    from .bench_scale import _contract, _tenant

    with bench_store():
        tenant_id = _tenant("Imports")
        _contract(tenant_id, "big")  # named "Big client", the report's group name
        content = teamviewer_report(size)
        _progress(f"{size:,} TeamViewer connections: {len(content) / 2**20:.1f} MB of JSON")
        before = _rss_mb()
        for label in ("import", "the same file again"):
            _progress(f"{label} ...")
            run = _run_import(tenant_id, content)
            result, trips = run["result"], run["trips"]
            session_writes = sum(1 for c in trips.calls if c.operation == "TransactWriteItems") - run["written"]["calls"]
            per_100 = trips.dynamodb / (size / 100)
            rows.append((label, f"{size:,}", f"{run['seconds']:.1f}", f"{run['cpu']:.1f}", f"{per_100:.2f}",
                         f"{run['written']['sessions']:,} in {run['written']['calls']:,} transactions",
                         f"{run['peak_mb']:.0f} (before: {before:.0f})",
                         f"imported {result['imported']:,}, duplicates {result['duplicates']:,}, rejected {result['rejected_count']}; "
                         f"{trips.summary()} (job steps: {session_writes} transactions)"))
            _progress(" | ".join(rows[-1]))
            if label != "import" and run["written"]["sessions"]:
                failed.append(f"re-import wrote {run['written']['sessions']} sessions")
            if label == "import" and result["imported"] != size:
                failed.append(f"import recorded {result['imported']} of {size}")
    lines = _table(("run", "connections", "wall s", "CPU s (job)", "DynamoDB round trips / 100", "session writes",
                    "peak RSS MB (process)", "result"), rows)
    return lines, failed
