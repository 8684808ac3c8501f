"""The local stack (SPEC §6): on 127.0.0.1 only, an embedded DynamoDB + S3 (moto server) holding
the table and bucket that template.yaml declares, and an HTTP API serving exactly the template's
routes through the template's authorizer and handler functions (billing_local.gateway).

    python -m billing_local.stack [--host 127.0.0.1] [--port 3000] [--aws-port 0]
                                  [--state .local/stack.json] [--no-seed]

Port 0 picks a free port. `.local/stack.json` is written (atomically) only once everything is up:
{"api_url", "aws_endpoint_url", "table", "bucket", "tenants": [{"tenant_id", "name", "tokens"}]}.
SIGINT / SIGTERM stop both servers and exit 0."""
import argparse
import json
import logging
import mimetypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
DEFAULT_STATE = ROOT / ".local" / "stack.json"
TABLE = "billing-local"
BUCKET = "billing-exports-local"
REGION = "us-east-1"
LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1", "[::1]": "::1"}
MAX_BODY_BYTES = 1_048_576  # SPEC §4: a request body up to 1 MB (the same figure as billing_core.jsonio)
# An oversized body this large is read and thrown away, a chunk at a time, before the 413: a client
# still sending it would otherwise see its connection reset instead of the answer. Larger: reset.
DISCARD_BYTES = 16 * MAX_BODY_BYTES
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
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
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
        super().__init__((address, port), ApiRequest)


class _TooLarge(Exception):
    pass


class _BadBody(Exception):
    pass


