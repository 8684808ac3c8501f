"""The time the current invocation has left. Lambda cuts a function off at its timeout, whatever
it was doing: every retry budget and every "one more chunk?" reads the time left here, set from
the invocation's context when the function starts, never a fixed number of seconds."""
import contextvars
import time

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
