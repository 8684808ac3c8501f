"""PUT /v1/imports/connections/{connection_id} — a scheduled pull from TeamViewer's or AnyDesk's web
API (its credentials kept in Secrets Manager, its schedule in EventBridge Scheduler);
GET /v1/imports/connections — the tenant's connections with their last run;
DELETE /v1/imports/connections/{connection_id} — its schedule, credentials and cursor removed."""
from billing_core import api, import_connections
from billing_core.api import ADMIN


@api.route(ADMIN)
def put_connection(request: api.Request) -> dict:
    request.no_query()
    values = request.body(import_connections.CONNECTION_FIELDS)
    return import_connections.put_connection(request.tenant_id, request.path.get("connection_id"), values)


@api.route(ADMIN)
def list_connections(request: api.Request) -> dict:
    request.no_query()
    return import_connections.list_connections(request.tenant_id)


@api.route(ADMIN)
def delete_connection(request: api.Request) -> dict:
    request.no_query()
    return import_connections.delete_connection(request.tenant_id, request.path.get("connection_id"))


lambda_handler = api.handler(routes={
    "PUT /v1/imports/connections/{connection_id}": put_connection,
    "GET /v1/imports/connections": list_connections,
    "DELETE /v1/imports/connections/{connection_id}": delete_connection,
})