def _error_body(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class ApiRequest(BaseHTTPRequestHandler):
    """One HTTP request → the gateway (or a file of the web console)."""

    server: LocalApi
    protocol_version = "HTTP/1.1"
    server_version = "billing-local"
    sys_version = ""

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def do_HEAD(self):
        self._dispatch()

    def _dispatch(self) -> None:
        started = time.monotonic()
        split = urlsplit(self.path)
        path = split.path or "/"
        try:
            if self.command in ("GET", "HEAD") and (path == "/" or path == "/console" or path.startswith("/console/")) and CONSOLE.is_dir():
                status = self._console(path)
            else:
                body = self._read_body()
                status, headers, text = self.server.gateway.invoke(self.command, path, dict(self.headers.items()), split.query, body)
                self._send(status, headers, text.encode("utf-8"))
        except _TooLarge:
            self.close_connection = True  # the body was not read whole: this connection cannot carry another request
            status = 413
            self._send(413, {"content-type": "application/json", "connection": "close"},
                       _error_body("payload_too_large", f"the request body is larger than {MAX_BODY_BYTES} bytes"))
        except _BadBody as error:
            self.close_connection = True
            status = 400
            self._send(400, {"content-type": "application/json", "connection": "close"}, _error_body("invalid_input", f"body: {error}"))
        except Exception:  # the gateway's own failure: answer in the error shape, keep serving
            logging.getLogger("billing_local").exception("%s %s failed", self.command, path)
            status = 500
            self._send(500, {"content-type": "application/json"}, _error_body("internal_error", "the local gateway failed; see the stack's log"))
        self.log_message('"%s %s" %s %.0fms', self.command, path, status, (time.monotonic() - started) * 1000)

    def _read_body(self) -> bytes | None:
        """At most 1 MB: a larger Content-Length is refused without keeping a byte of it."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        if not length.strip().isdigit():
            raise _BadBody("Content-Length is not a number")
        size = int(length)
        if size > MAX_BODY_BYTES:
            if size <= DISCARD_BYTES:
                while size > 0:
                    chunk = self.rfile.read(min(size, 65_536))
                    if not chunk:
                        break  # the client stopped sending
                    size -= len(chunk)
            raise _TooLarge()
        return self.rfile.read(size) if size else None

    def _read_chunked(self) -> bytes | None:
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
            if total > MAX_BODY_BYTES:
                raise _TooLarge()
            parts.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _console(self, path: str) -> int:
        """The static web console: / and /console/ answer index.html, /console/<file> the file."""
        relative = unquote(path[len("/console/"):]) if path.startswith("/console/") else ""
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

    def log_request(self, code="-", size="-"):
        pass  # _dispatch logs one line per request, with its duration

    def log_message(self, format, *args):
        sys.stderr.write("api %s\n" % (format % args))


# ---------------------------------------------------------------- the stack


class LocalStack:
    """Both servers, the table and bucket, the demo data; start() then stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 3000, aws_port: int = 0, state: Path = DEFAULT_STATE, seed: bool = True):
        self.address = loopback_address(host)
        self.port, self.aws_port, self.state, self.seed = port, aws_port, Path(state), seed
        self.moto = None
        self.api: LocalApi | None = None
        self.api_thread: threading.Thread | None = None
        self.tenants: list[dict] = []
        self.description: dict | None = None

    def start(self) -> dict:
        self.state.unlink(missing_ok=True)  # a previous stack's file names tokens that no longer exist
        self._start_moto()
        configure_environment(self.aws_endpoint_url)
        import boto3  # only now: the clients must see the endpoint and the fake credentials

        from billing_core import models

        from . import template
        from .gateway import Gateway, load_handler

        models.reset()
        template.create_table(boto3.client("dynamodb", endpoint_url=self.aws_endpoint_url, region_name=REGION), TABLE)
        template.create_bucket(boto3.client("s3", endpoint_url=self.aws_endpoint_url, region_name=REGION), BUCKET)
        gateway = Gateway()
        for route in gateway.routes:  # import every function now, not concurrently on first requests
            load_handler(str(route.code_dir), route.handler)
        try:
            self.api = LocalApi(self.address, self.port, gateway)
        except OSError as error:
            raise StackError(f"cannot listen on {url_of(self.address, self.port)}: {error.strerror or error} (try --port 0)") from None
        if self.seed:
            from .demo import seed

            self.tenants = seed(gateway)
        self.api_thread = threading.Thread(target=self.api.serve_forever, name="local-api", daemon=True)
        self.api_thread.start()
        self.description = {
            "api_url": url_of(self.address, self.api.server_address[1]),
            "aws_endpoint_url": self.aws_endpoint_url,
            "table": TABLE,
            "bucket": BUCKET,
            "tenants": self.tenants,
        }
        self._write_state()
        return self.description

    def _start_moto(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.aws_port, verbose=False)
        try:
            self.moto.start()
        except OSError as error:
            self.moto = None
            raise StackError(f"cannot start the embedded AWS on 127.0.0.1:{self.aws_port}: {error.strerror or error}") from None
        host, port = self.moto.get_host_and_port()
        self.aws_endpoint_url = url_of(host, port)

    def _write_state(self) -> None:
        self.state.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state.with_name(f".{self.state.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds tokens
        with os.fdopen(descriptor, "w") as out:
            json.dump(self.description, out, indent=2)
            out.write("\n")
        os.replace(temporary, self.state)

    def stop(self) -> None:
        if self.api is not None:
            if self.api_thread is not None:
                self.api.shutdown()
            self.api.server_close()
            self.api = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        try:  # the file describes a running stack: remove it, unless another stack has replaced it
            if self.description and json.loads(self.state.read_text()) == self.description:
                self.state.unlink()
        except (OSError, ValueError):
            pass


def banner(description: dict, state: Path, seconds: float) -> str:
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
        f"  state        {state}",
    ]
    for tenant in description["tenants"]:
        lines.append(f"  tenant {tenant['tenant_id']} ({tenant['name']})")
        for role, token in tenant["tokens"].items():
            lines.append(f"    {role:<11}{token}")
    if description["tenants"]:
        token = description["tenants"][0]["tokens"]["technician"]
        lines += ["", "First request:", f"  curl -s -H 'Authorization: Bearer {token}' {api}/v1/groups"]
    lines.append("")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m billing_local.stack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback only: 127.0.0.1 (default), localhost or ::1")
    parser.add_argument("--port", type=int, default=3000, help="HTTP API port (default 3000; 0 picks a free port)")
    parser.add_argument("--aws-port", type=int, default=0, help="embedded DynamoDB + S3 port (default 0: a free port)")
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="where to write the stack description (default .local/stack.json)")
    parser.add_argument("--no-seed", action="store_true", help="start empty: no demo tenants")
    args = parser.parse_args(argv)
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
        stack = LocalStack(args.host, args.port, args.aws_port, args.state, seed=not args.no_seed)
        description = stack.start()
        print(banner(description, args.state, time.monotonic() - began), flush=True)
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
    """The stack as a child process on free ports (tests, benchmarks): waits for the state file."""

    def __init__(self, state: Path, *extra: str, timeout: float = 120.0):
        self.state = Path(state)
        self.log = self.state.with_suffix(".log")
        started = time.monotonic()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "billing_local.stack", "--port", "0", "--aws-port", "0", "--state", str(self.state), *extra],
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
