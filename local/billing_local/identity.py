"""Who is calling the embedded store: each Lambda function has its own role on AWS, and the store
checks every call against that role's policy (billing_local.strict). Here the gateway (and the
local job runner) marks the function an invocation runs, and until when it may run, in a context
variable; `install()` makes every botocore client of this process name it in a header of each
request it sends. Calls made outside any invocation (test set-up, the admin CLI, the bench's
seeding, backfill) carry no header: the store treats them as an administrator's.

A presigned link acts as its signer on AWS: S3 authorises whoever follows it with the policy of the
role that signed it, whenever that is. Here a link made inside an invocation names its function in
one more query parameter (the local S3 checks no signature), and the store checks the request
against that function's policy, without the invocation's deadline (the link outlives it)."""
import contextvars
import functools
import time
from contextlib import contextmanager
from urllib.parse import quote

HEADER = "X-Local-Lambda"  # "<function logical id>;<deadline, epoch seconds>"
WSGI_HEADER = "HTTP_X_LOCAL_LAMBDA"
SIGNER = "x-local-lambda"  # a presigned link's query parameter: the function that signed it

_current: contextvars.ContextVar[tuple[str, float] | None] = contextvars.ContextVar("local_lambda", default=None)


@contextmanager
def invocation(function: str, timeout_seconds: float):
    """Marks the calls made inside as `function`'s, refused by the store once `timeout_seconds` have passed."""
    token = _current.set((function, time.time() + timeout_seconds))
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def outside():
    """Calls made inside belong to no function (a test's own set-up racing a request from within
    it): unrestricted, as the admin's are."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> tuple[str, float] | None:
    return _current.get()


def header_value() -> str | None:
    marked = _current.get()
    return None if marked is None else f"{marked[0]};{marked[1]:.3f}"


def parse(value: str | None) -> tuple[str, float] | None:
    """(function, deadline) from a header value; None for an administrator's call (no header)."""
    if not value:
        return None
    function, _, deadline = value.partition(";")
    try:
        return function.strip(), float(deadline)
    except ValueError:
        return function.strip(), float("inf")


_installed = False


def install() -> None:
    """Every botocore request of this process names the invocation it is made in (idempotent)."""
    global _installed
    if _installed:
        return
    from botocore.endpoint import Endpoint

    original = Endpoint._send

    @functools.wraps(original)
    def _send(self, request):
        value = header_value()
        if value is not None:
            request.headers[HEADER] = value
        return original(self, request)

    Endpoint._send = _send

    from botocore.signers import RequestSigner

    presign = RequestSigner.generate_presigned_url

    @functools.wraps(presign)
    def generate_presigned_url(self, *args, **kwargs):
        url = presign(self, *args, **kwargs)
        marked = _current.get()
        return url if marked is None else f"{url}{'&' if '?' in url else '?'}{SIGNER}={quote(marked[0])}"

    RequestSigner.generate_presigned_url = generate_presigned_url
    _installed = True


def signer(query: dict) -> tuple[str, float] | None:
    """(function, no deadline) of a presigned link made inside an invocation (`query`: parse_qs)."""
    named = (query.get(SIGNER) or [""])[0]
    return (named, float("inf")) if named else None


def run_as(function: str, timeout_seconds: float, target):
    """`target` wrapped to run as an invocation of `function` (a thread started by a handler)."""

    @functools.wraps(target)
    def wrapped(*args, **kwargs):
        with invocation(function, timeout_seconds):
            return target(*args, **kwargs)

    return wrapped
