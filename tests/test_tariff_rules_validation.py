"""The §10 profile fields (time zone, surcharge rules, holidays, overage price, alert thresholds):
valid ones parse to exact values and answer back as given; every bad one is refused naming the
field down to the rule and its part (`surcharges[2].from`)."""
from datetime import date
from decimal import Decimal

import pytest

from billing_core.errors import InvalidInput
from billing_core.profiles import parse_profile
from billing_core.tariff import Holidays, Surcharge
from billing_core.tariff_fields import parse_tariff, tariff_values

PAY = {"name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 0,
       "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00"}
SUB = {"name": "Gold", "type": "subscription", "currency": "EUR", "min_duration_minutes": 0,
       "total_hours": 10, "amount": "500.00", "step_minutes": 15}
EVENING = {"name": "evening", "days": ["mon", "tue", "wed", "thu", "fri"], "from": "18:00", "to": "24:00", "multiplier": "1.50"}
HOLIDAY = {"name": "public holiday", "days": ["holiday"], "from": "00:00", "to": "24:00", "multiplier": "2.00"}


def parsed(base=PAY, **changes):
    return parse_profile({**base, **changes})[2]


def refused(base=PAY, **changes) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        parse_profile({**base, **changes})
    assert error.value.message.startswith(f"{error.value.field}: ")
    assert error.value.status == 400
    return error.value


# ---------------------------------------------------------------- valid


def test_a_profile_with_every_rule_parses_and_answers_back_as_given():
    values = {
        "time_zone": "Europe/Paris",
        "surcharges": [EVENING, {**HOLIDAY, "days": ["sun", "holiday"]}],
        "holidays": {"country": "DE", "subdivision": "BY", "dates": ["2026-12-24", "2026-12-31"]},
        "overage_step_cost": "30.00",
        "alert_thresholds": [20, 50, 0],
    }
    tariff = parsed(SUB, **values)
    assert tariff.surcharges[0] == Surcharge("evening", ("mon", "tue", "wed", "thu", "fri"), 18 * 60, 1440, Decimal("1.50"))
    assert tariff.holidays == Holidays("DE", "BY", (date(2026, 12, 24), date(2026, 12, 31)))
    assert tariff.overage_step_cost == Decimal("30.00")
    assert tariff.alert_thresholds == (50, 20, 0)
    answered = tariff_values(tariff)
    assert answered["surcharges"] == [EVENING, {**HOLIDAY, "days": ["sun", "holiday"]}]
    assert answered["holidays"] == values["holidays"]
    assert (answered["time_zone"], answered["overage_step_cost"], answered["alert_thresholds"]) == ("Europe/Paris", "30.00", [50, 20, 0])
    assert parse_tariff("subscription", {k: v for k, v in answered.items() if k != "type"}) == tariff


def test_a_profile_without_the_rules_answers_exactly_the_reference_fields():
    assert set(tariff_values(parsed())) == {"type", "currency", "min_duration_minutes", "initial_step_minutes",
                                            "initial_step_cost", "step_minutes", "step_cost"}
    assert parsed(time_zone=None, surcharges=None, holidays=None) == parsed()


@pytest.mark.parametrize("multiplier, kept", [("1", "1.00"), ("10.00", "10.00"), (Decimal("1.5"), "1.50"), (2, "2.00")])
def test_multipliers_are_exact_with_two_places(multiplier, kept):
    assert str(parsed(surcharges=[{**EVENING, "multiplier": multiplier}]).surcharges[0].multiplier) == kept


def test_holidays_of_a_subdivision_follow_its_calendar():
    from billing_core.tariff import public_holidays

    assert date(2026, 1, 6) in public_holidays("DE", "BY", 2026)  # Epiphany: Bavaria, not Berlin
    assert date(2026, 1, 6) not in public_holidays("DE", "BE", 2026)


# ---------------------------------------------------------------- refused, naming the field


@pytest.mark.parametrize("zone", ["Mars/Olympus", "europe/paris", "Europe", "../etc/passwd", "/etc/localtime", "", 7, "Europe/Paris\x00"])
def test_an_unknown_time_zone_is_refused(zone):
    assert refused(time_zone=zone).field == "time_zone"


