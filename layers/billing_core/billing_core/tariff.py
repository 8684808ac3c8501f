"""The tariff arithmetic of SPEC §3 and §10, pure: no I/O, no AWS. This file is the pricing rule.

§3 prices a session by its duration; §10 multiplies that price by `M`, the mean of the surcharge
multipliers over the connection's real seconds (rational arithmetic, one half-up rounding to the
cent at the end), and prices the minutes a subscription balance cannot cover (overage)."""
import math
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar, Mapping, Union

from . import fields
from .errors import InvalidInput
from .surcharges import public_holidays, surcharge_multiplier  # noqa: F401 (public_holidays: tests read the calendar here)
from .values import Value

PAY_PER_USE = "pay_per_use"
SUBSCRIPTION = "subscription"
UTC = "UTC"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY = "holiday"
DAYS = WEEKDAYS + (HOLIDAY,)
MAX_SURCHARGES = 20
MAX_THRESHOLDS = 5
MAX_HOLIDAY_DATES = 366
SURCHARGE_FIELDS = ("name", "days", "from", "to", "multiplier")
HOLIDAY_FIELDS = ("country", "subdivision", "dates")
ONE = Fraction(1)
COST_LIMIT = fields.MAX_MONEY  # the one money limit: no price computed anywhere may exceed it


def over_limit(cost: Decimal | None) -> bool:
    """A computed cost no money field could hold (quotes, uploads, adjustments, re-pricing, overage)."""
    return cost is not None and cost > COST_LIMIT


class Surcharge(Value):
    """A window of local wall-clock time, [from, to), on the days it names, and its multiplier."""

    __slots__ = ("name", "days", "start_minute", "end_minute", "multiplier")

    def __init__(self, name: str, days: tuple[str, ...], start_minute: int, end_minute: int, multiplier: Decimal):
        # days: in DAYS order
        # start_minute: `from`, minutes after local midnight
        # end_minute: `to`; 1440 is 24:00
        self._set(name, days, start_minute, end_minute, multiplier)

    def covers(self, day: date, minute_of_day: Fraction, is_holiday) -> bool:
        if not self.start_minute <= minute_of_day < self.end_minute:
            return False
        return WEEKDAYS[day.weekday()] in self.days or (HOLIDAY in self.days and is_holiday(day))


class Holidays(Value):
    """A country's public holidays (the `holidays` package's calendar) plus listed dates."""

    __slots__ = ("country", "subdivision", "dates")

    def __init__(self, country: str | None = None, subdivision: str | None = None, dates: tuple[date, ...] = ()):
        self._set(country, subdivision, dates)


class PayPerUse(Value):
    """An initial step billed whole, then started steps of `step_minutes`."""

    type: ClassVar[str] = PAY_PER_USE
    __slots__ = ("currency", "min_duration_minutes", "initial_step_minutes", "initial_step_cost", "step_minutes",
                 "step_cost", "time_zone", "surcharges", "holidays")

    def __init__(self, currency: str, min_duration_minutes: int, initial_step_minutes: int, initial_step_cost: Decimal,
                 step_minutes: int, step_cost: Decimal, time_zone: str | None = None,
                 surcharges: tuple[Surcharge, ...] = (), holidays: Holidays | None = None):
        # time_zone: None: UTC
        self._set(currency, min_duration_minutes, initial_step_minutes, initial_step_cost, step_minutes, step_cost,
                  time_zone, surcharges, holidays)


class Subscription(Value):
    """A balance of hours per client; sessions use started steps of it, they cost nothing each
    (unless the balance is spent and the profile prices the overage)."""

    type: ClassVar[str] = SUBSCRIPTION
    __slots__ = ("currency", "min_duration_minutes", "total_hours", "amount", "step_minutes", "time_zone", "surcharges",
                 "holidays", "overage_step_cost", "alert_thresholds")

    def __init__(self, currency: str, min_duration_minutes: int, total_hours: Decimal, amount: Decimal, step_minutes: int,
                 time_zone: str | None = None, surcharges: tuple[Surcharge, ...] = (), holidays: Holidays | None = None,
                 overage_step_cost: Decimal | None = None, alert_thresholds: tuple[int, ...] = ()):
        # overage_step_cost: None: the balance may go negative (an overrun)
        # alert_thresholds: percentages, highest first
        self._set(currency, min_duration_minutes, total_hours, amount, step_minutes, time_zone, surcharges, holidays,
                  overage_step_cost, alert_thresholds)

    @property
    def total_minutes(self) -> int:
        return int(self.total_hours * 60)


