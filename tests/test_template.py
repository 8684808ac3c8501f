"""What CloudFormation would deploy: template.yaml translated by the SAM translator (offline, as
`sam deploy` does it, with the code URIs `sam package` would write), and scanned by checkov.
An operator gets access logs, logs that expire, throttling, alarms on every function, failures
that land somewhere, and policies that keep each function on its own keys."""
import copy
import json
import subprocess

import pytest

from billing_local import template
from billing_local.template import ROOT


class _NoManagedPolicies:
    """The translator asks IAM for the ARNs of AWS managed policies named in Policies; the template
    names none (every policy is written out), so an empty map keeps the translation offline."""

    def load(self) -> dict:
        return {}


@pytest.fixture(scope="module")
def resources(monkeypatch_module) -> dict:
    from samtranslator.translator.transform import transform

    monkeypatch_module.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    document = copy.deepcopy(template.load())
    for resource in document["Resources"].values():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://artifacts/{resource['Properties'][key].strip('/')}"
    return transform(document, {}, _NoManagedPolicies())["Resources"]


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def of_type(resources: dict, kind: str) -> dict:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


FUNCTIONS = sorted(template.functions())


def test_every_function_logs_to_a_log_group_of_the_stack_that_expires(resources):
    groups = of_type(resources, "AWS::Logs::LogGroup")
    named = {json.dumps(g["Properties"]["LogGroupName"]): g for g in groups.values()}
    for function in FUNCTIONS:
        group = named[json.dumps({"Fn::Sub": f"/aws/lambda/${{{function}}}"})]
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group.get("DeletionPolicy", "Delete") == "Delete"


