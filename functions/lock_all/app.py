"""POST /v1/groups/{group_id}/lock-all — account every session still to account in a search;
what does not finish within the request goes on as a job (202)."""
from billing_core import api, locking, observability
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN, idempotent=True)
def lock_all(request: api.Request) -> api.Response:
    values = request.body(locking.LOCK_ALL_FIELDS) if request.raw_body and request.raw_body.strip() else {}
    state, body = locking.request_lock_all(request.tenant_id, request.path_id("group_id"), values, request.actor,
                                           claim=request.claim)
    if state == locking.FINISHED:  # a job's locks are counted by the worker when it finishes
        observability.sessions_locked(body["locked"], body["billed_minutes"], body.get("costs") or [])
    return api.progress(state, body)


lambda_handler = api.handler(lock_all)
