"""The explanation of a price as machine words (SPEC §10 `pricing.lines`): every line carries a
stable `code` and its `values` beside the English `text`, so a reader says it in its own language.
Each code appears for the case that makes it, and its values alone rebuild the English text's
figures; a lock's frozen lines read back with their code, and lines frozen before codes existed
still read."""
import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from billing_core import fields, jsonio
from billing_core.dal.models import Session
from billing_core.sessions import frozen_explanation, frozen_pricing
from billing_core.tariff import PriceLine, overage, price
from billing_core.tariff_fields import parse_tariff

from golden import CASES, SURCHARGE_CASES

ROOT = Path(__file__).resolve().parents[1]
STANDARD = {"type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 0, "initial_step_minutes": 15,
            "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00"}
GOLD = {"type": "subscription", "currency": "EUR", "min_duration_minutes": 0, "total_hours": "10", "amount": "500.00",
        "step_minutes": 15, "overage_step_cost": "30.00"}
NIGHT = {"time_zone": "UTC", "surcharges": [{"name": "night", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                             "from": "22:00", "to": "24:00", "multiplier": "1.50"}]}
TUESDAY_2140 = datetime(2026, 10, 6, 21, 40, tzinfo=timezone.utc)


def tariff_of(profile: dict):
    return parse_tariff(profile["type"], {name: value for name, value in profile.items() if name != "type"})


