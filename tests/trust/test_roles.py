"""Every route × every role answers as SPEC §4's role table says; no usable token is a 401 everywhere."""
import secrets

import pytest

from billing_core import tenants
from billing_local import template

from .conftest import ROLE_TABLE, ROLES, Caller, Tenant, assert_error_shape, count, mocked_aws, seed, tenant_items, upload, valid_requests


@pytest.fixture(scope="module")
def world(gateway_once):
    with mocked_aws():
        tenant = Tenant(gateway_once, "Acme IT")
        yield seed(tenant)


def test_the_role_table_names_every_route_of_the_template_and_no_other():
    assert sorted(route.key for route in template.routes()) == sorted(ROLE_TABLE)


def test_every_route_answers_every_role_as_the_role_table_says(world):
    requests = valid_requests(world)
    tenant = world.tenant
    before = tenant_items(tenant.tenant_id)
    pairs = 0
    for key, allowed in ROLE_TABLE.items():  # the forbidden first: they must change nothing
        method, path, body, query = requests[key]
        for role in ROLES:
            if role in allowed:
                continue
            status, answer = getattr(tenant, role).call(method, path, body, query)
            assert status == 403, (key, role, status, answer)
            message = assert_error_shape(status, answer, code="forbidden")["message"]
            assert role in message, message
            pairs += 1
    assert tenant_items(tenant.tenant_id) == before, "a forbidden request changed the tenant's data"
    for key, allowed in ROLE_TABLE.items():
        method, path, body, query = requests[key]
        for role in sorted(allowed):
            status, answer = getattr(tenant, role).call(method, path, body, query)
            assert status not in (401, 403) and status < 500, (key, role, status, answer)
            if status >= 400:
                assert_error_shape(status, answer)
            pairs += 1
    assert pairs == len(ROLE_TABLE) * len(ROLES)
    count("role pairs (route × role)", pairs)


def test_the_allowed_roles_are_really_served(world):
    """Not only "not 401/403": each role's own operations succeed (the role table is not vacuous)."""
    tenant, group = world.tenant, world.subscription_group
    assert tenant.agent.post("/v1/sessions", upload("agent-own", group, 25, day=7))[0] == 201
    assert tenant.technician.patch("/v1/sessions/agent-own", {"extra_minutes": 3})[0] == 200
    assert tenant.technician.post("/v1/sessions/agent-own/lock")[0] == 200
    assert tenant.finance.post(f"/v1/groups/{group}/lock-all", {})[0] == 200
    assert tenant.finance.post(f"/v1/groups/{group}/exports", {})[0] == 201
    for role in ("admin", "technician", "finance"):
        assert getattr(tenant, role).get(f"/v1/groups/{group}/totals")[0] == 200
    agent = tenant.issued["agent"]
    assert tenant.agent.get("/v1/me") == (200, {"tenant_id": tenant.tenant_id, "tenant_name": "Acme IT", "role": "agent",
                                               "token_id": agent["token_id"], "label": agent["label"], "time_zone": "UTC",
                                               "actor": {"kind": "token", "id": agent["token_id"], "name": agent["label"]}})


def unusable_authorizations(tenant: Tenant) -> dict[str, str | None]:
    revoked = tenants.issue_token(tenant.tenant_id, "admin")
    tenants.revoke_token(tenant.tenant_id, revoked["token_id"])
    return {
        "missing": None,
        "unknown": f"Bearer rsa_{secrets.token_urlsafe(32)}",
        "bearer without token": "Bearer",
        "bearer and spaces": "Bearer    ",
        "basic": "Basic x",
        "empty": "",
        "token without scheme": tenant.tokens["admin"],
        "revoked": f"Bearer {revoked['token']}",
        "oversize": "Bearer " + "a" * 10_000,
    }


def test_no_usable_token_is_a_401_on_every_route(world, gateway_once):
    tenant = world.tenant
    requests = valid_requests(world, unique="anon")
    before = tenant_items(tenant.tenant_id)
    pairs = 0
    for name, authorization in unusable_authorizations(tenant).items():
        caller = Caller(gateway_once, None, authorization=authorization)
        for key, (method, path, body, query) in requests.items():
            status, answer = caller.call(method, path, body, query)
            assert status == 401, (name, key, status, answer)
            if name in ("missing", "empty"):  # the identity source is absent: API Gateway answers itself
                assert answer == {"message": "Unauthorized"}, (name, key, answer)
            else:
                assert_error_shape(status, answer, code="unauthorized")
            pairs += 1
    after = tenant_items(tenant.tenant_id)
    # only the revoked token was added (and the token list's stamp moved with it), nothing else changed
    tokens_stamp = f'"PK": {{"S": "T#{tenant.tenant_id}#TOKENS"}}, "SK": {{"S": "CHANGED"}}'
    assert any(tokens_stamp in item for item in after)
    before, after = ([item for item in items if tokens_stamp not in item] for items in (before, after))
    assert len(after) == len(before) + 1
    assert set(before) <= set(after)
    count("unauthenticated pairs (route × unusable token)", pairs)


def test_people_signed_in_answer_the_role_table_as_tokens_do(world, gateway_once):
    """The same routes on the staff API: each staff role of a person (a user of the pool, its
    access token through the JWT authorizer) is allowed and refused exactly where the token of that
    role is; agents are never people."""
    import boto3

    from billing_local import cognito

    idp, tenant = boto3.client("cognito-idp"), world.tenant
    pool = {"user_pool_id": cognito.PHYSICAL[template.user_pool()[0]],
            "client_id": cognito.PHYSICAL[template.jwt_authorizer()["audience"][0]]}
    people = {}
    for role in ("admin", "technician", "finance"):
        email, password = f"{role}-person@acme.example", f"Person-{secrets.token_hex(4)}-Pw1"
        cognito.add_user(idp, pool["user_pool_id"], tenant.tenant_id, role, email, password)
        people[role] = Caller(gateway_once, cognito.sign_in(idp, pool["client_id"], email, password)["AccessToken"])
    requests = valid_requests(world, unique="people")
    before = tenant_items(tenant.tenant_id)
    pairs = 0
    for key, allowed in ROLE_TABLE.items():
        method, path, body, query = requests[key]
        for role, person in people.items():
            if role not in allowed:
                status, answer = person.call(method, path, body, query)
                assert status == 403 and role in assert_error_shape(status, answer, code="forbidden")["message"], (key, role)
                pairs += 1
    assert tenant_items(tenant.tenant_id) == before, "a forbidden request changed the tenant's data"
    for key, allowed in ROLE_TABLE.items():
        method, path, body, query = requests[key]
        for role in sorted(allowed & set(people)):
            status, answer = people[role].call(method, path, body, query)
            assert status not in (401, 403) and status < 500, (key, role, status, answer)
            pairs += 1
    count("role pairs (route × signed-in person)", pairs)
