"""GET /v1/sessions/{session_id}/history and GET /v1/groups/{group_id}/history — the audit trail.
Each entry names its actor by the token's label (`actor_label`) beside the token id."""
from billing_core import address_book, api, sessions, tenants
from billing_core.api import STAFF


def _labelled(request: api.Request, answer: dict) -> dict:
    labels = tenants.token_labels(request.tenant_id) if answer["history"] else {}
    for entry in answer["history"]:
        entry["actor_label"] = labels.get(entry["actor"]) if entry["actor"] else None
    return answer


@api.route(*STAFF)
def session_history(request: api.Request) -> dict:
    return _labelled(request, sessions.session_history(request.tenant_id, request.path_id("session_id")))


@api.route(*STAFF)
def group_history(request: api.Request) -> dict:
    return _labelled(request, address_book.group_history(request.tenant_id, request.path_id("group_id")))


lambda_handler = api.handler(routes={
    "GET /v1/sessions/{session_id}/history": session_history,
    "GET /v1/groups/{group_id}/history": group_history,
})
