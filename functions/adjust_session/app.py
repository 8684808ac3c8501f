"""PATCH /v1/sessions/{session_id} — extra minutes and notes on a session still to account."""
from billing_core import api, sessions
from billing_core.api import ADMIN, TECHNICIAN


@api.route(TECHNICIAN, ADMIN)
def adjust_session(request: api.Request) -> dict:
    values = request.body(sessions.ADJUST_FIELDS)
    return sessions.adjust_session(request.tenant_id, request.path_id("session_id"), values, request.actor)


lambda_handler = api.handler(adjust_session)
