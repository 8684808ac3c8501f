"""PUT /v1/groups/{group_id}, GET /v1/groups, PUT /v1/groups/{group_id}/computers/{computer_id}
and PUT /v1/groups/{group_id}/contract: the address book and who is accounted by which profile."""
import pytest

from .conftest import GOLD, assert_error, assert_invalid, create_group, create_profile, record, upload


def test_a_group_is_created_then_renamed_and_listed(msp):
    assert msp.admin.put("/v1/groups/acme", {"name": "Acme Ltd"}) == (201, {"group_id": "acme", "name": "Acme Ltd", "profile_id": None})
    assert msp.admin.put("/v1/groups/acme", {"name": "Acme Group"}) == (200, {"group_id": "acme", "name": "Acme Group", "profile_id": None})
    assert msp.admin.put("/v1/groups/globex", {"name": "Globex"})[0] == 201
    for role in ("admin", "technician", "finance"):
        status, listing = getattr(msp, role).get("/v1/groups")
        assert status == 200
        assert sorted((g["group_id"], g["name"]) for g in listing["groups"]) == [("acme", "Acme Group"), ("globex", "Globex")]


def test_a_computer_is_put_in_a_group_and_moved(msp, acme):
    create_group(msp, "globex", "standard")
    assert msp.admin.put("/v1/groups/acme/computers/pc-2", {"name": "Laptop"}) == (200, {"computer_id": "pc-2", "group_id": "acme", "name": "Laptop"})
    assert record(msp, "s-1", group_id=None, computer_id="pc-2")["group_id"] == "acme"
    assert msp.admin.put("/v1/groups/globex/computers/pc-2", {"name": "Laptop"})[1]["group_id"] == "globex"
    assert record(msp, "s-2", group_id=None, computer_id="pc-2")["group_id"] == "globex"
    assert msp.admin.get("/v1/sessions/s-1")[1]["group_id"] == "acme"  # booked where it was


@pytest.mark.parametrize("body, field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": 7}, "name"), ({"name": "x" * 201}, "name"),
    ({"name": "bad\nname"}, "name"), ({"name": "Acme", "vat": "x"}, "vat"),
])
def test_a_bad_group_or_computer_is_a_400_naming_the_field(msp, body, field):
    assert_invalid(msp.admin.put("/v1/groups/acme", body), field)
    assert msp.admin.get("/v1/groups") == (200, {"groups": []})
    create_group(msp, "acme")
    assert_invalid(msp.admin.put("/v1/groups/acme/computers/pc-1", body), field)


def test_an_id_over_128_characters_is_a_400_naming_it(msp):
    assert_invalid(msp.admin.put("/v1/groups/" + "g" * 129, {"name": "Long"}), "group_id")
    create_group(msp, "acme")
    assert_invalid(msp.admin.put("/v1/groups/acme/computers/" + "c" * 129, {"name": "Long"}), "computer_id")
    assert msp.admin.put("/v1/groups/" + "g" * 128, {"name": "Long enough"})[0] == 201


def test_a_computer_of_an_unknown_group_is_a_404(msp):
    assert_error(msp.admin.put("/v1/groups/nowhere/computers/pc-1", {"name": "PC"}), 404, "not_found")


def test_another_tenants_group_is_invisible(msp, other_msp):
    create_group(other_msp, "theirs")
    assert_error(msp.admin.put("/v1/groups/theirs/computers/pc-1", {"name": "PC"}), 404, "not_found")
    create_profile(msp, profile_id="standard")
    assert_error(msp.admin.put("/v1/groups/theirs/contract", {"profile_id": "standard"}), 404, "not_found")
    assert msp.admin.get("/v1/groups") == (200, {"groups": []})
    # the same id in this tenant is this tenant's own group; theirs keeps its name
    assert msp.admin.put("/v1/groups/theirs", {"name": "Ours"})[0] == 201
    assert other_msp.admin.get("/v1/groups")[1]["groups"] == [{"group_id": "theirs", "name": "theirs Ltd", "profile_id": None}]


def test_assigning_a_profile_answers_the_contract(msp):
    create_profile(msp, profile_id="standard")
    create_group(msp, "acme")
    status, contract = msp.admin.put("/v1/groups/acme/contract", {"profile_id": "standard"})
    assert status == 200, contract
    assert {k: contract[k] for k in ("group_id", "profile_id", "profile_version", "profile_name", "type", "currency")} == {
        "group_id": "acme", "profile_id": "standard", "profile_version": 1, "profile_name": "Standard",
        "type": "pay_per_use", "currency": "EUR"}
    assert "balance" not in contract
    assert msp.admin.get("/v1/groups")[1]["groups"] == [{"group_id": "acme", "name": "acme Ltd", "profile_id": "standard"}]


def test_assigning_a_subscription_answers_its_balance(msp):
    create_profile(msp, GOLD, profile_id="gold")
    create_group(msp, "acme")
    status, contract = msp.admin.put("/v1/groups/acme/contract", {"profile_id": "gold"})
    assert status == 200
    assert contract["balance"] == {"total_minutes": 600, "recharged_minutes": 0, "used_minutes": 0, "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0,
                                   "available_minutes": 600, "amount": "500.00"}


@pytest.mark.parametrize("body, field", [({}, "profile_id"), ({"profile_id": 5}, "profile_id"),
                                         ({"profile_id": ""}, "profile_id"), ({"profile_id": "standard", "since": "2026"}, "since")])
def test_a_bad_assignment_is_a_400_naming_the_field(msp, body, field):
    create_profile(msp, profile_id="standard")
    create_group(msp, "acme")
    assert_invalid(msp.admin.put("/v1/groups/acme/contract", body), field)
    assert msp.admin.get("/v1/groups")[1]["groups"][0]["profile_id"] is None


def test_assigning_an_unknown_or_another_tenants_profile_is_a_404(msp, other_msp):
    create_profile(other_msp, profile_id="theirs")
    create_group(msp, "acme")
    assert_error(msp.admin.put("/v1/groups/acme/contract", {"profile_id": "theirs"}), 404, "not_found")
    assert_error(msp.admin.put("/v1/groups/acme/contract", {"profile_id": "nothing"}), 404, "not_found")
    assert_error(msp.admin.put("/v1/groups/nowhere/contract", {"profile_id": "theirs"}), 404, "not_found")
    assert msp.technician.get("/v1/groups/acme/totals")[1]["contract"] is None


def test_an_upload_naming_only_an_unknown_computer_is_a_400_naming_group_id(msp, acme):
    assert_invalid(msp.agent.post("/v1/sessions", upload("s-1", group_id=None, computer_id="pc-404")), "group_id")
