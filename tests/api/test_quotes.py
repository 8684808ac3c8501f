"""POST /v1/quotes (SPEC §10, §12): staff price sessions before they happen, by a stored profile
or a tariff given inline, each explained; nothing is recorded or changed."""
import os

import boto3
import pytest

from .conftest import GOLD, STANDARD, assert_error, assert_invalid, create_profile

from golden import SURCHARGE_CASES

SUBJECT = {"started_at": "2026-10-06T17:00:00+02:00", "ended_at": "2026-10-06T19:00:00+02:00"}
EVENING = {"name": "evening", "days": ["mon", "tue", "wed", "thu", "fri"], "from": "18:00", "to": "24:00", "multiplier": "1.50"}


def table_items() -> list:
    """Every item, canonical (a test-side Scan: the product never scans)."""
    page = boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)
    return sorted(str(sorted(item.items())) for item in page["Items"])


def quoted_session(case: dict) -> dict:
    session = {"started_at": case["started_at"], "ended_at": case["ended_at"]}
    if "extra_minutes" in case:
        session["extra_minutes"] = case["extra_minutes"]
    return session


def figures(answer: dict) -> dict:
    return {name: answer[name] for name in ("connection_seconds", "total_seconds", "multiplier", "billed_minutes", "cost")}


def expected(case: dict) -> dict:
    return {name: value for name, value in case["expect"].items() if name != "recorded"}


# ---------------------------------------------------------------- the golden cases


@pytest.mark.parametrize("case", SURCHARGE_CASES, ids=[case["name"] for case in SURCHARGE_CASES])
def test_a_golden_surcharge_case_quoted_inline_and_by_a_stored_profile(msp, case):
    status, inline = msp.technician.post("/v1/quotes", {"profile": case["profile"], "sessions": [quoted_session(case)]})
    assert status == 200, inline
    [answer] = inline["sessions"]
    assert figures(answer) == expected(case)
    assert answer["currency"] == case["profile"]["currency"]
    assert answer["pricing"]["multiplier"] == answer["multiplier"]
    assert (answer["pricing"]["profile_id"], answer["pricing"]["profile_version"]) == (None, None)

    create_profile(msp, {"name": "Golden", **case["profile"]}, profile_id="golden")
    status, stored = msp.finance.post("/v1/quotes", {"profile_id": "golden", "sessions": [quoted_session(case)]})
    assert status == 200, stored
    assert stored["sessions"][0] == {**answer, "pricing": {**answer["pricing"], "profile_id": "golden", "profile_version": 1}}


def test_every_golden_case_in_one_quote_answers_in_request_order(msp):
    """Cases of one profile each are quoted one by one above; here many sessions of one profile."""
    paris = next(case for case in SURCHARGE_CASES if case["name"].startswith("evening surcharge"))
    sessions = [quoted_session(paris), {"started_at": "2026-10-06T08:00:00Z", "ended_at": "2026-10-06T09:00:00Z"},
                {"started_at": "2026-10-06T16:00:00Z", "ended_at": "2026-10-06T17:00:00Z", "extra_minutes": 60}]
    status, body = msp.admin.post("/v1/quotes", {"profile": paris["profile"], "sessions": sessions})
    assert status == 200, body
    assert [(s["multiplier"], s["billed_minutes"], s["cost"]) for s in body["sessions"]] == [
        ("1.2500", 120, "200.00"), ("1.0000", 60, "80.00"), ("1.5000", 120, "240.00")]


# ---------------------------------------------------------------- the answer


def test_a_quote_explains_the_price_line_by_line(msp):
    create_profile(msp, STANDARD, profile_id="standard", time_zone="Europe/Paris", surcharges=[EVENING])
    status, body = msp.technician.post("/v1/quotes", {"profile_id": "standard", "sessions": [
        {"started_at": "2026-10-06T17:40:00+02:00", "ended_at": "2026-10-06T18:20:00+02:00"}]})
    assert status == 200, body
    assert body == {"sessions": [{
        "connection_seconds": 2400, "total_seconds": 2400, "billed_minutes": 40, "cost": "56.25", "currency": "EUR",
        "multiplier": "1.2500",
        "pricing": {"profile_id": "standard", "profile_version": 1, "multiplier": "1.2500", "lines": [
            {"code": "initial_step", "values": {"minutes": 15, "amount": "20.00"},
             "text": "initial 15 min: 20.00", "amount": "20.00", "minutes": 15},
            {"code": "steps", "values": {"count": 5, "step_minutes": 5, "step_cost": "5.00", "amount": "25.00"},
             "text": "5 × 5 min at 5.00: 25.00", "amount": "25.00", "minutes": 25},
            {"code": "surcharge_share", "values": {"name": "evening", "multiplier": "1.50", "minutes": 20, "connection_minutes": 40},
             "text": "evening ×1.50 on 20 of 40 min", "minutes": 20},
            {"code": "multiplier", "values": {"base": "45.00", "multiplier": "1.2500", "amount": "56.25"},
             "text": "45.00 × 1.2500: 56.25", "amount": "56.25"},
        ]},
    }]}


