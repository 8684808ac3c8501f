"""Tariffs as requests and answers give them: every field of a profile's tariff parsed, each
problem named by its field (400), and a tariff answered as the values it was given."""
import re
from typing import Mapping

from . import fields
from .errors import InvalidInput
from .surcharges import known_calendar
from .tariff import (DAYS, HOLIDAY, HOLIDAY_FIELDS, MAX_HOLIDAY_DATES, MAX_SURCHARGES, MAX_THRESHOLDS, MONEY_FIELDS, PAY_PER_USE,
                     SURCHARGE_FIELDS, TARIFF_FIELDS, Holidays, PayPerUse, Subscription, Surcharge, Tariff)


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
        **_parse_rules(values),
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
    overage_step_cost = values.get("overage_step_cost")
    return Subscription(
        total_hours=total_hours,
        amount=fields.money("amount", values["amount"]),
        overage_step_cost=None if overage_step_cost is None else fields.money("overage_step_cost", overage_step_cost),
        alert_thresholds=_parse_thresholds(values.get("alert_thresholds")),
        **common,
    )


def _parse_rules(values: Mapping) -> dict:
    time_zone = values.get("time_zone")
    holidays = None if values.get("holidays") is None else _parse_holidays(values["holidays"])
    surcharges = _parse_surcharges(values.get("surcharges"), holidays)
    return {
        "time_zone": None if time_zone is None else fields.time_zone("time_zone", time_zone),
        "surcharges": surcharges,
        "holidays": holidays,
    }


def _fields_of(name: str, value, allowed: tuple[str, ...], what: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise InvalidInput(name, f"must be an object {{{', '.join(allowed)}}}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InvalidInput(f"{name}.{unknown[0]}", f"is not a field of {what}")
    return value


def _parse_surcharges(value, holidays: Holidays | None) -> tuple[Surcharge, ...]:
    if value is None:
        return ()
    fields.bounded_list("surcharges", value, MAX_SURCHARGES, "a list of rules {name, days, from, to, multiplier}", "rules",
                        tuples=True)
    return tuple(_parse_surcharge(f"surcharges[{index}]", rule, holidays) for index, rule in enumerate(value))


def _parse_surcharge(at: str, value, holidays: Holidays | None) -> Surcharge:
    rule = _fields_of(at, value, SURCHARGE_FIELDS, "a surcharge rule")
    for name in SURCHARGE_FIELDS:
        if rule.get(name) is None:
            raise InvalidInput(f"{at}.{name}", "is required")
    days = rule["days"]
    if not isinstance(days, (list, tuple)) or not days:
        raise InvalidInput(f"{at}.days", f"must be a non-empty list of {', '.join(DAYS)}")
    for index, day in enumerate(days):
        if not isinstance(day, str) or day not in DAYS:
            raise InvalidInput(f"{at}.days[{index}]", f"must be one of {', '.join(DAYS)}")
        if day in days[:index]:
            raise InvalidInput(f"{at}.days[{index}]", f"repeats {day}")
    if HOLIDAY in days and holidays is None:
        raise InvalidInput(f"{at}.days", "names holiday but the profile has no holidays (set holidays.country or holidays.dates)")
    start = fields.clock_minute(f"{at}.from", rule["from"])
    end = fields.clock_minute(f"{at}.to", rule["to"])
    if start == 1440:
        raise InvalidInput(f"{at}.from", "must be a time of day from 00:00 to 23:59")
    if end <= start:
        raise InvalidInput(f"{at}.to", "must be after from (a night window is two rules: 22:00–24:00 and 00:00–06:00)")
    return Surcharge(
        name=fields.name(f"{at}.name", rule["name"]),
        days=tuple(day for day in DAYS if day in days),
        start_minute=start,
        end_minute=end,
        multiplier=fields.multiplier(f"{at}.multiplier", rule["multiplier"]),
    )


def _parse_holidays(value) -> Holidays:
    values = _fields_of("holidays", value, HOLIDAY_FIELDS, "holidays")
    country, subdivision = values.get("country"), values.get("subdivision")
    if country is not None and (not isinstance(country, str) or not re.fullmatch(r"[A-Z]{2,3}", country)):
        raise InvalidInput("holidays.country", "must be an ISO 3166 country code such as \"FR\"")
    if subdivision is not None:
        if country is None:
            raise InvalidInput("holidays.subdivision", "needs holidays.country")
        if not isinstance(subdivision, str) or not re.fullmatch(r"[A-Za-z0-9-]{1,10}", subdivision):
            raise InvalidInput("holidays.subdivision", "must be a subdivision code such as \"BY\"")
    dates = [] if values.get("dates") is None else values["dates"]  # `false`, `0`, "" are not "no dates"
    fields.bounded_list("holidays.dates", dates, MAX_HOLIDAY_DATES, 'a list of dates such as "2026-12-24"', "dates", tuples=True)
    parsed = []
    for index, text in enumerate(dates):
        day = fields.calendar_date(f"holidays.dates[{index}]", text)
        if day in parsed:
            raise InvalidInput(f"holidays.dates[{index}]", f"repeats {day.isoformat()}")
        parsed.append(day)
    if country is None and not parsed:
        raise InvalidInput("holidays", "must name a country or list dates")
    if country is not None:
        known_country, known_subdivision = known_calendar(country, subdivision)
        if not known_country:
            raise InvalidInput("holidays.country", f"has no public holiday calendar: {country}")
        if not known_subdivision:
            raise InvalidInput("holidays.subdivision", f"is not a subdivision of {country}: {subdivision}")
    return Holidays(country, subdivision, tuple(sorted(parsed)))


def _parse_thresholds(value) -> tuple[int, ...]:
    if value is None:
        return ()
    fields.bounded_list("alert_thresholds", value, MAX_THRESHOLDS, "a list of percentages such as [50, 20, 0]", "percentages",
                        tuples=True)
    seen = []
    for index, percent in enumerate(value):
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
            raise InvalidInput(f"alert_thresholds[{index}]", "must be a whole percentage from 0 to 100")
        if percent in seen:
            raise InvalidInput(f"alert_thresholds[{index}]", f"repeats {percent}")
        seen.append(percent)
    return tuple(sorted(seen, reverse=True))


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def tariff_values(tariff: Tariff) -> dict:
    """The tariff as answered and stored: money as 2-decimal strings, hours as an exact number;
    the §10 fields only when the profile has them (a §3 profile answers exactly as before)."""
    values = {"type": tariff.type}
    for name in TARIFF_FIELDS[tariff.type]:
        value = getattr(tariff, name)
        values[name] = fields.money_text(value) if name in MONEY_FIELDS else value
    if tariff.time_zone is not None:
        values["time_zone"] = tariff.time_zone
    if tariff.surcharges:
        values["surcharges"] = [
            {"name": rule.name, "days": list(rule.days), "from": _clock(rule.start_minute),
             "to": _clock(rule.end_minute), "multiplier": str(rule.multiplier)}
            for rule in tariff.surcharges
        ]
    if tariff.holidays is not None:
        values["holidays"] = {
            "country": tariff.holidays.country,
            "subdivision": tariff.holidays.subdivision,
            "dates": [day.isoformat() for day in tariff.holidays.dates],
        }
    if isinstance(tariff, Subscription):
        if tariff.overage_step_cost is not None:
            values["overage_step_cost"] = fields.money_text(tariff.overage_step_cost)
        if tariff.alert_thresholds:
            values["alert_thresholds"] = list(tariff.alert_thresholds)
    return values
