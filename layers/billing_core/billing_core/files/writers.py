"""The writers of each file format. `exports.py` feeds every writer the same way — start_client,
add (one Line per session, oldest first), end_client, and close — and the writer sends bytes to
`out.write` as it goes, so no format holds more than a row buffer in memory. `checkpoint()`
sends out whatever the writer still holds and answers its state as plain data: a writer opened
with that state (in another worker) goes on writing the same file from there."""
import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

from . import CSV, QUICKBOOKS, XERO, XLSX, FileOptions
from .locales import KEYS

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MACHINE_COLUMNS = (
    "session_id", "group_id", "technician", "computer_id", "started_at", "ended_at",
    "connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "cost", "currency",
    "status", "locked_at", "profile_id", "profile_version", "notes",
)
MACHINE_TEXT = {"session_id", "group_id", "technician", "computer_id", "currency", "status", "profile_id", "notes"}
QUICKBOOKS_COLUMNS = ("InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Item(Product/Service)", "ItemDescription",
                      "ItemQuantity", "ItemRate", "ItemAmount", "ServiceDate")
XERO_COLUMNS = ("*ContactName", "*InvoiceNumber", "*InvoiceDate", "*DueDate", "*Description", "*Quantity",
                "*UnitAmount", "*AccountCode", "*TaxType", "Currency")
# The spreadsheet columns (locales.KEYS) by kind: how each is typed in a workbook and written in a locale CSV.
DURATIONS = {"connection", "total", "billed"}
INSTANTS = {"started_at", "ended_at", "locked_at"}
INTEGERS = {"extra_minutes", "profile_version"}
HUNDREDTH = Decimal("0.01")


def neutralise(value: str) -> str:
    """A spreadsheet must not run a text cell as a formula: text that starts like one gets a quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


@dataclass
class Line:
    """One session as files show it: §4's view beside the names of its client, computer and profile."""

    view: dict
    started_at: datetime
    ended_at: datetime
    locked_at: datetime | None
    client: str
    computer: str | None
    profile: str | None

    def value(self, key: str):
        """The spreadsheet column `key` (locales.KEYS), typed: str, int, Decimal, datetime or seconds."""
        view = self.view
        if key == "client":
            return self.client
        if key == "computer":
            return self.computer
        if key == "profile":
            return self.profile
        if key in INSTANTS:
            return getattr(self, key)
        if key == "connection":
            return view["connection_seconds"]
        if key == "total":
            return view["total_seconds"]
        if key == "billed":
            return None if view["billed_minutes"] is None else 60 * view["billed_minutes"]
        if key == "cost":
            return None if view["cost"] is None else Decimal(view["cost"])
        return view[key]


