"""Files for finance (SPEC §11): what an export request asks for, validated — the format, the
locale, the time zone and the period in it, the invoice settings — and the file's name.

The writers of each format are in `writers.py` (CSV, spreadsheet CSV, invoice files) and
`xlsx.py` (the workbook), fed one `Line` per session by `exports.py`."""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from .. import fields
from ..errors import InvalidInput
from .locales import LOCALES, Locale

CSV, XLSX, QUICKBOOKS, XERO = "csv", "xlsx", "quickbooks", "xero"
FORMATS = (CSV, XLSX, QUICKBOOKS, XERO)
INVOICE_FORMATS = (QUICKBOOKS, XERO)
DELIMITERS = (",", ";")
DATE_FORMATS = {"DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y", "YYYY-MM-DD": "%Y-%m-%d"}
INVOICE_FIELDS = ("invoice_prefix", "invoice_start", "invoice_date", "due_days", "item", "account_code", "tax_type", "date_format")
REQUEST_FIELDS = frozenset({"from", "to", "status", "delimiter", "expires_in_minutes", "format", "locale", "time_zone", *INVOICE_FIELDS})
MAX_INVOICE_NUMBER = 999_999_999
MAX_DUE_DAYS = 365
_LOCAL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INVOICE_PREFIX = re.compile(r"[A-Za-z0-9._/#-]{0,20}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Invoicing:
    """Invoice settings of a QuickBooks or Xero file. Defaults: QuickBooks Online's stock
    "Services" item, Xero's default sales account 200 and its "Tax Exempt" rate; dates as the
    accounting package of the format reads them by default (US QuickBooks, UK/AU/NZ Xero)."""

    prefix: str
    start: int
    invoice_date: date
    due_days: int
    item: str
    account_code: str
    tax_type: str
    date_format: str  # strftime pattern

    @property
    def due_date(self) -> date:
        return self.invoice_date + timedelta(days=self.due_days)

    def number(self, index: int) -> str:
        return f"{self.prefix}{self.start + index}"


@dataclass(frozen=True)
class FileOptions:
    format: str
    locale: Locale | None  # a spreadsheet CSV's language; None: §4's machine CSV
    headers: Locale  # the language of xlsx headers (and of any locale CSV)
    zone: object  # a tzinfo: where every date of the file is read
    delimiter: str
    invoicing: Invoicing | None
    start: datetime | None  # the period, as instants (to excluded)
    end: datetime | None
    period: str  # for the file name: 2026-10, 2026-10-01_2026-10-15, all

    @property
    def extension(self) -> str:
        return "xlsx" if self.format == XLSX else "csv"

    @property
    def content_type(self) -> str:
        if self.format == XLSX:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "text/csv; charset=utf-8"

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)


def time_zone(value):
    """An IANA zone name (zoneinfo), default UTC."""
    if value is None or value == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo  # only exports read zones

    return ZoneInfo(fields.time_zone("time_zone", value))


def _boundary(field: str, value, zone) -> datetime | None:
    """`from`/`to`: a local date (midnight in the zone) or a full timestamp with an offset ("" is
    no bound: a 400)."""
    if value is None:
        return None
    if isinstance(value, str) and _LOCAL_DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(field, "is not a calendar date (YYYY-MM-DD)") from None
        if not 1970 <= day.year <= 9998:
            raise InvalidInput(field, "must be between 1970 and 9998")
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
    try:
        return fields.timestamp(field, value)
    except InvalidInput:
        raise InvalidInput(field, "must be a date (YYYY-MM-DD, midnight in time_zone) or an ISO 8601 timestamp with an offset") from None


def period_label(start: datetime | None, end: datetime | None, zone) -> str:
    """2026-10 for a calendar month in the zone, 2026-10-01_2026-10-15 for other days (the last
    day included), from-2026-10-01 or until-2026-10-31 for an open end, all for no period."""
    first = start.astimezone(zone) if start else None
    after = end.astimezone(zone) if end else None
    if first is None and after is None:
        return "all"
    if first and after and first.time() == after.time() == time(0) and first.day == after.day == 1:
        next_month = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        if next_month.date() == after.date():
            return first.strftime("%Y-%m")
    last = (after - timedelta(microseconds=1)).date() if after else None
    if first is None:
        return f"until-{last.isoformat()}"
    if last is None:
        return f"from-{first.date().isoformat()}"
    return f"{first.date().isoformat()}_{last.isoformat()}"


def _short_text(field: str, value, longest: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"must be a non-empty string of at most {longest} characters")
    return fields.name(field, fields.text(field, value, longest))  # no lone surrogate, no control character


