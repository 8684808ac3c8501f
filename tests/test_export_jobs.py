"""A long export is a job that goes on from where it stopped (SPEC §9, issue 11): the request
stops at its deadline, keeps its parts, the bytes not yet a part and the writer's state, and the
job's worker writes the rest of the same file — the search resumes after the last row written, so
no written row is read again and none is written twice — whether it stops at its own deadline,
is killed after saving a part, or dies just before completing the upload. The file is the one a
single request would have written, in every format.

Parts are made small here (2 KiB, S3's 5 MiB minimum scaled to 1 KiB in moto) so that a few
hundred sessions make many parts, and rows go 10 to a chunk (the export looks at its deadline
between chunks, before reading the next)."""
import io
import zipfile
from collections import Counter
from types import SimpleNamespace

import boto3
import moto.s3.models
import pytest

from billing_core import export_stream, exports, jobs
from billing_core.files import s3
from billing_core.dal import jobs as stored_jobs
from billing_local.bench import PAY_PER_USE, upload
from conftest import Tenant, strict_store

BUCKET = "billing-exports-test"
SESSIONS = 180
FORMATS = [
    ("csv", {}),
    ("csv, French spreadsheet", {"locale": "fr", "time_zone": "Europe/Paris"}),
    ("xlsx", {"format": "xlsx"}),
    ("quickbooks", {"format": "quickbooks", "invoice_start": 7}),
    ("xero", {"format": "xero"}),
]


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(export_stream, "NAME_CHUNK", 10)
    monkeypatch.setattr(s3, "PART_BYTES", 2048)
    monkeypatch.setattr(s3, "MIN_PART_BYTES", 1024)
    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 1024)


@pytest.fixture(scope="module")
def tenant(gateway):
    """One store for the module, as strict as `make run`'s (its sessions are only read; each test's
    files have their own keys)."""
    with strict_store():
        yield seeded(Tenant(gateway, "Acme IT"))


@pytest.fixture
def clients(tenant, small_parts):
    return tenant


def seeded(msp):
    """Three clients: acme with SESSIONS sessions (most accounted, 30 open), bakery and dental a few each."""
    status, profile = msp.admin.post("/v1/profiles", PAY_PER_USE)
    assert status == 201, profile
    for group_id, name in (("acme", "Acme Ltd"), ("bakery", "Boulangerie Émile"), ("dental", "Dental Care")):
        assert msp.admin.put(f"/v1/groups/{group_id}", {"name": name})[0] in (200, 201)
        assert msp.admin.put(f"/v1/groups/{group_id}/contract", {"profile_id": profile["profile_id"]})[0] == 200
    numbers = list(range(SESSIONS - 30))
    for start in range(0, len(numbers), 100):
        batch = [dict(upload(n), notes=f"visit {n}: printer, mail and backups " * 3) for n in numbers[start:start + 100]]
        assert msp.agent.post("/v1/sessions/batch", {"sessions": batch})[0] == 200
    for group_id, first in (("bakery", 1000), ("dental", 2000)):
        batch = [upload(first + n, group_id) for n in range(12)]
        assert msp.agent.post("/v1/sessions/batch", {"sessions": batch})[0] == 200
    for group_id in ("acme", "bakery", "dental"):
        assert msp.finance.post(f"/v1/groups/{group_id}/lock-all", {})[0] == 200
    batch = [upload(n) for n in range(SESSIONS - 30, SESSIONS)]
    assert msp.agent.post("/v1/sessions/batch", {"sessions": batch})[0] == 200
    return msp


class Stops:
    """time.monotonic for exports: the deadline passes after `looks` more readings of the clock —
    the request reads it once to set its deadline, then an export looks once per chunk of 10 rows
    and once at the end of each client's rows."""

    def __init__(self):
        self.left = None

    def after(self, looks: int | None) -> None:
        self.left = looks

    def monotonic(self) -> float:
        if self.left is None:
            return 0.0
        self.left -= 1
        return 0.0 if self.left >= 0 else 1e9


