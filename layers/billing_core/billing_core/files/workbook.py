"""The XLSX export: one sheet per client (sessions oldest first, typed cells, a totals row of
formulas with their values cached), and for an export of every client a first sheet that sums
each client up. Totals never add two currencies: one totals row per currency when a client has
sessions priced in more than one."""
from decimal import Decimal

from . import FileOptions
from .locales import KEYS
from .writers import DURATIONS, INSTANTS, INTEGERS, Line
from .xlsx import (INTEGER, MONEY, TOTAL_DURATION, TOTAL_INTEGER, TOTAL_MONEY, TOTAL_TEXT, Workbook,
                   column_letter, date, duration, formula, number, text)

WIDTHS = {"client": 24, "group_id": 14, "session_id": 18, "technician": 16, "computer": 20, "computer_id": 14,
          "started_at": 17, "ended_at": 17, "connection": 11, "extra_minutes": 9, "total": 11, "billed": 11,
          "cost": 11, "currency": 9, "status": 16, "locked_at": 17, "profile": 18, "profile_id": 14,
          "profile_version": 8, "notes": 40}
COLUMN = {key: column_letter(i) for i, key in enumerate(KEYS)}
SUMMED = ("connection", "extra_minutes", "total", "billed")
SUMMARY_WIDTHS = [28, 16, 10, 12, 12, 14, 9]


class ClientFigures:
    """What one client's sheet adds up to, per currency (None: sessions without a price)."""

    def __init__(self, group_id: str, name: str, state: dict | None = None):
        self.group_id, self.name = group_id, name
        self.sessions = 0
        self.seconds = dict.fromkeys(SUMMED, 0)
        self.by_currency: dict[str | None, list] = {}  # currency → [sessions, total s, billed s, cost]
        if state:
            self.sessions, self.seconds = state["sessions"], dict(state["seconds"])
            self.by_currency = {c: [n, total, billed, Decimal(cost)] for c, n, total, billed, cost in state["by_currency"]}

    def state(self) -> dict:
        return {"group_id": self.group_id, "name": self.name, "sessions": self.sessions, "seconds": self.seconds,
                "by_currency": [[c, n, total, billed, str(cost)] for c, (n, total, billed, cost) in self.by_currency.items()]}

    @classmethod
    def from_state(cls, state: dict) -> "ClientFigures":
        return cls(state["group_id"], state["name"], state)

    def add(self, line: Line) -> None:
        self.sessions += 1
        for key in SUMMED:
            self.seconds[key] += line.value(key) or 0
        figures = self.by_currency.setdefault(line.view["currency"], [0, 0, 0, Decimal("0.00")])
        figures[0] += 1
        figures[1] += line.value("total") or 0
        figures[2] += line.value("billed") or 0
        figures[3] += line.value("cost") or 0