def test_a_quote_uses_the_latest_profile_version(msp):
    create_profile(msp, STANDARD, profile_id="standard")
    assert msp.admin.put("/v1/profiles/standard", {**STANDARD, "step_cost": "6.00"})[0] == 200
    status, body = msp.technician.post("/v1/quotes", {"profile_id": "standard", "sessions": [
        {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:22:00Z"}]})
    assert status == 200, body
    assert (body["sessions"][0]["cost"], body["sessions"][0]["pricing"]["profile_version"]) == ("32.00", 2)


def test_a_subscription_quote_bills_minutes_and_costs_nothing(msp):
    status, body = msp.technician.post("/v1/quotes", {"profile": GOLD, "sessions": [
        {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:22:00Z"}]})
    assert status == 200, body
    assert (body["sessions"][0]["billed_minutes"], body["sessions"][0]["cost"]) == (30, None)
    assert body["sessions"][0]["pricing"]["lines"] == [{
        "code": "balance_steps", "values": {"seconds": 1320, "step_minutes": 15, "minutes": 30},
        "text": "22 min in 15-min steps: 30 min", "minutes": 30}]


def test_a_session_below_the_minimum_answers_in_its_place(msp):
    status, body = msp.technician.post("/v1/quotes", {"profile": {**STANDARD, "min_duration_minutes": 2}, "sessions": [
        {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:01:59Z"},
        {"started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:02:00Z"}]})
    assert status == 200, body
    assert body["sessions"][0] == {"recorded": False, "reason": "below_minimum_duration"}
    assert body["sessions"][1]["cost"] == "20.00"


def test_a_quote_records_and_changes_nothing(msp):
    create_profile(msp, STANDARD, profile_id="standard")
    before = table_items()
    for _ in range(2):
        assert msp.technician.post("/v1/quotes", {"profile_id": "standard", "sessions": [SUBJECT]})[0] == 200
        assert msp.technician.post("/v1/quotes", {"profile": STANDARD, "sessions": [SUBJECT]})[0] == 200
    assert table_items() == before


# ---------------------------------------------------------------- refused


def test_another_tenants_profile_is_not_found(msp, other_msp):
    create_profile(other_msp, STANDARD, profile_id="theirs")
    assert_error(msp.technician.post("/v1/quotes", {"profile_id": "theirs", "sessions": [SUBJECT]}), 404, "not_found")


@pytest.mark.parametrize("body, field", [
    ({"sessions": [SUBJECT]}, "profile_id"),
    ({"profile_id": "standard", "profile": STANDARD, "sessions": [SUBJECT]}, "profile"),
    ({"profile": "standard", "sessions": [SUBJECT]}, "profile"),
    ({"profile_id": "", "sessions": [SUBJECT]}, "profile_id"),
    ({"profile": {**STANDARD, "profile_id": "x"}, "sessions": [SUBJECT]}, "profile.profile_id"),
    ({"profile": {**STANDARD, "step_minutes": 0}, "sessions": [SUBJECT]}, "profile.step_minutes"),
    ({"profile": {**STANDARD, "surcharges": [{**EVENING, "to": "17:00"}]}, "sessions": [SUBJECT]}, "profile.surcharges[0].to"),
    ({"profile": {**STANDARD, "time_zone": "Paris"}, "sessions": [SUBJECT]}, "profile.time_zone"),
    ({"profile": {k: v for k, v in STANDARD.items() if k != "type"}, "sessions": [SUBJECT]}, "profile.type"),
    ({"profile": STANDARD}, "sessions"),
    ({"profile": STANDARD, "sessions": []}, "sessions"),
    ({"profile": STANDARD, "sessions": [SUBJECT] * 101}, "sessions"),
    ({"profile": STANDARD, "sessions": [SUBJECT, "x"]}, "sessions[1]"),
    ({"profile": STANDARD, "sessions": [SUBJECT, {**SUBJECT, "notes": "x"}]}, "sessions[1].notes"),
    ({"profile": STANDARD, "sessions": [{"ended_at": SUBJECT["ended_at"]}]}, "sessions[0].started_at"),
    ({"profile": STANDARD, "sessions": [{**SUBJECT, "ended_at": "2026-10-06T19:00:00"}]}, "sessions[0].ended_at"),
    ({"profile": STANDARD, "sessions": [{**SUBJECT, "ended_at": "2026-10-06T16:00:00+02:00"}]}, "sessions[0].ended_at"),
    ({"profile": STANDARD, "sessions": [{**SUBJECT, "ended_at": "2026-11-07T17:00:01+02:00"}]}, "sessions[0].ended_at"),
    ({"profile": STANDARD, "sessions": [{**SUBJECT, "extra_minutes": 10_081}]}, "sessions[0].extra_minutes"),
    ({"profile": STANDARD, "sessions": [{**SUBJECT, "extra_minutes": 1.5}]}, "sessions[0].extra_minutes"),
    ({"profile": STANDARD, "sessions": [SUBJECT], "group_id": "acme"}, "group_id"),
])
def test_a_bad_quote_is_refused_naming_the_field(msp, body, field):
    create_profile(msp, STANDARD, profile_id="standard")
    assert_invalid(msp.technician.post("/v1/quotes", body), field)


def test_a_quote_costing_more_than_the_money_limit_is_refused(msp):
    costly = {**STANDARD, "initial_step_minutes": 0, "initial_step_cost": "0.00", "step_minutes": 1,
              "step_cost": "999999.99", "surcharges": [{**EVENING, "days": ["sat"], "from": "00:00", "multiplier": "10.00"}]}
    week = {"started_at": "2026-10-10T00:00:00Z", "ended_at": "2026-10-10T23:59:00Z"}
    assert_invalid(msp.technician.post("/v1/quotes", {"profile": costly, "sessions": [week]}), "sessions[0]")


def test_the_agent_may_not_quote(msp):
    assert_error(msp.agent.post("/v1/quotes", {"profile": STANDARD, "sessions": [SUBJECT]}), 403, "forbidden")
