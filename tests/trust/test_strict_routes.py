"""Every route of template.yaml, driven through the gateway on the strict store, needs no call
its function's IAM policy refuses: the policies in the template are enough for what the code does
(on AWS a missing action is a 500 for every such request). Each write route is driven twice: plain,
and with an Idempotency-Key (its record is claimed and finished by the route's own function)."""
import json
import os

import pytest

from billing_local import template

from .conftest import ROLE_TABLE, Tenant, mocked_aws, seed, valid_requests


@pytest.fixture(scope="module")
def world(gateway_once):
    with mocked_aws() as store:
        yield store, seed(Tenant(gateway_once, "Acme IT"))


def call(seeded, key: str, request: tuple, idempotency_key: str | None = None) -> tuple[int, object]:
    method, path, body, query = request
    role = sorted(ROLE_TABLE[key])[0]
    headers = {"Authorization": f"Bearer {seeded.tenant.tokens[role]}"}
    raw = None
    if body is not None:
        raw, headers["content-type"] = json.dumps(body).encode(), "application/json"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    status, _, text = seeded.tenant.gateway.invoke(method, path, headers, query, raw)
    return status, json.loads(text) if text else None


def drive_every_route(seeded) -> None:
    """Every route once with a valid request (no 5xx), then every write route again with an
    Idempotency-Key."""
    for key, request in valid_requests(seeded, unique="plain").items():
        status, answer = call(seeded, key, request)
        assert status < 500, (key, status, answer)
    for number, (key, request) in enumerate(valid_requests(seeded, unique="keyed").items()):
        if request[0] != "GET":
            status, answer = call(seeded, key, request, f"strict-route-{number}")
            assert status < 500, (key, "keyed", status, answer)


def test_every_route_runs_with_its_own_policy_and_nothing_is_denied(world):
    store, seeded = world
    assert store.rules.iam and store.app.refused["iam"] == 0  # the seeding went through the routes too
    drive_every_route(seeded)
    assert store.app.refused == {"iam": 0, "limits": 0, "timeouts": 0}
    # every function behind a route made its calls as itself, checked against its own policy
    functions = {route.function for route in template.routes()} | {template.authorizer_function()}
    assert functions <= set(store.app.checked), sorted(functions - set(store.app.checked))


@pytest.mark.parametrize("sort_key", ["", " AND #sk = :sk", " AND begins_with(#sk, :sk)", " AND #sk BETWEEN :sk AND :sk"])
def test_a_query_is_checked_on_its_partition_whatever_its_sort_key_condition(sort_key):
    """dynamodb:LeadingKeys is the partition a Query names, with or without a condition on the
    sort key: a function allowed tenant items only (T#...) may not read the token items."""
    from billing_local import iam, strict

    def allowed(partition: str) -> bool:
        request = {"TableName": os.environ["TABLE_NAME"], "KeyConditionExpression": "#pk = :pk" + sort_key,
                   "ExpressionAttributeNames": {"#pk": "PK", **({"#sk": "SK"} if sort_key else {})},
                   "ExpressionAttributeValues": {":pk": {"S": partition}, **({":sk": {"S": "S#"}} if sort_key else {})}}
        checks = strict.dynamodb_checks("Query", request, "us-east-1", lambda table, index: "PK")
        return iam.first_denied("LockSessionFunction", checks, "us-east-1") is None

    assert allowed("T#t_1#G#acme")
    assert not allowed("TOKEN#0123abcd")


def test_a_presigned_link_is_authorised_as_the_function_that_signed_it(world):
    """S3 authorises whoever follows a presigned link with the policy of the role that signed it:
    a link signed by a function that may not read the object answers 403 when followed."""
    import urllib.error
    import urllib.request

    from billing_core.files.s3 import s3_client
    from billing_local import identity

    s3, bucket, key = s3_client(), os.environ["EXPORTS_BUCKET"], "tenants/t_1/exports/file.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=b"a,b\r\n")  # an administrator's write
    for function, allowed in (("ExportFunction", True), ("QuotesFunction", False)):  # tenants/* objects; no S3 at all
        with identity.invocation(function, 10):
            url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        try:
            with urllib.request.urlopen(url) as answered:
                assert allowed and answered.read() == b"a,b\r\n", function
        except urllib.error.HTTPError as refused:
            assert not allowed and refused.code == 403 and b"AccessDenied" in refused.read(), function


def test_a_schedule_may_name_only_the_role_its_creator_may_pass(world):
    """EventBridge Scheduler: creating a schedule is scheduler:CreateSchedule on it, and passing its
    target's role is iam:PassRole on that role; the import connections may pass ImportSchedulerRole
    only, on schedules named import-*."""
    import boto3
    from botocore.exceptions import ClientError

    from billing_local import iam, identity

    scheduler, account = boto3.client("scheduler"), iam.ACCOUNT

    def create(name: str, role: str) -> str:
        target = {"Arn": f"arn:aws:lambda:us-east-1:{account}:function:ImportPullFunction", "RoleArn": f"arn:aws:iam::{account}:role/{role}"}
        try:
            with identity.invocation("ImportConnectionsFunction", 10):
                scheduler.create_schedule(Name=name, ScheduleExpression="rate(1 hour)", Target=target,
                                          FlexibleTimeWindow={"Mode": "OFF"})
        except ClientError as refused:
            return refused.response["Error"]["Code"] + ": " + refused.response["Error"]["Message"].split(" because ")[0]
        return "created"

    assert create("import-a", "ImportSchedulerRole") == "created"
    assert create("import-b", "AdminRole").endswith(f"iam:PassRole on resource: arn:aws:iam::{account}:role/AdminRole")
    assert create("other-c", "ImportSchedulerRole").endswith(
        f"scheduler:CreateSchedule on resource: arn:aws:scheduler:us-east-1:{account}:schedule/default/other-c")