class SessionWorkbook:
    def __init__(self, options: FileOptions, out, many_clients: bool, state: dict | None = None):
        self.options, self.locale = options, options.headers
        self.book = Workbook(out, state=state and state["book"])
        self.many_clients = many_clients
        self.clients = [ClientFigures.from_state(c) for c in (state or {}).get("clients", [])]
        self.client = ClientFigures.from_state(state["client"]) if state and state["client"] else None
        self.sheet_open = bool(state and state["sheet_open"])

    def checkpoint(self) -> dict:
        return {"book": self.book.state(), "clients": [c.state() for c in self.clients],
                "client": self.client.state() if self.client else None, "sheet_open": self.sheet_open}

    def start_client(self, group_id: str, name: str) -> None:
        self.client = ClientFigures(group_id, name)
        self.sheet_open = False
        if not self.many_clients:  # one client: its sheet even when it has no session
            self._open_sheet()

    def _open_sheet(self) -> None:
        self.book.start_sheet(self.client.name or self.client.group_id, [WIDTHS[k] for k in KEYS], order=len(self.clients) + 1)
        self.book.header([self.locale.headers[k] for k in KEYS])
        self.sheet_open = True

    def add(self, line: Line) -> None:
        if not self.sheet_open:
            self._open_sheet()
        self.client.add(line)
        cells = []
        for key in KEYS:
            value = line.value(key)
            if key in INSTANTS:
                cells.append(date(None if value is None else self.options.local(value)))
            elif key in DURATIONS:
                cells.append(duration(value))
            elif key in INTEGERS:
                cells.append(number(value, INTEGER))
            elif key == "cost":
                cells.append(number(value, MONEY))
            elif key == "status":
                cells.append(text(self.locale.statuses.get(value, value)))
            else:
                cells.append(text(value))
        self.book.write_row(cells)

    def end_client(self) -> None:
        if self.sheet_open:
            self._totals()
            self.book.end_sheet()
            self.clients.append(self.client)
        self.client = None

    def _totals(self) -> None:
        """A totals row under the sessions (SUBTOTAL: it follows the autofilter); a second row per
        currency when the client's sessions are priced in several."""
        figures, book = self.client, self.book
        last = book.row
        book.filter_to_here()
        if figures.sessions == 0:
            return
        currencies = [c for c in figures.by_currency if c is not None]
        row = [text(None, TOTAL_TEXT) for _ in KEYS]
        row[0] = text(self.locale.total, TOTAL_TEXT)
        for key in SUMMED:
            style = TOTAL_INTEGER if key == "extra_minutes" else TOTAL_DURATION
            cached = figures.seconds[key]
            cached = cached if key == "extra_minutes" else Decimal(cached) / 86400
            row[KEYS.index(key)] = formula(f"SUBTOTAL(109,{COLUMN[key]}2:{COLUMN[key]}{last})", cached, style)
        if len(currencies) == 1:
            cost = figures.by_currency[currencies[0]][3]
            row[KEYS.index("cost")] = formula(f"SUBTOTAL(109,{COLUMN['cost']}2:{COLUMN['cost']}{last})", cost, TOTAL_MONEY)
            row[KEYS.index("currency")] = text(currencies[0], TOTAL_TEXT)
        book.write_row(row)
        if len(currencies) > 1:
            cost, cur = COLUMN["cost"], COLUMN["currency"]
            for currency in sorted(currencies):
                row = [text(None) for _ in KEYS]
                row[0] = text(f"{self.locale.total} {currency}", TOTAL_TEXT)
                row[KEYS.index("cost")] = formula(
                    f'SUMIF({cur}2:{cur}{last},"{currency}",{cost}2:{cost}{last})', figures.by_currency[currency][3], TOTAL_MONEY
                )
                row[KEYS.index("currency")] = text(currency, TOTAL_TEXT)
                book.write_row(row)

    def close(self) -> None:
        if self.many_clients or not self.clients:
            self._summary()
        self.book.close()

    def _summary(self) -> None:
        """Every client of a tenant-wide export on the first sheet: sessions, times and cost per currency."""
        locale, book = self.locale, self.book
        book.start_sheet(locale.summary, SUMMARY_WIDTHS, order=0)
        headers = locale.headers
        book.header([headers["client"], headers["group_id"], locale.sessions, headers["total"], headers["billed"],
                     headers["cost"], headers["currency"]])
        for client in self.clients:
            for currency, (sessions, total, billed, cost) in client.by_currency.items():
                book.write_row([
                    text(client.name), text(client.group_id), number(sessions), duration(total), duration(billed),
                    number(None if currency is None else cost, MONEY), text(currency),
                ])
        last = book.row
        book.filter_to_here()
        currencies = sorted({c for client in self.clients for c in client.by_currency if c is not None})
        for currency in currencies:
            cost = sum((client.by_currency[currency][3] for client in self.clients if currency in client.by_currency), Decimal("0.00"))
            book.write_row([
                text(f"{locale.total} {currency}", TOTAL_TEXT), text(None), text(None), text(None), text(None),
                formula(f'SUMIF(G2:G{last},"{currency}",F2:F{last})', cost, TOTAL_MONEY), text(currency, TOTAL_TEXT),
            ])
        book.end_sheet()

