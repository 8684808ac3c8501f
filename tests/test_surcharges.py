"""The pricing rules of SPEC §10, pure: every golden surcharge case, DST weeks in Paris and New
York priced by their real instants, and the rules as properties (against a second-by-second oracle)."""
import json
import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from billing_core import fields
from billing_core.tariff import (
    DAYS,
    WEEKDAYS,
    Subscription,
    connection_seconds,
    is_recorded,
    overage,
    price,
    surcharge_multiplier,
)
from billing_core.tariff_fields import parse_tariff

from golden import SURCHARGE_CASES, SURCHARGES_COPY, SURCHARGES_SHARED

PROPERTY = settings(max_examples=150, deadline=None)
PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")


def tariff_of(profile: dict):
    values = {name: value for name, value in profile.items() if name != "type"}
    return parse_tariff(profile["type"], values)


def per_minute(**rules) -> dict:
    """1.00 a started minute: the cost in money is the multiplied minutes."""
    return {"type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 0, "initial_step_minutes": 0,
            "initial_step_cost": "0.00", "step_minutes": 1, "step_cost": "1.00", **rules}


def rule(name, days, start, end, multiplier) -> dict:
    return {"name": name, "days": days, "from": start, "to": end, "multiplier": multiplier}


def local(zone, *parts, fold=0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


# ---------------------------------------------------------------- the golden cases


def test_the_golden_surcharge_file_is_kept_and_covers_both_types_and_holidays():
    if SURCHARGES_SHARED.exists():  # the repository's copy never drifts from the shared cases
        assert json.loads(SURCHARGES_COPY.read_text()) == json.loads(SURCHARGES_SHARED.read_text())
    assert len(SURCHARGE_CASES) >= 14
    assert {case["profile"]["type"] for case in SURCHARGE_CASES} == {"pay_per_use", "subscription"}
    assert any("holidays" in case["profile"] for case in SURCHARGE_CASES)
    assert len({case["name"] for case in SURCHARGE_CASES}) == len(SURCHARGE_CASES)


@pytest.mark.parametrize("case", SURCHARGE_CASES, ids=[case["name"] for case in SURCHARGE_CASES])
def test_golden_surcharge_case_is_priced_exactly(case):
    tariff = tariff_of(case["profile"])
    started_at = fields.timestamp("started_at", case["started_at"])
    connection = connection_seconds(started_at, fields.timestamp("ended_at", case["ended_at"]))
    expect = case["expect"]
    assert connection == expect["connection_seconds"]
    assert is_recorded(tariff, connection) is expect["recorded"]
    pricing = price(tariff, connection, case.get("extra_minutes", 0), started_at)
    assert pricing.total_seconds == expect["total_seconds"]
    assert pricing.multiplier_text == expect["multiplier"]
    assert pricing.billed_minutes == expect["billed_minutes"]
    assert fields.money_text(pricing.cost) == expect["cost"]
    assert isinstance(pricing.multiplier, Fraction)


def test_the_lines_explain_the_figure():
    tariff = tariff_of(per_minute(time_zone="Europe/Paris", surcharges=[rule("night", WEEKDAYS, "00:00", "07:00", "1.50")]))
    started = local(PARIS, 2026, 10, 7, 6, 20)
    pricing = price(tariff, 3600, 0, started)
    assert [line.view() for line in pricing.lines] == [
        {"code": "steps", "values": {"count": 60, "step_minutes": 1, "step_cost": "1.00", "amount": "60.00"},
         "text": "60 × 1 min at 1.00: 60.00", "amount": "60.00", "minutes": 60},
        {"code": "surcharge_share", "values": {"name": "night", "multiplier": "1.50", "minutes": 40, "connection_minutes": 60},
         "text": "night ×1.50 on 40 of 60 min", "minutes": 40},
        {"code": "multiplier", "values": {"base": "60.00", "multiplier": "1.3333", "amount": "80.00"},
         "text": "60.00 × 1.3333: 80.00", "amount": "80.00"},
    ]
    assert pricing.multiplier == Fraction(4, 3)  # exact; "1.3333" is only how it is answered


def test_the_spec_example_lines_of_a_reference_tariff():
    standard = parse_tariff("pay_per_use", {"currency": "EUR", "min_duration_minutes": 2, "initial_step_minutes": 15,
                                            "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00"})
    pricing = price(standard, 22 * 60, 0)
    assert [line.text for line in pricing.lines] == ["initial 15 min: 20.00", "2 × 5 min at 5.00: 10.00"]
    assert sum(line.amount for line in pricing.lines) == pricing.cost == Decimal("30.00")


def test_a_tariff_with_surcharges_needs_the_sessions_start():
    tariff = tariff_of(per_minute(surcharges=[rule("weekend", ["sat", "sun"], "00:00", "24:00", "2.00")]))
    with pytest.raises(ValueError):
        price(tariff, 600, 0)


# ---------------------------------------------------------------- DST: real instants


NIGHT_EVERY_DAY = [rule("night", WEEKDAYS, "00:00", "06:00", "2.00")]


@pytest.mark.parametrize("zone, monday, hours, night_hours", [
    ("Europe/Paris", (2026, 3, 23), 7 * 24 - 1, 6 * 6 + 5),  # spring forward, Sunday 29 March 02:00 → 03:00
    ("Europe/Paris", (2026, 10, 19), 7 * 24 + 1, 6 * 6 + 7),  # fall back, Sunday 25 October 03:00 → 02:00
    ("America/New_York", (2026, 3, 2), 7 * 24 - 1, 6 * 6 + 5),  # spring forward, Sunday 8 March
    ("America/New_York", (2026, 10, 26), 7 * 24 + 1, 6 * 6 + 7),  # fall back, Sunday 1 November
])
def test_a_dst_week_is_priced_by_its_real_hours(zone, monday, hours, night_hours):
    """A week-long session, Monday 00:00 to Monday 00:00 local: the week has 167 or 169 real
    hours, and the night of the change 5 or 7 of them under the night rule."""
    tariff = tariff_of(per_minute(time_zone=zone, surcharges=NIGHT_EVERY_DAY))
    start = local(ZoneInfo(zone), *monday)
    end = local(ZoneInfo(zone), *monday) + timedelta(days=7)  # wall-clock arithmetic: next Monday 00:00
    connection = connection_seconds(start.astimezone(timezone.utc), end.astimezone(timezone.utc))
    assert connection == hours * 3600
    multiplier, shares = surcharge_multiplier(tariff, start, connection)
    assert [(r.name, seconds) for r, seconds in shares] == [("night", night_hours * 3600)]
    assert multiplier == Fraction(hours + night_hours, hours)
    pricing = price(tariff, connection, 0, start)
    assert pricing.cost == Decimal(60 * (hours + night_hours)).quantize(Decimal("0.01"))


def test_paris_spring_forward_night_session_counts_one_real_hour():
    """01:30 CET to 03:30 CEST is one real hour; half of it before the jump, under 00:00–03:00."""
    tariff = tariff_of(per_minute(time_zone="Europe/Paris", surcharges=[rule("early", ["sun"], "00:00", "03:00", "2.00")]))
    start, end = local(PARIS, 2026, 3, 29, 1, 30), local(PARIS, 2026, 3, 29, 3, 30)
    connection = connection_seconds(start.astimezone(timezone.utc), end.astimezone(timezone.utc))
    assert connection == 3600
    pricing = price(tariff, connection, 0, start)
    assert (pricing.multiplier, pricing.billed_minutes, pricing.cost) == (Fraction(3, 2), 60, Decimal("90.00"))


def test_paris_fall_back_repeated_hour_is_surcharged_twice():
    """01:30 CEST to 02:30 CET: two real hours; 02:00–03:00 happens twice (CEST, then CET) and
    each real second of it is under the 02:00–03:00 rule."""
    tariff = tariff_of(per_minute(time_zone="Europe/Paris", surcharges=[rule("two", ["sun"], "02:00", "03:00", "3.00")]))
    start, end = local(PARIS, 2026, 10, 25, 1, 30), local(PARIS, 2026, 10, 25, 2, 30, fold=1)
    connection = connection_seconds(start.astimezone(timezone.utc), end.astimezone(timezone.utc))
    assert connection == 7200
    multiplier, shares = surcharge_multiplier(tariff, start, connection)
    assert shares[0][1] == 5400  # 60 min of CEST 02:xx and 30 min of CET 02:xx
    assert multiplier == Fraction(1800 + 5400 * 3, 7200)


def test_new_york_fall_back_session_across_the_change():
    """Sunday 1 November 2026, 00:30 EDT to 03:30 EST: four real hours. 00:00–02:00 covers
    2.5 of them (01:xx happens twice), 03:00–24:00 the last half hour."""
    tariff = tariff_of(per_minute(time_zone="America/New_York", surcharges=[
        rule("night", ["sun"], "00:00", "02:00", "1.50"), rule("sunday", ["sun"], "03:00", "24:00", "2.00")]))
    start, end = local(NEW_YORK, 2026, 11, 1, 0, 30), local(NEW_YORK, 2026, 11, 1, 3, 30)
    connection = connection_seconds(start.astimezone(timezone.utc), end.astimezone(timezone.utc))
    assert connection == 4 * 3600
    multiplier, shares = surcharge_multiplier(tariff, start, connection)
    assert [(r.name, seconds) for r, seconds in shares] == [("night", 9000), ("sunday", 1800)]
    assert multiplier == Fraction(9000 * 3 // 2 + 3600 + 1800 * 2, 14400)
    assert price(tariff, connection, 0, start).multiplier_text == "1.4375"


def test_new_york_spring_forward_evening_window_is_by_wall_clock():
    """Sunday 8 March 2026: 18:00–24:00 local is six real hours even on the short day, read in EDT."""
    tariff = tariff_of(per_minute(time_zone="America/New_York", surcharges=[rule("evening", ["sun"], "18:00", "24:00", "2.00")]))
    start = datetime(2026, 3, 8, 5, 0, tzinfo=timezone.utc)  # 00:00 EST
    multiplier, shares = surcharge_multiplier(tariff, start, 23 * 3600)  # the whole 23-hour local day
    assert shares[0][1] == 6 * 3600
    assert multiplier == Fraction(23 + 6, 23)


# ---------------------------------------------------------------- properties


ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns"]
TRANSITIONS = [datetime(2026, 3, 29, 1, tzinfo=timezone.utc), datetime(2026, 10, 25, 1, tzinfo=timezone.utc),
               datetime(2026, 3, 8, 7, tzinfo=timezone.utc), datetime(2026, 11, 1, 6, tzinfo=timezone.utc),
               datetime(2026, 4, 4, 15, tzinfo=timezone.utc), datetime(2026, 10, 3, 15, 30, tzinfo=timezone.utc)]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@st.composite
def clock_windows(draw):
    start = draw(st.integers(min_value=0, max_value=1439))
    end = draw(st.integers(min_value=start + 1, max_value=1440))
    return f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"


@st.composite
def surcharge_rules(draw, multipliers=st.integers(min_value=100, max_value=1000)):
    start, end = draw(clock_windows())
    days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True))
    return rule(draw(st.sampled_from(["night", "evening", "weekend", "peak"])), days, start, end, _money(draw(multipliers)))


