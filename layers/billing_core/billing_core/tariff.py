"""The tariff arithmetic of SPEC §3, pure: no I/O, no AWS. This file is the pricing rule."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Mapping, Union

from . import fields
from .errors import InvalidInput

PAY_PER_USE = "pay_per_use"
SUBSCRIPTION = "subscription"


@dataclass(frozen=True)
class PayPerUse:
    """An initial step billed whole, then started steps of `step_minutes`."""

    type: ClassVar[str] = PAY_PER_USE
    currency: str
    min_duration_minutes: int
    initial_step_minutes: int
    initial_step_cost: Decimal
    step_minutes: int
    step_cost: Decimal


@dataclass(frozen=True)
class Subscription:
    """A balance of hours per client; sessions use started steps of it, they cost nothing each."""

    type: ClassVar[str] = SUBSCRIPTION
    currency: str
    min_duration_minutes: int
    total_hours: Decimal
    amount: Decimal
    step_minutes: int

    @property
    def total_minutes(self) -> int:
        return int(self.total_hours * 60)


Tariff = Union[PayPerUse, Subscription]

TARIFF_FIELDS = {
    PAY_PER_USE: ("currency", "min_duration_minutes", "initial_step_minutes", "initial_step_cost", "step_minutes", "step_cost"),
    SUBSCRIPTION: ("currency", "min_duration_minutes", "total_hours", "amount", "step_minutes"),
}


@dataclass(frozen=True)
class Pricing:
    total_seconds: int
    billed_minutes: int
    cost: Decimal | None  # None for subscriptions: they use the balance instead


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


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


def price(tariff: Tariff, connection: int, extra_minutes: int) -> Pricing:
    seconds = total_seconds(connection, extra_minutes)
    if isinstance(tariff, Subscription):
        billed = tariff.step_minutes * _ceil_div(seconds, 60 * tariff.step_minutes)
        return Pricing(seconds, billed, None)
    if seconds == 0:
        return Pricing(0, 0, Decimal("0.00"))
    beyond_initial = max(0, seconds - 60 * tariff.initial_step_minutes)
    steps = _ceil_div(beyond_initial, 60 * tariff.step_minutes)
    cost = tariff.initial_step_cost + steps * tariff.step_cost
    billed = tariff.initial_step_minutes + steps * tariff.step_minutes
    return Pricing(seconds, billed, cost.quantize(fields.CENT))


def parse_tariff(profile_type, values: Mapping) -> Tariff:
    """A tariff from API or stored values; every problem names its field."""
    if not isinstance(profile_type, str) or profile_type not in TARIFF_FIELDS:
        raise InvalidInput("type", f"must be one of {', '.join(TARIFF_FIELDS)}")
    for name in TARIFF_FIELDS[profile_type]:
        if name not in values or values[name] is None:
            raise InvalidInput(name, f"is required for a {profile_type} profile")
    common = dict(
        currency=fields.currency("currency", values["currency"]),
        min_duration_minutes=fields.minutes("min_duration_minutes", values["min_duration_minutes"]),
        step_minutes=fields.minutes("step_minutes", values["step_minutes"], least=1),
    )
    if profile_type == PAY_PER_USE:
        return PayPerUse(
            initial_step_minutes=fields.minutes("initial_step_minutes", values["initial_step_minutes"]),
            initial_step_cost=fields.money("initial_step_cost", values["initial_step_cost"]),
            step_cost=fields.money("step_cost", values["step_cost"]),
            **common,
        )
    total_hours = fields.hours("total_hours", values["total_hours"])
    if total_hours <= 0:
        raise InvalidInput("total_hours", "must be greater than 0")
    return Subscription(total_hours=total_hours, amount=fields.money("amount", values["amount"]), **common)


def tariff_values(tariff: Tariff) -> dict:
    """The tariff as answered and stored: money as 2-decimal strings, hours as an exact number."""
    values = {"type": tariff.type}
    for name in TARIFF_FIELDS[tariff.type]:
        value = getattr(tariff, name)
        values[name] = fields.money_text(value) if name in ("initial_step_cost", "step_cost", "amount") else value
    return values
