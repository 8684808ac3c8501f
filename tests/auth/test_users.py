"""GET/POST /v1/users and PATCH /v1/users/{user_id}: an admin manages the tenant's staff, within
the tenant only; bad input is a 4xx naming the field, and changes nothing."""
import boto3
import pytest
from api.conftest import assert_error, assert_invalid


def pool_users(pool) -> list[dict]:
    """Every user of the pool as Cognito holds them (test-side)."""
    idp = boto3.client("cognito-idp")
    found = idp.list_users(UserPoolId=pool["user_pool_id"])["Users"]
    return sorted(({"Username": u["Username"], "Enabled": u["Enabled"], "Attributes": sorted(u["Attributes"], key=str),
                    "groups": [g["GroupName"] for g in idp.admin_list_groups_for_user(
                        UserPoolId=pool["user_pool_id"], Username=u["Username"])["Groups"]]} for u in found), key=str)


def test_an_admin_invites_a_person_who_is_listed_with_their_role(people, msp, pool):
    admin = people["admin"]
    status, made = admin.post("/v1/users", {"email": "Dana@Acme.example", "role": "finance", "name": "Dana"})
    assert status == 201, made
    assert made["email"] == "dana@acme.example" and made["role"] == "finance" and made["enabled"] is True
    assert made["status"] == "FORCE_CHANGE_PASSWORD"  # invited: Cognito e-mails a temporary password
    listed = admin.get("/v1/users")[1]["users"]
    assert {u["email"]: u["role"] for u in listed}["dana@acme.example"] == "finance"
    assert len(listed) == 4  # the three signed-in people of the fixture and Dana
    assert msp.admin.get("/v1/users")[1] == {"users": listed}  # an admin API token sees the same


def test_only_admins_manage_users(people, msp):
    for caller in (people["technician"], people["finance"], msp.technician, msp.agent):
        assert_error(caller.get("/v1/users"), 403, "forbidden")
        assert_error(caller.post("/v1/users", {"email": "x@acme.example", "role": "admin"}), 403, "forbidden")
        assert_error(caller.patch(f"/v1/users/{people['admin'].user_id}", {"role": "technician"}), 403, "forbidden")


@pytest.mark.parametrize("body, field", [
    ({"email": "not an email", "role": "technician"}, "email"),
    ({"email": "a@b", "role": "technician"}, "email"),
    ({"email": ["a@acme.example"], "role": "technician"}, "email"),
    ({"email": "a@acme.example", "role": "agent"}, "role"),
    ({"email": "a@acme.example", "role": "owner"}, "role"),
    ({"email": "a@acme.example"}, "role"),
    ({"role": "admin"}, "email"),
    ({"email": "a@acme.example", "role": "admin", "tenant_id": "t_other"}, "tenant_id"),
    ({"email": "a@acme.example", "role": "admin", "name": ""}, "name"),
])
def test_a_bad_invitation_names_its_field_and_invites_nobody(people, pool, body, field):
    before = pool_users(pool)
    assert_invalid(people["admin"].post("/v1/users", body), field)
    assert pool_users(pool) == before


def test_an_email_already_in_use_is_a_conflict(people, pool):
    before = pool_users(pool)
    assert_error(people["admin"].post("/v1/users", {"email": people["finance"].email, "role": "admin"}), 409, "user_exists")
    assert pool_users(pool) == before


@pytest.mark.parametrize("body, field", [
    ({"role": "agent"}, "role"),
    ({"enabled": "no"}, "enabled"),
    ({"name": None}, "name"),
    ({"email": "new@acme.example"}, "email"),
    ({}, "body"),
])
def test_a_bad_change_names_its_field_and_changes_nothing(people, pool, body, field):
    before = pool_users(pool)
    assert_invalid(people["admin"].patch(f"/v1/users/{people['technician'].user_id}", body), field)
    assert pool_users(pool) == before