@pytest.fixture
def stops(monkeypatch):
    clock = Stops()
    for module in (exports, export_stream):  # the request sets its deadline, the stream looks at it
        monkeypatch.setattr(module, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


@pytest.fixture
def waiting(monkeypatch):
    """Jobs handed to the worker, which runs when the test says (not through the queue)."""
    handed = []
    monkeypatch.setattr(jobs, "start", handed.append)
    return handed


@pytest.fixture
def reads(monkeypatch):
    """Sessions read by the export's searches, by id."""
    counted = Counter()
    real = export_stream._query

    def counting(*args, **kwargs):
        for session in real(*args, **kwargs):
            counted[session.session_id] += 1
            yield session

    monkeypatch.setattr(export_stream, "_query", counting)
    return counted


def stored(key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def content(data: bytes, values: dict) -> dict | bytes:
    """A workbook's members as their uncompressed bytes (a stop adds a deflate flush, nothing
    else); any other file as it is."""
    if values.get("format") != "xlsx":
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert book.testzip() is None
        return {name: book.read(name) for name in book.namelist()}


def one_request(msp, path: str, values: dict):
    """The file a single request writes (no deadline)."""
    group_id = path.split("/")[3] if "/groups/" in path else None
    answer = exports.export_sessions(msp.tenant_id, group_id, values, "finance:test", budget_seconds=1e12)
    assert answer.finished, answer
    return answer.body


def worker(msp, job_id: str, deadline=None) -> str:
    return jobs.run({"tenant_id": msp.tenant_id, "job_id": job_id}, deadline)


def work_state(msp, job_id: str) -> dict:
    import json
    return json.loads(stored_jobs.read_job(msp.tenant_id, job_id).state)


def leftovers(*keys: str) -> list[str]:
    """Objects beside these files' (carry objects left behind)."""
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listed.get("Contents", []) if any(o["Key"].startswith(k + ".") for k in keys))


@pytest.mark.parametrize("name, values", FORMATS, ids=[f[0] for f in FORMATS])
def test_an_export_stopped_by_deadlines_goes_on_from_the_next_row_and_writes_the_same_file(
        clients, name, values, stops, waiting, reads):
    if values.get("format") in ("quickbooks", "xero"):
        values = {**values, "status": "accounted"}  # as finance bills: the accounted sessions
    expected = one_request(clients, "/v1/groups/acme/exports", values)
    rows = expected["rows"]
    assert rows > 100
    reads.clear()

    stops.after(1 + 4)  # the request writes 4 chunks (40 rows), then its 20 s are up
    status, started = clients.finance.post("/v1/groups/acme/exports", values)
    assert status == 202 and started["rows"] == 40, started
    assert sum(reads.values()) == 40, "the request read only what it wrote"
    (work,) = waiting
    assert clients.finance.get(f"/v1/jobs/{started['job_id']}")[1]["progress"] == {"done": 40}

    stops.after(6)  # the first worker's time is up after 60 more rows: it hands the job on
    assert worker(clients, work.job_id, deadline=0.0) == "running"
    assert clients.finance.get(f"/v1/jobs/{started['job_id']}")[1]["progress"] == {"done": 100}
    assert clients.finance.get(f"/v1/exports/{started['export_id']}")[1]["rows"] == 100
    assert sum(reads.values()) == 100

    stops.after(None)
    assert worker(clients, work.job_id) == "succeeded"
    assert set(reads.values()) == {1} and sum(reads.values()) == rows, \
        "each session read once in all: no worker read a row already written"
    ready = clients.finance.get(f"/v1/exports/{started['export_id']}")[1]
    assert ready["status"] == "ready" and ready["rows"] == rows, ready
    assert content(stored(ready["key"]), values) == content(stored(expected["key"]), values)
    assert ready["file_name"] == expected["file_name"]
    job = clients.finance.get(f"/v1/jobs/{started['job_id']}")[1]
    assert job["status"] == "succeeded" and job["kind"] == "export", job
    assert job["result"] == {"export_id": started["export_id"], "rows": rows, "file_name": expected["file_name"]}
    assert leftovers(ready["key"]) == [], "the carry objects that held the bytes between workers are gone"


def test_an_open_sessions_export_goes_on_through_the_open_session_index(clients, stops, waiting, reads):
    expected = one_request(clients, "/v1/groups/acme/exports", {"status": "to_account"})
    assert expected["rows"] == 30
    reads.clear()
    stops.after(1 + 2)
    status, started = clients.finance.post("/v1/groups/acme/exports", {"status": "to_account"})
    assert status == 202 and started["rows"] == 20, started
    (work,) = waiting
    stops.after(None)
    assert worker(clients, work.job_id) == "succeeded"
    assert sorted(reads) == [f"s-{n:06d}" for n in range(SESSIONS - 30, SESSIONS)] and set(reads.values()) == {1}
    ready = clients.finance.get(f"/v1/exports/{started['export_id']}")[1]
    assert stored(ready["key"]) == stored(expected["key"])


@pytest.mark.parametrize("values, state_in", [({}, "item"), ({"format": "xlsx"}, "item"), ({"format": "xlsx"}, "s3")],
                         ids=["csv", "xlsx", "xlsx, state in S3"])
def test_an_export_of_every_client_stopped_inside_a_client_goes_on_in_that_client(clients, values, state_in, stops, waiting,
                                                                                  monkeypatch):
    if state_in == "s3":  # as a workbook of a thousand clients' figures would need
        monkeypatch.setattr(exports, "STATE_IN_ITEM_BYTES", 100)
    expected = one_request(clients, "/v1/exports", values)
    stops.after(1 + 18 + 1 + 1)  # acme: 18 chunks and the end of its rows; bakery: one chunk of 10 of its 12
    status, started = clients.finance.post("/v1/exports", values)
    assert status == 202, started
    (work,) = waiting
    stops.after(None)
    assert worker(clients, work.job_id) == "succeeded"
    ready = clients.finance.get(f"/v1/exports/{started['export_id']}")[1]
    assert ready["rows"] == expected["rows"] == SESSIONS + 24
    assert content(stored(ready["key"]), values) == content(stored(expected["key"]), values)
    assert ("state_key" in work_state(clients, started["job_id"])) == (state_in == "s3")
    assert leftovers(ready["key"]) == []


class Killed(BaseException):
    """The worker's process dies (SIGKILL, timeout): nothing after this point runs."""


@pytest.mark.parametrize("values", [{}, {"format": "xlsx"}], ids=["csv", "xlsx"])
@pytest.mark.parametrize("moment", ["after saving a part", "before saving a part", "before completing the upload",
                                    "before the job says it succeeded"])
def test_a_worker_killed_goes_on_from_the_last_part_it_saved(clients, values, moment, stops, waiting, monkeypatch):
    expected = one_request(clients, "/v1/groups/acme/exports", values)
    stops.after(1 + 1)
    status, started = clients.finance.post("/v1/groups/acme/exports", values)
    assert status == 202, started
    (work,) = waiting
    stops.after(None)

    saves = []
    real_advance, real_complete = stored_jobs.advance_job, s3.StreamedUpload.complete

    def advance(job, state, done):
        saves.append(state)
        if moment == "before saving a part" and len(saves) == 1:
            raise Killed()
        outcome = real_advance(job, state, done)
        if moment == "after saving a part" and len(saves) == 1:
            raise Killed()  # the state is saved; the worker dies right after
        return outcome

    def complete(upload):
        if moment == "before completing the upload":
            raise Killed()
        real_complete(upload)

    real_finish = stored_jobs.finish_job

    def finish(job, status, result):  # the file is whole and recorded ready; the job not yet
        if moment == "before the job says it succeeded":
            raise Killed()
        return real_finish(job, status, result)

    monkeypatch.setattr(stored_jobs, "advance_job", advance)
    monkeypatch.setattr(s3.StreamedUpload, "complete", complete)
    monkeypatch.setattr(stored_jobs, "finish_job", finish)
    with pytest.raises(Killed):
        worker(clients, work.job_id)
    if moment != "before the job says it succeeded":
        assert clients.finance.get(f"/v1/exports/{started['export_id']}")[1]["status"] == "running"
    if moment == "before completing the upload":
        assert saves[-1].get("finishing") is True

    monkeypatch.setattr(stored_jobs, "advance_job", real_advance)
    monkeypatch.setattr(s3.StreamedUpload, "complete", real_complete)
    monkeypatch.setattr(stored_jobs, "finish_job", real_finish)
    assert worker(clients, work.job_id) == "succeeded"  # the queue's retry
    ready = clients.finance.get(f"/v1/exports/{started['export_id']}")[1]
    assert ready["status"] == "ready" and ready["rows"] == expected["rows"]
    assert content(stored(ready["key"]), values) == content(stored(expected["key"]), values)


def test_a_finished_export_job_is_not_run_again(clients, stops, waiting):
    stops.after(1 + 1)
    started = clients.finance.post("/v1/groups/acme/exports", {})[1]
    (work,) = waiting
    stops.after(None)
    assert worker(clients, work.job_id) == "succeeded"
    before = stored_jobs.read_job(clients.tenant_id, work.job_id)
    assert worker(clients, work.job_id) == "succeeded"  # a duplicate message: nothing happens
    after = stored_jobs.read_job(clients.tenant_id, work.job_id)
    assert (after.step, after.done, after.updated_at) == (before.step, before.done, before.updated_at)
    assert clients.finance.get(f"/v1/exports/{started['export_id']}")[1]["status"] == "ready"


def test_a_request_that_fails_before_handing_on_leaves_no_upload_behind(clients, monkeypatch):
    def uploads():
        return {u["UploadId"] for u in boto3.client("s3").list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])}

    before = uploads()
    real_send, sent = s3.StreamedUpload.send_part, []

    def send_part(upload):  # the first part goes up, the second fails
        sent.append(upload.upload_id)
        if len(sent) == 2:
            raise RuntimeError("S3 went away")
        real_send(upload)

    monkeypatch.setattr(s3.StreamedUpload, "send_part", send_part)
    with pytest.raises(RuntimeError):
        exports.export_sessions(clients.tenant_id, "acme", {}, "finance:test", budget_seconds=1e12)
    assert sent[1] is not None, "a multipart upload was under way"
    assert uploads() == before, "no job goes on with it: the request aborted its upload"
