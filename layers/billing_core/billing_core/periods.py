"""Closed periods: a month the finance team has closed takes no more changes to what it bills.
Uploads, adjusts, locks and unlocks of sessions started in a closed month, and recharges and
assignments made in one, answer 409 `period_closed`, nothing changed.

Each such write reads the tenant's `Calendar` (its time zone and closed months: one item, added
to the BatchGetItem the write makes anyway), refuses what falls in a closed month, and holds in
its own transaction the condition that its months are still open (dal.periods): a close racing
the write either comes after it or fails it, which then reads again and answers the 409.

That condition is a read of the tenant's month item in the write's transaction, and DynamoDB
fails one of two concurrent transactions on the same item: were every write to hold it, every
upload and lock of a tenant would contend on one item. So a month can be closed only once it has
ended, and a write holds the condition only for the months that may be closed before it commits
(those ending less than IN_FLIGHT from now: no invocation lives longer). A day's uploads and
locks of the month under way hold none."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from . import actors, fields, history, invoice_settings
from .dal import locks as dal_locks
from .dal import periods as dal_periods
from .errors import Conflict, NotFound

CLOSED, REOPENED = "period_closed", "period_reopened"
IN_FLIGHT = timedelta(minutes=15)  # Lambda's longest timeout: a write started now has committed by then


def _zone(name: str) -> tzinfo:
    """The time zone; zoneinfo (and the tz database it reads) is loaded only by a tenant not on UTC,
    which keeps it out of every write function's cold start."""
    if name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def month_of(moment: datetime, time_zone: str) -> str:
    return moment.astimezone(_zone(time_zone)).strftime("%Y-%m")


@dataclass(frozen=True)
class Calendar:
    """The tenant's months as its writes see them: in its time zone, some of them closed."""

    time_zone: str = "UTC"
    closed: frozenset = frozenset()

    def month(self, moment: datetime) -> str:
        return month_of(moment, self.time_zone)

    def refuse_closed(self, moments, what: str = "it") -> list[str]:
        """The months of `moments` that the write's own condition must hold open (those that may
        be closed before it commits); 409 `period_closed` naming the first closed one."""
        months = sorted({self.month(moment) for moment in moments})
        for month in months:
            if month in self.closed:
                raise closed_error(month, what)
        return [month for month in months if self.may_close(month)]

    def may_close(self, month: str) -> bool:
        """Whether `month` may be closed before a write started now commits (it ends by then)."""
        return self.bounds(month)[1] <= fields.utc_now() + IN_FLIGHT


    def closed_spans(self) -> list[tuple[datetime, datetime, str]]:
        """The closed months as instants, consecutive months merged: [(start, end, first month)]."""
        spans: list[tuple[datetime, datetime, str]] = []
        for month in sorted(self.closed):
            start, end = self.bounds(month)
            if spans and spans[-1][1] == start:
                spans[-1] = (spans[-1][0], end, spans[-1][2])
            else:
                spans.append((start, end, month))
        return spans

    def bounds(self, month: str) -> tuple[datetime, datetime]:
        """The month's first instant and the next month's, in the calendar's time zone."""
        year, number = int(month[:4]), int(month[5:7])
        zone = _zone(self.time_zone)
        following = (year + 1, 1) if number == 12 else (year, number + 1)
        return datetime(year, number, 1, tzinfo=zone), datetime(*following, 1, tzinfo=zone)


def closed_error(month: str, what: str = "it") -> Conflict:
    return Conflict(f"{month} is closed: {what} would change what it bills (reopen the month first)", "period_closed")


def calendar_from(item) -> Calendar:
    """The calendar of the tenant's settings item (None: the defaults, nothing closed)."""
    return Calendar(invoice_settings.settings_values(item)["time_zone"],
                    frozenset(item.closed_months or ()) if item is not None else frozenset())


def calendar(tenant_id: str) -> Calendar:
    """The calendar alone (one GetItem), for a write that reads nothing else it could go with."""
    return calendar_from(dal_periods.read_calendar(tenant_id))


def ensure_open(tenant_id: str, moment: datetime) -> tuple[str, list[str]]:
    """409 `period_closed` when the month of `moment` (tenant's time zone) is closed; answers the
    month, and the months the write's own condition holds open (dal.periods.add_open_checks)."""
    calendar_now = calendar(tenant_id)
    return calendar_now.month(moment), calendar_now.refuse_closed([moment])


def view(month: str, period) -> dict:
    """The period, naming who last closed or reopened it (`changed_by`: `{kind: user|token, id, name}`)."""
    return {"month": month, "closed": bool(period.closed) if period else False,
            "changed_at": fields.utc_text(period.changed_at) if period else None,
            "changed_by": actors.view(period.changed_by)[0] if period else None}


def period(tenant_id: str, month: str) -> dict:
    """Whether `month` is closed (never closed: open, changed_at null)."""
    from . import invoicing  # the close routes' own: kept out of every write's cold start
    from .dal import invoices as dal

    invoicing.parse_month(month)
    return view(month, dal.periods(tenant_id, [month]).get(month))


def set_closed(tenant_id: str, month: str, closed: bool, actor: str | None) -> dict:
    """Closes or reopens a month, audited (the entry in the periods' partition, same transaction)."""
    from . import invoicing  # the close routes' own: kept out of every write's cold start
    from .dal import invoices as dal

    invoicing.parse_month(month)
    now = fields.utc_now()
    if closed:
        calendar = calendar_from(dal_periods.read_calendar(tenant_id))
        if calendar.bounds(month)[1] > now:
            raise Conflict(f"{month} has not ended yet (in {calendar.time_zone}): it can be closed once it has", "month_not_ended")
    before = dal.periods(tenant_id, [month]).get(month)
    audit = history.entry(dal.periods_of(tenant_id), actor, CLOSED if closed else REOPENED,
                          {"month": history.change(None, month),
                           "closed": history.change(bool(before.closed) if before else False, closed)}, now)
    dal_periods.set_period(tenant_id, month, closed, now, actor, audit)
    return {"month": month, "closed": closed, "changed_at": fields.utc_text(now), "changed_by": actors.view(actor)[0]}


def period_history(tenant_id: str) -> list[dict]:
    from .dal import invoices as dal

    entries, _ = history.read(dal.periods_of(tenant_id))
    return entries


def contract_and_calendar(tenant_id: str, group_id: str):
    """The group's contract and the tenant's calendar (one BatchGetItem); 404 without the group."""
    group, contract, calendar = dal_periods.group_contract_calendar(tenant_id, group_id)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    return contract, calendar_from(calendar)


def refuse_closed_spans(tenant_id: str, group_id: str, period, technician, recorded_before, calendar: "Calendar") -> None:
    """409 `period_closed` before a lock-all locks anything (or starts a job) when a session it
    would lock started in a closed month: one Query of the open sessions per span of closed
    months it covers (none when it covers no closed month)."""
    for start, end, _ in calendar.closed_spans():
        low, high = max(period.low, fields.sortable_utc(start)), min(period.high, fields.sortable_utc(end))
        if low < high:
            found = next(iter(dal_locks.open_sessions(tenant_id, group_id, low, high, technician, recorded_before, None)), None)
            if found is not None:
                raise closed_error(calendar.month(found.started_at), f"locking session {found.session_id}")
