"""The address book: PUT /v1/groups/{group_id}, GET /v1/groups, PUT .../computers/{computer_id},
GET .../computers."""
from billing_core import address_book, api
from billing_core.api import ADMIN, STAFF


@api.route(ADMIN)
def put_group(request: api.Request) -> api.Response:
    created, group = address_book.put_group(request.tenant_id, request.path_id("group_id"), request.body({"name", "billing"}))
    return api.Response(201 if created else 200, group)


@api.route(*STAFF)
def list_groups(request: api.Request) -> dict:
    return address_book.list_groups(request.tenant_id)


@api.route(ADMIN)
def put_computer(request: api.Request) -> dict:
    group_id, computer_id = request.path_id("group_id"), request.path_id("computer_id")
    return address_book.put_computer(request.tenant_id, group_id, computer_id, request.body({"name"}))


@api.route(*STAFF)
def list_computers(request: api.Request) -> dict:
    request.no_query()
    return address_book.list_computers(request.tenant_id, request.path_id("group_id"))


lambda_handler = api.handler(routes={
    "PUT /v1/groups/{group_id}": put_group,
    "GET /v1/groups": list_groups,
    "PUT /v1/groups/{group_id}/computers/{computer_id}": put_computer,
    "GET /v1/groups/{group_id}/computers": list_computers,
})