Tariff = Union[PayPerUse, Subscription]

TARIFF_FIELDS = {  # required
    PAY_PER_USE: ("currency", "min_duration_minutes", "initial_step_minutes", "initial_step_cost", "step_minutes", "step_cost"),
    SUBSCRIPTION: ("currency", "min_duration_minutes", "total_hours", "amount", "step_minutes"),
}
_RULE_FIELDS = ("time_zone", "surcharges", "holidays")
OPTIONAL_FIELDS = {  # SPEC §10: absent, the profile prices exactly as §3
    PAY_PER_USE: _RULE_FIELDS,
    SUBSCRIPTION: _RULE_FIELDS + ("overage_step_cost", "alert_thresholds"),
}
MONEY_FIELDS = {"initial_step_cost", "step_cost", "amount", "overage_step_cost"}


# ---------------------------------------------------------------- the price of one session


class PriceLine(Value):
    """One line of a price's explanation: "initial 15 min: 20.00" in English, and the same as a
    machine `code` with its `values` (plain JSON: integers, money and multipliers as decimal text,
    durations in seconds) so a reader can say it in its own language. Lines frozen before codes
    existed have neither."""

    __slots__ = ("text", "amount", "minutes", "code", "values")
    _compared = ("text", "amount", "minutes", "code")  # `values` say the same as `text` (and a dict does not hash)

    def __init__(self, text: str, amount: Decimal | None = None, minutes: int | None = None, code: str | None = None,
                 values: Mapping | None = None):
        self._set(text, amount, minutes, code, values)

    def view(self) -> dict:
        answer = {}
        if self.code is not None:
            answer["code"] = self.code
            answer["values"] = dict(self.values or {})
        answer["text"] = self.text
        if self.amount is not None:
            answer["amount"] = fields.money_text(self.amount)
        if self.minutes is not None:
            answer["minutes"] = self.minutes
        return answer

    @classmethod
    def from_view(cls, values: Mapping) -> "PriceLine":
        amount = values.get("amount")
        code = values.get("code")
        return cls(values["text"], None if amount is None else Decimal(amount), values.get("minutes"),
                   code, None if code is None else dict(values.get("values") or {}))


class Pricing(Value):
    __slots__ = ("total_seconds", "billed_minutes", "cost", "multiplier", "lines")
    _compared = ("total_seconds", "billed_minutes", "cost", "multiplier")  # the figures; the lines explain them

    def __init__(self, total_seconds: int, billed_minutes: int, cost: Decimal | None, multiplier: Fraction = ONE,
                 lines: tuple[PriceLine, ...] = ()):
        # cost: None for subscriptions: they use the balance instead
        # multiplier: M of §10: 1 without surcharges
        self._set(total_seconds, billed_minutes, cost, multiplier, lines)

    @property
    def multiplier_text(self) -> str:
        return multiplier_text(self.multiplier)

    def explanation(self, profile_id: str | None, profile_version: int | None) -> dict:
        """The `pricing` of an answer: which profile version priced it, M, and the lines."""
        return {
            "profile_id": profile_id,
            "profile_version": profile_version,
            "multiplier": self.multiplier_text,
            "lines": [line.view() for line in self.lines],
        }


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """Exact: the one rounding of a price, to the cent, halves away from zero (values are ≥ 0)."""
    scale = 10**places
    return (Decimal(math.floor(value * scale + Fraction(1, 2))) / scale).quantize(Decimal(1).scaleb(-places))


def multiplier_text(multiplier: Fraction) -> str:
    """M as answered: 4 decimal places (the arithmetic keeps it exact)."""
    return str(round_half_up(Fraction(multiplier), 4))


def connection_seconds(started_at: datetime, ended_at: datetime) -> int:
    """floor(ended_at − started_at) in whole seconds."""
    if ended_at < started_at:
        raise InvalidInput("ended_at", "must not be before started_at")
    elapsed = ended_at - started_at
    return elapsed.days * 86_400 + elapsed.seconds


