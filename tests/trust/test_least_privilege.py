"""Least privilege, the reverse of test_strict_routes: every line of every function's policy in
template.yaml (each Action, each Resource, each dynamodb:LeadingKeys pattern of each statement) is
needed by a call its code makes. The strict store records the lines each allowed call needed
(billing_local.iam.used); this module drives every route, every kind of job through the worker,
and the functions no route reaches (the scheduled pull, the stream publisher, the sign-in
trigger), then compares. A line no call needed is either removed from template.yaml or listed
below in UNUSED_BY_THE_DRIVE with the code path that needs it — and that list is checked too: an
entry the drive does use, or that the template no longer grants, fails, so it cannot rot."""
import importlib
import json
import os
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from billing_core import events, exports, fields, import_connections, importing, invoice_runs, jobs, locking, reporting, users
from billing_core.errors import Unavailable
from billing_local import cognito, iam, template
from billing_local.gateway import function_handler, invoke_function
from conftest import JOBS
from imports_.fake_vendor import FakeTeamViewer

from .conftest import STANDARD, Caller, Tenant, mocked_aws, ok, seed, upload
from .test_strict_routes import drive_every_route

# (function, statement Sid, policy line) → (where the code path is, why the drive does not take it).
# Where: a billing_core attribute (billing_core.module.name), or a path in template.yaml's Resources
# (template.yaml:Function.Properties...) for what Lambda itself does with the role. Both are resolved
# by the test: an entry whose code path is gone fails like an entry that is used.
ON_FAILURE = "template.yaml:EventPublisherFunction.Properties.Events.Outbox.Properties.DestinationConfig.OnFailure"
UNUSED_BY_THE_DRIVE = {
    ("EventPublisherFunction", "FailedBatches", "sqs:SendMessage"): (
        ON_FAILURE, "Lambda puts a stream batch that failed every retry on EventDeadLetterQueue with this role (the "
                    "destination names no Type, so SAM adds no policy for it); nothing of ours sends it"),
    ("EventPublisherFunction", "FailedBatches", "EventDeadLetterQueue.Arn"): (ON_FAILURE, "the same destination"),
    ("ExportFunction", "ExportObjects", "s3:AbortMultipartUpload"): (
        "billing_core.files.s3.StreamedUpload.abort", "an export that fails mid-way drops its unfinished upload"),
    ("JobWorkerFunction", "ExportObjects", "s3:AbortMultipartUpload"): (
        "billing_core.files.s3.StreamedUpload.abort", "the same, for an export the worker carries on"),
}


def drive_the_jobs(seeded) -> None:
    """Each kind of job through the queue and the worker function: requests given no time of
    their own hand all their work over."""
    tenant, admin = seeded.tenant, seeded.tenant.admin
    ok(tenant.agent.post("/v1/sessions", upload("in-request", seeded.subscription_group, 20, day=12)), 201)
    ok(tenant.finance.post(f"/v1/groups/{seeded.subscription_group}/lock-all", {"from": "2026-03-01T00:00:00Z"}))
    with pytest.MonkeyPatch.context() as patch:
        for module in (exports, importing):
            patch.setattr(module, "SYNC_SECONDS", 0.0)
        patch.setattr(invoice_runs, "REQUEST_SECONDS", 0.0)
        patch.setenv("LOCK_ALL_REQUEST_SECONDS", "0")
        ok(tenant.finance.post(f"/v1/groups/{seeded.subscription_group}/exports", {}), 202)
        ok(tenant.finance.post(f"/v1/groups/{seeded.pay_group}/lock-all", {"from": "2026-03-01T00:00:00Z"}), 202)
        ok(admin.post("/v1/invoice-runs", {"month": "2026-02"}), 202)
        rows = "".join(f"late-{n},2026-03-09T09:00:00Z,2026-03-09T09:20:00Z,pc-1,ann\n" for n in range(importing.CHUNK + 5))
        ok(admin.post("/v1/imports", {"source": "generic", "content": "id,start,end,pc,who\n" + rows, "group_id": seeded.pay_group,
                                      "columns": {"session_id": "id", "started_at": "start", "ended_at": "end",
                                                  "computer_id": "pc", "technician": "who"}}), 202)
    link = ok(admin.post("/v1/imports/uploads"), 201)
    records = [{"id": "up-1", "username": "ann", "devicename": "pc-1", "groupname": "Acme Ltd",
                "start_date": "2026-03-10T09:00:00Z", "end_date": "2026-03-10T09:30:00Z"}]
    follow(link["url"], json.dumps({"records": records}).encode())
    ok(admin.post("/v1/imports", {"source": "teamviewer", "upload_id": link["upload_id"]}), 202)
    assert JOBS.idle(60)


