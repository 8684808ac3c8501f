"""The tariff arithmetic of SPEC §3, pure: every golden case, then the rules as properties."""
import json
import math
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import fields
from billing_core.tariff import (
    PayPerUse,
    Subscription,
    connection_seconds,
    is_recorded,
    price,
)
from billing_core.tariff_fields import parse_tariff

from golden import CASES as GOLDEN, COPY, SHARED
LAYER = Path(__file__).resolve().parents[1] / "layers" / "billing_core"
PROPERTY = settings(max_examples=200, deadline=None)


def _tariff(profile: dict):
    values = {name: value for name, value in profile.items() if name != "type"}
    return parse_tariff(profile["type"], values)


def _connection(case: dict) -> int:
    if "connection_seconds" in case:
        return case["connection_seconds"]
    return connection_seconds(
        fields.timestamp("started_at", case["started_at"]),
        fields.timestamp("ended_at", case["ended_at"]),
    )


# ---------------------------------------------------------------- the golden cases


def test_the_golden_file_holds_cases_of_both_types():
    if SHARED.exists():  # the repository's copy never drifts from the shared cases
        assert json.loads(COPY.read_text()) == json.loads(SHARED.read_text())
    assert len(GOLDEN) >= 18
    assert {case["profile"]["type"] for case in GOLDEN} == {"pay_per_use", "subscription"}
    assert len({case["name"] for case in GOLDEN}) == len(GOLDEN)  # the ids below are unique


@pytest.mark.parametrize("case", GOLDEN, ids=[case["name"] for case in GOLDEN])
def test_golden_case_is_priced_exactly(case):
    tariff = _tariff(case["profile"])
    expect = case["expect"]
    connection = _connection(case)
    assert connection == expect["connection_seconds"]

    recorded = is_recorded(tariff, connection)
    assert recorded is expect["recorded"]
    if not recorded:
        return

    pricing = price(tariff, connection, case.get("extra_minutes", 0))
    assert pricing.total_seconds == expect["total_seconds"]
    assert pricing.billed_minutes == expect["billed_minutes"]
    if expect["cost"] is None:
        assert pricing.cost is None
    else:
        assert isinstance(pricing.cost, Decimal)
        assert str(pricing.cost) == expect["cost"]
        assert fields.money_text(pricing.cost) == expect["cost"]


def test_timestamps_are_compared_as_instants_across_offsets():
    started = fields.timestamp("started_at", "2026-03-02T09:00:00+01:00")
    ended = fields.timestamp("ended_at", "2026-03-02T08:45:30.999Z")
    assert connection_seconds(started, ended) == 2730  # floor: the 0.999 s is not a second


def test_a_session_that_ends_before_it_starts_is_refused():
    from billing_core.errors import InvalidInput

    started = fields.timestamp("started_at", "2026-03-02T09:00:00Z")
    ended = fields.timestamp("ended_at", "2026-03-02T08:59:59Z")
    with pytest.raises(InvalidInput) as error:
        connection_seconds(started, ended)
    assert error.value.field == "ended_at"


def test_a_group_without_contract_records_every_session():
    assert is_recorded(None, 0) is True


# ---------------------------------------------------------------- properties


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


money_texts = st.integers(min_value=0, max_value=99_999).map(_money)
step_minutes = st.integers(min_value=1, max_value=120)
small_minutes = st.integers(min_value=0, max_value=120)
durations = st.integers(min_value=0, max_value=48 * 3600)
extras = st.integers(min_value=-fields.MAX_EXTRA_MINUTES, max_value=fields.MAX_EXTRA_MINUTES)


@st.composite
def pay_per_use_tariffs(draw, initial_minutes=small_minutes, steps=step_minutes):
    return parse_tariff("pay_per_use", {
        "currency": "EUR",
        "min_duration_minutes": draw(small_minutes),
        "initial_step_minutes": draw(initial_minutes),
        "initial_step_cost": draw(money_texts),
        "step_minutes": draw(steps),
        "step_cost": draw(money_texts),
    })


@st.composite
def subscription_tariffs(draw):
    return parse_tariff("subscription", {
        "currency": "EUR",
        "min_duration_minutes": draw(small_minutes),
        "total_hours": draw(st.integers(min_value=1, max_value=10_000)),
        "amount": draw(money_texts),
        "step_minutes": draw(step_minutes),
    })


any_tariff = st.one_of(pay_per_use_tariffs(), subscription_tariffs())


@PROPERTY
@given(pay_per_use_tariffs(), durations, durations, extras)
def test_cost_and_billed_minutes_never_decrease_as_the_session_grows(tariff, first, second, extra):
    shorter, longer = sorted((first, second))
    short, long_ = price(tariff, shorter, extra), price(tariff, longer, extra)
    assert short.cost <= long_.cost
    assert short.billed_minutes <= long_.billed_minutes


@PROPERTY
@given(pay_per_use_tariffs(), durations, extras, extras)
def test_more_extra_minutes_never_cost_less(tariff, connection, first, second):
    fewer, more = sorted((first, second))
    assert price(tariff, connection, fewer).cost <= price(tariff, connection, more).cost


