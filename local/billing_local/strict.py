"""What the embedded store refuses as AWS refuses it (on by default; each rule switchable):

- **iam**: a call made inside a function's invocation (billing_local.identity) is checked against
  that function's own policy in template.yaml (billing_local.iam): every action of a request —
  a transaction is authorised per action it holds (PutItem, UpdateItem, DeleteItem,
  ConditionCheckItem), a batch as BatchGetItem / BatchWriteItem — on the table, or on
  `table/<name>/index/<index>` for an index query, with the request's partition keys as
  `dynamodb:LeadingKeys`; S3 calls as their S3 actions on the object or bucket ARN (a presigned
  link's as the function that signed it, billing_local.identity); Secrets
  Manager calls on the secret's ARN, EventBridge's PutEvents on each entry's bus, a Scheduler
  call on its schedule with iam:PassRole of the role its target names (the jobs queue
  checks its own: billing_local.jobqueue). A refused call is answered as AWS answers it (DynamoDB,
  Secrets Manager, EventBridge: 400 AccessDeniedException; S3: 403 AccessDenied). Every allowed
  call records the policy lines it needed (billing_local.iam.used), for the reverse check: no
  line that no call needs.
- **limits**: an item over 400 KB (attribute names plus values, DynamoDB's rule), more than 100
  actions or 4 MB in a transaction, more than 25 writes in a BatchWriteItem or 100 keys in a
  BatchGetItem: ValidationException (inside a transaction, an oversized item cancels it with the
  reason ValidationError, never ConditionalCheckFailed).
- **timeouts**: a call made by an invocation past its function's Timeout is refused: Lambda has
  frozen or ended that invocation, it makes no more calls.
- **index_lag_ms**: how far behind the table its global secondary indexes answer (billing_local.gsi).
"""
import base64
import json
import re
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation

from . import iam

ITEM_BYTES = 400 * 1024
TRANSACTION_ACTIONS = 100
TRANSACTION_BYTES = 4 * 1024 * 1024
BATCH_WRITES = 25
BATCH_KEYS = 100
DEFAULT_INDEX_LAG_MS = 200


@dataclass
class Rules:
    iam: bool = True
    limits: bool = True
    timeouts: bool = True
    index_lag_ms: int = DEFAULT_INDEX_LAG_MS

    def describe(self) -> dict:
        return asdict(self)

    def update(self, wanted: dict) -> str | None:
        """Applies {"iam": false, "index_lag_ms": 0, ...}; answers what is wrong with it, if anything."""
        known = {f.name for f in fields(self)}
        for name, value in wanted.items():
            if name not in known:
                return f"{name!r} is not one of {', '.join(sorted(known))}"
            if name == "index_lag_ms":
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
                    return "index_lag_ms must be a whole number of milliseconds from 0 to 600000"
            elif not isinstance(value, bool):
                return f"{name} must be true or false"
        for name, value in wanted.items():
            setattr(self, name, value)
        return None


def add_arguments(parser) -> None:
    """The command-line switches of the rules (the stack's and the store's)."""
    parser.add_argument("--index-lag", type=int, default=DEFAULT_INDEX_LAG_MS, metavar="MS",
                        help=f"global secondary indexes answer as of up to MS ago (default {DEFAULT_INDEX_LAG_MS}; 0: at once)")
    parser.add_argument("--no-iam", action="store_true", help="do not check calls against each function's IAM policy")
    parser.add_argument("--no-limits", action="store_true", help="do not refuse oversized items, transactions and batches")
    parser.add_argument("--no-timeouts", action="store_true", help="let an invocation run past its function's Timeout")


def from_arguments(args) -> Rules:
    if not 0 <= args.index_lag <= 600_000:
        raise ValueError("--index-lag must be from 0 to 600000 milliseconds")
    return Rules(iam=not args.no_iam, limits=not args.no_limits, timeouts=not args.no_timeouts, index_lag_ms=args.index_lag)


# ---------------------------------------------------------------- sizes (DynamoDB's rule)


def _number_size(text: str) -> int:
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        return len(text)
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(_number_size(v) for v in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(v)) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    return 0


def item_size(item: dict) -> int:
    """An item's size as DynamoDB counts it: each attribute's name (UTF-8) plus its value."""
    try:
        return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())
    except (AttributeError, TypeError, ValueError):
        return 0  # malformed: moto refuses it with its own ValidationException


def moto_item_json(item) -> dict:
    return json.loads(json.dumps(item.to_json()["Attributes"], default=str))


# ---------------------------------------------------------------- limits