def drive_the_worker_out_of_time_and_failing(store, seeded) -> None:
    """The worker's two hand-backs to the queue: a job out of its invocation's time is sent on
    (its next step in the next invocation), and a transient failure asks for the message sooner."""
    tenant_id = seeded.tenant.tenant_id
    ok(seeded.tenant.agent.post("/v1/sessions", upload("to-lock", seeded.pay_group, 20, day=13)), 201)
    time.sleep(store.app.rules.index_lag_ms / 1000 + 0.1)  # the job finds it through the index
    run = locking.LockAllRun(tenant_id, seeded.pay_group, reporting.parse_period({"from": "2026-03-13T00:00:00Z"}), None, fields.utc_now())
    job = jobs.create(tenant_id, jobs.LOCK_ALL, run.state(), "finance:test")
    record = {"messageId": "m-1", "receiptHandle": "r-1", "body": json.dumps({"tenant_id": tenant_id, "job_id": job.job_id}),
              "attributes": {"ApproximateReceiveCount": "1"}, "eventSource": "aws:sqs", "eventSourceARN": JOBS.arn}
    worker = function_handler("JobWorkerFunction")
    invoke_function("JobWorkerFunction", worker, {"Records": [record]}, timeout=jobs.WORKER_MARGIN_SECONDS / 10)
    for _ in range(1200):  # the invocation out of time may send the job on after it returned: follow the job
        JOBS.idle(60)
        answer = ok(seeded.tenant.admin.get(f"/v1/jobs/{job.job_id}"))
        if answer["status"] != "running":
            break
        time.sleep(0.05)
    assert (answer["status"], answer["result"]["locked"]) == ("succeeded", 1), answer  # by the next invocation
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RETRY_BUDGET_SECONDS", "0.2")
        patch.setattr(store.app.faults, "rates", {**store.app.faults.rates, "throttle": 1.0})
        patch.setattr(store.app.faults, "enabled", True)
        with pytest.raises(Unavailable):  # after asking the queue for the message again sooner
            invoke_function("JobWorkerFunction", worker, {"Records": [record]})


