"""An in-process API Gateway (HTTP API, payload 2.0): matches a request to a route of
template.yaml, runs the template's authorizer (401 without running it when the identity source
header is missing, as API Gateway does; its result cache is not imitated: a revocation is seen at
once), and calls the route's function with the event API Gateway would send. Used by the local stack and by the tests, so both run what is deployed.

The template has two HTTP APIs with one route table: API tokens (agents, integrations) on the one
behind the Lambda authorizer, staff access tokens on the one behind the JWT authorizer. Deployed,
they are two URLs; here one serves both and a bearer that is a JWT goes to the staff API, whose
JWT authorizer (billing_local.cognito) verifies it before any function runs.

Each invocation runs as Lambda runs it: as its own function (billing_local.identity names it to
the embedded store, which checks its calls against that function's IAM policy) and under its
function's `Timeout` from the template. An invocation still running at its timeout is cut off:
the gateway answers as API Gateway answers a function that timed out (HTTP API: 500
`{"message": "Internal Server Error"}`; 503 `{"message": "Service Unavailable"}` when the API's
own 30 s integration timeout comes first), and the store refuses every later call of that
invocation (Python cannot kill the thread; Lambda would have frozen it)."""
import base64
import contextvars
import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qsl, unquote

from . import cognito, identity, template

INTEGRATION_TIMEOUT_SECONDS = 30.0  # an HTTP API waits at most this long for its integration


@lru_cache(maxsize=None)
def load_handler(code_dir: str, handler: str):
    """Imports functions/<dir>/app.py under a unique module name (every handler file is app.py)."""
    module_file, _, attribute = handler.rpartition(".")
    name = f"function_{code_dir.rstrip('/').split('/')[-1]}_{module_file}"
    spec = importlib.util.spec_from_file_location(name, f"{code_dir.rstrip('/')}/{module_file}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, attribute)


@dataclass
class LambdaContext:
    """What Lambda hands a function as its context (the attributes the functions and Powertools read)."""

    function_name: str
    memory_limit_in_mb: int
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(1000 * (self.timeout_seconds - (time.monotonic() - self.started))))

    @classmethod
    def of(cls, logical_id: str) -> "LambdaContext":
        props, defaults = template.functions()[logical_id]["Properties"], template.function_globals()
        return cls(logical_id, int(props.get("MemorySize", defaults.get("MemorySize", 128))),
                   float(props.get("Timeout", defaults.get("Timeout", 3))))


def function_handler(logical_id: str):
    props = template.functions()[logical_id]["Properties"]
    return load_handler(str(template.ROOT / props["CodeUri"]), props["Handler"])


class TimedOut(Exception):
    """An invocation still running at its function's Timeout (or at the API's integration timeout)."""

    def __init__(self, function: str, seconds: float, integration: bool):
        super().__init__(f"{function} timed out after {seconds:.2f} seconds")
        self.function, self.integration = function, integration


def invoke_function(function: str, handler, event, *, timeouts: bool = True, timeout: float | None = None):
    """Runs `handler(event, context)` as one invocation of `function`: its calls are marked as
    that function's, and (timeouts on) it is cut off at the function's Timeout (TimedOut)."""
    context = LambdaContext.of(function)
    if timeout is not None:
        context.timeout_seconds = timeout
    if not timeouts:
        with identity.invocation(function, float("inf")):
            return handler(event, context)
    outcome = {}

    def run():
        try:
            with identity.invocation(function, context.timeout_seconds):
                outcome["answer"] = handler(event, context)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name=f"lambda-{function}", daemon=True)
    thread.start()
    waited = min(context.timeout_seconds, INTEGRATION_TIMEOUT_SECONDS)
    thread.join(waited)
    if thread.is_alive():
        raise TimedOut(function, waited, integration=context.timeout_seconds > INTEGRATION_TIMEOUT_SECONDS)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["answer"]


