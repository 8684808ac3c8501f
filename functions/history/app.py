"""GET /v1/sessions/{session_id}/history and GET /v1/groups/{group_id}/history — the audit trail."""
from billing_core import address_book, api, sessions
from billing_core.api import STAFF


@api.route(*STAFF)
def session_history(request: api.Request) -> dict:
    return sessions.session_history(request.tenant_id, request.path_id("session_id"))


@api.route(*STAFF)
def group_history(request: api.Request) -> dict:
    return address_book.group_history(request.tenant_id, request.path_id("group_id"))


lambda_handler = api.handler(routes={
    "GET /v1/sessions/{session_id}/history": session_history,
    "GET /v1/groups/{group_id}/history": group_history,
})
