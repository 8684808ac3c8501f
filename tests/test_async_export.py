"""An export that cannot finish inside API Gateway's 30 seconds goes on as a job: the POST answers
202 with an export id and a job id, GET /v1/exports/{export_id} answers its status, then a fresh
link once it is ready, and GET /v1/jobs/{job_id} its progress. In the tests (no JOBS_QUEUE_URL) the
job goes through the local stack's queue (billing_local.jobqueue) to the worker function, as in
`make run`; SYNC_SECONDS = 0 makes every export too long for the request."""
import csv
import io
import time
from datetime import timedelta

import boto3
import pytest

from billing_core import export_stream, exports, fields
from billing_core.files import s3
from billing_core.dal import models
from billing_core.dal.models import Export, keys
from billing_local.bench import PAY_PER_USE, upload


@pytest.fixture
def acme(msp):
    status, profile = msp.admin.post("/v1/profiles", PAY_PER_USE)
    assert status == 201, profile
    assert msp.admin.put("/v1/groups/acme", {"name": "Acme Ltd"})[0] in (200, 201)
    assert msp.admin.put("/v1/groups/acme/contract", {"profile_id": profile["profile_id"]})[0] == 200
    status, body = msp.agent.post("/v1/sessions/batch", {"sessions": [upload(n) for n in range(30)]})
    assert status == 200 and all(r["recorded"] for r in body["results"]), body
    return msp


@pytest.fixture
def too_long(monkeypatch):
    monkeypatch.setattr(exports, "SYNC_SECONDS", 0.0)


def poll(client, export_id, seconds=20.0):
    deadline = time.monotonic() + seconds
    while True:
        status, body = client.get(f"/v1/exports/{export_id}")
        assert status == 200, body
        if body["status"] != "running" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def stored_csv(key: str) -> list[list[str]]:
    text = boto3.client("s3").get_object(Bucket="billing-exports-test", Key=key)["Body"].read().decode()
    return list(csv.reader(io.StringIO(text)))


def test_a_long_export_answers_202_and_is_ready_when_polled(acme, too_long):
    status, started = acme.finance.post("/v1/groups/acme/exports", {"status": "to_account"})
    assert status == 202, started
    assert started == {"export_id": started["export_id"], "job_id": started["job_id"], "status": "running", "rows": 0}
    ready = poll(acme.finance, started["export_id"])
    assert ready["status"] == "ready", ready
    assert ready["rows"] == 30 and ready["group_id"] == "acme"
    assert ready["key"].startswith(f"tenants/{acme.tenant_id}/exports/")
    assert "X-Amz-Signature=" in ready["url"] and ready["expires_at"].endswith("Z")
    rows = stored_csv(ready["key"])
    assert rows[0] == list(export_stream.COLUMNS)
    assert [row[0] for row in rows[1:]] == [f"s-{n:06d}" for n in range(30)]
    assert {row[10] for row in rows[1:]} <= {"20.00", "25.00", "30.00", "35.00", "40.00", "45.00", "50.00", "55.00"}


def test_each_poll_of_a_ready_export_hands_out_a_fresh_link(acme, too_long):
    export_id = acme.admin.post("/v1/groups/acme/exports", {})[1]["export_id"]
    first = poll(acme.admin, export_id)
    time.sleep(1.1)
    second = poll(acme.admin, export_id)
    assert first["key"] == second["key"] and first["rows"] == second["rows"] == 30
    assert first["url"] != second["url"] and first["expires_at"] < second["expires_at"]


def test_an_export_that_finishes_in_time_answers_201_and_polls_as_ready(acme):
    status, body = acme.finance.post("/v1/groups/acme/exports", {"delimiter": ";"})
    assert status == 201, body
    assert body["status"] == "ready" and body["rows"] == 30
    polled = acme.finance.get(f"/v1/exports/{body['export_id']}")[1]
    assert polled["status"] == "ready" and polled["rows"] == 30 and polled["key"] == body["key"]


def test_export_status_is_for_finance_and_admin_of_the_same_tenant_only(acme, other_msp, too_long):
    export_id = acme.finance.post("/v1/groups/acme/exports", {})[1]["export_id"]
    poll(acme.finance, export_id)
    assert acme.technician.get(f"/v1/exports/{export_id}")[0] == 403
    assert acme.agent.get(f"/v1/exports/{export_id}")[0] == 403
    status, body = other_msp.finance.get(f"/v1/exports/{export_id}")
    assert status == 404 and body["error"]["code"] == "not_found", body
    assert other_msp.admin.get(f"/v1/exports/{export_id}")[0] == 404
    assert acme.finance.get("/v1/exports/exp_0000000000000000")[0] == 404


