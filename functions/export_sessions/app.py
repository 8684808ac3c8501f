"""POST /v1/groups/{group_id}/exports — one client's sessions, POST /v1/exports — every client's,
in the file finance asked for (CSV, spreadsheet CSV, XLSX, QuickBooks or Xero invoices) in S3, as
a link that expires (201), or 202 `{export_id, job_id, status: running, rows}` when it needs longer than API
Gateway waits; POST /v1/exports with a `run_id` — that invoice run's issued invoices as a QuickBooks
or Xero file under their issued numbers (201); GET /v1/exports/{export_id} — its status, and a
fresh link once it is ready."""
from billing_core import api, exports, files, observability
from billing_core.api import ADMIN, FINANCE

EXPORT_FIELDS = files.REQUEST_FIELDS
EVERY_CLIENT_FIELDS = EXPORT_FIELDS | {"run_id"}  # with a run_id: that invoice run's file


def _values(request: api.Request, allowed=EXPORT_FIELDS) -> dict:
    return request.body(allowed) if request.raw_body and request.raw_body.strip() else {}


def _answered(answer: exports.Answer) -> api.Response:
    if answer.finished:
        observability.export_done(answer.body["rows"])
    else:
        observability.count("ExportJobsStarted")
    return api.finished_or_running(answer.finished, answer.body, 201)


@api.route(FINANCE, ADMIN, idempotent=True, status=201, replayed=exports.replayed)
def export_sessions(request: api.Request) -> api.Response:
    return _answered(exports.export_sessions(request.tenant_id, request.path_id("group_id"), _values(request), request.actor))


@api.route(FINANCE, ADMIN, idempotent=True, status=201, replayed=exports.replayed)
def export_every_client(request: api.Request) -> api.Response:
    values = _values(request, EVERY_CLIENT_FIELDS)
    if "run_id" in values:
        from billing_core.files import invoice_files  # only a run's export writes invoice files

        return api.Response(201, invoice_files.export_run_request(request.tenant_id, values, request.actor))
    return _answered(exports.export_sessions(request.tenant_id, None, values, request.actor))


@api.route(FINANCE, ADMIN)
def export_status(request: api.Request) -> dict:
    return exports.export_status(request.tenant_id, request.path_id("export_id"))


lambda_handler = api.handler(routes={
    "POST /v1/groups/{group_id}/exports": export_sessions,
    "POST /v1/exports": export_every_client,
    "GET /v1/exports/{export_id}": export_status,
})
