"""GET/POST /v1/tokens and DELETE /v1/tokens/{token_id}: an admin issues a labelled token (shown
once), lists the tenant's tokens (never the secret) and revokes one; the audit names labels."""
import pytest

from tests.conftest import Client

from .conftest import assert_error, assert_invalid, create_group, create_profile, record


def test_an_admin_issues_lists_and_revokes_a_labelled_token(msp, gateway):
    status, issued = msp.admin.post("/v1/tokens", {"role": "technician", "label": "Ann's laptop"})
    assert status == 201, issued
    assert set(issued) == {"token_id", "role", "label", "created_at", "token"}
    assert (issued["role"], issued["label"]) == ("technician", "Ann's laptop") and issued["token"].startswith("rsa_")

    ann = Client(gateway, issued["token"])  # the new token works at once, with its role
    status, me = ann.get("/v1/me")
    assert status == 200 and (me["role"], me["label"], me["token_id"], me["tenant_name"]) == ("technician", "Ann's laptop", issued["token_id"], "Acme IT")

    status, listing = msp.admin.get("/v1/tokens")
    assert status == 200
    mine = [t for t in listing["tokens"] if t["token_id"] == issued["token_id"]]
    assert mine == [{"token_id": issued["token_id"], "role": "technician", "label": "Ann's laptop",
                     "created_at": issued["created_at"], "revoked_at": None}]
    assert len(listing["tokens"]) == 5  # the four of the fixture and Ann's
    assert issued["token"] not in str(listing)  # shown once: never listed

    status, revoked = msp.admin.call("DELETE", f"/v1/tokens/{issued['token_id']}")
    assert status == 200 and revoked["revoked_at"] is not None and revoked["label"] == "Ann's laptop"
    assert_error(ann.get("/v1/me"), 401, "unauthorized")
    again = msp.admin.call("DELETE", f"/v1/tokens/{issued['token_id']}")  # revoking twice changes nothing
    assert again == (200, revoked)


@pytest.mark.parametrize("body, field", [
    ({}, "role"), ({"label": "x"}, "role"), ({"role": "technician"}, "label"),
    ({"role": "owner", "label": "x"}, "role"), ({"role": 3, "label": "x"}, "role"),
    ({"role": "finance", "label": ""}, "label"), ({"role": "finance", "label": "x" * 201}, "label"),
    ({"role": "finance", "label": "tab\there"}, "label"), ({"role": "finance", "label": "x", "tenant_id": "t"}, "tenant_id"),
    ({"role": "finance", "label": None}, "label"),
])
def test_a_bad_token_request_is_a_400_naming_the_field_and_issues_nothing(msp, body, field):
    assert_invalid(msp.admin.post("/v1/tokens", body), field)
    assert len(msp.admin.get("/v1/tokens")[1]["tokens"]) == 4


def test_only_admins_manage_tokens(msp):
    for role in ("technician", "finance", "agent"):
        client = getattr(msp, role)
        assert_error(client.get("/v1/tokens"), 403, "forbidden")
        assert_error(client.post("/v1/tokens", {"role": "admin", "label": "mine now"}), 403, "forbidden")
    assert len(msp.admin.get("/v1/tokens")[1]["tokens"]) == 4


def test_another_tenants_tokens_are_neither_listed_nor_revoked(msp, other_msp, gateway):
    issued = msp.admin.post("/v1/tokens", {"role": "finance", "label": "Bob"})[1]
    assert issued["token_id"] not in str(other_msp.admin.get("/v1/tokens")[1])
    assert_error(other_msp.admin.call("DELETE", f"/v1/tokens/{issued['token_id']}"), 404, "not_found")
    assert Client(gateway, issued["token"]).get("/v1/me")[0] == 200  # still valid


def test_the_audit_names_the_token_label(msp):
    create_profile(msp, profile_id="standard")
    create_group(msp, "acme", "standard")
    status, issued = msp.admin.post("/v1/tokens", {"role": "technician", "label": "Ann's laptop"})
    ann = Client(msp.admin.gateway, issued["token"])
    record(msp, "s-1")
    assert ann.patch("/v1/sessions/s-1", {"notes": "printer"})[0] == 200
    history = msp.admin.get("/v1/sessions/s-1/history")[1]["history"]
    assert [(e["action"], e["actor"]["name"]) for e in history] == [("recorded", None), ("adjusted", "Ann's laptop")]
    assert history[1]["actor"] == {"kind": "token", "id": issued["token_id"], "name": "Ann's laptop"}


def test_a_groups_computers_are_listed_and_follow_a_move(msp):
    create_group(msp, "acme", computers=("pc-1", "pc-2"))
    create_group(msp, "globex")
    assert msp.technician.get("/v1/groups/acme/computers") == (200, {"group_id": "acme", "computers": [
        {"computer_id": "pc-1", "group_id": "acme", "name": "pc-1"}, {"computer_id": "pc-2", "group_id": "acme", "name": "pc-2"}]})
    assert msp.admin.put("/v1/groups/globex/computers/pc-2", {"name": "Laptop"})[0] == 200
    assert [c["computer_id"] for c in msp.finance.get("/v1/groups/acme/computers")[1]["computers"]] == ["pc-1"]
    assert msp.finance.get("/v1/groups/globex/computers")[1]["computers"] == [{"computer_id": "pc-2", "group_id": "globex", "name": "Laptop"}]
    assert_error(msp.admin.get("/v1/groups/nowhere/computers"), 404, "not_found")
    assert_invalid(msp.admin.get("/v1/groups/acme/computers", "limit=3"), "limit")


def _authorizer_reads(monkeypatch, failures: int):
    """The authorizer's GetItem requests, the first `failures` of them throttled as DynamoDB does."""
    import botocore.exceptions
    from pynamodb.exceptions import GetError

    from billing_core.dal.models import ApiToken

    sent, real_get = [], ApiToken.get.__func__

    def get(cls, hash_key, range_key=None, consistent_read=False, **kwargs):
        sent.append(consistent_read)
        if len(sent) <= failures:
            throttled = botocore.exceptions.ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetItem")
            raise GetError("Failed to get item", cause=throttled)
        return real_get(cls, hash_key, range_key, consistent_read=consistent_read, **kwargs)

    monkeypatch.setattr(ApiToken, "get", classmethod(get))
    return sent


def test_a_token_just_issued_is_read_consistently_and_a_throttle_is_waited_out(msp, gateway, monkeypatch):
    issued = msp.admin.post("/v1/tokens", {"role": "finance", "label": "Bob"})[1]
    sent = _authorizer_reads(monkeypatch, failures=2)
    status, me = Client(gateway, issued["token"]).get("/v1/me")
    assert status == 200 and me["label"] == "Bob", me  # not API Gateway's bare 500
    assert sent == [True, True, True]  # strongly consistent, each time: never a 401 cached for a new token


def test_a_store_that_stays_down_is_never_answered_as_an_unknown_token(msp, gateway, monkeypatch):
    from billing_core import settings

    monkeypatch.setattr(settings, "retry_budget_seconds", lambda: 0.2)
    _authorizer_reads(monkeypatch, failures=10_000)
    status, body = msp.finance.get("/v1/me")
    assert status == 500 and body == {"message": "Internal Server Error"}  # the authorizer failed: no verdict cached
