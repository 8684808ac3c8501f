"""The time the current invocation has left. Lambda cuts a function off at its timeout, whatever
it was doing: every retry budget and every "one more chunk?" reads the time left here, set from
the invocation's context when the function starts, never a fixed number of seconds."""
import contextvars
import time
from datetime import datetime, timezone

from . import settings
from .errors import Unavailable

ANSWER_MARGIN_SECONDS = 1.0  # kept back to write the answer (or hand the rest to a job) in time
_until: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


def start(context) -> contextvars.Token:
    """At the start of an invocation: its end, from the Lambda context (none outside Lambda).
    Hand the answer to `stop` when the invocation ends."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return _until.set(time.monotonic() + remaining() / 1000 - ANSWER_MARGIN_SECONDS if remaining else None)


def stop(token: contextvars.Token) -> None:
    _until.reset(token)


def at() -> float:
    """The monotonic time by which the work must stop (infinity when no invocation set one)."""
    until = _until.get()
    return float("inf") if until is None else until


def remaining() -> float:
    """Seconds left before the work must stop."""
    return at() - time.monotonic()


def settle(since: datetime | None, what: str, reserve: float = 0.0, at_most_the_time_left: bool = False) -> bool:
    """Waits until the indexes show every write made before `since`. DynamoDB's global secondary
    indexes are eventually consistent: an index read is trusted to show a write only
    `settings.index_settle_seconds()` after it. Nothing to wait when `since` is older (or None);
    `Unavailable` (503, retry) when the wait would not fit in the time left (less `reserve`),
    or, `at_most_the_time_left`, the wait cut to it. Answers whether it waited."""
    if since is None:
        return False
    wait = settings.index_settle_seconds() - (datetime.now(timezone.utc) - since).total_seconds()
    if wait <= 0:
        return False
    if wait > remaining() - reserve:
        if at_most_the_time_left:
            time.sleep(max(0.0, remaining() - reserve))
            return True
        raise Unavailable(f"{what} has not settled in the time left; retry")
    time.sleep(wait)
    return True
