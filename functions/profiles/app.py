"""GET /v1/profiles, GET and PUT /v1/profiles/{profile_id}, GET .../versions — list, read, version."""
from billing_core import api, profiles
from billing_core.api import ADMIN, STAFF


@api.route(*STAFF)
def list_profiles(request: api.Request) -> dict:
    return profiles.list_profiles(request.tenant_id)


@api.route(*STAFF)
def get_profile(request: api.Request) -> dict:
    return profiles.get_profile(request.tenant_id, request.path_id("profile_id"), request.query)


@api.route(*STAFF)
def profile_versions(request: api.Request) -> dict:
    return profiles.profile_versions(request.tenant_id, request.path_id("profile_id"))


@api.route(ADMIN, idempotent=True)
def update_profile(request: api.Request) -> dict:
    profile_id = request.path_id("profile_id")
    return profiles.update_profile(request.tenant_id, profile_id, request.body(profiles.PROFILE_FIELDS), request.actor,
                                   request.claim)


lambda_handler = api.handler(routes={
    "GET /v1/profiles": list_profiles,
    "GET /v1/profiles/{profile_id}": get_profile,
    "PUT /v1/profiles/{profile_id}": update_profile,
    "GET /v1/profiles/{profile_id}/versions": profile_versions,
})
