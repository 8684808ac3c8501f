"""Closed periods: a month the finance team has closed takes no more changes to what it bills.
`ensure_open(tenant_id, moment)` is the one check every change dated in a month calls (uploads,
adjusts, locks and unlocks of sessions started in it; recharges and assignments dated in it):
409 `period_closed` when that month, in the tenant's time zone, is closed."""
from datetime import datetime, timezone

from . import fields, history, invoice_settings, invoicing
from .dal import invoices as dal
from .errors import Conflict

CLOSED, REOPENED = "period_closed", "period_reopened"


def month_of(moment: datetime, time_zone: str) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m")


def _neighbours(moment: datetime) -> list[str]:
    """The UTC month of `moment` and the months either side: its local month is one of them."""
    from datetime import timedelta

    return sorted({(moment + timedelta(hours=hours)).astimezone(timezone.utc).strftime("%Y-%m") for hours in (-15, 0, 15)})


def ensure_open_all(tenant_id: str, moments) -> list[str]:
    """409 `period_closed` when the month (tenant's time zone) of any of `moments` is closed;
    answers their months. One BatchGetItem: the settings and every candidate month."""
    moments = list(moments)
    candidates = sorted({m for moment in moments for m in _neighbours(moment)})
    settings_item, found = dal.settings_and_periods(tenant_id, candidates)
    zone = invoice_settings.settings_values(settings_item)["time_zone"]
    months = [month_of(moment, zone) for moment in moments]
    for month in sorted(set(months)):
        if month in found and found[month].closed:
            raise Conflict(f"{month} is closed: nothing dated in it can change (reopen it first)", "period_closed")
    return months


def ensure_open(tenant_id: str, moment: datetime) -> str:
    """The one check of a change dated at `moment` (an upload, adjust, lock or unlock of a session
    started then; a recharge or an assignment made then): 409 `period_closed` when its month is
    closed. Answers the month, for the write's own condition (dal.invoices.period_open_check)."""
    return ensure_open_all(tenant_id, [moment])[0]


def view(month: str, period) -> dict:
    return {"month": month, "closed": bool(period.closed) if period else False,
            "changed_at": fields.utc_text(period.changed_at) if period else None}


def period(tenant_id: str, month: str) -> dict:
    """Whether `month` is closed (never closed: open, changed_at null)."""
    invoicing.parse_month(month)
    return view(month, dal.periods(tenant_id, [month]).get(month))


def set_closed(tenant_id: str, month: str, closed: bool, actor: str | None) -> dict:
    """Closes or reopens a month, audited (the entry in the periods' partition, same transaction)."""
    invoicing.parse_month(month)
    before = dal.periods(tenant_id, [month]).get(month)
    now = fields.utc_now()
    audit = history.entry(dal.periods_of(tenant_id), actor, CLOSED if closed else REOPENED,
                          {"month": history.change(None, month),
                           "closed": history.change(bool(before.closed) if before else False, closed)}, now)
    dal.set_period(tenant_id, month, closed, now, actor, audit)
    return {"month": month, "closed": closed, "changed_at": fields.utc_text(now)}


def period_history(tenant_id: str) -> list[dict]:
    entries, _ = history.read(dal.periods_of(tenant_id))
    return entries
