"""A profile that is not a valid tariff is refused with a domain error naming the field and why."""
from decimal import Decimal

import pytest

from billing_core.errors import InvalidInput
from billing_core.profiles import parse_profile
from billing_core.tariff import PayPerUse, Subscription
from billing_core.tariff_fields import parse_tariff

PAY_PER_USE = {
    "currency": "EUR",
    "min_duration_minutes": 2,
    "initial_step_minutes": 15,
    "initial_step_cost": "20.00",
    "step_minutes": 5,
    "step_cost": "5.00",
}
SUBSCRIPTION = {
    "currency": "EUR",
    "min_duration_minutes": 1,
    "total_hours": 10,
    "amount": "400.00",
    "step_minutes": 15,
}
TARIFFS = {"pay_per_use": PAY_PER_USE, "subscription": SUBSCRIPTION}
MONEY_FIELDS = [("pay_per_use", "initial_step_cost"), ("pay_per_use", "step_cost"), ("subscription", "amount")]
MINUTE_FIELDS = [("pay_per_use", "min_duration_minutes"), ("pay_per_use", "initial_step_minutes"),
                 ("pay_per_use", "step_minutes"), ("subscription", "min_duration_minutes"),
                 ("subscription", "step_minutes")]
REQUIRED = [(kind, name) for kind, values in TARIFFS.items() for name in values]


def profile(kind: str, **changes) -> dict:
    values = {"name": "Standard", "type": kind, **TARIFFS[kind], **changes}
    return {name: value for name, value in values.items() if value is not ...}


def refused_by_parse_tariff(kind, **changes) -> InvalidInput:
    values = {**TARIFFS[kind], **changes}
    values = {name: value for name, value in values.items() if value is not ...}
    with pytest.raises(InvalidInput) as error:
        parse_tariff(kind, values)
    return error.value


