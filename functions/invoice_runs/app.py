"""POST /v1/invoice-runs — a month's draft invoices, one per client and currency (or a job);
POST /v1/invoice-runs/{run_id}/exports — the run's issued invoices as a QuickBooks or Xero file."""
from billing_core import api, invoice_runs
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def run(request: api.Request) -> api.Response:
    status, answer = invoice_runs.run_month(request.tenant_id, request.body({"month", "groups"}), request.actor)
    return api.Response(status, answer)


@api.route(FINANCE, ADMIN)
def export(request: api.Request) -> api.Response:
    from billing_core.files import invoice_files  # only this route writes files

    values = request.body({"format", "account_code", "item"})
    return api.Response(201, invoice_files.export_run(request.tenant_id, request.path_id("run_id"), values, request.actor))


lambda_handler = api.handler(routes={
    "POST /v1/invoice-runs": run,
    "POST /v1/invoice-runs/{run_id}/exports": export,
})
