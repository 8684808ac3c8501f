"""POST /v1/profiles, GET /v1/profiles, GET and PUT /v1/profiles/{profile_id}: versioned tariffs."""
import json

import pytest

from .conftest import GOLD, STANDARD, assert_error, assert_invalid, create_profile

def test_creating_a_profile_answers_version_1_with_exact_money(msp):
    status, profile = msp.admin.post("/v1/profiles", {**STANDARD, "profile_id": "standard"})
    assert status == 201, profile
    assert {k: profile[k] for k in ("profile_id", "version", *STANDARD)} == {"profile_id": "standard", "version": 1, **STANDARD}
    assert profile["created_at"].endswith("Z")


def test_a_profile_without_an_id_gets_one_and_reads_back_the_same(msp):
    profile = create_profile(msp, GOLD, total_hours=7.5)
    assert profile["profile_id"] and profile["total_hours"] == 7.5 and profile["amount"] == "500.00"
    assert msp.technician.get(f"/v1/profiles/{profile['profile_id']}") == (200, profile)


def test_the_profile_list_shows_each_profile_once_at_its_latest_version(msp):
    create_profile(msp, profile_id="standard")
    create_profile(msp, GOLD, profile_id="gold")
    status, updated = msp.admin.put("/v1/profiles/standard", {**STANDARD, "step_cost": "7.00"})
    assert status == 200 and updated["version"] == 2 and updated["step_cost"] == "7.00"
    status, listing = msp.finance.get("/v1/profiles")
    assert status == 200
    assert sorted((p["profile_id"], p["version"]) for p in listing["profiles"]) == [("gold", 1), ("standard", 2)]


def test_an_update_makes_version_n_plus_1_and_keeps_every_older_one(msp):
    create_profile(msp, profile_id="standard")
    for version, cost in ((2, "6.00"), (3, "7.50")):
        status, profile = msp.admin.put("/v1/profiles/standard", {**STANDARD, "name": f"Standard {version}", "step_cost": cost})
        assert status == 200, profile
        assert (profile["version"], profile["step_cost"], profile["name"]) == (version, cost, f"Standard {version}")
    assert msp.admin.get("/v1/profiles/standard")[1]["version"] == 3
    for version, cost in ((1, "5.00"), (2, "6.00"), (3, "7.50")):
        status, old = msp.admin.get("/v1/profiles/standard", query=f"version={version}")
        assert status == 200 and (old["version"], old["step_cost"]) == (version, cost)
    assert msp.admin.get("/v1/profiles/standard", query="version=4")[0] == 404


def test_an_update_never_changes_the_type(msp):
    create_profile(msp, profile_id="plan")
    status, body = msp.admin.put("/v1/profiles/plan", GOLD)
    assert (status, body["error"]["code"]) == (409, "immutable_field"), body
    assert msp.admin.get("/v1/profiles/plan")[1]["type"] == "pay_per_use"


def test_an_existing_profile_id_is_a_409_and_keeps_the_profile(msp):
    create_profile(msp, profile_id="standard")
    assert_error(msp.admin.post("/v1/profiles", {**STANDARD, "profile_id": "standard", "step_cost": "1.00"}), 409, "profile_exists")
    status, profile = msp.admin.get("/v1/profiles/standard")
    assert (profile["version"], profile["step_cost"]) == (1, "5.00")


@pytest.mark.parametrize("change, field", [
    ({"colour": "red"}, "colour"),
    ({"total_hours": 10}, "total_hours"),  # a field of the other type
    ({"type": "flat_rate"}, "type"),
    ({"type": None}, "type"),
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"currency": "eur"}, "currency"),
    ({"currency": None}, "currency"),
    ({"step_minutes": 0}, "step_minutes"),
    ({"step_minutes": "5"}, "step_minutes"),
    ({"step_minutes": 2.5}, "step_minutes"),
    ({"min_duration_minutes": -1}, "min_duration_minutes"),
    ({"min_duration_minutes": True}, "min_duration_minutes"),
    ({"initial_step_cost": "20.001"}, "initial_step_cost"),
    ({"initial_step_cost": "-1.00"}, "initial_step_cost"),
    ({"initial_step_cost": "twenty"}, "initial_step_cost"),
    ({"step_cost": "1000000000.00"}, "step_cost"),
    ({"step_cost": [5]}, "step_cost"),
    ({"profile_id": "p" * 129}, "profile_id"),
])
def test_a_bad_profile_is_a_400_naming_the_field(msp, change, field):
    assert_invalid(msp.admin.post("/v1/profiles", {**STANDARD, **change}), field)
    assert msp.admin.get("/v1/profiles") == (200, {"profiles": []})


@pytest.mark.parametrize("missing", ["name", "type", "currency", "min_duration_minutes", "initial_step_minutes",
                                     "initial_step_cost", "step_minutes", "step_cost"])
def test_a_missing_profile_field_is_a_400_naming_it(msp, missing):
    assert_invalid(msp.admin.post("/v1/profiles", {k: v for k, v in STANDARD.items() if k != missing}), missing)


@pytest.mark.parametrize("change, field", [({"total_hours": 0.01}, "total_hours"), ({"total_hours": 0}, "total_hours"),
                                           ({"amount": "5.5.5"}, "amount"), ({"step_cost": "1.00"}, "step_cost")])
def test_a_bad_subscription_is_a_400_naming_the_field(msp, change, field):
    assert_invalid(msp.admin.post("/v1/profiles", {**GOLD, **change}), field)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"name": NaN}', b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400_naming_the_body(msp, raw):
    assert_invalid(msp.admin.call("POST", "/v1/profiles", raw=raw, headers={"content-type": "application/json"}), "body")