@st.composite
def profiles(draw, rules=st.lists(surcharge_rules(), max_size=4)):
    kind = draw(st.sampled_from(["pay_per_use", "subscription"]))
    common = {"currency": "EUR", "min_duration_minutes": 0, "step_minutes": draw(st.integers(1, 60)),
              "time_zone": draw(st.sampled_from(ZONES)), "surcharges": draw(rules)}
    if kind == "subscription":
        return {"type": kind, **common, "total_hours": 10, "amount": "500.00"}
    return {"type": kind, **common, "initial_step_minutes": draw(st.integers(0, 30)),
            "initial_step_cost": _money(draw(st.integers(0, 5000))), "step_cost": _money(draw(st.integers(0, 5000)))}


starts = st.one_of(
    st.sampled_from(TRANSITIONS).flatmap(lambda t: st.integers(-5 * 3600, 5 * 3600).map(lambda s: t + timedelta(seconds=s))),
    st.integers(0, 2 * 365 * 86400).map(lambda s: datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=s)),
)
connections = st.integers(min_value=0, max_value=3 * 86400)
extras = st.integers(min_value=-600, max_value=600)


def reference(profile: dict):
    """The same tariff without its §10 rules: what §3 alone prices."""
    return tariff_of({name: value for name, value in profile.items() if name not in ("surcharges", "time_zone")})


