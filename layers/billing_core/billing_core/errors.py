"""One error hierarchy for the whole product. `api.py` maps it to HTTP in exactly one place."""
import json

MAX_SHOWN_NAME = 128


def shown_name(name: str) -> str:
    """A field name as an answer may carry it. A name of visible characters only is shown as it is
    (`amount`, `sessions[2].ended_at`). Any other, a key of the request that is empty or holds
    spaces, quotes, control or format characters, or a lone UTF-16 surrogate that no UTF-8 answer
    can encode, is shown as a JSON string with ASCII escapes (`"\\ud800"`): the answer names it
    and stays valid text. At most 128 characters either way."""
    name = name if isinstance(name, str) else str(name)
    if name and name.isprintable() and not any(c.isspace() or c in '"\\' for c in name):
        return name if len(name) <= MAX_SHOWN_NAME else name[:MAX_SHOWN_NAME - 1] + "\u2026"
    shown, kept = json.dumps(name), len(name)
    while len(shown) > MAX_SHOWN_NAME:  # cut the name, not its escapes: the string stays valid JSON
        kept = min(kept - 1, kept * MAX_SHOWN_NAME // len(shown))
        shown = json.dumps(name[:kept] + "\u2026")
    return shown


class BillingError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class InvalidInput(BillingError):
    """400: names the field and the reason."""

    status = 400
    code = "invalid_input"

    def __init__(self, field: str, reason: str):
        super().__init__(f"{shown_name(field)}: {reason}")
        self.field = field  # as the request spelled it (the message shows it escaped if need be)
        self.reason = reason


class Unauthenticated(BillingError):
    status = 401
    code = "unauthorized"


class Forbidden(BillingError):
    status = 403
    code = "forbidden"


class NotFound(BillingError):
    status = 404
    code = "not_found"


class Conflict(BillingError):
    status = 409
    code = "conflict"


class KeyReused(BillingError):
    """422: an Idempotency-Key sent again with another request."""

    status = 422
    code = "idempotency_key_reused"


class TooLarge(BillingError):
    status = 413
    code = "payload_too_large"


class Unavailable(BillingError):
    """503 `retry`: the store stayed busy or failing past the retry budget. Never caused by the
    request's content, and nothing was half applied: the same request may be sent again."""

    status = 503
    code = "retry"
    retry_after_seconds = 1