@PROPERTY
@given(pay_per_use_tariffs(initial_minutes=st.just(0), steps=st.just(1)), durations, extras)
def test_one_minute_steps_bill_every_started_minute(tariff, connection, extra):
    pricing = price(tariff, connection, extra)
    assert pricing.billed_minutes == math.ceil(pricing.total_seconds / 60)
    if pricing.total_seconds:
        assert pricing.cost == tariff.initial_step_cost + pricing.billed_minutes * tariff.step_cost
    else:
        assert pricing.cost == Decimal("0.00")


@PROPERTY
@given(subscription_tariffs(), durations, extras)
def test_subscription_bills_at_least_the_time_used_and_less_than_one_step_more(tariff, connection, extra):
    pricing = price(tariff, connection, extra)
    assert pricing.cost is None
    assert pricing.billed_minutes * 60 >= pricing.total_seconds
    assert pricing.billed_minutes * 60 < pricing.total_seconds + 60 * tariff.step_minutes
    assert pricing.billed_minutes % tariff.step_minutes == 0


@PROPERTY
@given(pay_per_use_tariffs(), durations, extras)
def test_pay_per_use_bills_the_initial_step_then_whole_steps(tariff, connection, extra):
    pricing = price(tariff, connection, extra)
    if pricing.total_seconds == 0:
        assert (pricing.billed_minutes, pricing.cost) == (0, Decimal("0.00"))
        return
    beyond = pricing.billed_minutes - tariff.initial_step_minutes
    assert beyond >= 0
    assert beyond % tariff.step_minutes == 0
    steps = beyond // tariff.step_minutes
    assert pricing.cost == tariff.initial_step_cost + steps * tariff.step_cost
    assert pricing.billed_minutes * 60 >= pricing.total_seconds


@PROPERTY
@given(pay_per_use_tariffs(), durations, extras)
def test_cost_is_an_exact_decimal_of_two_places(tariff, connection, extra):
    cost = price(tariff, connection, extra).cost
    assert type(cost) is Decimal and not isinstance(cost, float)
    assert cost.as_tuple().exponent == -2
    assert cost >= 0


@PROPERTY
@given(any_tariff, durations, st.integers(min_value=0, max_value=fields.MAX_EXTRA_MINUTES))
def test_extra_minutes_below_minus_the_connection_make_the_session_free(tariff, connection, surplus):
    extra = -math.ceil(connection / 60) - surplus  # 60 × extra ≤ −connection
    pricing = price(tariff, connection, extra)
    assert pricing.total_seconds == 0
    assert pricing.billed_minutes == 0
    if isinstance(tariff, PayPerUse):
        assert pricing.cost == Decimal("0.00") and str(pricing.cost) == "0.00"
    else:
        assert pricing.cost is None


@PROPERTY
@given(any_tariff, durations)
def test_recorded_exactly_from_the_minimum_duration(tariff, connection):
    assert is_recorded(tariff, connection) is (connection >= 60 * tariff.min_duration_minutes)
    threshold = 60 * tariff.min_duration_minutes
    assert is_recorded(tariff, threshold) is True
    if threshold:
        assert is_recorded(tariff, threshold - 1) is False


@PROPERTY
@given(any_tariff)
def test_parsed_tariffs_hold_no_float(tariff):
    assert isinstance(tariff, (PayPerUse, Subscription))
    for value in (getattr(tariff, name) for name in tariff.__slots__):
        assert not isinstance(value, float)


# ---------------------------------------------------------------- purity


def test_the_arithmetic_imports_no_aws_library():
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import billing_core.tariff; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'boto3', 'botocore', 'pynamodb', 'aws_lambda_powertools', 'moto', 's3transfer', 'aws_xray_sdk'})))"
    )
    result = subprocess.run([sys.executable, "-c", probe, str(LAYER)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


# The one library beside the standard one: the public holiday calendar (pure data, no I/O),
# imported inside the function that reads it, so only profiles with holidays pay for it.
CALENDAR = "holidays"


def test_the_arithmetic_sources_import_only_the_standard_library_each_other_and_the_holiday_calendar():
    import ast

    package = LAYER / "billing_core"
    seen, todo, calendar_imports = set(), ["tariff"], []
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        tree = ast.parse((package / f"{module}.py").read_text())
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.module:
                    todo.append(node.module)
                else:
                    todo.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.module.split(".")[0] in sys.stdlib_module_names, (module, node.module)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == CALENDAR:
                        assert id(node) not in top_level, f"{module} imports {CALENDAR} at module level"
                        calendar_imports.append(module)
                    else:
                        assert alias.name.split(".")[0] in sys.stdlib_module_names, (module, alias.name)
    assert seen == {"tariff", "surcharges", "fields", "errors", "values"}
    assert set(calendar_imports) == {"surcharges"}


def test_importing_the_arithmetic_does_not_load_the_holiday_calendar():
    probe = "import sys; sys.path.insert(0, sys.argv[1]); import billing_core.tariff; print('holidays' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe, str(LAYER)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
