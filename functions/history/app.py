"""GET /v1/sessions/{session_id}/history and GET /v1/groups/{group_id}/history — the audit trail.
Each entry names its actor `{kind: user|token, id, name}`: a person by the name they had then, a
token by its label."""
from billing_core import actors, address_book, api, sessions, tenants
from billing_core.api import STAFF


def _named(request: api.Request, answer: dict) -> dict:
    actors.name_tokens(answer["history"], lambda: tenants.token_labels(request.tenant_id))
    return answer


@api.route(*STAFF)
def session_history(request: api.Request) -> dict:
    return _named(request, sessions.session_history(request.tenant_id, request.path_id("session_id")))


@api.route(*STAFF)
def group_history(request: api.Request) -> dict:
    return _named(request, address_book.group_history(request.tenant_id, request.path_id("group_id")))


lambda_handler = api.handler(routes={
    "GET /v1/sessions/{session_id}/history": session_history,
    "GET /v1/groups/{group_id}/history": group_history,
})
