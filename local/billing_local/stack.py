"""The local stack (SPEC §6): on 127.0.0.1 only, an embedded DynamoDB + S3 (billing_local.store:
moto, with each request atomic and the data kept on disk) holding the table and bucket that
template.yaml declares, and an HTTP API serving exactly the template's routes through the
template's authorizer and handler functions (billing_local.gateway).

    python -m billing_local.stack [--host 127.0.0.1] [--port 3000] [--aws-port 0]
                                  [--state .local/stack.json] [--data .local/data] [--fresh]
                                  [--no-seed] [--faults conflict=0.1,throttle=0.05,...] [--fault-seed N]
                                  [--index-lag MS] [--no-iam] [--no-limits] [--no-timeouts] [--sso NAME]

Port 0 picks a free port. The data directory keeps every answered write across a restart or a
crash (--fresh erases it first); the demo tenants are seeded only into a new store, and their
tokens are kept beside the data, so a restart answers the same tokens. `.local/stack.json` is
written (atomically) only once everything is up: {"api_url", "aws_endpoint_url", "table",
"bucket", "data", "faults", "cognito": {"user_pool_id", "client_id", "region"}, "tenants":
[{"tenant_id", "name", "tokens", "users": {"admin": {"email", "password"}, ...}}]}: staff sign
in with InitiateAuth (USER_PASSWORD_AUTH) on the embedded AWS and call the API with their access
token (billing_local.cognito; the pool is in memory, made anew with the demo users at each start). --faults makes the
embedded DynamoDB fail a share of requests as DynamoDB can (billing_local.store), from the moment
the stack is ready. The store and gateway are as strict as AWS (billing_local.strict: each
function's IAM policy, item / transaction / batch limits, each function's Timeout, global secondary
indexes --index-lag ms behind the table); each rule can be switched off. --sso NAME adds single
sign-on through a demo OIDC provider (billing_local.signin_domain) and "sso": {"provider",
"domain", "redirect_uri"} to the state file and the console's config. SIGINT / SIGTERM stop
both servers and exit 0."""
import argparse
import json
import logging
import mimetypes
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
DEFAULT_STATE = ROOT / ".local" / "stack.json"
DEFAULT_DATA = ROOT / ".local" / "data"
TENANTS_FILE = "demo-tenants.json"  # in the data directory: the seeded tenants and their tokens
TABLE = "billing-local"
BUCKET = "billing-exports-local"
REGION = "us-east-1"
COGNITO_PATH = "/_cognito/"  # the user pool's API, for the console, on the console's origin
UPLOADS_PATH = "/_s3/"  # a presigned PUT of an import file, for the console, on the console's origin
UPLOAD_MAX_BYTES = 200 * 1024 * 1024  # billing_core.import_uploads.MAX_UPLOAD_BYTES
# What a person's browser may ask of the pool (the public, unsigned calls): nothing an administrator does.
SIGN_IN_ACTIONS = frozenset({"InitiateAuth", "RespondToAuthChallenge", "GlobalSignOut", "RevokeToken", "AssociateSoftwareToken",
                             "VerifySoftwareToken", "SetUserMFAPreference", "ChangePassword", "GetUser"})
LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1", "[::1]": "::1"}
MAX_BODY_BYTES = 1_048_576  # SPEC §4: a request body up to 1 MB (the same figure as billing_core.jsonio)
# An oversized body this large is read and thrown away, a chunk at a time, before the 413: a client
# still sending it would otherwise see its connection reset instead of the answer. Larger: reset.
DISCARD_BYTES = 16 * MAX_BODY_BYTES
# Routes whose function takes a larger body (as API Gateway passes up to 10 MB to it): a tool's
# export of up to 5 MB of text (functions/imports/app.py MAX_BODY_BYTES, Lambda's 6 MB payload).
LARGER_BODIES = {("POST", "/v1/imports"): 6_000_000}
# A request body that stops arriving for this long is answered 408 and its connection closed; a
# connection that sends nothing (no request line, unfinished headers, idle keep-alive) is closed
# after IDLE_TIMEOUT_SECONDS. Neither holds one of the server's threads for ever.
BODY_TIMEOUT_SECONDS = 5
IDLE_TIMEOUT_SECONDS = 60
# The error codes of the server's own refusals (a request it cannot read as HTTP at all)
HTTP_ERROR_CODES = {400: "invalid_input", 408: "request_timeout", 414: "uri_too_long", 431: "headers_too_large"}
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}