@pytest.mark.parametrize("surcharges, field, why", [
    ({"name": "x"}, "surcharges", "list"),
    ([EVENING] * 21, "surcharges", "at most 20"),
    ([EVENING, "night"], "surcharges[1]", "object"),
    ([EVENING, {**EVENING, "colour": "red"}], "surcharges[1].colour", "not a field"),
    ([{k: v for k, v in EVENING.items() if k != "name"}], "surcharges[0].name", "required"),
    ([{**EVENING, "name": ""}], "surcharges[0].name", "empty"),
    ([{**EVENING, "days": []}], "surcharges[0].days", "non-empty"),
    ([{**EVENING, "days": "mon"}], "surcharges[0].days", "list"),
    ([{**EVENING, "days": ["mon", "funday"]}], "surcharges[0].days[1]", "one of"),
    ([{**EVENING, "days": ["mon", "mon"]}], "surcharges[0].days[1]", "repeats"),
    ([HOLIDAY], "surcharges[0].days", "no holidays"),
    ([EVENING, EVENING, {**EVENING, "from": "25:00"}], "surcharges[2].from", "HH:MM"),
    ([{**EVENING, "from": "6:00"}], "surcharges[0].from", "HH:MM"),
    ([{**EVENING, "from": "24:00"}], "surcharges[0].from", "00:00 to 23:59"),
    ([{**EVENING, "to": "24:01"}], "surcharges[0].to", "HH:MM"),
    ([{**EVENING, "from": "22:00", "to": "06:00"}], "surcharges[0].to", "after from"),
    ([{**EVENING, "from": "22:00", "to": "22:00"}], "surcharges[0].to", "after from"),
    ([{**EVENING, "multiplier": "0.99"}], "surcharges[0].multiplier", "from 1.00 to 10.00"),
    ([{**EVENING, "multiplier": "10.01"}], "surcharges[0].multiplier", "from 1.00 to 10.00"),
    ([{**EVENING, "multiplier": "1.555"}], "surcharges[0].multiplier", "2 decimal places"),
    ([{**EVENING, "multiplier": "NaN"}], "surcharges[0].multiplier", "finite"),
    ([{**EVENING, "multiplier": True}], "surcharges[0].multiplier", "decimal"),
])
def test_a_bad_surcharge_rule_is_refused_naming_its_part(surcharges, field, why):
    error = refused(surcharges=surcharges)
    assert error.field == field
    assert why in error.reason, error.reason


@pytest.mark.parametrize("holidays, field, why", [
    ("FR", "holidays", "object"),
    ({}, "holidays", "country or list dates"),
    ({"country": "FR", "region": "x"}, "holidays.region", "not a field"),
    ({"country": "fr"}, "holidays.country", "country code"),
    ({"country": "ZZ"}, "holidays.country", "no public holiday calendar"),
    ({"country": "DE", "subdivision": "XX"}, "holidays.subdivision", "not a subdivision"),
    ({"subdivision": "BY", "dates": ["2026-01-01"]}, "holidays.subdivision", "needs holidays.country"),
    ({"dates": "2026-12-24"}, "holidays.dates", "list"),
    ({"dates": ["2026-12-24", "2026-02-30"]}, "holidays.dates[1]", "calendar date"),
    ({"dates": ["24/12/2026"]}, "holidays.dates[0]", "YYYY-MM-DD"),
    ({"dates": ["2026-12-24", "2026-12-24"]}, "holidays.dates[1]", "repeats"),
    ({"dates": [f"2026-01-01"] * 367}, "holidays.dates", "at most 366"),
])
def test_bad_holidays_are_refused_naming_the_field(holidays, field, why):
    error = refused(holidays=holidays)
    assert error.field == field
    assert why in error.reason, error.reason


@pytest.mark.parametrize("value, why", [("-1.00", "negative"), ("1.234", "2 decimal places"), ("1e999999", "at most")])
def test_a_bad_overage_price_is_refused(value, why):
    error = refused(SUB, overage_step_cost=value)
    assert error.field == "overage_step_cost" and why in error.reason


@pytest.mark.parametrize("thresholds, field, why", [
    (50, "alert_thresholds", "list"),
    ([90, 70, 50, 30, 10, 0], "alert_thresholds", "at most 5"),
    ([50, 101], "alert_thresholds[1]", "0 to 100"),
    ([-1], "alert_thresholds[0]", "0 to 100"),
    ([Decimal("12.5")], "alert_thresholds[0]", "whole percentage"),
    (["50"], "alert_thresholds[0]", "whole percentage"),
    ([True], "alert_thresholds[0]", "whole percentage"),
    ([50, 20, 50], "alert_thresholds[2]", "repeats"),
])
def test_bad_alert_thresholds_are_refused(thresholds, field, why):
    error = refused(SUB, alert_thresholds=thresholds)
    assert error.field == field and why in error.reason, error.reason


@pytest.mark.parametrize("field, value", [("overage_step_cost", "30.00"), ("alert_thresholds", [50])])
def test_balance_rules_belong_to_subscriptions_only(field, value):
    error = refused(PAY, **{field: value})
    assert error.field == field and "not a field of a pay_per_use profile" in error.reason
