"""Parsing and limits of every input value (SPEC §4 "Limits"). Each parser names the field it
rejects and why, so a bad request always answers a 400 that says what to fix."""
import functools
import re
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from .errors import InvalidInput

MAX_ID = 128
MAX_NAME = 200
MAX_NOTES = 2000
MAX_EXTRA_MINUTES = 10_080
MAX_MINUTES = 525_600  # a year: no step, minimum or initial step is longer
MAX_HOURS = Decimal(1_000_000)
MAX_MONEY = Decimal("999999999.99")
CENT = Decimal("0.01")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOTES_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # tab and line feed are kept in notes
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # no store or spreadsheet can encode one alone
_MONEY_TEXT = re.compile(r"\d{1,9}(\.\d{1,2})?", re.ASCII)
_MULTIPLIER_TEXT = re.compile(r"\d{1,2}(\.\d{1,2})?", re.ASCII)
_HOURS_TEXT = re.compile(r"\d{1,7}(\.\d{1,2})?", re.ASCII)
_MULTIPLIER_TEXT = re.compile(r"\d{1,2}(\.\d{1,2})?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}")
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*")
MIN_MULTIPLIER, MAX_MULTIPLIER = Decimal("1.00"), Decimal("10.00")
_DECODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


def _is_number(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def _decimal(field: str, value) -> Decimal:
    """A JSON number (parsed as Decimal, never float) or a decimal string."""
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidInput(field, "must be a decimal number such as \"12.50\"") from None
    elif isinstance(value, float):  # only reachable from Python callers, never from JSON
        raise InvalidInput(field, "must be an exact decimal, not a binary float")
    elif not _is_number(value):
        raise InvalidInput(field, "must be a decimal number such as \"12.50\"")
    value = Decimal(value)
    if not value.is_finite():
        raise InvalidInput(field, "must be a finite number")
    return value


class ExponentDecimal(Decimal):
    """A JSON number written with an exponent (`1e2`): exact, but refused where money is read."""


def _plain_number(field: str, value, pattern: re.Pattern, example: str) -> None:
    """Exact decimals only as people write them: ASCII digits, an optional point, no exponent,
    no `_`, no other script's digits (Python's Decimal would take all of those)."""
    if isinstance(value, ExponentDecimal) or (isinstance(value, str) and not pattern.fullmatch(value.strip())):
        raise InvalidInput(field, f"must be written as plain digits 0-9 with an optional point, such as \"{example}\" "
                                  "(no exponent, separator or other digits)")


def money(field: str, value) -> Decimal:
    amount = _decimal(field, value)
    if amount < 0:
        raise InvalidInput(field, "must not be negative")
    if amount > MAX_MONEY:
        raise InvalidInput(field, f"must be at most {MAX_MONEY}")
    if amount != amount.quantize(CENT):
        raise InvalidInput(field, "must have at most 2 decimal places")
    _plain_number(field, value, _MONEY_TEXT, "12.50")
    return amount.quantize(CENT) + 0  # + 0: "-0.00" is 0.00


def multiplier(field: str, value) -> Decimal:
    """A surcharge multiplier: 1.00 to 10.00, at most 2 decimal places."""
    factor = _decimal(field, value)
    if not MIN_MULTIPLIER <= factor <= MAX_MULTIPLIER:
        raise InvalidInput(field, f"must be from {MIN_MULTIPLIER} to {MAX_MULTIPLIER}")
    if factor != factor.quantize(CENT):
        raise InvalidInput(field, "must have at most 2 decimal places")
    _plain_number(field, value, _MULTIPLIER_TEXT, "1.50")
    return factor.quantize(CENT)


def clock_minute(field: str, value) -> int:
    """A local wall-clock time `HH:MM` (00:00 to 24:00) as minutes after midnight."""
    if not isinstance(value, str) or not _CLOCK.fullmatch(value):
        raise InvalidInput(field, "must be a local time HH:MM from 00:00 to 24:00")
    hours, minutes_ = value.split(":")
    return int(hours) * 60 + int(minutes_)


def calendar_date(field: str, value) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidInput(field, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "is not a calendar date") from None


NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})  # files of a zone folder, not IANA zones


@functools.lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    """The IANA zone names (with their backward-compatible links such as "UTC"): zoneinfo's, less
    what a system's zone folder holds besides zones (its `localtime`, `posixrules`, `Factory`, and
    the `posix/` and `right/` copies that count leap seconds)."""
    from zoneinfo import available_timezones  # here: only requests with a time zone pay for it

    return frozenset(name for name in available_timezones()
                     if name not in NOT_ZONES and not name.startswith(("posix/", "right/")))


def time_zone(field: str, value) -> str:
    """An IANA time zone name such as "Europe/Paris"."""
    if not isinstance(value, str) or len(value) > 64 or not _ZONE.fullmatch(value):
        raise InvalidInput(field, "must be an IANA time zone name such as \"Europe/Paris\"")
    if value not in iana_zones():
        raise InvalidInput(field, f"is not a known IANA time zone: {value}")
    return value


