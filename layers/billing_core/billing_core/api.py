"""The HTTP glue every function shares: who is calling (from the authorizer's context), which
roles a route admits, the request body, and the one mapping of domain errors to HTTP answers."""
import base64
import binascii
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import fields, jsonio, observability
from .errors import BillingError, Forbidden, InvalidInput, NotFound, TooLarge, Unauthenticated
from .observability import logger

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
    actor: str  # "<role>:<token_id>": who did it, for the audit history (never the token itself)
    route: str
    path: dict
    query: dict
    raw_body: str | None

    def path_id(self, name: str) -> str:
        return fields.identifier(name, self.path.get(name))

    def body(self, allowed: Iterable[str]) -> dict:
        values = jsonio.parse_object(self.raw_body)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise InvalidInput(unknown[0], "is not a field of this request")
        return values


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


def _caller(event: dict) -> tuple[str, str, str]:
    """Tenant and role come only from the authorizer's verdict on the bearer token."""
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    tenant_id, role = context.get("tenant_id") or "", context.get("role") or ""
    if not tenant_id or role not in ROLES:
        reason = context.get("denied") or "missing_token"
        raise Unauthenticated(
            "a valid bearer token is required" if reason == "missing_token" else "the bearer token is unknown or revoked"
        )
    return tenant_id, role, f"{role}:{context.get('token_id') or ''}"


def answer(status: int, body: dict, headers: dict | None = None) -> dict:
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "cache-control": "no-store", **(headers or {})},
        "body": jsonio.dumps(body),
    }


def error_answer(error: BillingError) -> dict:
    return answer(error.status, {"error": {"code": error.code, "message": error.message}})


def route(*roles: str):
    """Declares which roles may call an operation."""

    def mark(operation: Callable[[Request], dict | Response]):
        operation.roles = roles
        return operation

    return mark


def handler(*operations: Callable, routes: dict[str, Callable] | None = None):
    """The Lambda entry point of one function. One operation, or `routes` by API Gateway routeKey."""

    def lambda_handler(event: dict, context=None) -> dict:
        observability.begin(context, (event.get("requestContext") or {}).get("requestId"))
        try:
            answered = _answer(event)
        finally:
            observability.flush()
        return answered

    def _answer(event: dict) -> dict:
        try:
            tenant_id, role, actor = _caller(event)
            observability.set_tenant(tenant_id)
            route_key = event.get("routeKey") or ""
            operation = routes.get(route_key) if routes else operations[0]
            if operation is None:
                raise NotFound(f"no route {route_key}")
            if role not in operation.roles:
                raise Forbidden(f"the {role} role may not call {route_key or operation.__name__}")
            request = Request(
                tenant_id=tenant_id,
                role=role,
                actor=actor,
                route=route_key,
                path=event.get("pathParameters") or {},
                query=event.get("queryStringParameters") or {},
                raw_body=_raw_body(event),
            )
            result = operation(request)
            if isinstance(result, Response):
                logger.debug("answered", extra={"route": route_key, "status": result.status})
                return answer(result.status, result.body, result.headers)
            logger.debug("answered", extra={"route": route_key, "status": 200})
            return answer(200, result)
        except BillingError as error:
            if error.status >= 500:
                logger.exception("billing error")
                observability.count("ServerErrors")
            else:
                logger.info("refused", extra={"route": event.get("routeKey"), "status": error.status, "code": error.code})
                observability.count("ClientErrors")
            return error_answer(error)
        except Exception:  # the last line of defence: log it, never show a stack trace
            logger.exception("unexpected error")
            observability.count("ServerErrors")
            return answer(500, {"error": {"code": "internal_error", "message": "an unexpected error occurred"}})

    return lambda_handler
