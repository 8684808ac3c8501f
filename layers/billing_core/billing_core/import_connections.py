"""Scheduled pulls from the tools with a web API: an admin stores a connection (the tool, its
credentials, a schedule and the import's mapping), the credentials go to AWS Secrets Manager
(never to the table or a log), and an EventBridge Scheduler schedule per connection invokes the
pull function, which reads the connection's cursor, pulls and records page by page (pulls.py)
and writes the run's outcome, shown by `GET /v1/imports/connections`. One connection's vendor
failing stops that connection's run only: each schedule invokes its own pull."""
import hashlib
import json
import re
import time

from . import fields, importing, jsonio, settings
from .dal import import_connections as stored
from .errors import InvalidInput, NotFound

SOURCES = ("teamviewer", "anydesk")
CONNECTION_FIELDS = ("source", "credentials", "schedule", "group_id", "group_mapping", "technician_mapping")
CREDENTIALS = {"teamviewer": ("token",), "anydesk": ("license_id", "api_password")}
DEFAULT_SCHEDULE = "rate(1 hour)"
_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_RATE = re.compile(r"rate\((\d{1,4}) (minute|minutes|hour|hours|day|days)\)")
MIN_MINUTES = 15


def _schedule(value) -> str:
    if value is None:
        return DEFAULT_SCHEDULE
    found = _RATE.fullmatch(value) if isinstance(value, str) else None
    if not found:
        raise InvalidInput("schedule", 'must be a rate such as "rate(1 hour)" or "rate(30 minutes)"')
    amount, unit = int(found.group(1)), found.group(2)
    minutes = amount * {"minute": 1, "hour": 60, "day": 1440}[unit.rstrip("s")]
    if minutes < MIN_MINUTES or (amount == 1) != (not unit.endswith("s")):
        raise InvalidInput("schedule", f"must be at least every {MIN_MINUTES} minutes, written as \"rate(1 hour)\" or \"rate(2 hours)\"")
    return value


def _credentials(source: str, value) -> dict:
    names = CREDENTIALS[source]
    if not isinstance(value, dict):
        raise InvalidInput("credentials", f"must be an object {{{', '.join(names)}}}")
    for name in names:
        secret = value.get(name)
        if not isinstance(secret, str) or not secret.strip() or len(secret) > 2048 or not secret.isprintable():
            raise InvalidInput(f"credentials.{name}", "is required: printable text of at most 2,048 characters")
    for name in value:
        if name not in names:
            raise InvalidInput(f"credentials.{name}", f"is not a credential of {source} (" + ", ".join(names) + ")")
    return {name: value[name] for name in names}


def secret_name(tenant_id: str, connection_id: str) -> str:
    return f"billing/{tenant_id}/imports/{connection_id}"


def schedule_name(tenant_id: str, connection_id: str) -> str:
    """EventBridge Scheduler names are at most 64 characters: a digest of the tenant and the id."""
    return "import-" + hashlib.sha256(f"{tenant_id}/{connection_id}".encode()).hexdigest()[:40]


def _client(service: str):
    import boto3  # only the connection routes and the pull pay for it

    return boto3.client(service, endpoint_url=settings.aws_endpoint_url(), region_name=settings.region())


def _store_secret(name: str, credentials: dict) -> None:
    client, text = _client("secretsmanager"), json.dumps(credentials)
    try:
        client.put_secret_value(SecretId=name, SecretString=text)
    except client.exceptions.ResourceNotFoundException:
        client.create_secret(Name=name, SecretString=text, Description="credentials of a scheduled import (billing)")


def _schedule_pull(tenant_id: str, connection_id: str, expression: str) -> str:
    """The connection's schedule: created or updated; 'not scheduled' where no pull function is
    named (the local stack runs a pull when asked, as the tests do)."""
    target, role = settings.import_pull_function_arn(), settings.import_scheduler_role_arn()
    if not target or not role:
        return "not scheduled"
    client = _client("scheduler")
    arguments = dict(Name=schedule_name(tenant_id, connection_id), ScheduleExpression=expression,
                     FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
                     Target={"Arn": target, "RoleArn": role,
                             "Input": json.dumps({"tenant_id": tenant_id, "connection_id": connection_id}),
                             "RetryPolicy": {"MaximumRetryAttempts": 0}})  # the next run goes on from the cursor
    try:
        client.update_schedule(**arguments)
    except client.exceptions.ResourceNotFoundException:
        client.create_schedule(**arguments)
    return "scheduled"