def limit_refusal(operation: str, request: dict) -> tuple[str, str, list | None] | None:
    """(error kind, message, cancellation reasons) when `request` breaks a limit before anything
    is applied, else None. Kinds: "validation", "cancelled"."""
    if operation in ("PutItem",) and item_size(request.get("Item") or {}) > ITEM_BYTES:
        return "validation", "Item size has exceeded the maximum allowed size", None
    if operation == "BatchWriteItem":
        writes = [w for ws in (request.get("RequestItems") or {}).values() for w in ws]
        if len(writes) > BATCH_WRITES:
            return "validation", ("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                                  f"Map value must satisfy constraint: [Member must have length less than or equal to {BATCH_WRITES}, "
                                  "Member must have length greater than or equal to 1]"), None
        if any(item_size((w.get("PutRequest") or {}).get("Item") or {}) > ITEM_BYTES for w in writes):
            return "validation", "Item size has exceeded the maximum allowed size", None
    if operation == "BatchGetItem":
        keys = sum(len((t or {}).get("Keys") or []) for t in (request.get("RequestItems") or {}).values())
        if keys > BATCH_KEYS:
            return "validation", "Too many items requested for the BatchGetItem call", None
    if operation == "TransactWriteItems":
        actions = request.get("TransactItems") or []
        if len(actions) > TRANSACTION_ACTIONS:
            return "validation", ("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
                                  f"Member must have length less than or equal to {TRANSACTION_ACTIONS}"), None
        sizes = [item_size((a.get("Put") or {}).get("Item") or {}) or len(json.dumps(a)) for a in actions]
        if sum(sizes) > TRANSACTION_BYTES:
            return "validation", "Transaction request cannot be larger than 4 MB", None
        oversized = [size > ITEM_BYTES and "Put" in action for size, action in zip(sizes, actions)]
        if any(oversized):
            return "cancelled", "Item size has exceeded the maximum allowed size", oversized
    return None


# ---------------------------------------------------------------- what a request asks IAM for


def _hash_value(key: dict | None, attr: str | None) -> str | None:
    if not key or not attr or attr not in key:
        return None
    (_, value), = key[attr].items()
    return str(value)


def dynamodb_checks(operation: str, request: dict, region: str, hash_attr_of) -> list[iam.Check]:
    """Every authorisation DynamoDB makes for `request`. `hash_attr_of(table, index or None)` →
    the partition key attribute name (None: unknown table)."""
    def table_arn(name: str) -> str:
        return f"arn:aws:dynamodb:{region}:{iam.ACCOUNT}:table/{name}"

    def one(action: str, name: str, key: dict | None) -> iam.Check:
        value = _hash_value(key, hash_attr_of(name, None))
        return iam.Check(f"dynamodb:{action}", table_arn(name), (value,) if value is not None else None)

    checks = []
    if operation in ("GetItem", "UpdateItem", "DeleteItem"):
        checks.append(one(operation, request.get("TableName", ""), request.get("Key")))
    elif operation == "PutItem":
        checks.append(one(operation, request.get("TableName", ""), request.get("Item")))
    elif operation in ("Query", "Scan"):
        name, index = request.get("TableName", ""), request.get("IndexName")
        resource = table_arn(name) + (f"/index/{index}" if index else "")
        leading = _query_leading_key(request, hash_attr_of(name, index)) if operation == "Query" else None
        checks.append(iam.Check(f"dynamodb:{operation}", resource, leading))
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for name, asked in (request.get("RequestItems") or {}).items():
            attr = hash_attr_of(name, None)
            if operation == "BatchGetItem":
                keys = (asked or {}).get("Keys") or []
            else:
                keys = [(w.get("PutRequest") or {}).get("Item") or (w.get("DeleteRequest") or {}).get("Key") for w in asked or []]
            values = tuple(v for v in (_hash_value(k, attr) for k in keys) if v is not None)
            checks.append(iam.Check(f"dynamodb:{operation}", table_arn(name), values or None))
    elif operation in ("TransactWriteItems", "TransactGetItems"):
        actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
        for entry in request.get("TransactItems") or []:
            for kind, body in entry.items():
                if kind in actions and isinstance(body, dict):
                    checks.append(one(actions[kind], body.get("TableName", ""), body.get("Item") if kind == "Put" else body.get("Key")))
    elif operation == "ListTables":
        checks.append(iam.Check("dynamodb:ListTables", "*"))
    else:
        checks.append(iam.Check(f"dynamodb:{operation}", table_arn(request.get("TableName") or "*")))
    return checks


_EQUALS = re.compile(r"([#:]?[\w.]+)\s*=\s*([#:]?[\w.]+)")


def _query_leading_key(request: dict, attr: str | None) -> tuple[str, ...] | None:
    """The partition key value a Query names in its key condition (the index's, on an index).
    A key condition this cannot read answers ("",): no LeadingKeys condition matches it (fail
    closed, as IAM always knows the value)."""
    if attr is None:
        return None
    expression = request.get("KeyConditionExpression")
    if not expression:
        conditions = request.get("KeyConditions") or {}
        found = (conditions.get(attr) or {}).get("AttributeValueList") or []
        return (str(next(iter(found[0].values()))),) if found else ("",)
    names, values = request.get("ExpressionAttributeNames") or {}, request.get("ExpressionAttributeValues") or {}
    for left, right in _EQUALS.findall(expression):
        name, value = (left, right) if right.startswith(":") else (right, left)
        if names.get(name, name) == attr and value in values:
            return (str(next(iter(values[value].values()))),)
    return ("",)


JSON_SERVICES = {"secretsmanager.": "secretsmanager", "AWSEvents.": "events"}  # X-Amz-Target prefix → IAM prefix


def json_service_checks(target: str, request: dict, region: str) -> list[iam.Check]:
    """The authorisations of a Secrets Manager or EventBridge request (X-Amz-Target `target`)."""
    prefix = next(p for p in JSON_SERVICES if target.startswith(p))
    service, operation = JSON_SERVICES[prefix], target[len(prefix):]
    action = f"{service}:{operation}"
    if service == "secretsmanager":
        name = request.get("SecretId") or request.get("Name")
        if not name:
            return [iam.Check(action, "*")]  # ListSecrets, GetRandomPassword: no resource
        return [iam.Check(action, name if name.startswith("arn:") else f"arn:aws:secretsmanager:{region}:{iam.ACCOUNT}:secret:{name}")]
    if operation == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in request.get("Entries") or []}
        return [iam.Check(action, bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{iam.ACCOUNT}:event-bus/{bus}")
                for bus in sorted(buses)]
    name = request.get("Name") or request.get("EventBusName")
    return [iam.Check(action, f"arn:aws:events:{region}:{iam.ACCOUNT}:event-bus/{name}" if name else "*")]


def scheduler_checks(method: str, path: str, query: dict, request: dict, region: str) -> list[iam.Check]:
    """The authorisations of an EventBridge Scheduler request (REST: /schedules/<name>): its action
    on the schedule's ARN and, for a schedule created or updated, iam:PassRole of its target's role."""
    parts = path.strip("/").split("/")
    if parts[0] != "schedules":  # schedule groups, tags: no function here calls them (refused unless granted)
        return [iam.Check(f"scheduler:{method} /{'/'.join(parts)}", "*")]
    if len(parts) == 1:
        return [iam.Check("scheduler:ListSchedules", "*")]
    action = {"POST": "CreateSchedule", "PUT": "UpdateSchedule", "GET": "GetSchedule", "DELETE": "DeleteSchedule"}.get(method, method)
    group = request.get("GroupName") or (query.get("groupName") or ["default"])[0]
    checks = [iam.Check(f"scheduler:{action}", f"arn:aws:scheduler:{region}:{iam.ACCOUNT}:schedule/{group}/{parts[1]}")]
    role = (request.get("Target") or {}).get("RoleArn")
    if role:
        checks.append(iam.Check("iam:PassRole", role))
    return checks


def s3_check(method: str, bucket: str, key: str, query: dict) -> iam.Check:
    """The S3 action a request is authorised as, on its object (or bucket) ARN."""
    if not bucket:
        return iam.Check("s3:ListAllMyBuckets", "*")
    if not key:
        if method == "GET":
            return iam.Check("s3:ListBucketMultipartUploads" if "uploads" in query else "s3:ListBucket", f"arn:aws:s3:::{bucket}")
        if method == "POST" and "delete" in query:
            return iam.Check("s3:DeleteObject", f"arn:aws:s3:::{bucket}/*")
        return iam.Check({"PUT": "s3:CreateBucket", "DELETE": "s3:DeleteBucket"}.get(method, "s3:ListBucket"), f"arn:aws:s3:::{bucket}")
    resource = f"arn:aws:s3:::{bucket}/{key}"
    if method in ("GET", "HEAD"):
        return iam.Check("s3:ListMultipartUploadParts" if "uploadId" in query else "s3:GetObject", resource)
    if method == "DELETE":
        return iam.Check("s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject", resource)
    return iam.Check("s3:PutObject", resource)  # PUT object, upload part, create / complete multipart upload