def total_seconds(connection: int, extra_minutes: int) -> int:
    return max(0, connection + 60 * extra_minutes)


def is_recorded(tariff: Tariff | None, connection: int) -> bool:
    """The recording threshold: shorter connections than the minimum are not kept."""
    return tariff is None or connection >= 60 * tariff.min_duration_minutes


def price(tariff: Tariff, connection: int, extra_minutes: int, started_at: datetime | None = None) -> Pricing:
    """The price of a session of `connection` seconds from `started_at` (needed only when the
    tariff has surcharges: the windows are read at the connection's real instants)."""
    seconds = total_seconds(connection, extra_minutes)
    multiplier, shares = Fraction(1), []
    if tariff.surcharges:
        if started_at is None:
            raise ValueError("a tariff with surcharges prices a session from its started_at")
        multiplier, shares = surcharge_multiplier(tariff, started_at, connection)
    lines = _duration_lines(connection, extra_minutes, seconds)
    surcharged = [_share_line(rule, covered, connection) for rule, covered in shares]
    if isinstance(tariff, Subscription):
        return _subscription_price(tariff, seconds, multiplier, lines + surcharged)
    return _pay_per_use_price(tariff, seconds, multiplier, lines, surcharged)


def _pay_per_use_price(tariff: PayPerUse, seconds: int, multiplier: Fraction, lines: list, surcharged: list) -> Pricing:
    if seconds == 0:
        nothing = PriceLine("no billable time: 0.00", Decimal("0.00"), 0, "no_billable_time", {"amount": "0.00"})
        return Pricing(0, 0, Decimal("0.00"), multiplier, tuple(lines + [nothing]))
    beyond_initial = max(0, seconds - 60 * tariff.initial_step_minutes)
    steps = _ceil_div(beyond_initial, 60 * tariff.step_minutes)
    base = tariff.initial_step_cost + steps * tariff.step_cost
    billed = tariff.initial_step_minutes + steps * tariff.step_minutes
    if tariff.initial_step_minutes or tariff.initial_step_cost:
        lines.append(PriceLine(f"initial {tariff.initial_step_minutes} min: {_money(tariff.initial_step_cost)}",
                               tariff.initial_step_cost, tariff.initial_step_minutes, "initial_step",
                               {"minutes": tariff.initial_step_minutes, "amount": _money(tariff.initial_step_cost)}))
    if steps:
        amount = steps * tariff.step_cost
        lines.append(PriceLine(f"{steps} × {tariff.step_minutes} min at {_money(tariff.step_cost)}: {_money(amount)}",
                               amount, steps * tariff.step_minutes, "steps",
                               {"count": steps, "step_minutes": tariff.step_minutes, "step_cost": _money(tariff.step_cost),
                                "amount": _money(amount)}))
    if multiplier == 1:
        return Pricing(seconds, billed, base.quantize(fields.CENT), multiplier, tuple(lines))
    cost = round_half_up(Fraction(base) * multiplier)
    lines += surcharged
    lines.append(PriceLine(f"{_money(base)} × {multiplier_text(multiplier)}: {_money(cost)}", cost, None, "multiplier",
                           {"base": _money(base), "multiplier": multiplier_text(multiplier), "amount": _money(cost)}))
    return Pricing(seconds, billed, cost, multiplier, tuple(lines))


def _subscription_price(tariff: Subscription, seconds: int, multiplier: Fraction, lines: list) -> Pricing:
    step = tariff.step_minutes
    billed = step * math.ceil(Fraction(seconds) * multiplier / (60 * step))
    if seconds == 0:
        lines.append(PriceLine("no billable time: 0 min", None, 0, "no_billable_minutes", {"minutes": 0}))
    elif multiplier == 1:
        lines.append(PriceLine(f"{_duration(seconds)} in {step}-min steps: {billed} min", None, billed, "balance_steps",
                               {"seconds": seconds, "step_minutes": step, "minutes": billed}))
    else:
        lines.append(PriceLine(
            f"{_duration(seconds)} × {multiplier_text(multiplier)} in {step}-min steps: {billed} min", None, billed,
            "balance_steps_surcharged",
            {"seconds": seconds, "multiplier": multiplier_text(multiplier), "step_minutes": step, "minutes": billed}))
    return Pricing(seconds, billed, None, multiplier, tuple(lines))


