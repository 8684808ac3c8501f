"""Each function's IAM policy, read from template.yaml, and the verdict AWS would give a call.

A function's `Policies:` (inline policy documents) are resolved the way CloudFormation resolves
them once deployed: `!GetAtt Table.Arn`, `!Sub "${Table.Arn}/index/*"`, `!Ref X` name the table,
bucket and queue the local stack actually runs (their names come from the functions' environment,
as `TABLE_NAME: !Ref BillingTable` in the template's Globals says). A call is allowed when a
statement allows its action on its resource with every condition true and no statement denies it,
as IAM evaluates identity-based policies. Conditions: the String operators (Equals, NotEquals,
Like, NotLike, with the ForAllValues:/ForAnyValue: set qualifiers) over `dynamodb:LeadingKeys`,
the partition key values a request touches (of the index, for an index query) — with IAM's rule
that ForAllValues of an absent key is true. Any other operator or key makes the statement not
match (fail closed).

Every allowed call also records the policy lines it needed (`used()`: each Action, Resource and
LeadingKeys pattern of the statements that allowed it), for the reverse check: a policy line no
call needs (tests/trust/test_least_privilege.py)."""
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from . import template

ACCOUNT = "123456789012"  # moto's account: the ARNs moto itself answers with


@dataclass(frozen=True)
class Check:
    """One authorization AWS makes for a request: an action on a resource, with its context."""

    action: str  # e.g. dynamodb:GetItem, s3:PutObject
    resource: str  # an ARN
    leading_keys: tuple[str, ...] | None = None  # dynamodb:LeadingKeys (None: the request has none)


# ---------------------------------------------------------------- the template, resolved