def drive_the_functions_without_a_route(seeded) -> None:
    """What the schedule, the table's stream and the user pool invoke."""
    tenant = seeded.tenant
    with pytest.MonkeyPatch.context() as patch:  # as deployed: the connection's schedule targets the pull function
        patch.setenv("IMPORT_PULL_FUNCTION_ARN", f"arn:aws:lambda:us-east-1:{iam.ACCOUNT}:function:ImportPullFunction")
        patch.setenv("IMPORT_SCHEDULER_ROLE_ARN", f"arn:aws:iam::{iam.ACCOUNT}:role/ImportSchedulerRole")
        for schedule in ("rate(1 hour)", "rate(2 hours)"):  # created, then updated
            connection = {"source": "teamviewer", "credentials": {"token": "tv-pull"}, "schedule": schedule}
            assert ok(tenant.admin.put("/v1/imports/connections/pulled", connection))["scheduled"] == "scheduled"
        made = boto3.client("scheduler").get_schedule(Name=import_connections.schedule_name(tenant.tenant_id, "pulled"))
        assert made["ScheduleExpression"] == "rate(2 hours)" and made["Target"]["RoleArn"].endswith(":role/ImportSchedulerRole")
        connection = {"source": "teamviewer", "credentials": {"token": "tv-gone"}, "schedule": "rate(1 day)"}
        ok(tenant.admin.put("/v1/imports/connections/gone", connection))
        ok(tenant.admin.delete("/v1/imports/connections/gone"))  # its schedule deleted too
    vendor = FakeTeamViewer([{"id": "tv-1", "username": "ann", "devicename": "pc-1", "groupname": "Acme Ltd",
                              "start_date": "2026-03-02T09:00:00Z", "end_date": "2026-03-02T10:00:00Z"}], token="tv-pull")
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("IMPORT_VENDOR_URLS", json.dumps({"teamviewer": vendor.url}))
            run = invoke_function("ImportPullFunction", function_handler("ImportPullFunction"),
                                  {"tenant_id": tenant.tenant_id, "connection_id": "pulled"})
            assert run["status"] == "done", run
    finally:
        vendor.stop()
    boto3.client("events").create_event_bus(Name="billing-events")
    event = events.threshold_crossed(tenant.tenant_id, seeded.subscription_group, "c-1", datetime(2026, 3, 2, tzinfo=timezone.utc),
                                     {"threshold": 50})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVENT_BUS_NAME", "billing-events")
        stream = {"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": event.serialize()}}]}
        assert invoke_function("EventPublisherFunction", function_handler("EventPublisherFunction"), stream) == {"published": 1}
        patch.setenv("ADMIN_MFA_REQUIRED", "true")  # an admin signing in: has the user pool their MFA?
        user = {"custom:tenant_id": tenant.tenant_id, "email": "dana@example.com"}
        trigger = {"version": "2", "userPoolId": os.environ["USER_POOL_ID"], "userName": "dana@example.com",
                   "request": {"userAttributes": user, "groupConfiguration": {"groupsToOverride": ["admin"]}}}
        claims = invoke_function("TokenClaimsFunction", function_handler("TokenClaimsFunction"), trigger)
        assert claims["response"]["claimsAndScopeOverrideDetails"]["groupOverrideDetails"] == {"groupsToOverride": []}
    drive_a_first_single_sign_on(seeded)


def drive_a_first_single_sign_on(seeded) -> None:
    """The pool's pre sign-up trigger (deployed with an OIDC provider): an invited person's first
    sign-in through the provider is linked to the invitation."""
    pool, provider = os.environ["USER_POOL_ID"], "Workplace"
    boto3.client("cognito-idp").create_identity_provider(
        UserPoolId=pool, ProviderName=provider, ProviderType="OIDC", AttributeMapping={"email": "email"},
        ProviderDetails={"client_id": "console", "client_secret": "secret", "oidc_issuer": "https://login.example/v2.0",
                         "attributes_request_method": "GET", "authorize_scopes": "openid email"})
    ok(seeded.tenant.admin.post("/v1/users", {"email": "sso@acme.example", "role": "technician"}), 201)
    event = {"version": "1", "triggerSource": "PreSignUp_ExternalProvider", "region": "us-east-1", "userPoolId": pool,
             "userName": f"{provider}_oid-1", "callerContext": {"awsSdkVersion": "local", "clientId": "console"},
             "request": {"userAttributes": {"email": "sso@acme.example", "email_verified": "true"}},
             "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OIDC_PROVIDER_NAME", provider)
        with pytest.raises(users.NotAdmitted, match="linked"):  # linked: the person signs in again, as the invited user
            invoke_function("PreSignUpFunction", function_handler("PreSignUpFunction"), event)


def follow(url: str, data: bytes | None = None) -> None:
    """A presigned link followed as a client does (S3 authorises it as the function that signed it)."""
    method = "GET" if data is None else "PUT"
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/octet-stream"})
    with urllib.request.urlopen(request) as answered:
        assert answered.status == 200


