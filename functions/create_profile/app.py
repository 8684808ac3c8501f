"""POST /v1/profiles — create an accounting profile (version 1)."""
from billing_core import api, profiles
from billing_core.api import ADMIN


@api.route(ADMIN, idempotent=True, status=201)
def create_profile(request: api.Request) -> api.Response:
    values = request.body(profiles.PROFILE_FIELDS)
    return api.Response(201, profiles.create_profile(request.tenant_id, values, request.actor, request.claim))


lambda_handler = api.handler(create_profile)