def _unschedule(tenant_id: str, connection_id: str) -> str:
    """The connection's schedule deleted (none to delete where no pull function is named)."""
    if not settings.import_pull_function_arn():
        return "not scheduled"
    client = _client("scheduler")
    try:
        client.delete_schedule(Name=schedule_name(tenant_id, connection_id))
    except client.exceptions.ResourceNotFoundException:
        pass
    return "unscheduled"


def _delete_secret(name: str) -> None:
    """At once, without Secrets Manager's recovery window: the same connection id stored again
    creates its secret again (a secret pending deletion would refuse that name for 7 to 30 days)."""
    client = _client("secretsmanager")
    try:
        client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    except client.exceptions.ResourceNotFoundException:
        pass


def connection_view(item, scheduled: str | None = None) -> dict:
    options = jsonio.parse_object(item.options, "options")
    view = {"connection_id": item.connection_id, "source": options["source"], "schedule": item.schedule,
            "group_id": options.get("group_id"), "last_run": json.loads(item.last_run) if item.last_run else None}
    if scheduled is not None:
        view["scheduled"] = scheduled
    return view


def put_connection(tenant_id: str, connection_id: str, values: dict) -> dict:
    if not isinstance(connection_id, str) or not _ID.fullmatch(connection_id):
        raise InvalidInput("connection_id", "must be 1 to 64 letters, digits, '_', '.' or '-'")
    source = values.get("source")
    if source not in SOURCES:
        raise InvalidInput("source", "must be one of " + ", ".join(SOURCES) + " (the tools with a web API)")
    credentials = _credentials(source, values.get("credentials"))
    expression = _schedule(values.get("schedule"))
    options = importing.parse_options({k: values[k] for k in ("source", "group_id", "group_mapping", "technician_mapping") if k in values})
    _store_secret(secret_name(tenant_id, connection_id), credentials)
    item = stored.put_connection(tenant_id, connection_id, options.state(), expression, fields.utc_now())
    return connection_view(item, _schedule_pull(tenant_id, connection_id, expression))


def delete_connection(tenant_id: str, connection_id: str) -> dict:
    """Stops the connection's pulls and forgets it: its schedule first (no run starts after), then
    its credentials, then its item (its cursor and last run). Another tenant's id is not found."""
    if not isinstance(connection_id, str) or not _ID.fullmatch(connection_id):
        raise InvalidInput("connection_id", "must be 1 to 64 letters, digits, '_', '.' or '-'")
    item = stored.read_connection(tenant_id, connection_id)
    if item is None:
        raise NotFound(f"connection {connection_id} not found")
    scheduled = _unschedule(tenant_id, connection_id)
    _delete_secret(secret_name(tenant_id, connection_id))
    if stored.delete_connection(tenant_id, connection_id, fields.utc_now()) is None:
        raise NotFound(f"connection {connection_id} not found")
    return connection_view(item, scheduled)


def list_connections(tenant_id: str) -> dict:
    return {"connections": [connection_view(item) for item in sorted(stored.connections(tenant_id), key=lambda i: i.connection_id)]}


def run_pull(tenant_id: str, connection_id: str, time_left, actor: str = "schedule:pull") -> dict:
    """One scheduled run: the connection's pages since its cursor, recorded; its outcome saved."""
    from . import pulls  # the pull function's own (HTTP clients of the tools): never the connections API's

    removed = {"status": "removed", "reason": "the connection was removed", "pages": 0}
    item = stored.read_connection(tenant_id, connection_id)
    if item is None:  # a run its schedule started just before the connection was deleted
        return removed
    options = importing.ImportOptions(**jsonio.parse_object(item.options, "options"))
    client = _client("secretsmanager")
    try:
        secret = client.get_secret_value(SecretId=secret_name(tenant_id, connection_id))["SecretString"]
    except client.exceptions.ResourceNotFoundException:  # being deleted: its secret goes before its item
        return removed
    started = time.monotonic()

    def save(cursor: dict, _) -> None:
        if not stored.save_cursor(item, cursor, fields.utc_now()):
            raise pulls.Stop("removed", "the connection was removed during the run")

    result = pulls.pull(tenant_id, options, json.loads(secret), json.loads(item.cursor) if item.cursor else None,
                        save=save, time_left=time_left, actor=actor)
    run = {"at": fields.utc_text(fields.utc_now()), "status": result.status, "reason": result.reason, "pages": result.pages,
           "milliseconds": int(1000 * (time.monotonic() - started)),
           **{name: result.summary.get(name, 0) for name in ("rows", "imported", "duplicates", "below_minimum", "conflict_count",
                                                              "rejected_count")}}
    stored.save_run(item, run, fields.utc_now())
    return run
