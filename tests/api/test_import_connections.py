"""Scheduled pulls: an admin stores a connection (credentials kept in Secrets Manager, never in
the table or an answer), the pull function — as its schedule invokes it — records the tool's new
connections page by page from a fake of TeamViewer's web API and saves its cursor and last run,
shown by the connections list."""
import json

import boto3
import pytest

from billing_core import import_connections, settings
from billing_local import iam
from billing_local.gateway import function_handler, invoke_function
from imports_.fake_vendor import FakeTeamViewer

from .conftest import assert_error, assert_invalid


@pytest.fixture
def vendor(monkeypatch):
    fake = FakeTeamViewer([{"id": f"tv-{n}", "username": "ann", "devicename": "pc-1", "groupname": "acme Ltd",
                            "start_date": f"2026-03-02T09:{n:02d}:00Z", "end_date": f"2026-03-02T10:{n:02d}:00Z"} for n in range(5)])
    monkeypatch.setenv("IMPORT_VENDOR_URLS", json.dumps({"teamviewer": fake.url}))
    yield fake
    fake.stop()


def connect(tenant, connection_id="main", **body):
    return tenant.admin.put(f"/v1/imports/connections/{connection_id}", {"source": "teamviewer", "credentials": {"token": "script-token"}, **body})


def scheduled_run(tenant, connection_id="main") -> dict:
    """What EventBridge Scheduler does: invoke the pull function with the schedule's input (as the
    function itself: the store checks its calls against its policy in template.yaml)."""
    event = {"tenant_id": tenant.tenant_id, "connection_id": connection_id}
    return invoke_function("ImportPullFunction", function_handler("ImportPullFunction"), event)


def test_a_connection_keeps_its_credentials_in_secrets_manager_only(msp, acme, aws):
    status, stored = connect(msp, schedule="rate(2 hours)")
    assert status == 200, stored
    assert stored == {"connection_id": "main", "source": "teamviewer", "schedule": "rate(2 hours)", "group_id": None,
                      "last_run": None, "scheduled": "not scheduled"}
    secret = boto3.client("secretsmanager", endpoint_url=settings.aws_endpoint_url()).get_secret_value(
        SecretId=import_connections.secret_name(msp.tenant_id, "main"))
    assert json.loads(secret["SecretString"]) == {"token": "script-token"}
    table = boto3.client("dynamodb").scan(TableName=settings.table_name())["Items"]
    assert "script-token" not in json.dumps(table)
    assert "script-token" not in json.dumps(msp.admin.get("/v1/imports/connections"))


def test_each_scheduled_run_goes_on_from_the_saved_cursor(msp, acme, vendor):
    assert connect(msp)[0] == 200
    run = scheduled_run(msp)
    assert (run["status"], run["imported"], run["pages"]) == ("done", 5, 3)
    assert msp.admin.get("/v1/sessions/teamviewer:tv-3")[1]["group_id"] == "acme"
    vendor.records.append({**vendor.records[0], "id": "tv-new", "start_date": "2026-03-03T09:00:00Z", "end_date": "2026-03-03T09:30:00Z"})
    again = scheduled_run(msp)
    assert (again["status"], again["imported"]) == ("done", 1)
    assert vendor.requests[-1]["query"]["from_date"] == "2026-03-01T09:04:00Z"  # from the cursor, not from the start
    (listed,) = msp.admin.get("/v1/imports/connections")[1]["connections"]
    assert listed["last_run"]["status"] == "done" and listed["last_run"]["imported"] == 1


def test_a_vendor_outage_is_the_runs_status_and_keeps_what_was_taken(msp, acme, vendor):
    assert connect(msp)[0] == 200
    vendor.script = [(200, {}, json.dumps(vendor.page({}))), (503, {}, "down"), (503, {}, "down"), (503, {}, "down")]
    run = scheduled_run(msp)
    assert (run["status"], run["imported"]) == ("vendor_error", 2)
    assert msp.admin.get("/v1/imports/connections")[1]["connections"][0]["last_run"]["status"] == "vendor_error"
    assert (scheduled_run(msp)["imported"]) == 3  # the next run goes on after the pages taken


