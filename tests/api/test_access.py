"""Every route of template.yaml: the token alone decides tenant and role; a missing, unknown or
revoked token is a 401 in the product's error shape, and a role the SPEC's table does not list is
a 403 that changes nothing."""
import pytest

from billing_core import tenants
from billing_local import template

from role_table import SPEC_ROLE_TABLE as ROLE_TABLE

from .conftest import STANDARD, assert_error, create_group, create_profile, record, upload

PATH_VALUES = {"profile_id": "standard", "group_id": "acme", "computer_id": "pc-2", "session_id": "s-1"}
VALID_BODY = {  # what an allowed role could send successfully
    "POST /v1/profiles": {**STANDARD, "profile_id": "premium"},
    "PUT /v1/profiles/{profile_id}": {**STANDARD, "step_cost": "6.00"},
    "PUT /v1/groups/{group_id}": {"name": "Renamed Ltd"},
    "PUT /v1/groups/{group_id}/computers/{computer_id}": {"name": "Laptop"},
    "PUT /v1/groups/{group_id}/contract": {"profile_id": "standard"},
    "POST /v1/sessions": upload("s-new"),
    "POST /v1/sessions/batch": {"sessions": [upload("s-new-2")]},
    "PATCH /v1/sessions/{session_id}": {"extra_minutes": 5, "notes": "changed"},
    "POST /v1/groups/{group_id}/lock-all": {},
    "POST /v1/groups/{group_id}/recharges": {"hours": 1, "amount": "10.00"},
    "POST /v1/groups/{group_id}/exports": {},
}


def calls(spec_only: bool = False):
    """Every declared route (or only the SPEC's), with its path filled in and a valid body."""
    for route in template.routes():
        if spec_only and route.key not in ROLE_TABLE:
            continue
        path = route.path
        for name, value in PATH_VALUES.items():
            path = path.replace("{" + name + "}", value)
        yield route.key, route.method, path, VALID_BODY.get(route.key)


def state(tenant) -> list:
    """What a forbidden call must not change."""
    return [
        tenant.admin.get("/v1/profiles"),
        tenant.admin.get("/v1/profiles/standard"),
        tenant.admin.get("/v1/groups"),
        tenant.admin.get("/v1/sessions/s-1"),
        tenant.admin.get("/v1/groups/acme/sessions"),
        tenant.admin.get("/v1/groups/acme/totals"),
    ]


@pytest.fixture
def world(msp):
    create_profile(msp, profile_id="standard")
    create_group(msp, "acme", "standard", computers=["pc-1"])
    record(msp, "s-1")
    return msp


def test_the_template_declares_every_route_of_the_spec_once():
    declared = [route.key for route in template.routes()]
    assert set(ROLE_TABLE) <= set(declared), set(ROLE_TABLE) - set(declared)
    assert len(declared) == len(set(declared))


def test_every_route_without_an_authorization_header_is_api_gateways_own_401(world, anonymous):
    """The header is the authorizer's identity source: API Gateway refuses the request itself, in
    its own shape, and no function runs (docs/operations.md)."""
    for key, method, path, body in calls():
        assert anonymous.call(method, path, body) == (401, {"message": "Unauthorized"}), key
    assert anonymous.call("GET", "/v1/me", headers={"Authorization": ""}) == (401, {"message": "Unauthorized"})


def test_a_token_that_cannot_be_checked_is_a_500_that_is_never_cached(world, monkeypatch):
    """A failed look-up raises in the authorizer (API Gateway answers 500 and caches nothing),
    rather than a verdict that API Gateway would keep for the cache's lifetime."""
    def unavailable(token):
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(tenants, "resolve", unavailable)
    assert world.admin.get("/v1/me") == (500, {"message": "Internal Server Error"})
    monkeypatch.undo()
    assert world.admin.get("/v1/me")[0] == 200


@pytest.mark.parametrize("authorization", [
    "Bearer rsa_" + "x" * 43,  # well-formed, never issued
    "Bearer ",
    "Basic YWRtaW46YWRtaW4=",
    "Bearer " + "y" * 600,
])
def test_every_route_with_an_unusable_token_is_401(world, anonymous, authorization):
    for key, method, path, body in calls():
        assert_error(anonymous.call(method, path, body, headers={"Authorization": authorization}), 401, "unauthorized")


def test_a_token_of_another_tenant_never_reaches_this_tenants_data(world, other_msp):
    assert other_msp.admin.get("/v1/sessions/s-1")[0] == 404
    assert other_msp.admin.get("/v1/profiles") == (200, {"profiles": []})
    assert other_msp.admin.get("/v1/groups") == (200, {"groups": []})


def test_a_revoked_token_is_401_on_every_route_and_the_others_still_work(world):
    by_role = {token["role"]: token["token_id"] for token in tenants.list_tokens(world.tenant_id)}
    before = state(world)
    for role in ("technician", "finance", "agent"):
        tenants.revoke_token(world.tenant_id, by_role[role])
    for key, method, path, body in calls():
        for role in ("technician", "finance", "agent"):
            error = assert_error(getattr(world, role).call(method, path, body), 401, "unauthorized")
            assert "revoked" in error["message"], (key, role, error)
    assert state(world) == before
    assert world.admin.get("/v1/sessions/s-1")[0] == 200


def test_every_role_the_table_does_not_list_is_403_and_changes_nothing(world):
    before = state(world)
    for key, method, path, body in calls(spec_only=True):
        for role in {"admin", "technician", "finance", "agent"} - ROLE_TABLE[key]:
            assert_error(getattr(world, role).call(method, path, body), 403, "forbidden")
    assert state(world) == before
    status, session = world.admin.get("/v1/sessions/s-1")
    assert (session["status"], session["extra_minutes"], session["notes"]) == ("to_account", 0, "")


def test_every_role_the_table_lists_is_let_through(world):
    """Each allowed role reaches the operation: never a 401 or 403 (the answers are the routes' own)."""
    for key, method, path, body in calls(spec_only=True):
        for role in sorted(ROLE_TABLE[key]):
            status, answer = getattr(world, role).call(method, path, body)
            assert status not in (401, 403), (key, role, status, answer)
            assert status < 500, (key, role, status, answer)