class Gateway:
    def __init__(self, rules=None):
        """`rules`: the embedded store's billing_local.strict.Rules, shared so that switching its
        timeouts at run time switches the cut-off here too (None: on)."""
        self.rules = rules
        self.routes = template.routes()
        self.authorizer_id = template.authorizer_function()
        self.authorizer = function_handler(self.authorizer_id)
        self.identity_headers = template.authorizer_identity_headers()
        self.timeout_overrides: dict[str, float] = {}  # function → seconds (tests of the cut-off)
        self.clock = time.time  # the JWT authorizer's now (tests move it to see a token expire)
        self._jwt: cognito.JwtAuthorizer | None = None
        identity.install()

    @property
    def timeouts(self) -> bool:
        return self.rules is None or self.rules.timeouts

    def run(self, function: str, handler, event):
        return invoke_function(function, handler, event, timeouts=self.timeouts, timeout=self.timeout_overrides.get(function))

    def handler_of(self, route):
        return load_handler(str(route.code_dir), route.handler)

    def match(self, method: str, path: str):
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method.upper():  # HTTP APIs hand functions decoded path parameters
                    return route, {name: unquote(value) for name, value in found.groupdict().items()}
                allowed = True
        return None, allowed

    def event(self, route, path_parameters, method, path, headers, query, body: bytes | None) -> dict:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        event = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": path,
            "rawQueryString": query or "",
            "headers": headers,
            "requestContext": {
                "http": {"method": method.upper(), "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
                "requestId": uuid.uuid4().hex,
                "routeKey": route.key,
                "stage": "$default",
                "timeEpoch": int(time.time() * 1000),
            },
            "pathParameters": path_parameters or None,
            "isBase64Encoded": False,
        }
        if query:
            params = {}
            for key, value in parse_qsl(query, keep_blank_values=True):
                params[key] = f"{params[key]},{value}" if key in params else value  # as API Gateway joins repeats
            event["queryStringParameters"] = params
        if body:
            try:
                event["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        return event

    def invoke(self, method: str, path: str, headers: dict | None = None, query: str = "", body: bytes | None = None):
        """Answers (status, headers, body text) as API Gateway would."""
        route, params = self.match(method, path)
        if route is None:
            status = 405 if params else 404
            message = "method not allowed" if params else "no such route"
            return status, {"content-type": "application/json"}, json.dumps({"error": {"code": "not_found" if status == 404 else "method_not_allowed", "message": message}})
        event = self.event(route, params, method, path, headers, query, body)
        if any(not event["headers"].get(name) for name in self.identity_headers):
            return 401, {"content-type": "application/json"}, json.dumps({"message": "Unauthorized"})
        if _is_jwt(event["headers"].get("authorization") or ""):
            refused = self._staff(event)
            if refused is not None:
                return refused
        else:
            refused = self._lambda_authorizer(event)
            if refused is not None:
                return refused
        return self._function(route, event)

    def jwt_authorizer(self) -> cognito.JwtAuthorizer | None:
        """The staff API's JWT authorizer for the pool the embedded AWS holds now (its JWKS cached)."""
        wanted = cognito.JwtAuthorizer.of_template(os.environ.get("AWS_ENDPOINT_URL", ""), os.environ.get("AWS_REGION", "us-east-1"))
        if wanted is None:
            return None
        if self._jwt is None or (self._jwt.issuer, self._jwt.jwks_uri) != (wanted.issuer, wanted.jwks_uri):
            self._jwt = wanted
        self._jwt.clock = self.clock
        return self._jwt

    def _staff(self, event):
        """API Gateway's JWT authorizer: a token it refuses never reaches a function."""
        authorizer = self.jwt_authorizer()
        try:
            if authorizer is None:
                raise cognito.Refused(401, "invalid_token", "no user pool")
            claims = authorizer.check(event["headers"]["authorization"])
        except cognito.Refused as refused:
            scopes = " ".join(authorizer.scopes) if authorizer else ""
            challenge = f'Bearer scope="{scopes}" error="{refused.error}" error_description="{refused.description}"'
            message = "Unauthorized" if refused.status == 401 else "Forbidden"
            return refused.status, {"content-type": "application/json", "www-authenticate": challenge}, json.dumps({"message": message})
        scopes = str(claims.get("scope") or "").split()
        event["requestContext"]["authorizer"] = {"jwt": {"claims": cognito.context_claims(claims), "scopes": scopes}}
        return None

    def _lambda_authorizer(self, event):
        try:
            verdict = self.run(self.authorizer_id, self.authorizer, {**event, "type": "REQUEST"})
        except Exception:  # API Gateway answers 500 when its authorizer fails or times out (and caches nothing)
            return 500, {"content-type": "application/json"}, json.dumps({"message": "Internal Server Error"})
        if not verdict.get("isAuthorized"):
            return 403, {"content-type": "application/json"}, json.dumps({"message": "Forbidden"})
        event["requestContext"]["authorizer"] = {"lambda": verdict.get("context") or {}}
        return None

    def _function(self, route, event):
        try:
            answer = self.run(route.function, self.handler_of(route), event)
        except TimedOut as timed_out:
            if timed_out.integration:
                return 503, {"content-type": "application/json"}, json.dumps({"message": "Service Unavailable"})
            return 500, {"content-type": "application/json"}, json.dumps({"message": "Internal Server Error"})
        return answer["statusCode"], answer.get("headers") or {}, answer.get("body") or ""


def _is_jwt(authorization: str) -> bool:
    """A bearer that is a JWT (three base64url parts, a JSON header): a staff access token, for
    the staff API. API tokens (`rsa_...`) never are."""
    token = authorization[7:].strip() if authorization[:7].lower() == "bearer " else authorization.strip()
    return token.startswith("eyJ") and token.count(".") == 2
