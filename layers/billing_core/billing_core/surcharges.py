"""Surcharges of SPEC §10, pure: the mean multiplier `M` of a connection over the real seconds it
lasted, each second read in the profile's local wall-clock time and calendar (time zone, DST,
public holidays). The tariff arithmetic (billing_core.tariff) multiplies its price by it."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tariff import Holidays, Surcharge, Tariff

UTC = "UTC"


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_SECOND = timedelta(seconds=1)
_PROBE = timedelta(hours=6)  # no real zone changes its offset twice within 6 hours


def surcharge_multiplier(tariff: Tariff, started_at: datetime, connection: int) -> tuple[Fraction, list[tuple[Surcharge, Fraction]]]:
    """M = Σ(seconds × multiplier) / connection_seconds over [started_at, started_at + connection),
    each second taking the highest multiplier of the rules covering its local date and wall-clock
    time (else 1); also the seconds each winning rule took, in rule order."""
    if connection == 0 or not tariff.surcharges:
        return Fraction(1), []
    from zoneinfo import ZoneInfo  # here: only profiles with surcharges read time zones (cold start)

    zone = ZoneInfo(tariff.time_zone or UTC)
    is_holiday = _holiday_test(tariff.holidays)
    start = started_at.astimezone(timezone.utc)
    end = start + timedelta(seconds=connection)
    edges = sorted(({rule.start_minute for rule in tariff.surcharges} | {rule.end_minute for rule in tariff.surcharges}) - {0, 1440})
    weighted = Fraction(0)
    taken: dict[int, Fraction] = {}
    for span_start, span_end, offset in _constant_offset_spans(zone, start, end):
        for piece_start, piece_end in _pieces(span_start, span_end, offset, edges):
            wall = (piece_start + offset).replace(tzinfo=None)
            minute = Fraction(wall.hour * 60 + wall.minute) + Fraction(wall.second * 10**6 + wall.microsecond, 60 * 10**6)
            seconds = Fraction((piece_end - piece_start) // timedelta(microseconds=1), 10**6)
            best = None
            for index, rule in enumerate(tariff.surcharges):
                if (best is None or rule.multiplier > tariff.surcharges[best].multiplier) and rule.covers(wall.date(), minute, is_holiday):
                    best = index
            if best is None:
                weighted += seconds
            else:
                weighted += seconds * Fraction(tariff.surcharges[best].multiplier)
                taken[best] = taken.get(best, Fraction(0)) + seconds
    shares = [(tariff.surcharges[index], taken[index]) for index in sorted(taken)]
    return weighted / connection, shares


def _pieces(start: datetime, end: datetime, offset: timedelta, edges: list[int]):
    """[start, end) cut at every local midnight and window edge (one UTC offset throughout)."""
    cuts = []
    day = (start + offset).date()
    last = (end + offset).date()
    while day <= last:
        midnight = datetime.combine(day, time(0), tzinfo=timezone.utc) - offset
        for minute in (0, *edges):
            instant = midnight + timedelta(minutes=minute)
            if start < instant < end:
                cuts.append(instant)
        day += timedelta(days=1)
    bounds = [start, *sorted(cuts), end]
    return zip(bounds, bounds[1:])


def _offset(zone, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset()


def _constant_offset_spans(zone, start: datetime, end: datetime):
    """[start, end) cut where the zone's UTC offset changes (DST): within a span, local
    wall-clock time is the instant plus one offset. A gap or repeat is what the real instants are."""
    while start < end:
        offset = _offset(zone, start)
        known, change = start, end
        while known < end:
            probe = min(known + _PROBE, end)
            if _offset(zone, probe) != offset:
                change = _first_change(zone, known, probe, offset)
                break
            known = probe
        change = min(max(change, start + _SECOND), end)
        yield start, change, offset
        start = change


def _first_change(zone, known: datetime, changed: datetime, offset: timedelta) -> datetime:
    """The first whole second after `known` whose offset is not `offset` (tz data change on whole seconds)."""
    low = (known - _EPOCH) // _SECOND
    high = -((_EPOCH - changed) // _SECOND)  # ceil
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(zone, _EPOCH + middle * _SECOND) == offset:
            low = middle
        else:
            high = middle
    return _EPOCH + high * _SECOND


def _holiday_test(holidays: Holidays | None):
    if holidays is None:
        return lambda day: False
    listed = frozenset(holidays.dates)

    def is_holiday(day: date) -> bool:
        if day in listed:
            return True
        return holidays.country is not None and day in public_holidays(holidays.country, holidays.subdivision, day.year)

    return is_holiday


@lru_cache(maxsize=256)
def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The `holidays` package's public holidays of a country (or subdivision) in one year.
    Imported here, on first use: only profiles with holidays pay for it (handler cold start)."""
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))


def known_calendar(country: str, subdivision: str | None) -> tuple[bool, bool]:
    """Whether the `holidays` package knows the country, and the subdivision (True when None)."""
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        return False, False
    return True, subdivision is None or subdivision in supported[country]
