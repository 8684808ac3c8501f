"""Running totals: one `MonthTotal` item per tenant, UTC month and group, in one partition per
tenant and month. It holds, per UTC day of the month (of the sessions' `started_at`):

- `s<dd><CUR>`, `t<dd><CUR>`, `b<dd><CUR>`, `c<dd><CUR>`: what the locks accounted that day in
  that currency (sessions, total seconds, billed minutes, cost: present once a session had one);
- `o<dd>`: the open sessions' mark, the sum of `mark(session_id)` over the day's `to_account`
  sessions (0: none);

and `rev`, bumped by every change. A recording ADDs its sessions' marks in the recording's own
transaction, a lock moves its sessions from the mark to the accounted figures in the lock's own
transaction: one item, so the open and accounted state of a day is always read at one instant,
and an index read can be checked against it (billing_core.dal.reports). A second item per group,
`GroupMonths` (`months`: the set of months that have sessions), tells an unbounded period where
to look."""
import hashlib
from datetime import timezone
from decimal import Decimal

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute
from pynamodb.expressions.operand import Path

from .. import fields
from . import models
from .models import BillingItem, keys

FIGURES = "stbc"  # sessions, total seconds, billed minutes, cost: the accounted figures of a day and currency
OPEN = "o"
MONTHS_SK = "MONTHS"


class MonthTotal(BillingItem, discriminator="month_total"):
    """The running totals of one group and UTC month (see the module): the day figures are
    attributes named by day and currency, changed only by ADD."""

    group_id = UnicodeAttribute()
    month = UnicodeAttribute()  # yyyy-mm (UTC)
    rev = NumberAttribute(default=0)
    adjusted_at = UTCDateTimeAttribute(null=True)  # of the last adjustment of one of its open sessions


class GroupMonths(BillingItem, discriminator="group_months"):
    """The months (yyyy-mm, UTC) in which sessions of a group started: where its totals look."""

    group_id = UnicodeAttribute()
    months = UnicodeSetAttribute(null=True)


models.ITEM_TYPES.extend([MonthTotal, GroupMonths])  # bound to the table with the others


def month_partition(tenant_id: str, month: str) -> str:
    return f"T#{tenant_id}#M#{month}"


def month_row(group_id: str) -> str:
    return f"G#{group_id}"


def months_key(tenant_id: str, group_id: str) -> tuple[str, str]:
    return keys.day_totals_of(tenant_id, group_id), MONTHS_SK


def day_of(session) -> str:
    """The UTC day whose running totals a session's lock adds to."""
    return session.started_at.astimezone(timezone.utc).date().isoformat()


def mark(session_id: str) -> int:
    """A session's mark: a 48-bit number from its id (never 0). The sum over a set of sessions
    tells two sets apart (a lagging index from the table) but for a 1-in-2^48 chance."""
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:6], "big") + 1


def _row(tenant_id: str, group_id: str, month: str) -> tuple[MonthTotal, list]:
    item = MonthTotal(month_partition(tenant_id, month), month_row(group_id))
    return item, [MonthTotal.kind.set(MonthTotal), MonthTotal.group_id.set(group_id), MonthTotal.month.set(month),
                  MonthTotal.rev.add(1)]


def touch_update(tenant_id: str, session) -> tuple[BillingItem, list]:
    """What an adjustment of an open `session` changes in its month: only the instant (no mark
    moves), so a search reads the index again once it has settled past it."""
    month = day_of(session)[:7]
    item = MonthTotal(month_partition(tenant_id, month), month_row(session.group_id))
    return item, [MonthTotal.kind.set(MonthTotal), MonthTotal.group_id.set(session.group_id), MonthTotal.month.set(month),
                  MonthTotal.adjusted_at.set(fields.utc_now())]


def _number(value) -> dict:
    return {"N": str(value)}


def lock_updates(tenant_id: str, group_id: str, currency: str, updates: list) -> list[tuple[BillingItem, list]]:
    """What a lock of `updates` ([(session, frozen figures)]) changes in the running totals, in
    the lock's own transaction: one update per UTC month of the sessions (their days' open marks
    go down, their accounted figures up)."""
    months: dict[str, dict[str, list]] = {}
    for session, frozen in updates:
        day = day_of(session)
        figures = months.setdefault(day[:7], {}).setdefault(day[8:10], [0, 0, 0, None, 0])
        figures[0] += 1
        figures[1] += frozen["total_seconds"]
        figures[2] += frozen["billed_minutes"]
        if frozen["cost"] is not None:
            figures[3] = (figures[3] or Decimal("0.00")) + frozen["cost"]
        figures[4] += mark(session.session_id)
    actions = []
    for month, days in sorted(months.items()):
        item, adds = _row(tenant_id, group_id, month)
        for dd, (count, seconds, billed, cost, marks) in sorted(days.items()):
            adds += [Path([f"s{dd}{currency}"]).add(_number(count)), Path([f"t{dd}{currency}"]).add(_number(seconds)),
                     Path([f"b{dd}{currency}"]).add(_number(billed)), Path([f"{OPEN}{dd}"]).add(_number(-marks))]
            if cost is not None:
                adds.append(Path([f"c{dd}{currency}"]).add(_number(cost)))
        actions.append((item, adds))
    return actions


