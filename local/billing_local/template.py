"""Reads template.yaml: the routes, functions, table and bucket that are deployed are what the
local stack and the tests run. Nothing here restates the template."""
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) read as their long forms."""


def _tag(loader, tag_suffix, node):
    name = tag_suffix.lstrip("!")
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if name == "Ref":
        return {"Ref": value}
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{name}": value}


_CfnLoader.add_multi_constructor("!", _tag)


@lru_cache(maxsize=None)
def load(path: Path = TEMPLATE) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared, e.g. /v1/sessions/{session_id}
    function: str  # logical id
    code_dir: Path
    handler: str
    api: str = ""  # logical id of the HTTP API it belongs to

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def pattern(self) -> re.Pattern:
        return re.compile("^" + re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$")


def _resources(kind: str) -> dict:
    return {name: r for name, r in load()["Resources"].items() if r.get("Type") == kind}


def functions() -> dict[str, dict]:
    return _resources("AWS::Serverless::Function")


def function_globals() -> dict:
    return (load().get("Globals") or {}).get("Function") or {}


def routes(api: str | None = None) -> list[Route]:
    """The routes of one HTTP API (default: the API tokens' one, behind the Lambda authorizer; the
    staff API, behind the JWT authorizer, declares the same routes)."""
    api = api or token_api()
    found = []
    for name, function in functions().items():
        props = function["Properties"]
        for event in (props.get("Events") or {}).values():
            if event.get("Type") != "HttpApi" or event["Properties"].get("ApiId", {}).get("Ref") != api:
                continue
            found.append(Route(
                method=event["Properties"]["Method"].upper(),
                path=event["Properties"]["Path"],
                function=name,
                code_dir=ROOT / props["CodeUri"],
                handler=props["Handler"],
                api=api,
            ))
    return found


def _default_authorizer(api: str | None = None) -> dict:
    auth = _resources("AWS::Serverless::HttpApi")[api or token_api()]["Properties"]["Auth"]
    return auth["Authorizers"][auth["DefaultAuthorizer"]]


def _api_with(kind: str) -> str:
    (name,) = [name for name in _resources("AWS::Serverless::HttpApi") if kind in _default_authorizer(name)]
    return name


def token_api() -> str:
    """The HTTP API whose default authorizer is the Lambda authorizer (API tokens)."""
    return _api_with("FunctionArn")


def staff_api() -> str:
    """The HTTP API whose default authorizer is API Gateway's JWT authorizer (staff users)."""
    return _api_with("JwtConfiguration")


def jwt_authorizer() -> dict:
    """The staff API's JWT authorizer as declared: {issuer (a template string with ${AWS::Region}
    and ${<user pool>}), audience (logical ids of app clients), scopes}."""
    authorizer = _default_authorizer(staff_api())
    config = authorizer["JwtConfiguration"]
    issuer = config["issuer"]["Fn::Sub"] if isinstance(config["issuer"], dict) else config["issuer"]
    audience = [a["Ref"] if isinstance(a, dict) else a for a in config.get("audience") or ()]
    return {"issuer": issuer, "audience": audience, "scopes": tuple(authorizer.get("AuthorizationScopes") or ())}


def user_pool() -> tuple[str, dict]:
    """(logical id, properties) of the staff user pool."""
    ((name, pool),) = _resources("AWS::Cognito::UserPool").items()
    return name, pool["Properties"]


def user_pool_clients() -> dict[str, dict]:
    return {name: r["Properties"] for name, r in _resources("AWS::Cognito::UserPoolClient").items()}


def user_pool_groups() -> list[str]:
    return [r["Properties"]["GroupName"] for r in _resources("AWS::Cognito::UserPoolGroup").values()]


def token_trigger_function() -> str | None:
    """The function the user pool runs before it issues tokens (its pre token generation trigger)."""
    config = (user_pool()[1].get("LambdaConfig") or {}).get("PreTokenGenerationConfig") or {}
    arn = config.get("LambdaArn")
    return arn["Ref"].split(".", 1)[0] if isinstance(arn, dict) and "Ref" in arn else None


def authorizer_function() -> str:
    """The logical id of the function behind the HTTP API's default authorizer (its ARN is
    `!GetAtt F.Arn`, or `!Ref F.Alias` when it is published behind an alias)."""
    arn = _default_authorizer()["FunctionArn"]
    if "Ref" in arn:
        return arn["Ref"].split(".", 1)[0]
    return arn["Fn::GetAtt"][0]


def authorizer_identity_headers() -> tuple[str, ...]:
    """The headers the authorizer's identity source names: API Gateway answers 401 itself, without
    running the authorizer, when one is missing."""
    return tuple(h.lower() for h in (_default_authorizer().get("Identity") or {}).get("Headers") or ())


def table_properties() -> dict:
    (table,) = _resources("AWS::DynamoDB::Table").values()
    return table["Properties"]


def create_table(dynamodb_client, table_name: str) -> None:
    """Creates the table exactly as the template declares its keys and indexes."""
    props = table_properties()
    kwargs = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    dynamodb_client.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb_client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)


def create_bucket(s3_client, bucket: str) -> None:
    s3_client.create_bucket(Bucket=bucket)
    s3_client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
    })