def test_the_api_logs_every_request_and_throttles_the_stage(resources):
    stages = of_type(resources, "AWS::ApiGatewayV2::Stage").values()
    tenants = {"$context.authorizer.tenant_id", "$context.authorizer.claims.tenant_id"}  # Lambda, JWT authorizer
    assert len(stages) == 2  # the API tokens' API and the staff API
    for stage in stages:
        logs = stage["Properties"]["AccessLogSettings"]
        assert logs["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
        fields = json.loads(logs["Format"])
        assert fields["requestId"] == "$context.requestId" and fields["tenantId"] in tenants
        assert stage["Properties"]["DefaultRouteSettings"] == {
            "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"}, "ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"}}
    assert resources["ApiAccessLogGroup"]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_staff_reach_every_route_through_the_jwt_authorizer_of_the_user_pool(resources):
    """The staff API holds exactly the routes of the API tokens' one, each behind API Gateway's JWT
    authorizer (no Lambda per request): the pool's issuer, the console's client, a scope only
    access tokens carry."""
    staff = {(r.method, r.path, r.function) for r in template.routes(template.staff_api())}
    tokens = {(r.method, r.path, r.function) for r in template.routes()}
    assert tokens - staff == set(), f"routes without their twin event `<Name>Staff` (ApiId: !Ref StaffApi): {sorted(tokens - staff)}"
    assert staff - tokens == set(), f"staff routes without their event on BillingApi: {sorted(staff - tokens)}"
    api = resources[template.staff_api()]["Properties"]["Body"]
    scheme = api["components"]["securitySchemes"]["StaffJwt"]
    assert scheme["type"] == "oauth2" and scheme["x-amazon-apigateway-authorizer"]["type"] == "jwt"
    config = scheme["x-amazon-apigateway-authorizer"]["jwtConfiguration"]
    assert config["audience"] == [{"Ref": "ConsoleClient"}]
    assert config["issuer"] == {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${StaffUserPool}"}
    for path, methods in api["paths"].items():
        for method, operation in methods.items():
            assert operation["security"] == [{"StaffJwt": ["aws.cognito.signin.user.admin"]}], (path, method)
    watched = [m["MetricStat"]["Metric"]["Dimensions"][0]["Value"] for m in resources["ApiServerErrorsAlarm"]["Properties"]["Metrics"]
               if "MetricStat" in m]
    assert {"Ref": "StaffApi"} in watched and {"Ref": "BillingApi"} in watched  # a staff 5xx rolls a deploy back too


def test_staff_are_people_of_one_tenant_with_short_lived_tokens(resources):
    pool = resources["StaffUserPool"]
    assert pool["DeletionPolicy"] == "Retain" and pool["Properties"]["DeletionProtection"] == "ACTIVE"
    props = pool["Properties"]
    assert props["UsernameAttributes"] == ["email"] and props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"] and props["UserPoolAddOns"]["AdvancedSecurityMode"] == "OFF"
    (tenant,) = props["Schema"]
    assert tenant["Name"] == "tenant_id" and tenant["Mutable"] is False
    assert props["LambdaConfig"]["PreTokenGenerationConfig"]["LambdaVersion"] == "V2_0"
    client = resources["ConsoleClient"]["Properties"]
    assert client["GenerateSecret"] is False and client["AccessTokenValidity"] <= 15
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes" and client["EnableTokenRevocation"] is True
    assert "custom:tenant_id" not in client["WriteAttributes"]
    assert sorted(g["Properties"]["GroupName"] for g in of_type(resources, "AWS::Cognito::UserPoolGroup").values()) == [
        "admin", "finance", "technician"]
    assert resources["OidcProvider"]["Condition"] == "HasOidc"
    users = [s for s in statements(resources, "UsersFunction") if any(a.startswith("cognito-idp:") for a in s["Action"])]
    assert users and all(s["Resource"] == {"Fn::GetAtt": ["StaffUserPool", "Arn"]} for s in users)
    assert not any(a.endswith("*") or "Delete" in a for s in users for a in s["Action"])


def _refs(value):
    """The logical ids `value` names (Ref, GetAtt), outside Fn::If (whose branches name what their condition holds)."""
    if isinstance(value, list):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else inner.split(".")[0]
            elif key != "Fn::If":
                yield from _refs(inner)


def test_single_sign_on_admits_invited_people_through_a_trigger_deployed_only_with_it(resources):
    pool = resources["StaffUserPool"]["Properties"]["LambdaConfig"]
    assert pool["PreSignUp"] == {"Fn::If": ["HasOidc", {"Ref": "PreSignUpFunctionAliaslive"}, {"Ref": "AWS::NoValue"}]}
    made = [name for name in resources if name.startswith("PreSignUp")]
    assert len(made) >= 8 and all(resources[name].get("Condition") == "HasOidc" for name in made), made
    (statement,) = statements(resources, "PreSignUpFunction")
    assert sorted(statement["Action"]) == ["cognito-idp:AdminLinkProviderForUser", "cognito-idp:ListUsers"]
    conditional = {name for name, resource in resources.items() if resource.get("Condition")}
    for name, resource in resources.items():  # CloudFormation refuses a resource naming one its condition may leave out
        if not resource.get("Condition"):
            assert not set(_refs(resource)) & conditional, name


def test_single_sign_on_gives_the_console_the_code_flow_back_to_the_console_only_with_it(resources):
    client = resources["ConsoleClient"]["Properties"]
    when = {key: value["Fn::If"] for key, value in client.items() if isinstance(value, dict) and "Fn::If" in value}
    assert {key: condition for key, (condition, _, _) in when.items()} == dict.fromkeys(
        ["SupportedIdentityProviders", "AllowedOAuthFlowsUserPoolClient", "AllowedOAuthFlows", "AllowedOAuthScopes",
         "CallbackURLs", "LogoutURLs"], "HasOidc")
    assert when["AllowedOAuthFlows"][1] == ["code"] and when["CallbackURLs"][1] == [{"Ref": "ConsoleUrl"}]
    # the staff API's authorizer asks for aws.cognito.signin.user.admin: a token of the code flow must be able to hold it
    assert set(when["AllowedOAuthScopes"][1]) == {"openid", "email", "profile", *template.jwt_authorizer()["scopes"]}
    assert when["SupportedIdentityProviders"][1] == ["COGNITO", {"Ref": "OidcProvider"}]
    assert resources["StaffUserPoolDomain"]["Condition"] == "HasOidc"
    assert template.load()["Outputs"]["SignInDomainUrl"]["Condition"] == "HasOidc"


def test_the_authorizer_is_cached_per_authorization_header(resources):
    api = resources[template.token_api()]
    authorizer = api["Properties"]["Body"]["components"]["securitySchemes"]["TokenAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["authorizerResultTtlInSeconds"] == {"Ref": "AuthorizerCacheSeconds"}
    assert authorizer["authorizerUri"]["Fn::Sub"][1]["__FunctionArn__"] == {"Ref": "AuthorizerFunctionAliaslive"}


def test_every_function_has_errors_and_throttles_alarms_to_the_topic(resources):
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    watched = {(a["Properties"].get("MetricName"), json.dumps(a["Properties"].get("Dimensions"))): a for a in alarms.values()}
    for function in FUNCTIONS:
        for metric in ("Errors", "Throttles"):
            alarm = watched[(metric, json.dumps([{"Name": "FunctionName", "Value": {"Ref": function}}]))]
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], (function, metric)
    for name in ("ApiServerErrorsAlarm", "ApiLatencyAlarm", "TableThrottlesAlarm", "TableSystemErrorsAlarm",
                 "JobsDeadLetterAlarm"):
        assert alarms[name]["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    assert resources["ApiLatencyAlarm"]["Properties"]["ExtendedStatistic"] == "p99"
    subscription = resources["AlarmEmailSubscription"]
    assert subscription["Condition"] == "HasAlarmEmail" and subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert of_type(resources, "AWS::CloudWatch::Dashboard")


def test_every_version_is_shifted_by_a_canary_that_its_alarms_roll_back(resources):
    groups = of_type(resources, "AWS::CodeDeploy::DeploymentGroup")
    for function in FUNCTIONS:
        alarms = groups[f"{function}DeploymentGroup"]["Properties"]["AlarmConfiguration"]
        names = [alarm["Name"] for alarm in alarms["Alarms"]]
        assert alarms["Enabled"] and {"Ref": f"{function.removesuffix('Function')}ErrorsAlarm"} in names
        assert {"Ref": "ApiServerErrorsAlarm"} in names
        assert resources[f"{function}Aliaslive"]["Type"] == "AWS::Lambda::Alias"


def test_long_exports_and_lock_alls_are_jobs_whose_failures_land_in_a_watched_dead_letter_queue(resources):
    queue = resources["JobsQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * resources["JobWorkerFunction"]["Properties"]["Timeout"]
    alarm = resources["JobsDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsDeadLetterQueue", "QueueName"]}}]
    for function in ("ExportFunction", "LockAllFunction"):
        assert resources[function]["Properties"]["Environment"]["Variables"]["JOBS_QUEUE_URL"] == {"Ref": "JobsQueue"}
        sends = [s for s in statements(resources, function) if "sqs:SendMessage" in s["Action"]]
        assert sends and all(s["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]} for s in sends), function
    worker_s3 = [s for s in statements(resources, "JobWorkerFunction") if any(a.startswith("s3:") for a in s["Action"])]
    assert worker_s3 and all(s["Resource"] == {"Fn::Sub": "${ExportsBucket.Arn}/tenants/*"} for s in worker_s3)
    assert not of_type(resources, "AWS::Lambda::EventInvokeConfig"), "no other asynchronous path: jobs only"
    assert "ReservedConcurrentExecutions" in resources["AuthorizerFunction"]["Properties"]


def test_a_failed_job_worker_retries_soon_and_a_dead_job_ends_failed(resources):
    worker = resources["JobWorkerFunction"]["Properties"]
    variables = worker["Environment"]["Variables"]
    assert int(variables["JOBS_MAX_RECEIVES"]) == resources["JobsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    assert variables["JOBS_DEAD_LETTER_ARN"] == {"Fn::GetAtt": ["JobsDeadLetterQueue", "Arn"]}
    visibility = [s for s in statements(resources, "JobWorkerFunction") if "sqs:ChangeMessageVisibility" in s["Action"]]
    assert visibility and all(s["Resource"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]} for s in visibility)
    sources = [m["Properties"]["EventSourceArn"] for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
               if m["Properties"]["FunctionName"] == {"Ref": "JobWorkerFunctionAliaslive"}]
    assert sorted(json.dumps(s) for s in sources) == sorted(json.dumps({"Fn::GetAtt": [q, "Arn"]})
                                                            for q in ("JobsQueue", "JobsDeadLetterQueue"))


def test_every_idempotent_route_may_claim_and_finish_its_key(resources):
    """An Idempotency-Key is claimed (GetItem, PutItem) and its answer written after or with the
    effect (UpdateItem): a function with a keyed route lacking one answers 500 on AWS."""
    import sys

    from billing_local.gateway import load_handler

    keyed = set()
    for route in template.routes():
        load_handler(str(route.code_dir), route.handler)
        module = sys.modules[f"function_{route.code_dir.name}_app"]
        if any(getattr(value, "idempotent", False) is True for value in vars(module).values()):
            keyed.add(route.function)
    assert {"ExportFunction", "RechargeFunction", "LockAllFunction"} <= keyed
    for function in keyed:
        actions = {a for s in dynamodb_statements(resources, function) for a in s["Action"]}
        assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"} <= actions, function


def statements(resources: dict, function: str) -> list[dict]:
    return [s for policy in resources[f"{function}Role"]["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def dynamodb_statements(resources: dict, function: str) -> list[dict]:
    role = resources[f"{function}Role"]["Properties"]
    return [s for p in role.get("Policies", []) for s in p["PolicyDocument"]["Statement"]
            if any(a.startswith("dynamodb:") for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))]


# Functions that reach more than tenant items (T#...), statement by statement: the key kind each may touch.
KEY_KINDS = {
    "AuthorizerFunction": [["TOKEN#*"]],
    "WhoAmIFunction": [["TENANT#*"], ["T#*#INVOICING"], ["T#*"], ["T#*#TOKENS"]],  # the tenant's name; its time zone; its token list (an index) for the caller's label and when it last changed
    "TokensFunction": [["TOKEN#*"], ["TENANT#*"], ["T#*"], ["T#*#TOKENS"]],  # token records; the tenant; its token list; when it changed
}


def test_each_function_reaches_only_its_own_kind_of_key(resources):
    for function in FUNCTIONS:
        statements = dynamodb_statements(resources, function)
        expected = KEY_KINDS.get(function) or [["T#*"]] * len(statements)
        assert len(statements) == len(expected), function
        for statement, kinds in zip(statements, expected):
            assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": kinds}}, function
            assert not any(a.endswith("*") or "Scan" in a or "Delete" in a for a in statement["Action"]), function
    (records, tenant, listing, stamp) = dynamodb_statements(resources, "TokensFunction")
    assert set(records["Action"]) == {"dynamodb:PutItem", "dynamodb:UpdateItem"}  # writes only token records
    assert tenant["Action"] == ["dynamodb:GetItem"] and listing["Action"] == ["dynamodb:Query"]
    assert set(stamp["Action"]) == {"dynamodb:GetItem", "dynamodb:PutItem"}  # when the token list last changed


def test_the_table_and_bucket_keep_and_protect_the_data(resources):
    table = resources["BillingTable"]
    assert table["DeletionPolicy"] == "Retain" and table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert resources["BackupPlan"]["Condition"] == "HasBackupPlan"
    bucket = resources["ExportsBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert "VersioningConfiguration" not in bucket
    (expiry,) = [rule for rule in bucket["LifecycleConfiguration"]["Rules"] if rule["Id"] == "ExpireExports"]
    assert expiry["ExpirationInDays"] == {"Ref": "ExportRetentionDays"}
    denials = resources["ExportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in [d["Condition"] for d in denials if d["Effect"] == "Deny"]


def test_the_bucket_takes_the_consoles_uploads_from_its_origin_only(resources):
    (rule,) = resources["ExportsBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["PUT"] and rule["AllowedHeaders"] == ["content-type"]
    (origin,) = rule["AllowedOrigins"]
    parts = origin["Fn::Join"][1]  # ConsoleUrl's scheme, "//" and host: an origin has no path
    assert parts[1] == "//" and [part["Fn::Select"][0] for part in (parts[0], parts[2])] == [0, 2]
    assert all(part["Fn::Select"][1] == {"Fn::Split": ["/", {"Ref": "ConsoleUrl"}]} for part in (parts[0], parts[2]))


def test_checkov_passes_and_every_skipped_check_says_why():
    checkov = ROOT / ".venv-tools" / "bin" / "checkov"  # its own venv (it pins an old boto3): see the Makefile
    if not checkov.exists():
        pytest.fail(f"{checkov} missing: `make test` installs it (target {checkov.relative_to(ROOT)})")
    done = subprocess.run(
        [str(checkov), "-f", str(ROOT / "template.yaml"), "--framework", "cloudformation", "-o", "json", "--skip-download"],
        capture_output=True, text=True, cwd=str(ROOT), timeout=300,
    )
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]]
    assert failed == [] and done.returncode == 0, failed
    skipped = report["results"]["skipped_checks"]
    assert skipped, "the template names its skipped checks"
    for check in skipped:
        assert len(check["check_result"].get("suppress_comment") or "") > 30, (check["check_id"], check["resource"])