def _money(amount: Decimal) -> str:
    return fields.money_text(amount)


def _duration(seconds) -> str:
    """"40 min", "40 min 30 s" (fractions of a second, from sub-second timestamps, are dropped)."""
    whole = int(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min" if rest == 0 else f"{minutes} min {rest} s"


def _duration_lines(connection: int, extra_minutes: int, seconds: int) -> list[PriceLine]:
    if extra_minutes == 0:
        return []
    sign = "+" if extra_minutes > 0 else "−"
    return [PriceLine(f"connection {_duration(connection)} {sign} {abs(extra_minutes)} min extra: {_duration(seconds)}",
                      code="extra_minutes",
                      values={"connection_seconds": connection, "extra_minutes": extra_minutes, "total_seconds": seconds})]


def _share_line(rule: Surcharge, covered: Fraction, connection: int) -> PriceLine:
    """"night ×1.50 on 40 of 60 min" (whole minutes), else "night ×1.50 on 40 min 30 s of 60 min 15 s"."""
    label = f"{rule.name} ×{rule.multiplier}"
    rule_values = {"name": rule.name, "multiplier": str(rule.multiplier)}
    if covered.denominator == 1 and covered % 60 == 0 and connection % 60 == 0:
        minutes = int(covered) // 60
        return PriceLine(f"{label} on {minutes} of {connection // 60} min", None, minutes, "surcharge_share",
                         {**rule_values, "minutes": minutes, "connection_minutes": connection // 60})
    return PriceLine(f"{label} on {_duration(covered)} of {_duration(connection)}", code="surcharge_share_time",
                     values={**rule_values, "seconds": int(covered), "connection_seconds": connection})


# ---------------------------------------------------------------- overage (§10)


class Overage(Value):
    """How a subscription lock splits a session's billed minutes: what the balance covers, and
    the rest, at the overage price when the profile has one (else the balance overruns)."""

    __slots__ = ("covered_minutes", "overage_minutes", "cost", "lines")
    _compared = ("covered_minutes", "overage_minutes", "cost")

    def __init__(self, covered_minutes: int, overage_minutes: int, cost: Decimal | None, lines: tuple[PriceLine, ...] = ()):
        # cost: the session's cost; None when the profile has no overage price
        self._set(covered_minutes, overage_minutes, cost, lines)


def overage(tariff: Subscription, billed_minutes: int, available_minutes: int) -> Overage:
    """`covered = min(billed, max(0, available))`; `overage_minutes = billed − covered` cost
    `overage_step_cost × ceil(overage_minutes / step_minutes)`. Without an overage price the
    balance takes every minute and may go negative (§3)."""
    if tariff.overage_step_cost is None:
        return Overage(billed_minutes, 0, None)
    covered = min(billed_minutes, max(0, available_minutes))
    over = billed_minutes - covered
    cost = overage_cost(tariff.overage_step_cost, tariff.step_minutes, over)
    return Overage(covered, over, cost, overage_lines(tariff, covered, over, cost))


def overage_cost(step_cost: Decimal, step_minutes: int, over: int) -> Decimal:
    """The overage price of `over` minutes, by started steps (the lock's ledger charges this)."""
    return (_ceil_div(over, step_minutes) * step_cost).quantize(fields.CENT)


def overage_lines(tariff: Subscription, covered: int, over: int, cost: Decimal | None) -> tuple[PriceLine, ...]:
    """"covered by the balance: 50 min", "overage 40 min: 3 × 15 min at 30.00: 90.00"."""
    lines = [PriceLine(f"covered by the balance: {covered} min", None, covered, "covered_by_balance", {"minutes": covered})]
    if over:
        steps = _ceil_div(over, tariff.step_minutes)
        lines.append(PriceLine(
            f"overage {over} min: {steps} × {tariff.step_minutes} min at {_money(tariff.overage_step_cost)}: {_money(cost)}",
            cost, over, "overage",
            {"minutes": over, "count": steps, "step_minutes": tariff.step_minutes,
             "step_cost": _money(tariff.overage_step_cost), "amount": _money(cost)}))
    return tuple(lines)