def refused_by_parse_profile(values: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as error:
        parse_profile(values)
    return error.value


def assert_refused(kind: str, field: str, value, why: str) -> None:
    """Both entry points refuse the value, name the field and say why."""
    for error in (refused_by_parse_tariff(kind, **{field: value}), refused_by_parse_profile(profile(kind, **{field: value}))):
        assert error.field == field
        assert why in error.reason, error.reason
        assert error.message.startswith(f"{field}: ")
        assert error.status == 400 and error.code == "invalid_input"


# ---------------------------------------------------------------- valid profiles


def test_the_reference_profiles_parse_to_exact_tariffs():
    _, name, tariff = parse_profile(profile("pay_per_use", profile_id="std"))
    assert name == "Standard"
    assert tariff == PayPerUse(currency="EUR", min_duration_minutes=2, initial_step_minutes=15,
                               initial_step_cost=Decimal("20.00"), step_minutes=5, step_cost=Decimal("5.00"))
    _, _, tariff = parse_profile(profile("subscription"))
    assert tariff == Subscription(currency="EUR", min_duration_minutes=1, total_hours=Decimal(10),
                                  amount=Decimal("400.00"), step_minutes=15)
    assert tariff.total_minutes == 600


def test_money_not_written_as_plain_digits_is_refused():
    """SPEC §8: `^\\d{1,9}(\\.\\d{1,2})?$` (Python's Decimal would read all of these)."""
    for amount in ("1E+2", "1e2", "1_000.00", "\u0661\u0662", "\uff11\uff12"):
        with pytest.raises(InvalidInput) as refused:
            parse_tariff("pay_per_use", {**PAY_PER_USE, "step_cost": amount})
        assert refused.value.field == "step_cost", amount


@pytest.mark.parametrize("amount, kept", [
    ("12.5", "12.50"), ("12", "12.00"), (Decimal("12.5"), "12.50"), (12, "12.00"), (" 12.50 ", "12.50"),
])
def test_amounts_as_decimal_strings_or_numbers_are_kept_exact_to_the_cent(amount, kept):
    tariff = parse_tariff("pay_per_use", {**PAY_PER_USE, "step_cost": amount})
    assert type(tariff.step_cost) is Decimal
    assert str(tariff.step_cost) == kept


@pytest.mark.parametrize("hours, minutes", [("7.5", 450), (Decimal("7.5"), 450), (Decimal("0.25"), 15), (1, 60), ("0.05", 3)])
def test_hours_that_are_a_whole_number_of_minutes_are_accepted(hours, minutes):
    _, _, tariff = parse_profile(profile("subscription", total_hours=hours))
    assert tariff.total_minutes == minutes
    assert isinstance(tariff.total_hours, Decimal)


def test_zero_minimum_and_zero_initial_step_give_a_plain_step_tariff():
    tariff = parse_tariff("pay_per_use", {**PAY_PER_USE, "min_duration_minutes": 0, "initial_step_minutes": 0,
                                          "initial_step_cost": "0", "step_minutes": 1})
    assert (tariff.min_duration_minutes, tariff.initial_step_minutes, tariff.initial_step_cost) == (0, 0, Decimal("0.00"))


# ---------------------------------------------------------------- minutes


@pytest.mark.parametrize("kind", TARIFFS)
@pytest.mark.parametrize("steps", [0, -1])
def test_step_minutes_below_one_are_refused(kind, steps):
    assert_refused(kind, "step_minutes", steps, "at least 1")


@pytest.mark.parametrize("kind, field", [m for m in MINUTE_FIELDS if m[1] != "step_minutes"])
def test_negative_minutes_are_refused(kind, field):
    assert_refused(kind, field, -1, "at least 0")


@pytest.mark.parametrize("kind, field", MINUTE_FIELDS)
@pytest.mark.parametrize("value", [1.0, Decimal("1.5"), "5", True, [], {}])
def test_minutes_must_be_whole_numbers(kind, field, value):
    assert_refused(kind, field, value, "whole number of minutes")


@pytest.mark.parametrize("kind, field", MINUTE_FIELDS)
def test_minutes_above_a_year_are_refused(kind, field):
    assert_refused(kind, field, 525_601, "at most")


# ---------------------------------------------------------------- money


@pytest.mark.parametrize("kind, field", MONEY_FIELDS)
@pytest.mark.parametrize("value", ["-1.00", "-0.01", -1, Decimal("-0.01")])
def test_negative_amounts_are_refused(kind, field, value):
    assert_refused(kind, field, value, "must not be negative")


@pytest.mark.parametrize("kind, field", MONEY_FIELDS)
@pytest.mark.parametrize("value", ["1.005", Decimal("1.005"), "0.001", "1E-3"])
def test_more_than_two_decimals_are_refused(kind, field, value):
    assert_refused(kind, field, value, "at most 2 decimal places")


@pytest.mark.parametrize("kind, field", MONEY_FIELDS + [("subscription", "total_hours")])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "inf", "sNaN", Decimal("NaN"), Decimal("Infinity")],
                         ids=["NaN", "Infinity", "-Infinity", "inf", "sNaN", "Decimal-NaN", "Decimal-Infinity"])
def test_nan_and_infinity_are_refused(kind, field, value):
    assert_refused(kind, field, value, "finite")


@pytest.mark.parametrize("kind, field", MONEY_FIELDS + [("subscription", "total_hours")])
@pytest.mark.parametrize("value", [12.5, 0.0, 10.0])
def test_a_binary_float_is_refused(kind, field, value):
    assert_refused(kind, field, value, "not a binary float")


@pytest.mark.parametrize("kind, field", MONEY_FIELDS + [("subscription", "total_hours")])
@pytest.mark.parametrize("value", ["abc", "", "12,50", "12.50 EUR", [], {}, True, False, ["12.50"]],
                         ids=["abc", "empty", "comma", "with-currency", "list", "object", "true", "false", "list-of-amount"])
def test_an_amount_that_is_not_a_decimal_is_refused(kind, field, value):
    assert_refused(kind, field, value, "must be a decimal number")


@pytest.mark.parametrize("kind, field", MONEY_FIELDS)
def test_amounts_above_the_limit_are_refused(kind, field):
    assert_refused(kind, field, "1000000000.00", "at most 999999999.99")


