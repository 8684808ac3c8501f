"""POST /v1/groups/{group_id}/exports — a CSV of a session search in S3, as a link that expires
(201), or 202 `{export_id, status: running}` when it needs longer than API Gateway waits;
GET /v1/exports/{export_id} — its status, and a fresh link once it is ready."""
from billing_core import api, exports, observability
from billing_core.api import ADMIN, FINANCE

EXPORT_FIELDS = {"from", "to", "status", "delimiter", "expires_in_minutes"}


@api.route(FINANCE, ADMIN)
def export_sessions(request: api.Request) -> api.Response:
    values = request.body(EXPORT_FIELDS) if request.raw_body and request.raw_body.strip() else {}
    status, body = exports.export_sessions(request.tenant_id, request.path_id("group_id"), values, request.actor)
    if status == 202:
        observability.count("ExportJobsStarted")
    else:
        observability.export_done(body["rows"])
    return api.Response(status, body)


@api.route(FINANCE, ADMIN)
def export_status(request: api.Request) -> dict:
    return exports.export_status(request.tenant_id, request.path_id("export_id"))


lambda_handler = api.handler(routes={
    "POST /v1/groups/{group_id}/exports": export_sessions,
    "GET /v1/exports/{export_id}": export_status,
})