def _one_of(field: str, value, choices) -> str:
    """A value of a fixed list (a JSON object or array is refused by name, never looked up)."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(field, f"must be one of {', '.join(choices)}")
    return value


def _whole(field: str, value, least: int, most: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value <= most:
        raise InvalidInput(field, f"must be a whole number from {least} to {most}")
    return value


def _invoicing(file_format: str, values: dict, zone) -> Invoicing:
    prefix = values.get("invoice_prefix", "INV-")
    if not isinstance(prefix, str) or not _INVOICE_PREFIX.fullmatch(prefix):
        raise InvalidInput("invoice_prefix", "must be at most 20 letters, digits or . _ / # -")
    start = _whole("invoice_start", values.get("invoice_start", 1), 1, MAX_INVOICE_NUMBER)
    due_days = _whole("due_days", values.get("due_days", 30), 0, MAX_DUE_DAYS)
    if "invoice_date" in values:
        raw = values["invoice_date"]
        if not isinstance(raw, str) or not _LOCAL_DATE.fullmatch(raw):
            raise InvalidInput("invoice_date", "must be a date (YYYY-MM-DD)")
        try:
            invoice_date = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput("invoice_date", "is not a calendar date (YYYY-MM-DD)") from None
        if not 1970 <= invoice_date.year <= 9000:
            raise InvalidInput("invoice_date", "must be between 1970 and 9000")
    else:
        invoice_date = fields.utc_now().astimezone(zone).date()  # today where the client is billed
    default_format = "MM/DD/YYYY" if file_format == QUICKBOOKS else "DD/MM/YYYY"
    date_format = _one_of("date_format", values.get("date_format", default_format), DATE_FORMATS)
    return Invoicing(
        prefix=prefix,
        start=start,
        invoice_date=invoice_date,
        due_days=due_days,
        item=_short_text("item", values.get("item", "Services"), 100),
        account_code=_short_text("account_code", values.get("account_code", "200"), 30),
        tax_type=_short_text("tax_type", values.get("tax_type", "Tax Exempt"), 50),
        date_format=DATE_FORMATS[date_format],
    )


def parse_options(values: dict) -> FileOptions:
    """Everything a file request says about the file, validated: a 400 names the first bad field."""
    unknown = sorted(set(values) - REQUEST_FIELDS)
    if unknown:
        raise InvalidInput(unknown[0], "is not a field of this request")
    file_format = _one_of("format", values.get("format", CSV), FORMATS)
    locale_code = values.get("locale")
    if locale_code is not None:
        locale_code = _one_of("locale", locale_code, LOCALES)
    if locale_code is not None and file_format in INVOICE_FORMATS:
        raise InvalidInput("locale", "applies to the csv and xlsx formats (invoice files have their package's columns)")
    locale = LOCALES[locale_code] if locale_code else None
    zone = time_zone(values.get("time_zone"))
    delimiter = _one_of("delimiter", values.get("delimiter", locale.delimiter if locale else ","), DELIMITERS)
    if "delimiter" in values and file_format != CSV:
        raise InvalidInput("delimiter", f"applies to the csv format only, not {file_format}")
    if locale and delimiter == locale.decimal:
        raise InvalidInput("delimiter", f"must not be the decimal separator of locale {locale.code} (\"{locale.decimal}\")")
    invoice_fields = [name for name in INVOICE_FIELDS if name in values]
    if invoice_fields and file_format not in INVOICE_FORMATS:
        raise InvalidInput(invoice_fields[0], "applies to the quickbooks and xero formats only")
    start = _boundary("from", values.get("from"), zone)
    end = _boundary("to", values.get("to"), zone)
    if start and end and end < start:
        raise InvalidInput("to", "must not be before from")
    return FileOptions(
        format=file_format,
        locale=locale,
        headers=locale or LOCALES["en"],
        zone=zone,
        delimiter=delimiter,
        invoicing=_invoicing(file_format, values, zone) if file_format in INVOICE_FORMATS else None,
        start=start,
        end=end,
        period=period_label(start, end, zone),
    )


def slug(name: str, fallback: str = "client") -> str:
    """A file-name-safe ASCII version of a client's name: "Boulangerie Zoë & Fils" → boulangerie-zoe-fils."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60].strip("-")
    return cleaned or fallback


def file_name(client: str, options: FileOptions, fallback: str = "client") -> str:
    """bakery_2026-10.xlsx: who, which period; only [a-z0-9._-], so any browser saves it as is."""
    return f"{slug(client, slug(fallback, 'client'))}_{options.period}.{options.extension}"