def test_a_body_over_1_mb_is_a_413(msp):
    raw = json.dumps({**STANDARD, "name": "x" * 1_100_000}).encode()
    assert_error(msp.admin.call("POST", "/v1/profiles", raw=raw), 413)


def test_an_update_is_validated_like_a_creation(msp):
    create_profile(msp, profile_id="standard")
    assert_invalid(msp.admin.put("/v1/profiles/standard", {**STANDARD, "step_minutes": -5}), "step_minutes")
    assert_invalid(msp.admin.put("/v1/profiles/standard", {**STANDARD, "profile_id": "other"}), "profile_id")
    assert_invalid(msp.admin.put("/v1/profiles/standard", {**STANDARD, "discount": "5%"}), "discount")
    assert_invalid(msp.admin.get("/v1/profiles/standard", query="version=first"), "version")
    assert msp.admin.get("/v1/profiles/standard")[1]["version"] == 1


def test_another_tenants_profile_is_a_404_to_read_and_to_update(msp, other_msp):
    create_profile(other_msp, profile_id="theirs")
    assert_error(msp.admin.get("/v1/profiles/theirs"), 404, "not_found")
    assert_error(msp.admin.get("/v1/profiles/theirs", query="version=1"), 404, "not_found")
    assert_error(msp.admin.put("/v1/profiles/theirs", STANDARD), 404, "not_found")
    assert msp.admin.get("/v1/profiles") == (200, {"profiles": []})
    status, theirs = other_msp.admin.get("/v1/profiles/theirs")
    assert (status, theirs["version"]) == (200, 1)


def test_the_same_profile_id_in_two_tenants_is_two_profiles(msp, other_msp):
    create_profile(msp, profile_id="standard")
    create_profile(other_msp, GOLD, profile_id="standard")
    assert msp.admin.get("/v1/profiles/standard")[1]["type"] == "pay_per_use"
    assert other_msp.admin.get("/v1/profiles/standard")[1]["type"] == "subscription"


# ---------------------------------------------------------------- SPEC §10 fields


RULES = {
    "time_zone": "Europe/Paris",
    "surcharges": [
        {"name": "evening", "days": ["mon", "tue", "wed", "thu", "fri"], "from": "18:00", "to": "24:00", "multiplier": "1.50"},
        {"name": "public holiday", "days": ["holiday"], "from": "00:00", "to": "24:00", "multiplier": "2.00"},
    ],
    "holidays": {"country": "FR", "subdivision": None, "dates": ["2026-12-24"]},
}


def test_a_profile_with_tariff_rules_is_stored_versioned_and_answered_as_given(msp):
    body = {**GOLD, "profile_id": "gold", **RULES, "overage_step_cost": "30.00", "alert_thresholds": [50, 20, 0]}
    status, created = msp.admin.post("/v1/profiles", body)
    assert status == 201, created
    assert {name: created[name] for name in body if name != "name"} == {n: v for n, v in body.items() if n != "name"}
    assert msp.technician.get("/v1/profiles/gold") == (200, created)
    assert msp.admin.put("/v1/groups/acme", {"name": "Acme"})[0] == 201
    assert msp.admin.put("/v1/groups/acme/contract", {"profile_id": "gold"})[0] == 200

    changed = {**body, "surcharges": RULES["surcharges"][:1], "alert_thresholds": [10]}
    status, updated = msp.admin.put("/v1/profiles/gold", changed)
    assert status == 200, updated
    assert (updated["version"], updated["surcharges"], updated["alert_thresholds"]) == (2, RULES["surcharges"][:1], [10])
    assert msp.technician.get("/v1/profiles/gold", query="version=1")[1]["surcharges"] == RULES["surcharges"]
    # the contract took version 2, its rules included: a weekday evening is surcharged
    upload = {"session_id": "s-1", "technician": "ann", "computer_id": "pc-1", "group_id": "acme",
              "started_at": "2026-10-06T18:00:00+02:00", "ended_at": "2026-10-06T18:50:00+02:00"}
    assert msp.agent.post("/v1/sessions", upload)[0] == 201
    session = msp.technician.get("/v1/sessions/s-1")[1]
    assert (session["billed_minutes"], session["pricing"]["profile_version"], session["pricing"]["multiplier"]) == (75, 2, "1.5000")


def test_a_profile_without_the_rules_answers_as_before(msp):
    status, created = msp.admin.post("/v1/profiles", {**STANDARD, "profile_id": "standard"})
    assert status == 201
    assert not {"time_zone", "surcharges", "holidays", "overage_step_cost", "alert_thresholds"} & set(created)


@pytest.mark.parametrize("changes, field", [
    ({"surcharges": [{**RULES["surcharges"][0], "from": "18:60"}]}, "surcharges[0].from"),
    ({"surcharges": RULES["surcharges"]}, "surcharges[1].days"),  # a holiday rule without holidays
    ({"holidays": {"country": "XX"}}, "holidays.country"),
    ({"time_zone": "Europe/Pariss"}, "time_zone"),
    ({"overage_step_cost": "1.001"}, "overage_step_cost"),
    ({"alert_thresholds": [50, 50]}, "alert_thresholds[1]"),
])
def test_bad_tariff_rules_are_refused_and_nothing_is_created(msp, changes, field):
    assert_invalid(msp.admin.post("/v1/profiles", {**GOLD, "profile_id": "gold", **changes}), field)
    assert msp.technician.get("/v1/profiles/gold")[0] == 404
