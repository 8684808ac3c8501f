"""POST /v1/sessions/{session_id}/unlock — the lock undone while the session is on no issued invoice
and its month is open (audited)."""
from billing_core import api, unlock
from billing_core.api import ADMIN, FINANCE, TECHNICIAN


@api.route(TECHNICIAN, FINANCE, ADMIN, idempotent=True)
def unlock_session(request: api.Request) -> dict:
    if request.raw_body and request.raw_body.strip():
        request.body(())  # it takes no fields: refuse any, by name
    return unlock.unlock_session(request.tenant_id, request.path_id("session_id"), request.actor, request.claim)


lambda_handler = api.handler(unlock_session)
