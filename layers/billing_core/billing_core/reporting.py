"""Reading many sessions: periods, the search (paged, with cursors checked against the request),
and totals per status with money kept per currency (SPEC §8: totals never add two currencies)."""
import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from . import deadline, fields, jsonio
from .dal import reports
from .contract_views import balance_view, contract_view
from .errors import InvalidInput, NotFound
from .dal.models import Contract, Session
from .sessions import ACCOUNTED, STATUSES, TO_ACCOUNT, session_view
from .tariff import Subscription, price, total_seconds

MAX_ANSWER_BYTES = 5_000_000  # below Lambda's 6 MB answer limit, with room for the envelope


@dataclass
class Period:
    start: datetime | None
    end: datetime | None

    @property
    def low(self) -> str:
        return fields.sortable_utc(self.start) if self.start else "0"

    @property
    def high(self) -> str:
        return fields.sortable_utc(self.end) if self.end else "9"  # "<end>" sorts before "<end>#id": end excluded

    def view(self) -> dict:
        return {
            "from": fields.utc_text(self.start) if self.start else None,
            "to": fields.utc_text(self.end) if self.end else None,
        }


def parse_period(values: dict) -> Period:
    start = None if values.get("from") is None else fields.timestamp("from", values["from"])  # "" is no bound: a 400
    end = None if values.get("to") is None else fields.timestamp("to", values["to"])
    if start and end and end < start:
        raise InvalidInput("to", "must not be before from")
    return Period(start, end)


def parse_status(value) -> str | None:
    if value is None:  # "" is no status, not "any status"
        return None
    if value not in STATUSES:
        raise InvalidInput("status", f"must be one of {', '.join(STATUSES)}")
    return value


def query_sessions(tenant_id: str, group_id: str, period: Period, status=None, technician=None, page_size=None,
                   start_key=None, recorded_before: datetime | None = None):
    """The group's sessions of the period, oldest first, lazily paged. `to_account` ones are read
    from the sparse index of open sessions (GSI2), never through the accounted history."""
    return reports.sessions(tenant_id, group_id, period.low, period.high, status, technician, page_size, start_key,
                            recorded_before)


def _search_fingerprint(period: Period, status, technician) -> str:
    """What a cursor is valid for: the same period and filters."""
    return hashlib.sha256(json.dumps([period.low, period.high, status, technician]).encode()).hexdigest()[:16]