class _Text:
    """csv.writer's target: text on to the byte sink."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text.encode("utf-8"))


class MachineCsv:
    """§4's CSV, unchanged; with a `time_zone` its instants carry that zone's offset."""

    def __init__(self, options: FileOptions, out, state: dict | None = None):
        self.options = options
        self.utc = options.zone is timezone.utc
        self.writer = csv.writer(_Text(out), delimiter=options.delimiter, lineterminator="\r\n")
        if state is None:
            self.writer.writerow(MACHINE_COLUMNS)

    def checkpoint(self) -> dict:
        return {}  # every row is written whole: nothing held

    def start_client(self, group_id: str, name: str) -> None:
        pass

    def add(self, line: Line) -> None:
        row = []
        for column in MACHINE_COLUMNS:
            value = line.view[column]
            if value is None:
                row.append("")
            elif column in MACHINE_TEXT:
                row.append(neutralise(str(value)))
            elif column in INSTANTS and not self.utc:
                row.append(self.options.local(getattr(line, column)).isoformat(timespec="seconds"))
            else:
                row.append(value)
        self.writer.writerow(row)

    def end_client(self) -> None:
        pass

    def close(self) -> None:
        pass


def _minutes(seconds: int) -> Decimal:
    return (Decimal(seconds) / 60).quantize(HUNDREDTH, ROUND_HALF_UP).normalize() + 0


def _clock(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


class SpreadsheetCsv:
    """A CSV a person opens: BOM, headers in the locale, its decimal separator and delimiter, its
    dates in the time zone, each duration as minutes and as h:mm, names beside ids."""

    def __init__(self, options: FileOptions, out, state: dict | None = None):
        self.options, self.locale = options, options.locale
        self.writer = csv.writer(_Text(out), delimiter=options.delimiter, lineterminator="\r\n")
        if state is None:
            out.write(BOM.encode("utf-8"))
            self._headers()

    def checkpoint(self) -> dict:
        return {}

    def _headers(self) -> None:
        headers = []
        for key in KEYS:
            title = self.locale.headers[key]
            if key in DURATIONS:
                headers += [f"{title} ({self.locale.minutes})", f"{title} ({self.locale.clock})"]
            else:
                headers.append(title)
        self.writer.writerow(headers)

    def start_client(self, group_id: str, name: str) -> None:
        pass

    def _number(self, value) -> str:
        return format(value, "f").replace(".", self.locale.decimal)

    def add(self, line: Line) -> None:
        row = []
        for key in KEYS:
            value = line.value(key)
            if key in DURATIONS:
                row += ["", ""] if value is None else [self._number(_minutes(value)), _clock(value)]
            elif value is None:
                row.append("")
            elif key in INSTANTS:
                row.append(self.options.local(value).strftime(self.locale.date_time))
            elif key == "cost":
                row.append(self._number(value))
            elif key in INTEGERS:
                row.append(str(value))
            elif key == "status":
                row.append(self.locale.statuses.get(value, value))
            else:
                row.append(neutralise(str(value)))
        self.writer.writerow(row)

    def end_client(self) -> None:
        pass

    def close(self) -> None:
        pass


class InvoiceFile:
    """QuickBooks Online's or Xero's invoice import: one invoice per client, period and currency
    (an invoice has one currency), one line per session, numbered from the request's start."""

    def __init__(self, options: FileOptions, out, state: dict | None = None):
        self.options, self.invoicing = options, options.invoicing
        self.xero = options.format == XERO
        self.writer = csv.writer(_Text(out), delimiter=",", lineterminator="\r\n")
        if state is None:
            out.write(BOM.encode("utf-8"))  # UTF-8 with a BOM: what Excel saves as "CSV UTF-8", which both import
            self.writer.writerow(XERO_COLUMNS if self.xero else QUICKBOOKS_COLUMNS)
        state = state or {}
        self.invoices = state.get("invoices", 0)  # numbers given so far: the next invoice's number follows
        self.numbers: dict[str | None, str] = {currency: number for currency, number in state.get("numbers", [])}
        self.client = state.get("client", "")

    def checkpoint(self) -> dict:
        return {"invoices": self.invoices, "numbers": [[c, n] for c, n in self.numbers.items()], "client": self.client}

    def start_client(self, group_id: str, name: str) -> None:
        self.numbers, self.client = {}, name

    def _number(self, currency: str | None) -> str:
        if currency not in self.numbers:
            self.numbers[currency] = self.invoicing.number(self.invoices)
            self.invoices += 1
        return self.numbers[currency]

    def _description(self, line: Line) -> str:
        view = line.view
        started = self.options.local(line.started_at).strftime("%Y-%m-%d %H:%M")
        parts = [f"Remote support {started}", view["technician"], line.computer or view["computer_id"]]
        billed = view["billed_minutes"]
        if billed is not None:
            parts.append(f"{billed} min")
        if view["cost"] is None:
            parts.append("covered by subscription" if billed is not None else "not priced: no contract")
        text = ", ".join(parts)
        if view["notes"]:
            text += ": " + " ".join(view["notes"].split())
        return text

    def add(self, line: Line) -> None:
        view, invoicing = line.view, self.invoicing
        amount = view["cost"] or "0.00"
        number = self._number(view["currency"])
        invoice_date = invoicing.invoice_date.strftime(invoicing.date_format)
        due_date = invoicing.due_date.strftime(invoicing.date_format)
        client, description = neutralise(self.client), neutralise(self._description(line))
        if self.xero:
            row = [client, number, invoice_date, due_date, description, "1", amount, invoicing.account_code,
                   invoicing.tax_type, view["currency"] or ""]
        else:
            service_date = self.options.local(line.started_at).strftime(invoicing.date_format)
            row = [number, client, invoice_date, due_date, invoicing.item, description, "1", amount, amount, service_date]
        self.writer.writerow(row)

    def end_client(self) -> None:
        pass

    def close(self) -> None:
        pass


def open_writer(options: FileOptions, out, many_clients: bool = False, state: dict | None = None):
    """The writer of the requested format, writing to `out` (bytes); from a `checkpoint()`'s state
    it goes on with that file instead of starting one."""
    if options.format == XLSX:
        from .workbook import SessionWorkbook  # the workbook writer loads only when a workbook is asked for

        return SessionWorkbook(options, out, many_clients, state)
    if options.format in (QUICKBOOKS, XERO):
        return InvoiceFile(options, out, state)
    if options.format == CSV and options.locale is not None:
        return SpreadsheetCsv(options, out, state)
    return MachineCsv(options, out, state)

