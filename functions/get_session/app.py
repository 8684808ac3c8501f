"""GET /v1/sessions/{session_id} — one session, priced."""
from billing_core import api, sessions
from billing_core.api import STAFF


@api.route(*STAFF)
def get_session(request: api.Request) -> dict:
    return sessions.get_session(request.tenant_id, request.path_id("session_id"))


lambda_handler = api.handler(get_session)