def test_an_export_of_an_unknown_group_is_a_404_and_starts_nothing(acme, too_long):
    status, body = acme.finance.post("/v1/groups/nobody/exports", {})
    assert status == 404, body


def test_an_export_whose_client_is_deleted_meanwhile_fails_and_says_so(acme, too_long, monkeypatch):
    from billing_core import jobs

    waiting = []
    monkeypatch.setattr(jobs, "start", waiting.append)  # the worker starts when the test says
    status, started = acme.finance.post("/v1/groups/acme/exports", {})
    assert status == 202, started

    def deleted(tenant_id, group_id):  # the client was deleted before the worker went on
        raise exports.NotFound(f"group {group_id} not found")

    monkeypatch.setattr(export_stream, "group_and_contract", deleted)
    (work,) = waiting
    assert jobs.run({"tenant_id": acme.tenant_id, "job_id": work.job_id}, None) == "failed"
    failed = acme.finance.get(f"/v1/exports/{started['export_id']}")[1]
    assert failed == {"export_id": started["export_id"], "group_id": "acme", "status": "failed", "rows": 0,
                      "job_id": started["job_id"]}
    job = acme.finance.get(f"/v1/jobs/{started['job_id']}")[1]
    assert job["status"] == "failed" and job["error"]["code"] == "not_found", job


def test_a_worker_killed_by_its_timeout_shows_as_failed(acme):
    models.bind()
    Export(
        keys.export(acme.tenant_id, "exp_stale"), "EXPORT", export_id="exp_stale", group_id="acme",
        key=f"tenants/{acme.tenant_id}/exports/x.csv", status="running", rows=0,
        created_at=fields.utc_now() - exports.STALE_AFTER - timedelta(seconds=1),
    ).save()
    assert acme.finance.get("/v1/exports/exp_stale")[1]["status"] == "failed"


def test_with_a_jobs_queue_the_hand_off_is_one_sqs_message_naming_the_job(acme, too_long, monkeypatch):
    from billing_core import jobs

    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="billing-jobs-test")["QueueUrl"]
    monkeypatch.setattr(jobs.settings, "jobs_queue_url", lambda: queue_url)
    status, started = acme.finance.post("/v1/groups/acme/exports", {})
    assert status == 202, started
    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    import json
    assert json.loads(message["Body"]) == {"tenant_id": acme.tenant_id, "job_id": started["job_id"]}
    assert acme.finance.get(f"/v1/jobs/{started['job_id']}")[1] == {
        "job_id": started["job_id"], "kind": "export", "status": "running", "progress": {"done": 0}}


def test_a_large_csv_goes_up_as_a_multipart_upload_holding_one_part_in_memory(aws):
    client = boto3.client("s3")
    upload_to = s3.StreamedUpload(client, "billing-exports-test", "tenants/t/exports/big.csv")
    line = ("x" * 999) + "\n"
    largest = 0
    for _ in range(17 * 1024):  # 17 MiB: two full parts of 8 MiB and a last one
        upload_to.write(line)
        largest = max(largest, upload_to.buffer.tell())
    upload_to.close()
    assert [p["PartNumber"] for p in upload_to.parts] == [1, 2, 3]
    assert largest < s3.PART_BYTES + len(line)
    stored = client.get_object(Bucket="billing-exports-test", Key="tenants/t/exports/big.csv")["Body"].read()
    assert len(stored) == 17 * 1024 * 1000


def test_a_long_export_of_every_client_finishes_in_the_worker_with_its_file_name(acme, too_long):
    status, started = acme.finance.post("/v1/exports", {"format": "xlsx", "from": "2026-03-01", "to": "2026-04-01"})
    assert status == 202, started
    ready = poll(acme.finance, started["export_id"])
    assert ready["status"] == "ready" and ready["rows"] == 30 and ready["group_id"] is None, ready
    assert ready["key"].endswith(".xlsx") and ready["file_name"] == "all-clients_2026-03.xlsx"
    assert "filename%3D%22all-clients_2026-03.xlsx%22" in ready["url"]
