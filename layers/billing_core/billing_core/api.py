"""The HTTP glue every function shares: who is calling (from the authorizer's context), which
roles a route admits, the request body, and the one mapping of domain errors to HTTP answers."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable
from urllib.parse import unquote, unquote_to_bytes

from . import actors, deadline, fields, jsonio, observability
from .dal import store as storage
from .errors import BillingError, Forbidden, InvalidInput, NotFound, TooLarge, Unauthenticated, Unavailable
from .observability import logger

if TYPE_CHECKING:  # a keyed request loads idempotency (_run): GET handlers never do
    from . import idempotency

ADMIN, TECHNICIAN, FINANCE, AGENT = "admin", "technician", "finance", "agent"
ROLES = (ADMIN, TECHNICIAN, FINANCE, AGENT)
STAFF = (ADMIN, TECHNICIAN, FINANCE)


@dataclass
class Response:
    status: int
    body: dict
    headers: dict = field(default_factory=dict)


@dataclass
class Request:
    tenant_id: str
    role: str
    actor: str  # who did it, as the audit keeps it (billing_core.actors; never the token itself)
    route: str
    path: dict
    query: dict
    raw_body: str | None
    claim: idempotency.Claim | None = None  # this request's Idempotency-Key, when it sent one
    caller: actors.Actor | None = None  # the same actor, parsed

    def __post_init__(self):
        if self.caller is None:
            self.caller = actors.parse(self.actor)

    def path_id(self, name: str) -> str:
        return fields.identifier(name, self.path.get(name))

    def no_query(self) -> None:
        """A route without parameters refuses any, by name."""
        if self.query:
            raise InvalidInput(sorted(self.query)[0], "is not a parameter of this route")

    def body(self, allowed: Iterable[str], max_bytes: int = jsonio.MAX_BODY_BYTES) -> dict:
        """The JSON body, refusing a field not `allowed`; larger than `max_bytes` is a 413 (1 MB but
        where a route takes a file's text: an import)."""
        values = jsonio.parse_object(self.raw_body, max_bytes=max_bytes)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise InvalidInput(unknown[0], "is not a field of this request")
        return values


def progress(state: str, body: dict) -> Response:
    """The answer of work that may outlive its request: 200 once finished, 202 while it goes on."""
    return Response(200 if state == "finished" else 202, body)


def _raw_body(event: dict) -> str | None:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        if len(body) > jsonio.MAX_BODY_BYTES * 4 // 3 + 4:
            raise TooLarge(f"the request body is larger than {jsonio.MAX_BODY_BYTES} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise InvalidInput("body", "must be UTF-8 JSON") from None
        if len(raw) > jsonio.MAX_BODY_BYTES:
            raise TooLarge(f"the request body is larger than {jsonio.MAX_BODY_BYTES} bytes")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("body", "must be UTF-8 JSON") from None
    return body


def _not_utf8(raw: str) -> bool:
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _utf8_only(event: dict) -> None:
    """API Gateway decodes percent-encoded bytes that are not UTF-8 (`%ff`, a cut sequence, an
    encoded surrogate) as U+FFFD, so `/groups/%ff` and `/groups/%fe` would name one group: such a
    path segment or query parameter is refused, naming the parameter it fills."""
    path = event.get("pathParameters") or {}
    for segment in (event.get("rawPath") or "").split("/"):
        if "%" in segment and _not_utf8(segment):
            replaced = unquote(segment, errors="replace")
            named = [name for name, value in path.items() if value == replaced] or sorted(path) or ["path"]
            raise InvalidInput(named[0], "must be UTF-8 text (the path holds bytes that are not)")
    for pair in (event.get("rawQueryString") or "").split("&"):
        name, _, value = pair.partition("=")
        if "%" in pair and _not_utf8(value.replace("+", " ")):
            raise InvalidInput(unquote(name, errors="replace"), "must be UTF-8 text (the query holds bytes that are not)")
        if "%" in name and _not_utf8(name):
            raise InvalidInput("query", "parameter names must be UTF-8 text")


def _groups(value) -> list[str]:
    """`cognito:groups` as the JWT authorizer hands it over: a list, or its text form `[a b]`."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in str(value or "").strip("[]").replace(",", " ").split() if part]


def identity(event: dict) -> actors.Actor:
    """Who calls, from whichever authorizer let the request in: API Gateway's JWT authorizer (a
    person signed in with the user pool: tenant and role from the verified access token's claims)
    or the Lambda authorizer (an API token: its verdict in the context). Nothing else in the
    request (body, path, headers) decides tenant or role."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if "jwt" in authorizer:
        claims = (authorizer.get("jwt") or {}).get("claims") or {}
        tenant_id, groups = claims.get("tenant_id") or "", _groups(claims.get("cognito:groups"))
        role = next((r for r in STAFF if r in groups), "")
        if claims.get("token_use") != "access" or not tenant_id or not claims.get("sub"):
            raise Unauthenticated("the bearer token is not a staff access token")
        if not role:
            raise Forbidden("the signed-in user has no staff role (or an admin has not set up MFA yet)")
        name = claims.get("name") or claims.get("email") or None
        return actors.Actor(actors.USER, claims["sub"], name, role, tenant_id)
    context = authorizer.get("lambda") or {}
    tenant_id, role = context.get("tenant_id") or "", context.get("role") or ""
    if not tenant_id or role not in ROLES:
        reason = context.get("denied") or "missing_token"
        raise Unauthenticated(
            "a valid bearer token is required" if reason == "missing_token" else "the bearer token is unknown or revoked"
        )
    return actors.Actor(actors.TOKEN, context.get("token_id") or "", None, role, tenant_id)


def answer(status: int, body: dict, headers: dict | None = None) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store", **(headers or {})},
        "body": jsonio.dumps(body),
    }


def error_answer(error: BillingError) -> dict:
    headers = {"retry-after": str(error.retry_after_seconds)} if isinstance(error, Unavailable) else None
    return answer(error.status, {"error": {"code": error.code, "message": error.message}}, headers)


def route(*roles: str, idempotent: bool = False, status: int = 200, replayed: Callable[[str, dict], dict] | None = None,
          kept: tuple[Callable, Callable] | None = None):
    """Declares which roles may call an operation; `idempotent` operations honour an
    Idempotency-Key header (SPEC §8), answering `status` on success; `replayed(tenant_id, body)`
    renews what a first answer holds that expires (an export's link) when it is answered again.
    `kept`: for an answer that can be large, (what of it the key keeps, how to answer it again
    from that)."""

    def mark(operation: Callable[[Request], dict | Response]):
        operation.roles = roles
        operation.idempotent = idempotent
        operation.success_status = status
        operation.replayed = replayed
        operation.kept = kept
        return operation

    return mark


def finished_or_running(finished: bool, body: dict, finished_status: int = 200) -> Response:
    """A long operation's answer: `finished_status` once it is done, 202 while a job goes on."""
    return Response(finished_status if finished else 202, body)


def _run(operation, request: Request, headers: dict) -> tuple[int, dict, dict]:
    """Runs the operation; with an Idempotency-Key, once per key (a repeat answers the first)."""
    key = headers.get("idempotency-key") if operation.idempotent else None  # idempotency.HEADER
    if key is None:
        result = operation(request)
        return (result.status, result.body, result.headers) if isinstance(result, Response) else (200, result, {})
    from . import idempotency

    key = idempotency.parse_key(key)
    where = f"{request.route} {sorted(request.path.items())}"
    try:
        request.claim = idempotency.claim(request.tenant_id, key, where, request.raw_body)
    except idempotency.Replay as replay:
        body = operation.kept[1](request, replay.body) if getattr(operation, "kept", None) else replay.body
        body = operation.replayed(request.tenant_id, body) if operation.replayed else body
        return replay.status, body, {"idempotent-replayed": "true"}
    request.claim.status = operation.success_status
    try:
        result = operation(request)
    except BaseException:
        request.claim.release()
        raise
    status, body, extra = (result.status, result.body, result.headers) if isinstance(result, Response) else (200, result, {})
    if not request.claim.saved:
        request.claim.status = status
        request.claim.finish(operation.kept[0](body) if getattr(operation, "kept", None) else body)
    return status, body, extra


def handler(*operations: Callable, routes: dict[str, Callable] | None = None):
    """The Lambda entry point of one function. One operation, or `routes` by API Gateway routeKey."""

    def lambda_handler(event: dict, context=None) -> dict:
        started = deadline.start(context)
        observability.begin(context, (event.get("requestContext") or {}).get("requestId"))
        try:
            answered = _answer(event)
        finally:
            observability.flush()
            deadline.stop(started)
        return answered

    def _answer(event: dict) -> dict:
        try:
            caller = identity(event)
            tenant_id, role = caller.tenant_id, caller.role
            observability.set_tenant(tenant_id)
            route_key = event.get("routeKey") or ""
            operation = routes.get(route_key) if routes else operations[0]
            if operation is None:
                raise NotFound(f"no route {route_key}")
            if role not in operation.roles:
                raise Forbidden(f"the {role} role may not call {route_key or operation.__name__}")
            _utf8_only(event)
            request = Request(
                tenant_id=tenant_id,
                role=role,
                actor=caller.text,
                route=route_key,
                path=event.get("pathParameters") or {},
                query=event.get("queryStringParameters") or {},
                raw_body=_raw_body(event),
            )
            status, body, headers = _run(operation, request, {k.lower(): v for k, v in (event.get("headers") or {}).items()})
            logger.debug("answered", extra={"route": route_key, "status": status})
            return answer(status, body, headers)
        except BillingError as error:
            if error.status >= 500:
                logger.warning("answered %s %s: %s", error.status, error.code, error.message)
                observability.count("ServerErrors")
            else:
                logger.info("refused", extra={"route": event.get("routeKey"), "status": error.status, "code": error.code})
                observability.count("ClientErrors")
            return error_answer(error)
        except Exception as error:  # the last line of defence: log it, never show a stack trace
            if storage.is_transient(error):  # throttled, timed out or disconnected past the retries
                logger.warning("store still failing after retries: %s", error)
                observability.count("ServerErrors")
                return error_answer(Unavailable("the store is busy just now; retry"))
            logger.exception("unexpected error")
            observability.count("ServerErrors")
            return answer(500, {"error": {"code": "internal_error", "message": "an unexpected error occurred"}})

    return lambda_handler