def drive_what_real_ids_reach(seeded) -> None:
    """The routes again where the ids of the first drive were placeholders: an invoice issued, its
    document, a run's file; a person's role changed, disabled, enabled; an import naming its groups."""
    tenant, admin = seeded.tenant, seeded.tenant.admin
    run = ok(admin.post("/v1/invoice-runs", {"month": "2026-03"}), 200, 201)
    follow(ok(admin.post(f"/v1/invoice-runs/{run['run_id']}/exports", {"format": "xero"}), 200, 201)["url"])
    invoice = ok(admin.get("/v1/invoices", "month=2026-03"))["invoices"][0]["invoice_id"]
    ok(admin.post(f"/v1/invoices/{invoice}/issue"))
    assert ok(admin.get(f"/v1/invoices/{invoice}"))["issued_by"]["kind"] == "token"  # named by its label: the token list
    ok(admin.post("/v1/periods/2025-06/close"))
    assert ok(admin.get("/v1/periods/2025-06"))["changed_by"]["kind"] == "token"
    for _ in range(2):  # written once, then found
        follow(ok(admin.get(f"/v1/invoices/{invoice}/pdf"))["url"])
    follow(ok(tenant.finance.get(f"/v1/exports/{seeded.export}"))["url"])
    user = f"/v1/users/{seeded.extra['user_id']}"
    for change in ({"role": "finance"}, {"enabled": False}, {"enabled": True}):
        ok(admin.patch(user, change))
    drive_the_month_end_and_the_last_admin(seeded)
    records = [{"id": "named-1", "username": "ann", "devicename": "pc-1", "groupname": "Acme Ltd",
                "start_date": "2026-03-11T09:00:00Z", "end_date": "2026-03-11T09:30:00Z"}]
    ok(tenant.agent.post("/v1/imports", {"source": "teamviewer", "content": json.dumps({"records": records})}))


def drive_the_month_end_and_the_last_admin(seeded) -> None:
    """A recharge made as its month ends (the write holds the month open: it may close before the
    write commits), and the tenant's only admin, signed in as a person, trying to step down."""
    admin = seeded.tenant.admin
    month_end = datetime.now(timezone.utc).replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fields, "utc_now", lambda: month_end.replace(day=1) - timedelta(minutes=5))
        ok(admin.post(f"/v1/groups/{seeded.subscription_group}/recharges", {"hours": 1, "amount": "10.00"}), 201)
    idp, email, password = boto3.client("cognito-idp"), "owner@acme.example", "Local-Owner-9a-password"
    me = cognito.add_user(idp, os.environ["USER_POOL_ID"], seeded.tenant.tenant_id, "admin", email, password)
    (console,) = template.jwt_authorizer()["audience"][:1]
    person = Caller(seeded.tenant.gateway, cognito.sign_in(idp, cognito.PHYSICAL[console], email, password)["AccessToken"])
    status, refused = person.patch(f"/v1/users/{me}", {"role": "finance"})
    assert status == 400 and "last enabled admin" in refused["error"]["message"], refused


def drive_a_lock_behind_its_profile(store, seeded) -> None:
    """A lock of a group whose contract a profile update did not refresh (the update found the
    contracts to refresh through an index that had not shown this one yet): the lock prices with
    the profile's latest version, read from the table, and brings the contract up to it."""
    tenant, admin = seeded.tenant, seeded.tenant.admin
    lag = store.app.rules.index_lag_ms
    try:
        store.app.rules.index_lag_ms = 60_000
        store.app.indexes.set_lag(store.app.rules.index_lag_ms)
        ok(admin.put("/v1/groups/late", {"name": "Late Ltd"}), 201)
        ok(admin.put("/v1/groups/late/contract", {"profile_id": seeded.pay_profile}))
        newer = ok(admin.put(f"/v1/profiles/{seeded.pay_profile}", {**STANDARD, "step_cost": "6.00"}))
    finally:
        store.app.indexes.set_lag(0)  # what waited is seen now
        store.app.rules.index_lag_ms = lag
        store.app.indexes.set_lag(lag)
    ok(tenant.agent.post("/v1/sessions", upload("behind", "late", 25, day=14)), 201)
    assert ok(tenant.technician.post("/v1/sessions/behind/lock"))["status"] == "accounted"
    assert ok(admin.get("/v1/groups/late/contracts"))["contracts"][0]["profile_version"] == newer["version"]


