"""POST /v1/sessions/{session_id}/lock — account one session (idempotent)."""
from billing_core import api, fields, locking, observability
from billing_core.api import ADMIN, FINANCE, TECHNICIAN


@api.route(TECHNICIAN, FINANCE, ADMIN, idempotent=True)
def lock_session(request: api.Request) -> dict:
    if request.raw_body and request.raw_body.strip():
        request.body(())  # a lock takes no fields: refuse any, by name
    began = fields.utc_now()
    session = locking.lock_session(request.tenant_id, request.path_id("session_id"), request.actor, request.claim)
    observability.session_lock_answered(session, began)
    return session


lambda_handler = api.handler(lock_session)
