"""PUT /v1/settings/invoicing, GET /v1/settings/invoicing — the tenant's invoice numbering, time zone and issuer;
GET /v1/groups/{group_id}/billing — a client's billing details (set with PUT /v1/groups/{group_id})."""
from billing_core import api, invoice_settings
from billing_core.api import ADMIN, FINANCE


@api.route(ADMIN)
def put_settings(request: api.Request) -> dict:
    return invoice_settings.put_settings(request.tenant_id, request.body(invoice_settings.SETTINGS_FIELDS))


@api.route(ADMIN, FINANCE)
def get_settings(request: api.Request) -> dict:
    request.no_query()
    return invoice_settings.settings(request.tenant_id)


@api.route(ADMIN, FINANCE)
def get_client_billing(request: api.Request) -> dict:
    request.no_query()
    return invoice_settings.client_billing(request.tenant_id, request.path_id("group_id"))


lambda_handler = api.handler(routes={
    "PUT /v1/settings/invoicing": put_settings,
    "GET /v1/settings/invoicing": get_settings,
    "GET /v1/groups/{group_id}/billing": get_client_billing,
})
