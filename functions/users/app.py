"""GET /v1/users, POST /v1/users {email, role, name?}, PATCH /v1/users/{user_id} {role?, enabled?,
name?}, DELETE /v1/users/{user_id} (disable) — an admin's view of the tenant's staff (people in the user pool). A new user is invited by
email; disabling one signs them out everywhere."""
from billing_core import api, users
from billing_core.api import ADMIN
from billing_core.errors import InvalidInput


@api.route(ADMIN)
def list_users(request: api.Request) -> dict:
    request.no_query()
    return {"users": users.list_users(request.tenant_id)}


@api.route(ADMIN)
def create_user(request: api.Request) -> api.Response:
    return api.Response(201, users.create_user(request.tenant_id, request.body({"email", "role", "name"})))


@api.route(ADMIN)
def update_user(request: api.Request) -> dict:
    values = request.body({"role", "enabled", "name"})
    if not values:
        raise InvalidInput("body", "must change at least one of role, enabled, name")
    return users.update_user(request.tenant_id, request.path_id("user_id"), values, _signed_in(request))


def _signed_in(request: api.Request) -> str | None:
    """The caller's user id when a person calls (the last-admin rule is about oneself)."""
    return request.caller.id if request.caller and request.caller.kind == "user" else None


@api.route(ADMIN)
def disable_user(request: api.Request) -> dict:
    """DELETE: the user is disabled (signed out everywhere), never erased: the audit keeps naming them."""
    request.no_query()
    if request.raw_body:
        raise InvalidInput("body", "must be empty")
    return users.update_user(request.tenant_id, request.path_id("user_id"), {"enabled": False}, _signed_in(request))


lambda_handler = api.handler(routes={
    "GET /v1/users": list_users,
    "POST /v1/users": create_user,
    "PATCH /v1/users/{user_id}": update_user,
    "DELETE /v1/users/{user_id}": disable_user,
})