class StackError(Exception):
    """A reason the stack cannot start, said in one line (no traceback)."""


class _Stop(BaseException):
    """Raised in the main thread by SIGINT / SIGTERM."""


# ---------------------------------------------------------------- environment


def configure_environment(aws_endpoint_url: str) -> None:
    """What the functions read, set in this process before any AWS client exists. Fake
    credentials: the stack never talks to AWS, whatever the shell is configured for."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                 "JOBS_QUEUE_URL"):  # jobs go to the stack's own queue (billing_local.jobqueue)
        os.environ.pop(name, None)
    os.environ.update({
        "AWS_ENDPOINT_URL": aws_endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "TABLE_NAME": TABLE,
        "EXPORTS_BUCKET": BUCKET,
        "POWERTOOLS_SERVICE_NAME": "billing",
        "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true",  # the embedded Cognito checks authenticator codes
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
        # EMF metric lines on stdout only when asked for (POWERTOOLS_METRICS_DISABLED=false make run)
        "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
    })


def loopback_address(host: str) -> str:
    address = LOOPBACK.get(host.strip().lower())
    if address is None:
        raise StackError(f"--host {host!r} refused: the local stack listens on loopback only (127.0.0.1, localhost or ::1)")
    return address


def url_of(address: str, port: int) -> str:
    return f"http://[{address}]:{port}" if ":" in address else f"http://{address}:{port}"


# ---------------------------------------------------------------- HTTP API


class LocalApi(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: str, port: int, gateway):
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.gateway = gateway
        self.cognito: dict | None = None  # {"endpoint", "client_id", "region"}: the console's sign-in
        self.sign_in_domain = None  # with --sso: the pool's managed sign-in (billing_local.signin_domain)
        super().__init__((address, port), ApiRequest)


class _TooLarge(Exception):
    pass


class _BadBody(Exception):
    pass


class _BodyTimeout(Exception):
    pass


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class ApiRequest(BaseHTTPRequestHandler):
    """One HTTP request → the gateway (or a file of the web console)."""

    server: LocalApi
    protocol_version = "HTTP/1.1"
    server_version = "billing-local"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS  # of the connection's socket, between and within requests

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def __getattr__(self, name: str):
        """Any other method (TRACE, CONNECT, BREW...) goes to the gateway too, which answers it as
        it answers a method no route has: 405 where the path is a route's, else 404. Never the
        HTML 501 of http.server: no input is answered with a 5xx."""
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def do_HEAD(self):
        self._dispatch()

    def _dispatch(self) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        path = split.path or "/"
        limit = LARGER_BODIES.get((self.command, path), MAX_BODY_BYTES)
        try:
            if self.command in ("GET", "HEAD") and (path == "/" or path == "/console" or path.startswith("/console/")) and CONSOLE.is_dir():
                status = self._console(path)
            elif path == COGNITO_PATH and self.command == "POST" and self.server.cognito:
                status = self._cognito()
            elif path.startswith("/oauth2/") and self.server.sign_in_domain is not None:
                status, headers, text = self.server.sign_in_domain.handle(self.command, path, split.query,
                                                                          dict(self.headers.items()), self._read_body(limit))
                self._send(status, headers, text)
            elif path.startswith(UPLOADS_PATH) and self.command == "PUT" and self.server.cognito:
                status = self._upload(split)
            else:
                body = self._read_body(limit)
                status, headers, text = self.server.gateway.invoke(self.command, path, dict(self.headers.items()), split.query, body)
                self._send(status, headers, text.encode("utf-8"))
        except _TooLarge:
            self.close_connection = True  # the body was not read whole: this connection cannot carry another request
            status = 413
            self._send(413, {"content-type": "application/json", "connection": "close"},
                       _error_body("payload_too_large", f"the request body is larger than {limit} bytes"))
        except _BadBody as error:
            self.close_connection = True
            status = 400
            self._send(400, {"content-type": "application/json", "connection": "close"}, _error_body("invalid_input", f"body: {error}"))
        except _BodyTimeout:
            self.close_connection = True  # what was read of the body is unusable, and so is the rest
            status = 408
            self._send(408, {"content-type": "application/json", "connection": "close"},
                       _error_body("request_timeout", f"body: nothing arrived for {BODY_TIMEOUT_SECONDS} s "
                                                      "before the body was complete"))
        except Exception:  # the gateway's own failure: answer in the error shape, keep serving
            logging.getLogger("billing_local").exception("%s %s failed", self.command, path)
            status = 500
            self._send(500, {"content-type": "application/json"}, _error_body("internal_error", "the local gateway failed; see the stack's log"))
        self.log_message('"%s %s" %s %.0fms', self.command, path, status, (time.monotonic() - started) * 1000)

    def _read_body(self, limit: int = MAX_BODY_BYTES) -> bytes | None:
        """At most 1 MB, each read within BODY_TIMEOUT_SECONDS: a larger Content-Length is refused
        without keeping a byte of it, a body that stops arriving is a 408."""
        self.connection.settimeout(BODY_TIMEOUT_SECONDS)
        try:
            return self._read_framed_body(limit)
        except TimeoutError:
            raise _BodyTimeout() from None
        finally:
            self.connection.settimeout(self.timeout)

    def _read_framed_body(self, limit: int) -> bytes | None:
        """The body as its headers frame it; ambiguous framing (two lengths, or a length and
        chunks: two readers of the request could see two bodies) is refused, as RFC 9112 says."""
        lengths = self.headers.get_all("Content-Length") or []
        chunked = self.headers.get_all("Transfer-Encoding") or []
        if chunked and lengths:
            raise _BadBody("a request may not have both Content-Length and Transfer-Encoding")
        if chunked:
            if [value.strip().lower() for value in chunked] != ["chunked"]:
                raise _BadBody("Transfer-Encoding must be chunked")
            return self._read_chunked(limit)
        if not lengths:
            return None
        if len(lengths) > 1:
            raise _BadBody("Content-Length is given more than once")
        length = lengths[0].strip()
        if not (length.isascii() and length.isdigit()):
            raise _BadBody("Content-Length is not a number")
        size = int(length)
        if size > limit:
            if size <= DISCARD_BYTES:
                while size > 0:
                    chunk = self.rfile.read(min(size, 65_536))
                    if not chunk:
                        break  # the client stopped sending
                    size -= len(chunk)
            raise _TooLarge()
        return self.rfile.read(size) if size else None

    def _read_chunked(self, limit: int) -> bytes | None:
        parts, total = [], 0
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                raise _BadBody("malformed chunked encoding") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(parts) or None
            total += size
            if total > limit:
                raise _TooLarge()
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _cognito(self) -> int:
        """The user pool's API for the console's sign-in, on the console's origin (its CSP allows no
        other): the request goes to the embedded AWS as the browser would send it to Cognito."""
        body = self._read_body() or b""
        target = self.headers.get("X-Amz-Target") or ""
        try:
            readable = isinstance(json.loads(body or b"null"), dict)
        except ValueError:
            readable = False
        if target.removeprefix("AWSCognitoIdentityProviderService.") not in SIGN_IN_ACTIONS or not readable:
            refusal = {"__type": "InvalidParameterException", "message": "not a sign-in request of the console"}
            self._send(400, {"content-type": "application/x-amz-json-1.1"}, json.dumps(refusal).encode())
            return 400
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
        request = urllib.request.Request(self.server.cognito["endpoint"], data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        if status >= 500:  # moto fails on some malformed requests that Cognito refuses with a 400
            status, text = 400, json.dumps({"__type": "InvalidParameterException", "message": "malformed request"}).encode()
        self._send(status, {"content-type": "application/x-amz-json-1.1", "cache-control": "no-store"}, text)
        return status

    def _upload(self, split) -> int:
        """A presigned PUT of an import file (POST /v1/imports/uploads), relayed to the embedded S3
        as the browser would send it to S3 itself (path, query and host as signed): the console's
        CSP lets it reach its own origin only. Import files only. The embedded S3 (moto) does not
        check a presigned signature as S3 does: no more open than its own port on loopback."""
        target = split.path[len(UPLOADS_PATH) - 1:]
        if "/imports/" not in target or ".." in target:
            self._send(404, {"content-type": "application/json"}, _error_body("not_found", "not an import upload"))
            return 404
        length = self.headers.get("Content-Length") or ""
        if not length.isdigit() or int(length) > UPLOAD_MAX_BYTES:
            self.close_connection = True
            self._send(413, {"content-type": "application/json", "connection": "close"},
                       _error_body("payload_too_large", f"an upload is at most {UPLOAD_MAX_BYTES} bytes, with a Content-Length"))
            return 413
        body = self.rfile.read(int(length))
        url = self.server.cognito["endpoint"].rstrip("/") + target + (f"?{split.query}" if split.query else "")
        request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": self.headers.get("Content-Type") or "application/octet-stream"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read()
        self._send(status, {"content-type": "application/xml", "cache-control": "no-store"}, text)
        return status

    def _console(self, path: str) -> int:
        """The static web console: / and /console/ answer index.html, /console/<file> the file;
        /console/config.json says where staff sign in (the user pool's API and the app client)."""
        relative = unquote(path[len("/console/"):]) if path.startswith("/console/") else ""
        if relative == "config.json" and self.server.cognito:
            config = {"idp": COGNITO_PATH, "client_id": self.server.cognito["client_id"], "region": self.server.cognito["region"],
                      "uploads": UPLOADS_PATH}
            if self.server.sign_in_domain is not None:  # single sign-on: the domain and where it returns
                config["sso"] = self.server.cognito["sso"]
            self._send(200, {"content-type": "application/json", "cache-control": "no-store"}, json.dumps(config).encode())
            return 200
        base = CONSOLE.resolve()
        target = (base / (relative or "index.html")).resolve()
        if not target.is_relative_to(base) or not target.is_file():
            self._send(404, {"content-type": "application/json"}, _error_body("not_found", "no such file in the console"))
            return 404
        content_type = CONTENT_TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(200, {"content-type": content_type, "cache-control": "no-cache", "x-content-type-options": "nosniff"}, target.read_bytes())
        return 200

    def _send(self, status: int, headers: dict, body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code, message=None, explain=None):
        """The server's own refusals (a request line or headers it cannot read) in the API's error
        shape, never http.server's HTML page; the connection closes after them."""
        self.close_connection = True
        self.request_version = self.protocol_version  # an unreadable request line left it at HTTP/0.9: no headers
        reason = message or self.responses.get(code, ("error",))[0]
        code = 400 if code >= 500 else code  # an HTTP version it does not speak (505) is bad input too
        body = _error_body(HTTP_ERROR_CODES.get(code, "invalid_request"), f"request: {reason}")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD":
            self.wfile.write(body)
        self.log_message('"%s" %s %s', getattr(self, "requestline", ""), code, reason)

    def log_request(self, code="-", size="-"):
        pass  # _dispatch logs one line per request, with its duration

    def log_message(self, format, *args):
        sys.stderr.write("api %s\n" % (format % args))


# ---------------------------------------------------------------- the stack


class LocalStack:
    """Both servers, the table and bucket, the demo data; start() then stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 3000, aws_port: int = 0, state: Path = DEFAULT_STATE,
                 seed: bool = True, data: Path | None = DEFAULT_DATA, fresh: bool = False, faults=None, rules=None,
                 sso: str | None = None):
        from .store import Faults
        from .strict import Rules

        self.address = loopback_address(host)
        self.port, self.aws_port, self.state, self.seed = port, aws_port, Path(state), seed
        self.sso = sso  # the name of a demo OIDC provider (single sign-on), or None
        self.data, self.fresh = (Path(data) if data is not None else None), fresh
        self.faults = faults or Faults()
        self.rules = rules if rules is not None else Rules()
        self.store = None
        self.api: LocalApi | None = None
        self.api_thread: threading.Thread | None = None
        self.tenants: list[dict] = []
        self.cognito: dict | None = None
        self.jobs = None
        self.description: dict | None = None

    def start(self) -> dict:
        self.state.unlink(missing_ok=True)  # a previous stack's file may name another port
        self._start_store()
        configure_environment(self.aws_endpoint_url)
        import boto3  # only now: the clients must see the endpoint and the fake credentials

        from billing_core.dal import models

        from . import template
        from .gateway import Gateway, load_handler

        models.reset()
        dynamodb = boto3.client("dynamodb", endpoint_url=self.aws_endpoint_url, region_name=REGION)
        s3 = boto3.client("s3", endpoint_url=self.aws_endpoint_url, region_name=REGION)
        if TABLE not in dynamodb.list_tables()["TableNames"]:
            template.create_table(dynamodb, TABLE)
        if BUCKET not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
            template.create_bucket(s3, BUCKET)
        from . import cognito

        idp = boto3.client("cognito-idp", endpoint_url=self.aws_endpoint_url, region_name=REGION)
        self.cognito = cognito.create_pool(idp, REGION)
        gateway = Gateway(self.rules)
        for route in gateway.routes:  # import every function now, not concurrently on first requests
            load_handler(str(route.code_dir), route.handler)
        try:
            self.api = LocalApi(self.address, self.port, gateway)
        except OSError as error:
            raise StackError(f"cannot listen on {url_of(self.address, self.port)}: {error.strerror or error} (try --port 0)") from None
        self.api.cognito = {**self.cognito, "endpoint": self.aws_endpoint_url}
        if self.sso:
            self._single_sign_on(idp)
        self.tenants = self._people(idp, self._tenants(gateway))
        self.faults.enabled = self.faults.configured  # the demo data is written without faults
        self._start_jobs()
        self.api_thread = threading.Thread(target=self.api.serve_forever, name="local-api", daemon=True)
        self.api_thread.start()
        self.description = {
            "api_url": url_of(self.address, self.api.server_address[1]),
            "aws_endpoint_url": self.aws_endpoint_url,
            "table": TABLE,
            "bucket": BUCKET,
            "data": str(self.data) if self.data is not None else None,
            "faults": {kind: share for kind, share in self.faults.rates.items() if share},
            "cognito": self.cognito,
            "tenants": self.tenants,
        }
        if self.sso:
            self.description["sso"] = self.api.cognito["sso"]
        self._write_state()
        return self.description

    def _single_sign_on(self, idp) -> None:
        """The demo provider and the pool's managed sign-in domain, on this origin, back to the console."""
        from . import signin_domain

        url = url_of(self.address, self.api.server_address[1])
        signin_domain.enable(idp, self.cognito, self.sso, url + "/")
        self.api.cognito["sso"] = {"provider": self.sso, "domain": url, "redirect_uri": url + "/"}
        self.api.sign_in_domain = signin_domain.SignInDomain(self.cognito, self.sso)

    def _start_jobs(self) -> None:
        """The jobs queue and its worker (billing_local.jobqueue), journaled beside the data."""
        from billing_core import jobs

        from .jobqueue import LocalQueue

        self.jobs = LocalQueue(self.data, rules=self.rules).start()
        jobs.use_queue(self.jobs)

    def _start_store(self) -> None:
        from .store import EmbeddedStore, StoreError

        self.store = EmbeddedStore(self.aws_port, self.data, fresh=self.fresh, faults=self.faults, rules=self.rules)
        try:
            self.aws_endpoint_url = self.store.start()
        except StoreError as error:
            self.store = None
            raise StackError(str(error)) from None

    def _tenants(self, gateway) -> list[dict]:
        """The demo tenants: seeded into a new store (once), else read back with their tokens."""
        kept = self.data / TENANTS_FILE if self.data is not None else None
        if kept is not None and kept.exists():
            return json.loads(kept.read_text())
        if not self.seed:
            return []
        if not self.store.is_new:
            raise StackError(f"{self.data} holds data but not the demo tenants' tokens ({TENANTS_FILE}): "
                             "start with --fresh to start over, or --no-seed to keep the data without them")
        from .demo import seed

        tenants = seed(gateway)
        if kept is not None:
            _write_private(kept, tenants)
        return tenants

    def _people(self, idp, seeded: list[dict]) -> list[dict]:
        """The demo tenants' people in the pool, with the passwords kept beside the data."""
        from .demo import add_users

        had_users = all("users" in tenant for tenant in seeded)
        seeded = add_users(idp, self.cognito, seeded)
        if not had_users and self.data is not None and seeded:
            _write_private(self.data / TENANTS_FILE, seeded)
        return seeded

    def _write_state(self) -> None:
        _write_private(self.state, self.description)

    def stop(self) -> None:
        if self.jobs is not None:
            self.jobs.stop()
            self.jobs = None
        if self.api is not None:
            if self.api_thread is not None:
                self.api.shutdown()
            self.api.server_close()
            self.api = None
        if self.store is not None:
            self.store.stop()
            self.store = None
        try:  # the file describes a running stack: remove it, unless another stack has replaced it
            if self.description and json.loads(self.state.read_text()) == self.description:
                self.state.unlink()
        except (OSError, ValueError):
            pass


def _write_private(path: Path, value) -> None:
    """Written atomically, readable by its owner only (it holds tokens)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(value, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def banner(description: dict, state: Path, seconds: float, rules=None) -> str:
    api = description["api_url"]
    lines = [
        "",
        f"Remote support accounting: local stack ready in {seconds:.1f}s (Ctrl-C stops it)",
        f"  API          {api}/v1/...   (routes of template.yaml)",
    ]
    if CONSOLE.is_dir():
        lines.append(f"  web console  {api}/")
    lines += [
        f"  AWS (moto)   {description['aws_endpoint_url']}   table {description['table']}, bucket {description['bucket']}",
        f"  data         {description['data'] or 'in memory only'}   (kept across restarts; --fresh starts empty)",
        f"  state        {state}",
    ]
    if description["faults"]:
        lines.append("  faults       " + ", ".join(f"{kind}={share}" for kind, share in description["faults"].items())
                     + "   (a share of DynamoDB requests fail as DynamoDB can)")
    if rules is not None:
        off = [name for name in ("iam", "limits", "timeouts") if not getattr(rules, name)]
        lines.append(f"  strict       as AWS: IAM per function, limits, Lambda timeouts, index lag {rules.index_lag_ms} ms"
                     + (f"   (off: {', '.join(off)})" if off else ""))
    pool = description.get("cognito") or {}
    if pool:
        lines.append(f"  user pool    {pool['user_pool_id']}   console app client {pool['client_id']}   (in memory: made anew each start)")
    if description.get("sso"):
        lines.append(f"  single sign-on  \"Sign in with {description['sso']['provider']}\": a demo provider that vouches for any email (invited people only)")
    for tenant in description["tenants"]:
        lines.append(f"  tenant {tenant['tenant_id']} ({tenant['name']})")
        for role, token in tenant["tokens"].items():
            lines.append(f"    {role:<11}{token}")
        for role, user in (tenant.get("users") or {}).items():
            lines.append(f"    {role:<11}{user['email']}  password {user['password']}")
    if description["tenants"]:
        token = description["tenants"][0]["tokens"]["technician"]
        lines += ["", "First request:", f"  curl -s -H 'Authorization: Bearer {token}' {api}/v1/groups"]
        user = (description["tenants"][0].get("users") or {}).get("technician")
        if user and pool:
            lines += ["As a person (sign in, then call the API with the access token):",
                      f"  aws cognito-idp initiate-auth --no-sign-request --endpoint-url {description['aws_endpoint_url']} --region {pool['region']} "
                      f"--client-id {pool['client_id']} --auth-flow USER_PASSWORD_AUTH "
                      f"--auth-parameters USERNAME={user['email']},PASSWORD={user['password']}"]
    lines.append("")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m billing_local.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback only: 127.0.0.1 (default), localhost or ::1")
    parser.add_argument("--port", type=int, default=3000, help="HTTP API port (default 3000; 0 picks a free port)")
    parser.add_argument("--aws-port", type=int, default=0, help="embedded DynamoDB + S3 port (default 0: a free port)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="where to write the stack description (default .local/stack.json)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="where the data is kept (default .local/data)")
    parser.add_argument("--in-memory", action="store_true", help="keep nothing on disk (every start is empty)")
    parser.add_argument("--fresh", action="store_true", help="erase the data directory first: start empty, re-seed")
    parser.add_argument("--no-seed", action="store_true", help="no demo tenants in a new store")
    parser.add_argument("--faults", metavar="KIND=SHARE,...",
                        help="fail a share of DynamoDB requests: conflict, throughput, throttle, error500, lost (e.g. conflict=0.1,lost=0.02)")
    parser.add_argument("--fault-seed", type=int, help="seed of the fault draws (default: random)")
    parser.add_argument("--sso", metavar="NAME", help="single sign-on through a demo OIDC provider named NAME (e.g. Workplace)")
    from .strict import add_arguments

    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.sso is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", args.sso):
        parser.error("--sso: a provider name of 1 to 32 letters, digits, _ or - (as the template's OidcProviderName)")
    for name in ("port", "aws_port"):
        if not 0 <= getattr(args, name) <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be from 0 to 65535")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    stopping = []

    def stop(signum, frame):
        if not stopping:  # a second signal while stopping is ignored: the first one finishes the job
            stopping.append(signum)
            raise _Stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack = None
    try:
        from .store import Faults, StoreError

        try:
            faults = Faults.parse(args.faults, args.fault_seed)
        except StoreError as error:
            raise StackError(str(error)) from None
        from .strict import from_arguments

        try:
            rules = from_arguments(args)
        except ValueError as error:
            raise StackError(str(error)) from None
        stack = LocalStack(args.host, args.port, args.aws_port, args.state, seed=not args.no_seed,
                           data=None if args.in_memory else args.data, fresh=args.fresh, faults=faults, rules=rules, sso=args.sso)
        description = stack.start()
        print(banner(description, args.state, time.monotonic() - began, stack.rules), flush=True)
        while True:
            signal.pause()
    except _Stop:
        print("stopping the local stack", file=sys.stderr, flush=True)
        return 0
    except StackError as error:
        print(f"billing_local.stack: {error}", file=sys.stderr)
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if stack is not None:
            stack.stop()


# ---------------------------------------------------------------- for tests and tools


class StackProcess:
    """The stack as a child process on free ports (tests, benchmarks), exactly as `make run` starts
    it: waits for the state file. Its data directory is `data` (default: beside the state file)."""

    def __init__(self, state: Path, *extra: str, data: Path | None = None, timeout: float = 120.0):
        self.state = Path(state)
        self.data = Path(data) if data is not None else self.state.parent / "data"
        self.log = self.state.with_suffix(".log")
        self.state.unlink(missing_ok=True)
        started = time.monotonic()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "billing_local.stack", "--port", "0", "--aws-port", "0", "--state", str(self.state),
                 "--data", str(self.data), *extra],
                stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        while not self.state.exists():
            if self.process.poll() is not None or time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"the local stack did not start:\n{self.log.read_text()}")
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - started
        self.description = json.loads(self.state.read_text())

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> int:
        """SIGKILL: a crash, nothing flushed or compacted."""
        if self.process.poll() is None:
            self.process.kill()
        return self.process.wait()

    def stop(self, timeout: float = 20.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Both servers are stopped and their sockets closed: skip the interpreter's teardown of the
    # in-memory AWS, which takes seconds and does nothing a stopped process needs.
    os._exit(code)
