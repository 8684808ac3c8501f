"""GET /v1/periods/{month} (finance, admin): open or closed, and who closed or reopened it last;
POST .../close (finance, admin) and /reopen (admin) — audited, naming the person."""
from billing_core import actors, api, periods, tenants
from billing_core.api import ADMIN, FINANCE


def _month(request: api.Request) -> str:
    if request.raw_body and request.raw_body.strip():
        request.body(())  # it takes no fields: refuse any, by name
    return request.path.get("month") or ""


@api.route(FINANCE, ADMIN)
def get(request: api.Request) -> dict:
    request.no_query()
    answer = periods.period(request.tenant_id, request.path.get("month") or "")
    return actors.name_tokens([answer], lambda: tenants.token_labels(request.tenant_id), ("changed_by",))[0]


@api.route(FINANCE, ADMIN)
def close(request: api.Request) -> dict:
    return periods.set_closed(request.tenant_id, _month(request), True, request.actor)


@api.route(ADMIN)
def reopen(request: api.Request) -> dict:
    return periods.set_closed(request.tenant_id, _month(request), False, request.actor)


lambda_handler = api.handler(routes={
    "GET /v1/periods/{month}": get,
    "POST /v1/periods/{month}/close": close,
    "POST /v1/periods/{month}/reopen": reopen,
})