@PROPERTY
@given(profiles(rules=st.lists(surcharge_rules(multipliers=st.just(100)), max_size=4)), starts, connections, extras)
def test_without_rules_or_with_rules_at_1_00_the_price_is_the_reference_price(profile, started_at, connection, extra):
    expected = price(reference(profile), connection, extra)
    for tariff in (tariff_of(profile), reference(profile)):
        pricing = price(tariff, connection, extra, started_at)
        assert (pricing.total_seconds, pricing.billed_minutes, pricing.cost) == (
            expected.total_seconds, expected.billed_minutes, expected.cost)
        assert pricing.multiplier == 1


@PROPERTY
@given(profiles(), starts, connections, extras)
def test_a_multiplier_of_at_least_one_never_lowers_a_price(profile, started_at, connection, extra):
    tariff, plain = tariff_of(profile), price(reference(profile), connection, extra)
    pricing = price(tariff, connection, extra, started_at)
    highest = max((Fraction(r.multiplier) for r in tariff.surcharges), default=Fraction(1))
    assert 1 <= pricing.multiplier <= highest
    assert pricing.billed_minutes >= plain.billed_minutes
    if pricing.cost is not None:
        assert pricing.cost >= plain.cost
        assert pricing.cost.as_tuple().exponent == -2


@settings(max_examples=60, deadline=None)
@given(profiles(rules=st.lists(surcharge_rules(), min_size=1, max_size=3)), starts, st.integers(1, 4 * 3600))
def test_the_multiplier_is_the_mean_over_every_real_second(profile, started_at, connection):
    """Oracle: each real second looked up on its own in the zone (no edges, no spans)."""
    tariff = tariff_of(profile)
    zone = ZoneInfo(tariff.time_zone)
    total = Fraction(0)
    for second in range(connection):
        moment = (started_at + timedelta(seconds=second)).astimezone(zone)
        minute = moment.hour * 60 + moment.minute
        covering = [Fraction(r.multiplier) for r in tariff.surcharges
                    if WEEKDAYS[moment.weekday()] in r.days and r.start_minute <= minute < r.end_minute]
        total += max(covering, default=Fraction(1))
    assert surcharge_multiplier(tariff, started_at, connection)[0] == total / connection


