"""PUT /v1/groups/{group_id}/contract — assign an accounting profile to a client group."""
from billing_core import api, contracts
from billing_core.api import ADMIN


@api.route(ADMIN, idempotent=True)
def assign_group(request: api.Request) -> dict:
    values = request.body({"profile_id", "balance", "valid_until"})
    return contracts.assign_profile(request.tenant_id, request.path_id("group_id"), values, request.actor, request.claim)


lambda_handler = api.handler(assign_group)
