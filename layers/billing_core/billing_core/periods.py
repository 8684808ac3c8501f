"""Closed periods: a month the finance team has closed takes no more changes to what it bills.
`ensure_open(tenant_id, moment)` is the one check every change dated in a month calls (uploads,
adjusts, locks and unlocks of sessions started in it; recharges and assignments dated in it):
409 `period_closed` when that month, in the tenant's time zone, is closed."""
from datetime import datetime

from . import fields, history, invoice_settings, invoicing
from .dal import invoices as dal
from .errors import Conflict

CLOSED, REOPENED = "period_closed", "period_reopened"


def month_of(moment: datetime, time_zone: str) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(time_zone)).strftime("%Y-%m")


def ensure_open(tenant_id: str, moment: datetime) -> None:
    """409 `period_closed` when `moment`'s month (tenant's time zone) is closed. One read of the
    settings and the period (two items, one BatchGetItem each)."""
    zone = invoice_settings.settings_values(dal.read_settings(tenant_id))["time_zone"]
    month = month_of(moment, zone)
    period = dal.periods(tenant_id, [month]).get(month)
    if period is not None and period.closed:
        raise Conflict(f"{month} is closed: nothing dated in it can change (reopen it first)", "period_closed")


def view(month: str, period) -> dict:
    return {"month": month, "closed": bool(period.closed) if period else False,
            "changed_at": fields.utc_text(period.changed_at) if period else None}


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
