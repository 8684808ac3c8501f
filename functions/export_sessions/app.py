"""POST /v1/groups/{group_id}/exports — a CSV of a session search in S3, as a link that expires."""
from billing_core import api, exports
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def export_sessions(request: api.Request) -> api.Response:
    fields = {"from", "to", "status", "delimiter", "expires_in_minutes"}
    values = request.body(fields) if request.raw_body and request.raw_body.strip() else {}
    return api.Response(201, exports.export_sessions(request.tenant_id, request.path_id("group_id"), values, request.actor))


lambda_handler = api.handler(export_sessions)