def minutes(field: str, value, *, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, "must be a whole number of minutes")
    if value < least:
        raise InvalidInput(field, f"must be at least {least}")
    if value > MAX_MINUTES:
        raise InvalidInput(field, f"must be at most {MAX_MINUTES}")
    return value


def extra_minutes(field: str, value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput(field, "must be a whole number of minutes")
    if abs(value) > MAX_EXTRA_MINUTES:
        raise InvalidInput(field, f"must be between -{MAX_EXTRA_MINUTES} and {MAX_EXTRA_MINUTES}")
    return value


def hours(field: str, value) -> Decimal:
    """Hours that are a whole number of minutes: 7.5 yes, 0.01 no."""
    amount = _decimal(field, value)
    if amount < 0:
        raise InvalidInput(field, "must not be negative")
    if amount > MAX_HOURS:
        raise InvalidInput(field, f"must be at most {MAX_HOURS}")
    if amount != amount.quantize(CENT) or (amount * 60) % 1 != 0:  # whole minutes have at most 2 places
        raise InvalidInput(field, "must be a whole number of minutes (7.5 yes, 0.01 no)")
    _plain_number(field, value, _HOURS_TEXT, "7.5")
    return amount.normalize() if amount % 1 else amount.quantize(Decimal(1))


def currency(field: str, value) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise InvalidInput(field, "must be a 3-letter ISO 4217 code such as \"EUR\"")
    return value


def has_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def text(field: str, value, max_length: int, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be a string")
    if _SURROGATE.search(value):
        raise InvalidInput(field, "must not contain a lone UTF-16 surrogate (not valid Unicode text)")
    if required and not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters")
    return value


def name(field: str, value) -> str:
    value = text(field, value, MAX_NAME)
    if _CONTROL.search(value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def notes(field: str, value) -> str:
    value = text(field, value, MAX_NOTES, required=False)
    if _NOTES_CONTROL.search(value):
        raise InvalidInput(field, "must not contain control characters other than tab and line feed")
    return value


def identifier(field: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, f"must be a string of 1 to {MAX_ID} characters")
    if len(value) > MAX_ID:
        raise InvalidInput(field, f"must be at most {MAX_ID} characters")
    if _SURROGATE.search(value):
        raise InvalidInput(field, "must not contain a lone UTF-16 surrogate (not valid Unicode text)")
    if _CONTROL.search(value):
        raise InvalidInput(field, "must not contain control characters")
    if "/" in value:
        raise InvalidInput(field, "must not contain '/' (ids are addressed in URL paths)")
    return value


def timestamp(field: str, value) -> datetime:
    """ISO 8601 with an offset (`Z` or `+02:00`); answered back in UTC."""
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInput(field, "must be an ISO 8601 timestamp with an offset, e.g. 2026-03-02T09:00:00Z")
    # An unencoded "+02:00" in a query string arrives as " 02:00": read it as the offset it was.
    value = _DECODED_PLUS.sub(r"\1+\2", value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "must be an ISO 8601 timestamp with an offset, e.g. 2026-03-02T09:00:00Z") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput(field, "must carry a UTC offset (`Z` or `+02:00`)")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidInput(field, "is out of range") from None
    if not 1970 <= moment.year <= 9998:
        raise InvalidInput(field, "must be between 1970 and 9998")
    return moment


def bounded_list(name: str, value, most: int, shape: str, noun: str, *, tuples: bool = False, non_empty: bool = False):
    """A list of at most `most` items (a tuple too with `tuples`, a parsed profile's), or a 400
    naming `name`: "must be <shape>" or "must hold at most <most> <noun>". Its items are the caller's."""
    if not isinstance(value, (list, tuple) if tuples else list) or (non_empty and not value):
        raise InvalidInput(name, f"must be {shape}")
    if len(value) > most:
        raise InvalidInput(name, f"must hold at most {most} {noun}")
    return value


def page_limit(value, default: int) -> int:
    """A page size from a query string: 1 to 1000 (a search, a ledger, events, the overview)."""
    if value in (None, ""):
        return default
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,4}", value) or not 1 <= int(value) <= 1000:
        raise InvalidInput("limit", "must be a whole number from 1 to 1000")
    return int(value)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc_text(moment: datetime) -> str:
    """Answers give UTC with `Z`; sub-second precision only when there is some."""
    moment = moment.astimezone(timezone.utc)
    pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return moment.strftime(pattern)


def sortable_utc(moment: datetime) -> str:
    """Fixed-width UTC text: sorts as the instants do (used in sort keys)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value.replace("Z", "+00:00"))


def money_text(amount: Decimal | None) -> str | None:
    return None if amount is None else str(amount.quantize(CENT))