def test_the_last_admin_can_neither_demote_nor_disable_themselves(people, pool):
    admin = people["admin"]
    before = pool_users(pool)
    assert_invalid(admin.patch(f"/v1/users/{admin.user_id}", {"role": "finance"}), "role")
    assert_invalid(admin.patch(f"/v1/users/{admin.user_id}", {"enabled": False}), "enabled")
    assert pool_users(pool) == before
    assert admin.get("/v1/me")[1]["role"] == "admin"
    # with a second admin, stepping down is allowed
    assert admin.patch(f"/v1/users/{people['finance'].user_id}", {"role": "admin"})[0] == 200
    assert admin.patch(f"/v1/users/{admin.user_id}", {"role": "technician"})[1]["role"] == "technician"


def test_another_tenants_users_are_neither_listed_nor_changed(people, rival_people, pool):
    rival = rival_people["admin"]
    assert {u["user_id"] for u in rival.get("/v1/users")[1]["users"]} == {p.user_id for p in rival_people.values()}
    before = pool_users(pool)
    for body in ({"role": "admin"}, {"enabled": False}, {"name": "Mallory"}):
        error = assert_error(rival.patch(f"/v1/users/{people['technician'].user_id}", body), 404, "not_found")
        assert error["message"].startswith("user_id:")
    assert_error(rival.patch('/v1/users/sub%20%3D%20%22x%22', {"role": "admin"}), 404, "not_found")  # no filter injection
    assert pool_users(pool) == before
    assert people["technician"].refresh()  # still signed in


def test_a_renamed_person_is_named_so_from_their_next_token(people):
    admin, person = people["admin"], people["finance"]
    assert admin.patch(f"/v1/users/{person.user_id}", {"name": "Fiona Finance"})[1]["name"] == "Fiona Finance"
    person.refresh()
    assert person.get("/v1/me")[1]["actor"]["name"] == "Fiona Finance"


def test_a_disabled_person_is_enabled_again(people):
    admin, person = people["admin"], people["technician"]
    assert admin.patch(f"/v1/users/{person.user_id}", {"enabled": False})[1]["enabled"] is False
    assert admin.patch(f"/v1/users/{person.user_id}", {"enabled": True})[1]["enabled"] is True
    person.sign_in()
    assert person.get("/v1/me")[0] == 200


def test_delete_disables_a_user_who_stays_listed_and_named(people, pool):
    admin, leaving = people["admin"], people["finance"]
    assert_invalid(admin.call("DELETE", f"/v1/users/{leaving.user_id}", {"enabled": True}), "body")
    assert_invalid(admin.call("DELETE", f"/v1/users/{admin.user_id}"), "enabled")  # the last admin
    status, gone = admin.call("DELETE", f"/v1/users/{leaving.user_id}")
    assert status == 200 and gone["enabled"] is False and gone["email"] == leaving.email
    with pytest.raises(boto3.client("cognito-idp").exceptions.NotAuthorizedException):
        leaving.refresh()
    assert {u["user_id"]: u["enabled"] for u in admin.get("/v1/users")[1]["users"]}[leaving.user_id] is False


def test_the_sample_events_of_both_apis_reach_the_users_function(pool):
    """events/users.json (an admin API token, the Lambda authorizer's context) invites a person;
    events/users.staff.json (a signed-in admin, the JWT authorizer's claims as API Gateway hands
    them: `cognito:groups` as "[admin]") lists them: one function reads its caller from either."""
    import json
    from pathlib import Path

    from billing_local import template
    from billing_local.gateway import load_handler

    events = Path(__file__).resolve().parents[2] / "events"
    (route,) = [r for r in template.routes() if r.key == "GET /v1/users"]
    handler = load_handler(str(route.code_dir), route.handler)
    invited = handler(json.loads((events / "users.json").read_text()), None)
    assert invited["statusCode"] == 201, invited
    listed = handler(json.loads((events / "users.staff.json").read_text()), None)
    assert listed["statusCode"] == 200, listed
    assert [(u["email"], u["role"], u["name"]) for u in json.loads(listed["body"])["users"]] == [("ann@example.com", "technician", "Ann")]


@pytest.mark.parametrize("address", ["*o+p|4z|7$@k.3se6mc5v.org", "a b@acme.example", "ann@acme", "ann@@acme.example", "x" * 65 + "@acme.example"])
def test_an_address_the_pool_would_not_take_is_refused_naming_email(people, pool, address):
    before = pool_users(pool)
    assert_invalid(people["admin"].post("/v1/users", {"email": address, "role": "technician"}), "email")
    assert pool_users(pool) == before