def physical_names() -> dict[str, str]:
    """Logical id → the name it has here, from the Globals environment (`X: !Ref Logical`) and
    this process's environment (what the functions read)."""
    env = dict((template.load().get("Globals") or {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    for function in template.functions().values():  # a function's own (e.g. USER_POOL_ID: !Ref StaffUserPool)
        env.update((function["Properties"].get("Environment") or {}).get("Variables") or {})
    names = {}
    for variable, value in env.items():
        if isinstance(value, dict) and "Ref" in value and os.environ.get(variable):
            names[value["Ref"]] = os.environ[variable]
    return names


def _arn(logical: str, region: str, names: dict[str, str]) -> str:
    kind = (template.load()["Resources"].get(logical) or {}).get("Type", "")
    name = names.get(logical, logical)
    if kind == "AWS::DynamoDB::Table":
        return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"
    if kind == "AWS::S3::Bucket":
        return f"arn:aws:s3:::{name}"
    if kind == "AWS::SQS::Queue":
        return f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
    if kind == "AWS::Cognito::UserPool":
        return f"arn:aws:cognito-idp:{region}:{ACCOUNT}:userpool/{name}"
    if kind == "AWS::IAM::Role":
        return f"arn:aws:iam::{ACCOUNT}:role/{name}"
    if kind == "AWS::Events::EventBus":
        return f"arn:aws:events:{region}:{ACCOUNT}:event-bus/{name}"
    return f"arn:aws:cloudformation:{region}:{ACCOUNT}:resource/{name}"


def resolve(value, region: str, names: dict[str, str]):
    """A policy value with its intrinsic functions replaced by what they resolve to here."""
    if isinstance(value, list):
        return [resolve(v, region, names) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value and len(value) == 1:
        ref = value["Ref"]
        pseudo = {"AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
        return pseudo.get(ref, names.get(ref, ref))
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return _arn(logical, region, names) if attribute == "Arn" else names.get(logical, logical)
    if "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]

        def one(found: re.Match) -> str:
            name = found.group(1)
            if name.endswith(".Arn"):
                return _arn(name[:-4], region, names)
            return str(resolve({"Ref": name}, region, names))

        return re.sub(r"\$\{([^}!]+)\}", one, text)
    return {k: resolve(v, region, names) for k, v in value.items()}


@dataclass(frozen=True)
class Grant:
    """One line of a function's policy: an Action, a Resource or a `dynamodb:LeadingKeys` value of
    one of its Allow statements, written as template.yaml writes it (e.g. `BillingTable.Arn`,
    `${BillingTable.Arn}/index/*`)."""

    function: str
    statement: str  # its Sid (or "#n", its position)
    field: str  # "Action", "Resource" or "dynamodb:LeadingKeys"
    value: str


def _written(value) -> str:
    """A policy value as the template writes it (an intrinsic function in its short form)."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    if isinstance(value, dict) and "Fn::Sub" in value:
        return value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return str(value)


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _lines(field: str, raw: dict, resolved: dict) -> list[tuple[str, object]]:
    """(as written, as resolved) of each entry of one field of a statement."""
    if field in ("Action", "Resource"):
        return list(zip(map(_written, _listed(raw.get(field, []))), _listed(resolved.get(field, []))))
    found = []
    for qualified, tests in (resolved.get("Condition") or {}).items():
        for key, wanted in tests.items():
            if key.lower() == field.lower():
                found += [(str(value), value) for value in _listed(wanted)]
    return found


@lru_cache(maxsize=64)
def _statements(function: str, region: str, names: tuple) -> tuple[tuple[str, dict, dict], ...]:
    """(key, as written, as resolved) of each inline policy statement of `function`."""
    props = template.functions()[function]["Properties"]
    statements = []
    for policy in props.get("Policies") or ():
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                key = statement.get("Sid") or f"#{len(statements)}"
                statements.append((key, statement, resolve(statement, region, dict(names))))
        # SAM policy templates (e.g. {"DynamoDBReadPolicy": ...}) and managed policy names are not
        # used by this template; a function relying on one is refused what it would grant.
    return tuple(statements)


def statements(function: str, region: str) -> tuple[tuple[str, dict, dict], ...]:
    return _statements(function, region, tuple(sorted(physical_names().items())))


def grants(function: str, region: str = "us-east-1") -> set[Grant]:
    """Every line of `function`'s Allow statements (what the reverse check wants used)."""
    found = set()
    for key, raw, resolved in statements(function, region):
        if resolved.get("Effect") == "Allow":
            for field in ("Action", "Resource", "dynamodb:LeadingKeys"):
                found |= {Grant(function, key, field, written) for written, _ in _lines(field, raw, resolved)}
    return found


def functions() -> set[str]:
    return set(template.functions())


# ---------------------------------------------------------------- evaluation


@lru_cache(maxsize=1024)
def _pattern(text: str, case: bool = True) -> re.Pattern:
    expression = "^" + re.escape(text).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.compile(expression, 0 if case else re.IGNORECASE)


def _matches(patterns, value: str, case: bool = True) -> bool:
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(_pattern(str(p), case).match(value) for p in patterns)


def _operator_true(operator: str, wanted, actual: str) -> bool:
    wanted = wanted if isinstance(wanted, list) else [wanted]
    if operator == "StringEquals":
        return actual in [str(w) for w in wanted]
    if operator == "StringNotEquals":
        return actual not in [str(w) for w in wanted]
    if operator == "StringLike":
        return _matches(wanted, actual)
    if operator == "StringNotLike":
        return not _matches(wanted, actual)
    raise KeyError(operator)


def _condition_true(condition: dict, check: Check) -> bool:
    for qualified, tests in condition.items():
        qualifier, _, operator = qualified.rpartition(":")
        for key, wanted in tests.items():
            if key.lower() != "dynamodb:leadingkeys":
                return False  # a key this store does not know: the statement cannot be shown to apply
            values = check.leading_keys
            try:
                if qualifier == "ForAllValues":
                    ok = values is None or all(_operator_true(operator, wanted, v) for v in values)
                elif qualifier == "ForAnyValue":
                    ok = values is not None and any(_operator_true(operator, wanted, v) for v in values)
                elif qualifier == "":
                    ok = values is not None and len(values) == 1 and _operator_true(operator, wanted, values[0])
                else:
                    return False
            except KeyError:
                return False  # an operator this store does not evaluate: fail closed
            if not ok:
                return False
    return True


def _applies(statement: dict, check: Check) -> bool:
    if "Action" not in statement or "Resource" not in statement:
        return False  # NotAction / NotResource are not used here: fail closed
    if not _matches(statement["Action"], check.action, case=False):
        return False
    if not _matches(statement["Resource"], check.resource):
        return False
    return _condition_true(statement.get("Condition") or {}, check)


def allowed(function: str, check: Check, region: str) -> bool:
    return first_denied(function, [check], region) is None


def first_denied(function: str, checks, region: str) -> Check | None:
    """The first check of a request its function's policy refuses (None: all allowed, and the
    lines of the statements that allowed them are recorded as used)."""
    used = []
    for check in checks:
        found = [(key, raw, s) for key, raw, s in statements(function, region) if _applies(s, check)]
        if not found or any(s.get("Effect") == "Deny" for _, _, s in found):
            return check
        used += [(check, statement) for statement in found]
    with _used_lock:
        for check, (key, raw, resolved) in used:
            _used.update(_credited(function, check, key, raw, resolved))
    return None


# ---------------------------------------------------------------- what the allowed calls used
# Every allowed call records the policy lines it needed (bounded: a template's lines, never a
# call's keys), so a test can show each line of each policy needed by some call (least privilege).

_used: set[Grant] = set()
_used_lock = threading.Lock()


def _credited(function: str, check: Check, key: str, raw: dict, resolved: dict) -> set[Grant]:
    def grant(field, written):
        return Grant(function, key, field, written)

    found = {grant("Action", w) for w, v in _lines("Action", raw, resolved) if _matches(v, check.action, case=False)}
    found |= {grant("Resource", w) for w, v in _lines("Resource", raw, resolved) if _matches(v, check.resource)}
    for written, value in _lines("dynamodb:LeadingKeys", raw, resolved):
        if any(_matches(value, leading) for leading in check.leading_keys or ()):
            found.add(grant("dynamodb:LeadingKeys", written))
    return found


def used() -> set[Grant]:
    """The policy lines the calls allowed since the last `forget_used()` needed."""
    with _used_lock:
        return set(_used)


def forget_used() -> None:
    with _used_lock:
        _used.clear()


def principal(function: str) -> str:
    """The ARN a function's calls are made as (its role, assumed by Lambda for it)."""
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/billing-local-{function}Role/{function}"


def denial_message(function: str, check: Check) -> str:
    return (f"User: {principal(function)} is not authorized to perform: {check.action} on resource: {check.resource} "
            f"because no identity-based policy allows the {check.action} action")