@pytest.mark.parametrize("body, field", [
    ({"source": "splashtop", "credentials": {}}, "source"),
    ({"source": "teamviewer"}, "credentials"),
    ({"source": "teamviewer", "credentials": {"token": ""}}, "credentials.token"),
    ({"source": "teamviewer", "credentials": {"token": "x", "password": "y"}}, "credentials.password"),
    ({"source": "anydesk", "credentials": {"license_id": "1"}}, "credentials.api_password"),
    ({"source": "teamviewer", "credentials": {"token": "x"}, "schedule": "rate(1 minute)"}, "schedule"),
    ({"source": "teamviewer", "credentials": {"token": "x"}, "schedule": "cron(* * * * ? *)"}, "schedule"),
    ({"source": "teamviewer", "credentials": {"token": "x"}, "group_id": "a/b"}, "group_id"),
])
def test_a_bad_connection_is_a_400_naming_the_field(msp, body, field):
    assert_invalid(msp.admin.put("/v1/imports/connections/main", body), field)


def test_only_an_admin_manages_connections(msp):
    assert_error(msp.agent.put("/v1/imports/connections/main", {"source": "teamviewer", "credentials": {"token": "x"}}), 403)
    assert_error(msp.finance.get("/v1/imports/connections"), 403)
    for role in ("agent", "technician", "finance"):
        assert_error(getattr(msp, role).call("DELETE", "/v1/imports/connections/main"), 403)
    assert_invalid(msp.admin.put("/v1/imports/connections/has space", {"source": "teamviewer", "credentials": {"token": "x"}}),
                   "connection_id")


def secrets_client():
    return boto3.client("secretsmanager", endpoint_url=settings.aws_endpoint_url())


def scheduler_client():
    return boto3.client("scheduler", endpoint_url=settings.aws_endpoint_url())


@pytest.fixture
def scheduled(monkeypatch):
    """As deployed: the pull function and the role EventBridge Scheduler assumes are named (as the
    template's GetAtt resolves them locally: the connections function may pass that role only)."""
    monkeypatch.setenv("IMPORT_PULL_FUNCTION_ARN", f"arn:aws:lambda:us-east-1:{iam.ACCOUNT}:function:ImportPullFunction")
    monkeypatch.setenv("IMPORT_SCHEDULER_ROLE_ARN", f"arn:aws:iam::{iam.ACCOUNT}:role/ImportSchedulerRole")


def test_deleting_a_connection_removes_its_schedule_its_credentials_and_its_cursor(msp, acme, vendor, scheduled):
    assert connect(msp, schedule="rate(2 hours)")[1]["scheduled"] == "scheduled"
    name = import_connections.schedule_name(msp.tenant_id, "main")
    assert scheduler_client().get_schedule(Name=name)["ScheduleExpression"] == "rate(2 hours)"
    assert scheduled_run(msp)["imported"] == 5
    status, deleted = msp.admin.call("DELETE", "/v1/imports/connections/main")
    assert status == 200, deleted
    assert (deleted["connection_id"], deleted["source"], deleted["scheduled"]) == ("main", "teamviewer", "unscheduled")
    assert msp.admin.get("/v1/imports/connections") == (200, {"connections": []})
    with pytest.raises(scheduler_client().exceptions.ResourceNotFoundException):
        scheduler_client().get_schedule(Name=name)
    with pytest.raises(secrets_client().exceptions.ResourceNotFoundException):
        secrets_client().get_secret_value(SecretId=import_connections.secret_name(msp.tenant_id, "main"))
    assert_error(msp.admin.call("DELETE", "/v1/imports/connections/main"), 404)  # deleting again: nothing there
    assert msp.admin.get("/v1/sessions/teamviewer:tv-3")[0] == 200  # the sessions it imported stay
    # The same id stored again (its secret created again at once) starts with no cursor: every row is read
    # again and is a duplicate, nothing written twice.
    assert connect(msp)[0] == 200
    again = scheduled_run(msp)
    assert (again["imported"], again["duplicates"]) == (0, 5)
    assert "offset_id" not in vendor.requests[-3]["query"] and vendor.requests[-3]["query"]["from_date"] == "2000-01-01T00:00:00Z"