def _encode_cursor(session: Session, fingerprint: str) -> str:
    position = {**reports.position_of(session), "q": fingerprint}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_cursor(tenant_id: str, group_id: str, cursor: str, period: Period, fingerprint: str, status=None) -> dict:
    """A cursor this search gave, for this same search: DynamoDB refuses a start key outside the
    key condition (a 500 it would be), so one from another period or filter is a 400."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(position, dict) and reports.is_position(tenant_id, group_id, {k: v for k, v in position.items() if k != "q"}):
            if position.get("q") != fingerprint:
                raise InvalidInput("cursor", "belongs to a search with another period or other filters")
            del position["q"]
            start_key = reports.start_key(tenant_id, group_id, position, period.low, period.high, status == TO_ACCOUNT)
            if start_key is not None:
                return start_key
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput("cursor", "is not a cursor this search gave")


def search_sessions(tenant_id: str, group_id: str, query: dict) -> dict:
    unknown = sorted(set(query) - {"from", "to", "status", "technician", "limit", "cursor"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of this search")
    period = parse_period(query)
    status = parse_status(query.get("status"))
    technician = None if query.get("technician") in (None, "") else fields.name("technician", query["technician"])
    limit = fields.page_limit(query.get("limit"), 100)
    fingerprint = _search_fingerprint(period, status, technician)
    start_key = _decode_cursor(tenant_id, group_id, query["cursor"], period, fingerprint, status) if query.get("cursor") else None
    found = reports.group_reads(tenant_id, group_id)
    if found.group is None:
        raise NotFound(f"group {group_id} not found")
    if status == TO_ACCOUNT:
        after = start_key["GSI2SK"]["S"] if start_key else None
        sessions = reports.open_page(tenant_id, group_id, _bounds(period), technician, limit, after, found.months)
    else:
        after = start_key["GSI1SK"]["S"] if start_key else None
        sessions = reports.checked_page(tenant_id, group_id, _bounds(period), status, technician, limit, after, found.months)
    views: list[dict] = []
    last: Session | None = None
    size, more = 0, False
    # One item past the page tells whether a next page exists; the page is also cut by size.
    for session in sessions:
        view = session_view(session, found.contract)
        size += len(jsonio.dumps(view).encode()) + 1
        if len(views) == limit or size > MAX_ANSWER_BYTES:
            more = True
            break
        views.append(view)
        last = session
    return {"sessions": views, "next_cursor": _encode_cursor(last, fingerprint) if more and last else None}


# ---------------------------------------------------------------- totals


class Sums:
    """One status line of totals: money per currency, never added across currencies."""

    def __init__(self):
        self.sessions = self.total_seconds = self.billed_minutes = self.unpriced = 0
        self.costs: dict[str, Decimal] = {}

    def add(self, seconds: int, billed: int | None, cost: Decimal | None, currency: str | None) -> None:
        """One session; `billed` None: no contract prices it (unpriced)."""
        self.sessions += 1
        self.unpriced += billed is None
        self.total_seconds += seconds
        self.billed_minutes += billed or 0
        if cost is not None and currency:
            self.costs[currency] = self.costs.get(currency, Decimal("0.00")) + cost

    def add_many(self, sessions: int, seconds: int, billed: int, cost: Decimal | None, currency: str) -> None:
        """A running total: many sessions at once."""
        self.sessions += sessions
        self.total_seconds += seconds
        self.billed_minutes += billed
        if cost is not None:
            self.costs[currency] = self.costs.get(currency, Decimal("0.00")) + cost

    def view(self, default_currency: str | None) -> dict:
        costs = [{"currency": c, "amount": fields.money_text(a)} for c, a in sorted(self.costs.items())]
        if len(costs) == 1:
            cost = costs[0]["amount"]
        elif not costs and not self.unpriced:
            cost = "0.00"  # no money in this line: zero in whatever currency
        else:
            cost = None  # two currencies are never added; sessions no contract prices are no zero
        view = {"sessions": self.sessions, "total_seconds": self.total_seconds, "billed_minutes": self.billed_minutes,
                "cost": cost, "costs": costs}
        if self.unpriced:
            view["unpriced"] = {"sessions": self.unpriced, "reason": "no_contract"}
        return view


def totals(tenant_id: str, group_id: str, query: dict) -> dict:
    unknown = sorted(set(query) - {"from", "to"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of totals")
    period = parse_period(query)
    found = reports.group_reads(tenant_id, group_id)
    if found.group is None:
        raise NotFound(f"group {group_id} not found")
    return period_totals(tenant_id, group_id, period, found.contract, found.months)


def _bounds(period: Period) -> reports.Bounds:
    return reports.Bounds(period.start, period.end, period.low, period.high)


def period_totals(tenant_id: str, group_id: str, period: Period, contract: Contract | None, known_months: set[str] | None,
                  found: reports.Snapshot | None = None) -> dict:
    """Accounted figures from the running totals (whole days) and the accounted sessions of the
    edge days; to-account figures from the sparse index of open sessions, priced now; each
    session counted once (`snapshot`). The group's read, the open pages, one Query per edge day
    and one read of the month items, whatever the history."""
    found = found or reports.settled_snapshot(tenant_id, group_id, _bounds(period), known_months)
    sums = {status: Sums() for status in STATUSES}
    for currency, figures in found.accounted.items():
        sums[ACCOUNTED].add_many(figures.sessions, figures.total_seconds, figures.billed_minutes, figures.cost, currency)
    currency = contract.tariff.currency if contract else None
    for row in found.open:
        started_at = row.started_at if contract and contract.tariff.surcharges else None
        pricing = price(contract.tariff, row.connection_seconds, row.extra_minutes, started_at) if contract else None
        if pricing is None:
            sums[TO_ACCOUNT].add(total_seconds(row.connection_seconds, row.extra_minutes), None, None, None)
        else:
            sums[TO_ACCOUNT].add(pricing.total_seconds, pricing.billed_minutes, pricing.cost, currency)
    answer = {"group_id": group_id, **period.view(), "contract": contract_view(contract),
              **{status: line.view(currency) for status, line in sums.items()}}
    if contract is not None and isinstance(contract.tariff, Subscription):
        answer["balance"] = balance_view(contract)
    return answer


# ---------------------------------------------------------------- simulate (SPEC §10, §12)

SIMULATE_FIELDS = ("profile_id", "from", "to")


SIMULATE_MARGIN_SECONDS = 2.0


def simulate(tenant_id: str, group_id: str, values: dict) -> dict:
    """The period's totals under another profile beside the current ones, changing nothing: every
    session of the period (accounted or not) priced by the other profile's latest version, and for
    a subscription the balance a fresh contract would show after locking them oldest first."""
    from . import ledger
    from .profiles import latest_version
    from .tariff import price

    if values.get("profile_id") is None:
        raise InvalidInput("profile_id", "is required")
    profile = latest_version(tenant_id, fields.identifier("profile_id", values["profile_id"]))
    period = parse_period(values)
    found = reports.group_reads(tenant_id, group_id)
    if found.group is None:
        raise NotFound(f"group {group_id} not found")
    contract = found.contract
    current = period_totals(tenant_id, group_id, period, contract, found.months)
    tariff = profile.tariff
    sums = {status: Sums() for status in STATUSES}
    balance = None
    if isinstance(tariff, Subscription):
        start = period.start or fields.utc_now()
        balance, _ = ledger.Balance().add_block(ledger.ALLOTMENT, "simulated", tariff.total_minutes, tariff.amount, start)
    for count, session in enumerate(query_sessions(tenant_id, group_id, period)):  # oldest first, as lock-all covers them
        if count % 200 == 0 and deadline.remaining() < SIMULATE_MARGIN_SECONDS:  # answer before Lambda cuts it off
            raise InvalidInput("to", "the period holds more sessions than one request can price: simulate a shorter period")
        pricing = price(tariff, session.connection_seconds, session.extra_minutes, session.started_at)
        cost = pricing.cost
        if balance is not None:
            balance, deduction, _ = balance.deduct(session.session_id, pricing.billed_minutes, session.started_at,
                                                   session.started_at, tariff.step_minutes, tariff.overage_step_cost)
            cost = deduction.overage_cost
        sums[session.status].add(pricing.total_seconds, pricing.billed_minutes, cost, tariff.currency)
    simulated = {"group_id": group_id, **period.view(),
                 "contract": {"profile_id": profile.profile_id, "profile_version": profile.version, "profile_name": profile.name,
                              "type": tariff.type, "currency": tariff.currency},
                 **{status: line.view(tariff.currency) for status, line in sums.items()}}
    if balance is not None:
        simulated["balance"] = balance.view(period.end or fields.utc_now())
    return {"profile_id": profile.profile_id, "current": current, "simulated": simulated}


# ---------------------------------------------------------------- tenant overview

OVERVIEW_DEFAULT, OVERVIEW_MAX = 50, 500


def _overview_cursor(cursor: str, fingerprint: str) -> str:
    """The last group of the previous page, for this same period."""
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(position, dict) and set(position) == {"g", "q"} and isinstance(position["g"], str):
            if position["q"] != fingerprint:
                raise InvalidInput("cursor", "belongs to an overview of another period")
            return fields.identifier("cursor", position["g"])
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError):
        pass
    raise InvalidInput("cursor", "is not a cursor this overview gave")


def tenant_overview(tenant_id: str, query: dict) -> dict:
    """One row per group of the tenant for a period (a monthly invoicing run over every client),
    by group id, paginated: per page one Query of the groups and one BatchGetItem per 100 of
    their contracts. A period of whole UTC months reads the month's running totals of every
    group of the page in one Query; only a group with open sessions in it reads them (the open
    index and its months, as its own totals do). Another period reads each group's totals."""
    unknown = sorted(set(query) - {"from", "to", "limit", "cursor"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of the overview")
    period = parse_period(query)
    limit = fields.page_limit(query.get("limit"), OVERVIEW_DEFAULT)
    if limit > OVERVIEW_MAX:
        raise InvalidInput("limit", f"must be a whole number from 1 to {OVERVIEW_MAX}")
    fingerprint = hashlib.sha256(json.dumps([period.low, period.high]).encode()).hexdigest()[:16]
    after = _overview_cursor(query["cursor"], fingerprint) if query.get("cursor") else None
    months = _whole_months(period)
    page = reports.groups_page(tenant_id, after, limit, with_months=not months)
    rows_by_month = {month: reports.tenant_month(tenant_id, month, page.groups[0].group_id, page.groups[-1].group_id)
                     for month in months} if months and page.groups else {}
    rows = []
    for group in page.groups:
        contract = page.contracts.get(group.group_id)
        found, known = None, page.months.get(group.group_id)
        if months:
            month_rows = [rows_by_month[month].get(group.group_id) for month in months]
            if not any(row is not None and row.has_open() for row in month_rows):  # the running totals say it all
                found = reports.Snapshot(accounted=reports.add_figures(row.figures() for row in month_rows if row is not None))
        totals = period_totals(tenant_id, group.group_id, period, contract, known, found)
        rows.append({
            "group_id": group.group_id,
            "name": group.name,
            "contract": None if totals["contract"] is None else {
                name: totals["contract"][name] for name in ("contract_id", "type", "profile_id", "profile_name", "currency")},
            "accounted": totals["accounted"],
            "to_account": totals["to_account"],
            "balance": totals.get("balance"),
        })
    next_cursor = None
    if page.more and page.groups:
        position = {"g": page.groups[-1].group_id, "q": fingerprint}
        next_cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")
    return {**period.view(), "groups": rows, "next_cursor": next_cursor}


def _whole_months(period: Period) -> list[str]:
    """The months of a period made of whole UTC months (none for another period)."""
    start, end = period.start, period.end
    if start is None or end is None:
        return []
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    if any(moment != moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0) for moment in (start, end)):
        return []
    return _bounds(period).months(None)