# ---------------------------------------------------------------- currency


@pytest.mark.parametrize("kind", TARIFFS)
@pytest.mark.parametrize("value", ["eur", "EURO", "", "EU", "E1R", " EUR", 12, True, ["EUR"]])
def test_a_currency_that_is_not_three_uppercase_letters_is_refused(kind, value):
    assert_refused(kind, "currency", value, "3-letter ISO 4217")


# ---------------------------------------------------------------- type


@pytest.mark.parametrize("kind", ["prepaid", "", "Pay_Per_Use", "subscription ", 1])
def test_an_unknown_type_is_refused(kind):
    with pytest.raises(InvalidInput) as error:
        parse_tariff(kind, PAY_PER_USE)
    assert error.value.field == "type"
    assert "must be one of pay_per_use, subscription" in error.value.reason
    error = refused_by_parse_profile({"name": "Standard", "type": kind, **PAY_PER_USE})
    assert error.field == "type" and "must be one of" in error.reason


@pytest.mark.parametrize("kind", [[], {}, ["pay_per_use"]], ids=["list", "object", "list-of-type"])
def test_a_type_that_is_not_text_is_refused_not_crashed(kind):
    """JSON lets a client send any value as `type`: an unhashable one must still be a 400."""
    with pytest.raises(InvalidInput) as error:
        parse_tariff(kind, PAY_PER_USE)
    assert error.value.field == "type"
    error = refused_by_parse_profile({"name": "Standard", "type": kind, **PAY_PER_USE})
    assert error.field == "type" and "must be one of" in error.reason


def test_a_missing_type_is_refused():
    error = refused_by_parse_profile({"name": "Standard", **PAY_PER_USE})
    assert error.field == "type" and "required" in error.reason


# ---------------------------------------------------------------- missing fields


@pytest.mark.parametrize("kind, field", REQUIRED)
def test_each_required_field_of_each_type_is_named_when_missing(kind, field):
    error = refused_by_parse_tariff(kind, **{field: ...})
    assert error.field == field
    assert f"is required for a {kind} profile" in error.reason
    error = refused_by_parse_profile(profile(kind, **{field: ...}))
    assert error.field == field and "required" in error.reason


@pytest.mark.parametrize("kind, field", REQUIRED)
def test_a_required_field_given_as_null_is_missing(kind, field):
    assert_refused(kind, field, None, "is required")


@pytest.mark.parametrize("kind", TARIFFS)
def test_a_profile_without_name_is_refused(kind):
    error = refused_by_parse_profile(profile(kind, name=...))
    assert error.field == "name" and "required" in error.reason


# ---------------------------------------------------------------- hours


@pytest.mark.parametrize("hours", [0, "0", "0.00", Decimal(0)])
def test_zero_total_hours_are_refused(hours):
    assert_refused("subscription", "total_hours", hours, "greater than 0")


@pytest.mark.parametrize("hours", [-1, "-7.5", Decimal("-0.5")])
def test_negative_total_hours_are_refused(hours):
    assert_refused("subscription", "total_hours", hours, "must not be negative")


@pytest.mark.parametrize("hours", ["0.01", Decimal("0.01"), "7.51", "1.001"])
def test_hours_that_are_not_a_whole_number_of_minutes_are_refused(hours):
    assert_refused("subscription", "total_hours", hours, "whole number of minutes")


# ---------------------------------------------------------------- fields of the other type


@pytest.mark.parametrize("kind, field, value", [
    ("subscription", "step_cost", "5.00"),
    ("subscription", "initial_step_minutes", 15),
    ("subscription", "initial_step_cost", "20.00"),
    ("pay_per_use", "total_hours", 10),
    ("pay_per_use", "amount", "400.00"),
    ("pay_per_use", "colour", "green"),
    ("subscription", "version", 2),
])
def test_a_field_the_type_does_not_have_is_refused(kind, field, value):
    error = refused_by_parse_profile(profile(kind, **{field: value}))
    assert error.field == field
    assert f"is not a field of a {kind} profile" in error.reason