def test_a_run_started_as_its_connection_is_deleted_stops_removed_and_writes_nothing(msp, acme, vendor):
    assert connect(msp)[0] == 200
    secrets_client().delete_secret(SecretId=import_connections.secret_name(msp.tenant_id, "main"), ForceDeleteWithoutRecovery=True)
    assert scheduled_run(msp) == {"status": "removed", "reason": "the connection was removed", "pages": 0}  # the secret gone first
    assert vendor.requests == [] and msp.admin.get("/v1/imports/connections")[1]["connections"][0]["last_run"] is None
    assert msp.admin.call("DELETE", "/v1/imports/connections/main")[0] == 200  # the deletion completes
    assert scheduled_run(msp)["status"] == "removed"


def test_a_connection_deleted_during_its_run_stops_it_after_the_page_recorded(msp, acme, vendor):
    assert connect(msp)[0] == 200
    served = vendor.scripted

    def delete_after_the_first_page(handler):
        if len(vendor.requests) == 2:  # the second page is asked: the admin deletes the connection now
            assert msp.admin.call("DELETE", "/v1/imports/connections/main")[0] == 200
        return served(handler)
    vendor.scripted = delete_after_the_first_page
    run = scheduled_run(msp)
    assert (run["status"], run["imported"], run["pages"]) == ("removed", 4, 2)  # the page read is recorded, then it stops
    assert len(vendor.requests) == 2 and msp.admin.get("/v1/imports/connections")[1] == {"connections": []}


def test_another_tenants_connection_cannot_be_deleted(msp, other_msp):
    assert connect(msp)[0] == 200
    assert_error(other_msp.admin.call("DELETE", "/v1/imports/connections/main"), 404)
    assert [c["connection_id"] for c in msp.admin.get("/v1/imports/connections")[1]["connections"]] == ["main"]
    secret = secrets_client().get_secret_value(SecretId=import_connections.secret_name(msp.tenant_id, "main"))
    assert json.loads(secret["SecretString"]) == {"token": "script-token"}
    assert_invalid(msp.admin.call("DELETE", "/v1/imports/connections/has space"), "connection_id")
    assert_invalid(msp.admin.call("DELETE", "/v1/imports/connections/main", query="force=1"), "force")


@pytest.mark.parametrize("action, resource, granted", [
    ("secretsmanager:DeleteSecret", "secret:billing/T1/imports/main-AbCdEf", True),
    ("secretsmanager:DeleteSecret", "secret:billing/T1/other-AbCdEf", False),  # no other secret of the account
    ("secretsmanager:GetSecretValue", "secret:billing/T1/imports/main-AbCdEf", False),  # the API never reads one back
    ("scheduler:DeleteSchedule", "schedule/default/import-0123abcd", True),
    ("scheduler:DeleteSchedule", "schedule/default/nightly-backup", False),
])
def test_the_connections_function_may_delete_its_own_secrets_and_schedules_only(action, resource, granted):
    """Secrets Manager and EventBridge Scheduler are not behind the local store's IAM check: the
    template's grant is read as IAM evaluates it (billing_local.iam) instead."""
    service = action.split(":")[0]
    arn = f"arn:aws:{service}:{settings.region()}:{iam.ACCOUNT}:{resource}"
    assert iam.allowed("ImportConnectionsFunction", iam.Check(action, arn), settings.region()) is granted