@PROPERTY
@given(st.integers(0, 100_000), st.integers(-100_000, 100_000), st.integers(1, 120), st.integers(0, 99_999))
def test_covered_plus_overage_is_what_the_lock_bills(billed, available, step, cents):
    tariff = parse_tariff("subscription", {"currency": "EUR", "min_duration_minutes": 0, "total_hours": 10,
                                           "amount": "500.00", "step_minutes": step, "overage_step_cost": _money(cents)})
    split = overage(tariff, billed, available)
    assert split.covered_minutes + split.overage_minutes == billed
    assert 0 <= split.covered_minutes <= max(0, available)
    assert split.overage_minutes == max(0, billed - max(0, available))
    assert split.cost == Decimal(_money(cents)) * math.ceil(split.overage_minutes / step)
    assert split.cost.as_tuple().exponent == -2


@PROPERTY
@given(st.integers(0, 100_000), st.integers(-100_000, 100_000))
def test_without_an_overage_price_the_balance_takes_every_minute(billed, available):
    tariff = parse_tariff("subscription", {"currency": "EUR", "min_duration_minutes": 0, "total_hours": 10,
                                           "amount": "500.00", "step_minutes": 15})
    split = overage(tariff, billed, available)
    assert (split.covered_minutes, split.overage_minutes, split.cost) == (billed, 0, None)


def test_overage_is_priced_by_started_steps_and_explained():
    tariff = parse_tariff("subscription", {"currency": "EUR", "min_duration_minutes": 0, "total_hours": 10,
                                           "amount": "500.00", "step_minutes": 15, "overage_step_cost": "30.00"})
    split = overage(tariff, 90, 50)
    assert (split.covered_minutes, split.overage_minutes, split.cost) == (50, 40, Decimal("90.00"))
    assert [line.text for line in split.lines] == [
        "covered by the balance: 50 min", "overage 40 min: 3 × 15 min at 30.00: 90.00"]
    assert isinstance(tariff, Subscription)


def test_every_day_name_is_known():
    assert DAYS == ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")


def test_the_readme_worked_examples_are_what_the_arithmetic_answers():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    evening = next(case for case in SURCHARGE_CASES if case["name"].startswith("evening surcharge"))
    started = fields.timestamp("started_at", evening["started_at"])
    surcharge = [line.text for line in price(tariff_of(evening["profile"]), 7200, 0, started).lines]
    gold = parse_tariff("subscription", {"currency": "EUR", "min_duration_minutes": 0, "total_hours": 10,
                                         "amount": "500.00", "step_minutes": 15, "overage_step_cost": "30.00"})
    overage_lines = [line.text for line in overage(gold, 90, 50).lines]
    for block in (surcharge, overage_lines):
        assert "```\n" + "\n".join(block) + "\n```" in readme, block