def span(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"


# The English sentence of each code, from its values only (what a reader in another language does).
SAID = {
    "extra_minutes": lambda v: (f"connection {span(v['connection_seconds'])} {'+' if v['extra_minutes'] > 0 else '−'} "
                                f"{abs(v['extra_minutes'])} min extra: {span(v['total_seconds'])}"),
    "initial_step": lambda v: f"initial {v['minutes']} min: {v['amount']}",
    "steps": lambda v: f"{v['count']} × {v['step_minutes']} min at {v['step_cost']}: {v['amount']}",
    "surcharge_share": lambda v: f"{v['name']} ×{v['multiplier']} on {v['minutes']} of {v['connection_minutes']} min",
    "surcharge_share_time": lambda v: f"{v['name']} ×{v['multiplier']} on {span(v['seconds'])} of {span(v['connection_seconds'])}",
    "multiplier": lambda v: f"{v['base']} × {v['multiplier']}: {v['amount']}",
    "no_billable_time": lambda v: f"no billable time: {v['amount']}",
    "no_billable_minutes": lambda v: f"no billable time: {v['minutes']} min",
    "balance_steps": lambda v: f"{span(v['seconds'])} in {v['step_minutes']}-min steps: {v['minutes']} min",
    "balance_steps_surcharged": lambda v: f"{span(v['seconds'])} × {v['multiplier']} in {v['step_minutes']}-min steps: {v['minutes']} min",
    "covered_by_balance": lambda v: f"covered by the balance: {v['minutes']} min",
    "overage": lambda v: f"overage {v['minutes']} min: {v['count']} × {v['step_minutes']} min at {v['step_cost']}: {v['amount']}",
    "accounted": lambda v: f"accounted {v['minutes']} min" + (f": {v['amount']}" if "amount" in v else ""),
}


def explained(line: PriceLine) -> dict:
    """A line as answered, through the API's JSON codec: plain JSON only."""
    return json.loads(jsonio.dumps(line.view()))


def codes(lines) -> list[str]:
    return [line.code for line in lines]


# ---------------------------------------------------------------- each code for the case that makes it


def test_a_reference_session_explains_its_initial_step_and_steps():
    lines = price(tariff_of(STANDARD), 22 * 60, 0).lines
    assert [explained(line) for line in lines] == [
        {"code": "initial_step", "values": {"minutes": 15, "amount": "20.00"},
         "text": "initial 15 min: 20.00", "amount": "20.00", "minutes": 15},
        {"code": "steps", "values": {"count": 2, "step_minutes": 5, "step_cost": "5.00", "amount": "10.00"},
         "text": "2 × 5 min at 5.00: 10.00", "amount": "10.00", "minutes": 10},
    ]


def test_extra_minutes_are_explained_with_their_sign_and_durations_in_seconds():
    added = price(tariff_of(STANDARD), 40 * 60 + 30, 5).lines[0]
    assert (added.code, added.values, added.text) == (
        "extra_minutes", {"connection_seconds": 2430, "extra_minutes": 5, "total_seconds": 2730}, "connection 40 min 30 s + 5 min extra: 45 min 30 s")
    taken = price(tariff_of(STANDARD), 40 * 60, -10).lines[0]
    assert (taken.code, taken.values, taken.text) == (
        "extra_minutes", {"connection_seconds": 2400, "extra_minutes": -10, "total_seconds": 1800}, "connection 40 min − 10 min extra: 30 min")


def test_a_surcharged_session_explains_the_rule_share_and_the_multiplier():
    lines = price(tariff_of({**STANDARD, **NIGHT}), 3600, 0, TUESDAY_2140).lines
    assert codes(lines) == ["initial_step", "steps", "surcharge_share", "multiplier"]
    assert [line.text for line in lines] == ["initial 15 min: 20.00", "9 × 5 min at 5.00: 45.00", "night ×1.50 on 40 of 60 min", "65.00 × 1.3333: 86.67"]
    assert lines[2].values == {"name": "night", "multiplier": "1.50", "minutes": 40, "connection_minutes": 60}
    assert lines[3].values == {"base": "65.00", "multiplier": "1.3333", "amount": "86.67"}


def test_a_share_of_minutes_and_seconds_gives_its_seconds():
    share = price(tariff_of({**STANDARD, **NIGHT}), 3630, 0, datetime(2026, 10, 6, 21, 39, 45, tzinfo=timezone.utc)).lines[2]
    assert (share.code, share.text) == ("surcharge_share_time", "night ×1.50 on 40 min 15 s of 60 min 30 s")
    assert share.values == {"name": "night", "multiplier": "1.50", "seconds": 2415, "connection_seconds": 3630}


def test_no_billable_time_is_said_in_money_or_in_minutes():
    assert [(line.code, line.values) for line in price(tariff_of(STANDARD), 600, -10).lines[1:]] == [("no_billable_time", {"amount": "0.00"})]
    assert [(line.code, line.values) for line in price(tariff_of(GOLD), 600, -10).lines[1:]] == [("no_billable_minutes", {"minutes": 0})]


def test_a_subscription_explains_its_steps_with_and_without_a_multiplier():
    plain = price(tariff_of(GOLD), 22 * 60, 0).lines
    assert [(line.code, line.values) for line in plain] == [("balance_steps", {"seconds": 1320, "step_minutes": 15, "minutes": 30})]
    weekend = {"surcharges": [{"name": "weekend", "days": ["sat", "sun"], "from": "00:00", "to": "24:00", "multiplier": "2"}]}
    saturday = price(tariff_of({**GOLD, **weekend}), 50 * 60, 0, datetime(2026, 10, 3, 10, tzinfo=timezone.utc)).lines
    assert codes(saturday) == ["surcharge_share", "balance_steps_surcharged"]
    assert saturday[1].values == {"seconds": 3000, "multiplier": "2.0000", "step_minutes": 15, "minutes": 105}
    assert saturday[1].text == "50 min × 2.0000 in 15-min steps: 105 min"


def test_the_overage_explains_what_the_balance_covered_and_what_the_rest_cost():
    lines = overage(tariff_of(GOLD), 90, 50).lines
    assert [(line.code, line.values) for line in lines] == [
        ("covered_by_balance", {"minutes": 50}),
        ("overage", {"minutes": 40, "count": 3, "step_minutes": 15, "step_cost": "30.00", "amount": "90.00"}),
    ]


def test_a_session_locked_before_prices_were_explained_says_its_frozen_figures():
    old = Session(total_seconds=1320, billed_minutes=25, cost=Decimal("30.00"), pricing=None)
    line, = frozen_pricing(old).lines
    assert (line.code, line.values, line.text) == ("accounted", {"minutes": 25, "amount": "30.00"}, "accounted 25 min: 30.00")
    subscription = Session(total_seconds=1320, billed_minutes=30, cost=None, pricing=None)
    assert frozen_pricing(subscription).lines[0].values == {"minutes": 30}


# ---------------------------------------------------------------- the values rebuild the text


def every_line():
    """The lines of every golden case of §3 and §10 (extra minutes included), and of the overage."""
    for case in CASES:
        yield from price(tariff_of(case["profile"]), case["expect"]["connection_seconds"], case.get("extra_minutes", 0)).lines
    for case in SURCHARGE_CASES:
        started = fields.timestamp("started_at", case["started_at"])
        seconds = (fields.timestamp("ended_at", case["ended_at"]) - started).total_seconds()
        yield from price(tariff_of(case["profile"]), int(seconds), case.get("extra_minutes", 0), started).lines
    for billed, available in ((90, 50), (90, 120), (45, 0)):
        yield from overage(tariff_of(GOLD), billed, available).lines


def test_every_line_of_the_golden_cases_has_a_code_whose_values_rebuild_its_text():
    lines = list(every_line())
    assert len(lines) > 40
    for line in lines:
        assert line.code in SAID, line
        answered = explained(line)
        assert SAID[answered["code"]](answered["values"]) == answered["text"], answered


def test_the_codes_are_the_ones_openapi_documents_and_each_is_made_by_some_case():
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    documented = spec["components"]["schemas"]["PriceLine"]["properties"]["code"]["enum"]
    assert sorted(documented) == sorted(SAID)
    made = set(codes(every_line())) | {"extra_minutes", "surcharge_share_time", "no_billable_time", "no_billable_minutes", "accounted"}
    assert made == set(SAID)  # the last five: made by the cases above


# ---------------------------------------------------------------- frozen at lock, read back


def test_a_lock_freezes_the_codes_and_reads_them_back():
    pricing = price(tariff_of({**STANDARD, **NIGHT}), 3600, 5, TUESDAY_2140)
    frozen = frozen_explanation(pricing, overage(tariff_of(GOLD), 90, 50).lines)
    session = Session(total_seconds=pricing.total_seconds, billed_minutes=pricing.billed_minutes, cost=pricing.cost, **frozen)
    again = frozen_pricing(session)
    assert [line.view() for line in again.lines] == [line.view() for line in (*pricing.lines, *overage(tariff_of(GOLD), 90, 50).lines)]
    assert codes(again.lines)[0] == "extra_minutes"


def test_a_line_frozen_before_codes_existed_keeps_its_text():
    stored = jsonio.dumps({"multiplier": "1.0000", "lines": [{"text": "initial 15 min: 20.00", "amount": "20.00", "minutes": 15}]})
    line, = frozen_pricing(Session(total_seconds=900, billed_minutes=15, cost=Decimal("20.00"), pricing=stored)).lines
    assert line.view() == {"text": "initial 15 min: 20.00", "amount": "20.00", "minutes": 15}
    assert (line.code, line.values) == (None, None)


@pytest.mark.parametrize("view", [
    {"code": "steps", "values": {"count": 2, "step_minutes": 5, "step_cost": "5.00", "amount": "10.00"},
     "text": "2 × 5 min at 5.00: 10.00", "amount": "10.00", "minutes": 10},
    {"text": "night ×1.50 on 40 of 60 min", "minutes": 40},
])
def test_a_line_reads_back_as_it_was_answered(view):
    assert PriceLine.from_view(view).view() == view
