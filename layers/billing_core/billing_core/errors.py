"""One error hierarchy for the whole product. `api.py` maps it to HTTP in exactly one place."""


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
        super().__init__(f"{field}: {reason}")
        self.field = field
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


class TooLarge(BillingError):
    status = 413
    code = "payload_too_large"


class Unavailable(BillingError):
    """503: a dependency did not answer (never caused by the request's content)."""

    status = 503
    code = "unavailable"
