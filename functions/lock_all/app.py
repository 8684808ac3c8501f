"""POST /v1/groups/{group_id}/lock-all — account every session still to account in a search."""
from billing_core import api, locking, observability
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN, idempotent=True)
def lock_all(request: api.Request) -> dict:
    values = request.body(locking.LOCK_ALL_FIELDS) if request.raw_body and request.raw_body.strip() else {}
    locked = locking.lock_all(request.tenant_id, request.path_id("group_id"), values, request.actor)
    observability.sessions_locked(locked["locked"], locked["billed_minutes"], locked.get("costs") or [])
    return locked


lambda_handler = api.handler(lock_all)
