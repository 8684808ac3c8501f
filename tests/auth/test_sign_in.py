"""Staff sign in with the user pool and call the staff API with their access token, which API
Gateway's JWT authorizer checks before any function runs; API tokens keep working beside them."""
import base64
import json
import time

import boto3
import pytest
from api.conftest import GOLD, create_group, create_profile, record
from conftest import Client
from joserfc import jwk, jwt

from billing_local import cognito

ACCESS_TOKEN_SECONDS = 15 * 60  # the console's app client in template.yaml


def part(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def refused(answer, status=401):
    got, body = answer
    assert got == status, (got, body)
    assert body == {"message": "Unauthorized" if status == 401 else "Forbidden"}, body  # API Gateway's own answer


def test_a_person_signs_in_and_is_named_with_tenant_and_role_from_the_token(people, msp):
    admin = people["admin"]
    claims = claims_of(admin.token)
    assert claims["token_use"] == "access" and claims["tenant_id"] == msp.tenant_id
    assert claims["exp"] - claims["iat"] == ACCESS_TOKEN_SECONDS
    assert admin.get("/v1/me") == (200, {
        "tenant_id": msp.tenant_id, "tenant_name": "Acme IT", "role": "admin", "token_id": None, "label": None, "time_zone": "UTC",
        "actor": {"kind": "user", "id": admin.user_id, "name": "Admin Person"}})
    assert msp.agent.get("/v1/me")[1]["actor"]["kind"] == "token"  # API tokens work beside people


def test_a_refreshed_token_works_and_names_the_same_person(people):
    technician = people["technician"]
    first = technician.token
    answer = technician.refresh()
    assert answer["AccessToken"] != first and "RefreshToken" not in answer
    assert technician.get("/v1/me")[1]["actor"]["id"] == technician.user_id


def test_the_audit_names_the_person_who_acted(people, msp):
    create_group(msp, "acme", create_profile(msp, profile_id="standard")["profile_id"], computers=["pc-1"])
    record(msp, "s-1")
    assert people["technician"].patch("/v1/sessions/s-1", {"notes": "printer"})[0] == 200
    assert people["finance"].post("/v1/sessions/s-1/lock")[0] == 200
    history = people["admin"].get("/v1/sessions/s-1/history")[1]["history"]
    assert [(e["action"], e["role"], e["actor"]["kind"]) for e in history] == [
        ("recorded", "agent", "token"), ("adjusted", "technician", "user"), ("locked", "finance", "user")]
    assert history[1]["actor"] == {"kind": "user", "id": people["technician"].user_id, "name": "Technician Person"}
    assert history[2]["actor"] == {"kind": "user", "id": people["finance"].user_id, "name": "Finance Person"}


def test_the_ledger_names_the_person_or_the_token_who_recharged(people, msp):
    create_group(msp, "acme", create_profile(msp, GOLD, profile_id="gold")["profile_id"])
    assert people["admin"].post("/v1/groups/acme/recharges", {"hours": 1, "amount": "50.00"})[0] == 201
    robot = Client(msp.admin.gateway, msp.admin.post("/v1/tokens", {"role": "admin", "label": "Billing robot"})[1]["token"])
    assert robot.post("/v1/groups/acme/recharges", {"hours": 2, "amount": "90.00"})[0] == 201
    entries = people["finance"].get("/v1/groups/acme/ledger")[1]["entries"]
    recharges = [(e["actor"]["kind"], e["actor"]["name"], e["role"]) for e in entries if e["kind"] == "recharge"]
    assert recharges == [("user", "Admin Person", "admin"), ("token", "Billing robot", "admin")], recharges


def test_a_forged_claim_is_refused_before_any_function_runs(people, other_msp):
    token = people["admin"].token
    header, payload, signature = token.split(".")
    forged = f"{header}.{part({**claims_of(token), 'tenant_id': other_msp.tenant_id})}.{signature}"
    people["admin"].token = forged
    refused(people["admin"].get("/v1/me"))
    people["admin"].token = f"{header}.{part({**claims_of(token), 'cognito:groups': ['admin', 'finance']})}.{signature}"
    refused(people["admin"].get("/v1/me"))


def test_an_unsigned_token_is_refused(people):
    claims = claims_of(people["finance"].token)
    for header in ({"alg": "none", "kid": "dummy"}, {"alg": "HS256", "kid": "dummy"}):
        people["finance"].token = f"{part(header)}.{part(claims)}."
        refused(people["finance"].get("/v1/me"))


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(people):
    claims = claims_of(people["finance"].token)
    key = jwk.RSAKey.generate_key(2048)
    people["finance"].token = jwt.encode({"alg": "RS256", "kid": "dummy"}, claims, key)
    refused(people["finance"].get("/v1/me"))


def test_a_token_of_another_user_pool_is_refused(people, pool, msp, gateway):
    idp = boto3.client("cognito-idp")
    other = idp.create_user_pool(PoolName="someone-else", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=other, ClientName="theirs")["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=other, GroupName="admin")
    cognito.add_user(idp, other, msp.tenant_id, "admin", "intruder@elsewhere.example", "Elsewhere-12345a")
    token = cognito.sign_in(idp, client_id, "intruder@elsewhere.example", "Elsewhere-12345a")["AccessToken"]
    assert claims_of(token)["tenant_id"] == msp.tenant_id  # it even claims our tenant
    people["admin"].token = token
    refused(people["admin"].get("/v1/users"))


def test_an_expired_token_is_refused(people, gateway):
    person = people["technician"]
    expires = claims_of(person.token)["exp"]
    gateway.clock = lambda: expires - 1
    try:
        assert person.get("/v1/me")[0] == 200
        gateway.clock = lambda: expires
        refused(person.get("/v1/me"))
    finally:
        gateway.clock = time.time


def test_an_id_token_is_refused_where_an_access_token_is_required(people):
    """An ID token is signed by the pool for the same client: only the scope every access token
    carries (which the staff API's authorizer requires) tells it apart; API Gateway answers 403."""
    person = people["admin"]
    person.token = person.tokens["IdToken"]
    assert claims_of(person.token)["token_use"] == "id"
    refused(person.get("/v1/me"), 403)


def test_api_tokens_and_non_jwt_bearers_never_reach_the_jwt_authorizer(people, msp, anonymous):
    assert msp.technician.get("/v1/groups")[0] == 200
    anonymous.token = "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"  # JWT-shaped garbage
    refused(anonymous.get("/v1/groups"))


def test_a_disabled_user_cannot_refresh_nor_sign_in_again(people):
    admin, leaving = people["admin"], people["technician"]
    status, changed = admin.patch(f"/v1/users/{leaving.user_id}", {"enabled": False})
    assert status == 200 and changed["enabled"] is False
    idp = boto3.client("cognito-idp")
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        leaving.refresh()
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        leaving.sign_in()


def test_a_role_change_takes_effect_at_the_next_token(people):
    admin, person = people["admin"], people["technician"]
    assert person.get("/v1/events")[0] == 403  # events: admin and finance
    assert admin.patch(f"/v1/users/{person.user_id}", {"role": "finance"})[1]["role"] == "finance"
    assert person.get("/v1/me")[1]["role"] == "technician"  # the access token in hand keeps its role until it expires
    person.refresh()
    assert person.get("/v1/me")[1]["role"] == "finance"
    assert person.get("/v1/events")[0] == 200
