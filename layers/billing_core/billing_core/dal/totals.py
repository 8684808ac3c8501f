"""Running totals per group, UTC day and currency (the `DayTotal` items): what a lock adds to
them, in the lock's own transaction, so they count each accounted session exactly once."""
from datetime import timezone
from decimal import Decimal

from .models import DayTotal, Session, keys


def day_of(session: Session) -> str:
    """The UTC day whose running totals a session's lock adds to."""
    return session.started_at.astimezone(timezone.utc).date().isoformat()


def lock_updates(tenant_id: str, group_id: str, currency: str, updates: list) -> list[tuple[DayTotal, list]]:
    """One ADD update per UTC day of the locked sessions: the running totals of SPEC §9."""
    days: dict[str, list] = {}
    for session, frozen in updates:
        figures = days.setdefault(day_of(session), [0, 0, 0, None])
        figures[0] += 1
        figures[1] += frozen["total_seconds"]
        figures[2] += frozen["billed_minutes"]
        if frozen["cost"] is not None:
            figures[3] = (figures[3] or Decimal("0.00")) + frozen["cost"]
    actions = []
    for day, (count, seconds, billed, cost) in sorted(days.items()):
        item = DayTotal(keys.day_totals_of(tenant_id, group_id), keys.day_total(day, currency))
        adds = [DayTotal.kind.set(DayTotal), DayTotal.group_id.set(group_id), DayTotal.day.set(day),
                DayTotal.currency.set(currency), DayTotal.sessions.add(count), DayTotal.total_seconds.add(seconds),
                DayTotal.billed_minutes.add(billed)]
        if cost is not None:
            adds.append(DayTotal.cost.add(cost))
        actions.append((item, adds))
    return actions
