"""PUT /v1/groups/{group_id}/contract — assign an accounting profile to a client group."""
from billing_core import address_book, api
from billing_core.api import ADMIN


@api.route(ADMIN)
def assign_group(request: api.Request) -> dict:
    values = request.body({"profile_id"})
    return address_book.assign_profile(request.tenant_id, request.path_id("group_id"), values, request.actor)


lambda_handler = api.handler(assign_group)