@pytest.fixture(scope="module")
def driven(gateway_once):
    """(what the drive's calls needed, what the store refused meanwhile)."""
    with mocked_aws() as store:
        JOBS.idle()
        iam.forget_used()  # what earlier modules' calls used does not count
        seeded = seed(Tenant(gateway_once, "Acme IT"))
        drive_every_route(seeded)
        drive_what_real_ids_reach(seeded)
        drive_the_jobs(seeded)
        drive_a_lock_behind_its_profile(store, seeded)
        drive_the_functions_without_a_route(seeded)
        drive_the_worker_out_of_time_and_failing(store, seeded)
        assert JOBS.idle(60)
        yield iam.used(), store.app.refused["iam"]


def granted() -> set[iam.Grant]:
    return set().union(*(iam.grants(function) for function in template.functions()))


def unexplained(granted: set[iam.Grant], used: set[iam.Grant], allowed_unused: dict) -> tuple[list[str], list[str]]:
    """(lines granted, never used and not listed; listed entries used or not granted)."""
    def key(grant: iam.Grant) -> tuple[str, str, str]:
        return grant.function, grant.statement, grant.value

    unused = {key(g): g for g in granted - used}
    surplus = [f"{g.function} {g.statement}: {g.field} {g.value}" for k, g in sorted(unused.items()) if k not in allowed_unused]
    granted_keys, used_keys = {key(g) for g in granted}, {key(g) for g in used}
    stale = [f"{' '.join(k)}: {'used by the drive' if k in used_keys else 'not granted by template.yaml'}"
             for k in sorted(allowed_unused) if k in used_keys or k not in granted_keys]
    return surplus, stale


def test_the_drive_is_refused_nothing(driven):
    _, refused = driven
    assert refused == 0


def test_every_policy_line_is_needed_by_a_call_of_its_function(driven):
    used, _ = driven
    surplus, stale = unexplained(granted(), used, UNUSED_BY_THE_DRIVE)
    assert not surplus, "granted, never needed: remove from template.yaml, or list with the code path that needs it\n" + "\n".join(surplus)
    assert not stale, "UNUSED_BY_THE_DRIVE lists lines the drive uses or the template no longer grants\n" + "\n".join(stale)
    for where, why in UNUSED_BY_THE_DRIVE.values():
        assert why.strip() and code_path_exists(where), where


def code_path_exists(where: str) -> bool:
    """`billing_core.module.Name.attr` imports and resolves; `template.yaml:A.B.C` is a path of
    template.yaml's Resources."""
    if where.startswith("template.yaml:"):
        found = template.load()["Resources"]
        for part in where.split(":", 1)[1].split("."):
            if not isinstance(found, dict) or part not in found:
                return False
            found = found[part]
        return True
    parts = where.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(found, name):
                return False
            found = getattr(found, name)
        return True
    return False


def test_a_spare_grant_or_a_stale_excuse_is_caught(driven):
    used, _ = driven
    spare = iam.Grant("JobsFunction", "BillingTable", "Action", "dynamodb:DeleteItem")
    surplus, _ = unexplained(granted() | {spare}, used, UNUSED_BY_THE_DRIVE)
    assert surplus == ["JobsFunction BillingTable: Action dynamodb:DeleteItem"]
    excuses = {**UNUSED_BY_THE_DRIVE, ("JobsFunction", "BillingTable", "dynamodb:GetItem"): ("billing_core.jobs.run", "stale"),
               ("JobsFunction", "Gone", "dynamodb:Scan"): ("billing_core.jobs.run", "no longer granted")}
    _, stale = unexplained(granted(), used, excuses)
    assert stale == ["JobsFunction BillingTable dynamodb:GetItem: used by the drive", "JobsFunction Gone dynamodb:Scan: not granted by template.yaml"]
    assert code_path_exists("billing_core.files.s3.StreamedUpload.abort") and code_path_exists(ON_FAILURE)
    assert not code_path_exists("billing_core.files.s3.StreamedUpload.cancel")  # renamed: the excuse must follow
    assert not code_path_exists("billing_core.no_such_module.thing") and not code_path_exists(ON_FAILURE + ".Type")