def unlock_updates(tenant_id: str, session) -> list[tuple[BillingItem, list]]:
    """What an unlock of an accounted `session` changes, in the unlock's own transaction: its
    lock's figures taken back from its day, its mark open again."""
    day, currency = day_of(session), session.currency
    dd = day[8:10]
    item, adds = _row(tenant_id, session.group_id, day[:7])
    adds += [Path([f"s{dd}{currency}"]).add(_number(-1)), Path([f"t{dd}{currency}"]).add(_number(-int(session.total_seconds))),
             Path([f"b{dd}{currency}"]).add(_number(-int(session.billed_minutes))),
             Path([f"{OPEN}{dd}"]).add(_number(mark(session.session_id)))]
    if session.cost is not None:
        adds.append(Path([f"c{dd}{currency}"]).add(_number(-session.cost)))
    return [(item, adds)]


def record_updates(tenant_id: str, sessions: list) -> list[tuple[BillingItem, list]]:
    """What recording `sessions` (new, to_account) changes in the running totals, in the
    recording's own transaction: per group and month the days' open marks go up, and the group's
    months take the month."""
    marks: dict[tuple[str, str], dict[str, int]] = {}
    for session in sessions:
        day = day_of(session)
        days = marks.setdefault((session.group_id, day[:7]), {})
        days[day[8:10]] = days.get(day[8:10], 0) + mark(session.session_id)
    actions = []
    for (group_id, month), days in sorted(marks.items()):
        item, adds = _row(tenant_id, group_id, month)
        adds += [Path([f"{OPEN}{dd}"]).add(_number(total)) for dd, total in sorted(days.items())]
        actions.append((item, adds))
    for group_id in sorted({group for group, _ in marks}):
        item = GroupMonths(*months_key(tenant_id, group_id))
        actions.append((item, [GroupMonths.kind.set(GroupMonths), GroupMonths.group_id.set(group_id),
                               GroupMonths.months.add({month for group, month in marks if group == group_id})]))
    return actions


def parse_row(item: dict) -> "Row":
    """A MonthTotal as DynamoDB answers it (typed attributes)."""
    row = Row(int(item.get("rev", {"N": "0"})["N"]))
    row.adjusted_at = item["adjusted_at"]["S"] if "adjusted_at" in item else None
    for name, typed in item.items():
        if len(name) < 3 or not name[1:3].isdigit():
            continue
        kind, dd = name[0], name[1:3]
        if kind == OPEN:
            row.open[dd] = int(typed["N"])
        elif kind in FIGURES and len(name) == 6:
            figures = row.accounted.setdefault(dd, {}).setdefault(name[3:], Figures())
            setattr(figures, _FIGURE_NAMES[kind], Decimal(typed["N"]) if kind == "c" else int(typed["N"]))
    return row


class Figures:
    """Accounted figures of one day (or period) and currency, as the locks add them."""

    __slots__ = ("sessions", "total_seconds", "billed_minutes", "cost")

    def __init__(self, sessions: int = 0, total_seconds: int = 0, billed_minutes: int = 0, cost: Decimal | None = None):
        self.sessions, self.total_seconds, self.billed_minutes, self.cost = sessions, total_seconds, billed_minutes, cost

    def add(self, other: "Figures") -> None:
        self.sessions += other.sessions
        self.total_seconds += other.total_seconds
        self.billed_minutes += other.billed_minutes
        if other.cost is not None:
            self.cost = (self.cost or Decimal("0.00")) + other.cost

    def key(self) -> tuple:
        return self.sessions, self.total_seconds, self.billed_minutes, self.cost

    def __eq__(self, other) -> bool:
        return isinstance(other, Figures) and self.key() == other.key()

    def __repr__(self) -> str:
        return f"Figures{self.key()}"


_FIGURE_NAMES = dict(zip(FIGURES, Figures.__slots__))


class Row:
    """One MonthTotal read: by day (dd), the open mark and the accounted figures by currency."""

    __slots__ = ("rev", "open", "accounted", "adjusted_at")

    def __init__(self, rev: int = 0):
        self.rev = rev
        self.adjusted_at: str | None = None  # as stored (UTC text)
        self.open: dict[str, int] = {}
        self.accounted: dict[str, dict[str, Figures]] = {}

    def figures(self) -> dict[str, Figures]:
        """The month's accounted figures by currency."""
        month: dict[str, Figures] = {}
        for by_currency in self.accounted.values():
            for currency, figures in by_currency.items():
                month.setdefault(currency, Figures()).add(figures)
        return month

    def has_open(self) -> bool:
        return any(self.open.values())
