"""The read side of reports: what totals, the open-session search and the tenant overview read,
as values. Index reads (GSI1, GSI2) are eventually consistent on AWS, and a Query is no snapshot
of several items; so every answer here is checked against the running totals (dal.totals), read
last with one strongly consistent read per month item, which hold a day's open and accounted
state at one instant:

- the open sessions the sparse index shows for each day read must have the day's open mark
  (a session locked a moment ago and still shown, or recorded a moment ago and not shown yet,
  changes the sum);
- the accounted sessions the edge days' Query shows must add up to the day's accounted figures.

A read that does not match answers `None` (`Unsettled`): the index lags, or a lock or a
recording committed between the reads. The caller waits a moment and reads again; a matching
read is the state of the month items at the instant they were read, each session counted once."""
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Iterator

from pynamodb.attributes import UTCDateTimeAttribute

from .. import deadline, settings
from . import listings, models, store
from .models import Contract, Group, Session, keys
from .totals import Figures, GroupMonths, Row, mark, month_partition, month_row, months_key, parse_row

_OPEN_FIELDS = ("GSI2SK", "connection_seconds", "extra_minutes", "started_at")
_ACCOUNTED_FIELDS = ("GSI1SK", "total_seconds", "billed_minutes", "cost", "currency")
BATCH_KEYS = 100  # BatchGetItem's limit
_UTC = UTCDateTimeAttribute()


@dataclass
class GroupReads:
    group: Group | None
    contract: Contract | None
    months: set[str]  # the months in which the group's sessions started


def group_reads(tenant_id: str, group_id: str) -> GroupReads:
    """The group, its current contract and the months it has sessions in: one BatchGetItem."""
    partition = keys.group(tenant_id, group_id)
    found = store.batch_get([(partition, "GROUP"), (partition, "CONTRACT"), months_key(tenant_id, group_id)])
    months = found.get(months_key(tenant_id, group_id))
    contract = found.get((partition, "CONTRACT"))
    return GroupReads(found.get((partition, "GROUP")), contract if isinstance(contract, Contract) else None,
                      set(months.months or ()) if isinstance(months, GroupMonths) else set())


def raw_batch_get(item_keys: Iterable[tuple[str, str]], attributes: Iterable[str] | None = None) -> dict[tuple[str, str], dict]:
    """Items by key as DynamoDB answers them (typed attributes), strongly consistent: one
    BatchGetItem per 100 keys (and again for what it left unprocessed)."""
    wanted = sorted(set(item_keys))
    found: dict[tuple[str, str], dict] = {}
    if not wanted:
        return found
    client = models.connection().client
    table = settings.table_name()
    for start in range(0, len(wanted), BATCH_KEYS):
        request = {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in wanted[start:start + BATCH_KEYS]],
                   "ConsistentRead": True}
        if attributes is not None:
            names = {f"#a{n}": name for n, name in enumerate(dict.fromkeys(["PK", "SK", *attributes]))}
            request.update(ProjectionExpression=", ".join(names), ExpressionAttributeNames=names)
        pending = {table: request}
        backoff = store.Backoff("the read")
        while pending:
            answer = store.read_raw(lambda: client.batch_get_item(RequestItems=pending))
            for item in answer.get("Responses", {}).get(table, ()):
                found[item["PK"]["S"], item["SK"]["S"]] = item
            pending = answer.get("UnprocessedKeys") or {}
            if pending:
                backoff.wait()
    return found


def month_rows(tenant_id: str, group_id: str, months: Iterable[str]) -> dict[str, Row]:
    """The group's MonthTotals of `months` (strongly consistent; a month without one is empty)."""
    keyed = {(month_partition(tenant_id, month), month_row(group_id)): month for month in months}
    found = raw_batch_get(keyed)
    return {month: parse_row(found[key]) if key in found else Row() for key, month in keyed.items()}


def tenant_month(tenant_id: str, month: str, first_group: str, last_group: str) -> dict[str, Row]:
    """The MonthTotals of the tenant's groups from `first_group` to `last_group` (by id) in one
    month: one Query (strongly consistent), by group id."""
    rows = {}
    for item in store.raw_query(month_partition(tenant_id, month), month_row(first_group), month_row(last_group), None,
                                consistent=True):
        rows[item["SK"]["S"][2:]] = parse_row(item)
    return rows


# ---------------------------------------------------------------- the snapshot of a group's period


@dataclass(slots=True)
class OpenRow:
    """An open session as totals price it."""

    connection_seconds: int
    extra_minutes: int
    started: str  # as stored; parsed only when a surcharge needs it (`started_at`)

    @property
    def started_at(self) -> datetime:
        return _UTC.deserialize(self.started)


@dataclass
class Snapshot:
    open: list[OpenRow] = field(default_factory=list)  # the period's open sessions
    accounted: dict[str, Figures] = field(default_factory=dict)  # the period's accounted figures by currency
    adjusted_at: str | None = None  # the last adjustment of an open session of its months (UTC text)


class Bounds:
    """A period in UTC: `start`/`end` (None: unbounded), its sort-key bounds, and its days."""

    def __init__(self, start: datetime | None, end: datetime | None, low: str, high: str):
        self.start = start.astimezone(timezone.utc) if start else None
        self.end = end.astimezone(timezone.utc) if end else None
        self.low, self.high = low, high

    def months(self, known: set[str] | None) -> list[str]:
        """The months of the period in which the group has sessions (`known`); None: every month
        of a bounded period. A group this version never recorded for has no running totals yet
        (until the backfill): no months."""
        first = self.start.strftime("%Y-%m") if self.start else None
        last = (self.end - timedelta(microseconds=1)).strftime("%Y-%m") if self.end else None
        if known is None:
            return list(_month_range(first, last))
        return sorted(m for m in known if (first is None or m >= first) and (last is None or m <= last))

    def edges(self) -> list[date]:
        """The days the period covers only in part (their accounted sessions are read)."""
        days = []
        if self.start and self.start != _midnight(self.start.date()):
            days.append(self.start.date())
        if self.end and self.end != _midnight(self.end.date()) and self.end.date() not in days:
            days.append(self.end.date())
        return days


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _month_range(first: str, last: str) -> Iterator[str]:
    year, month = int(first[:4]), int(first[5:])
    while f"{year:04d}-{month:02d}" <= last:
        yield f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _days(bounds: Bounds, months: list[str]) -> tuple[str, str]:
    """The first and last day whose whole content is read from the indexes (whole days, so each
    is checked against its mark)."""
    first = bounds.start.date().isoformat() if bounds.start else f"{months[0]}-01"
    last = (bounds.end - timedelta(microseconds=1)).date().isoformat() if bounds.end else f"{months[-1]}-31"
    return first, last


def group_snapshot(tenant_id: str, group_id: str, bounds: Bounds, months: list[str]) -> Snapshot | None:
    """The period's open sessions and accounted figures, checked (see the module); None when the
    reads did not match (read again in a moment). Round trips: the open index's pages, one Query
    per edge day, one BatchGetItem of the months."""
    if not months:
        return Snapshot()
    first, last = _days(bounds, months)
    wanted = set(months)
    snapshot = Snapshot()
    marks: dict[str, int] = {}
    for item in store.raw_query(keys.open_sessions_of(tenant_id, group_id), f"{first}T", f"{last}T~", _OPEN_FIELDS,
                                index="GSI2", equals={"status": "to_account"}):
        sort_key = item["GSI2SK"]["S"]
        if sort_key[:7] not in wanted:
            continue  # a month the group had no sessions in when the request began: recorded since
        marks[sort_key[:10]] = marks.get(sort_key[:10], 0) + _mark_of(sort_key)
        if bounds.low <= sort_key <= bounds.high:
            extra = item.get("extra_minutes")
            snapshot.open.append(OpenRow(int(item["connection_seconds"]["N"]), int(extra["N"]) if extra else 0,
                                         item["started_at"]["S"]))
    edges = {}
    for day in bounds.edges():
        edges[day.isoformat()] = _edge_day(tenant_id, group_id, day.isoformat(), bounds, snapshot)
    rows = month_rows(tenant_id, group_id, months)
    if not _matches(rows, marks, edges, first, last):
        return None
    snapshot.adjusted_at = last_adjusted(rows)
    for month, row in rows.items():
        for dd, by_currency in row.accounted.items():
            day = f"{month}-{dd}"
            if day in edges or not first <= day <= last:
                continue
            for currency, figures in by_currency.items():
                snapshot.accounted.setdefault(currency, Figures()).add(figures)
    return snapshot


def _mark_of(sort_key: str) -> int:
    return mark(sort_key.split("#", 1)[1])


def _edge_day(tenant_id: str, group_id: str, day: str, bounds: Bounds, snapshot: Snapshot) -> dict[str, Figures]:
    """The accounted sessions of a day the period covers in part: those in the period are added
    to the snapshot; answers the whole day's figures by currency (checked against the day's)."""
    whole: dict[str, Figures] = {}
    for item in store.raw_query(keys.sessions_of(tenant_id, group_id), f"{day}T", f"{day}T~", _ACCOUNTED_FIELDS,
                                index="GSI1", equals={"status": "accounted"}):
        cost = item.get("cost")
        figures = Figures(1, int(item["total_seconds"]["N"]), int(item["billed_minutes"]["N"]),
                          Decimal(cost["N"]) if cost else None)
        currency = item["currency"]["S"]
        whole.setdefault(currency, Figures()).add(figures)
        if bounds.low <= item["GSI1SK"]["S"] <= bounds.high:
            snapshot.accounted.setdefault(currency, Figures()).add(figures)
    return whole


def _matches(rows: dict[str, Row], marks: dict[str, int], edges: dict[str, dict[str, Figures]], first: str, last: str) -> bool:
    stored = {f"{month}-{dd}": value for month, row in rows.items() for dd, value in row.open.items()
              if value and first <= f"{month}-{dd}" <= last}
    if stored != {day: value for day, value in marks.items() if value}:
        return False
    for day, figures in edges.items():
        row = rows.get(day[:7])
        if (row.accounted.get(day[8:10], {}) if row else {}) != figures:
            return False
    return True


def open_marks_match(tenant_id: str, group_id: str, shown: dict[str, int], first: str, last: str,
                     months: set[str]) -> dict[str, Row] | None:
    """The month rows when the open sessions an index read showed from day `first` to day `last`
    (their marks by day) are exactly those the running totals hold now (None otherwise): one
    BatchGetItem of the months."""
    rows = month_rows(tenant_id, group_id, [month for month in sorted(months) if first[:7] <= month <= last[:7]])
    stored = {f"{month}-{dd}": value for month, row in rows.items() for dd, value in row.open.items()
              if value and first <= f"{month}-{dd}" <= last}
    return rows if stored == {day: value for day, value in shown.items() if value and first <= day <= last} else None



def add_figures(many: Iterable[dict[str, Figures]]) -> dict[str, Figures]:
    """Figures by currency added up."""
    total: dict[str, Figures] = {}
    for by_currency in many:
        for currency, figures in by_currency.items():
            total.setdefault(currency, Figures()).add(figures)
    return total


# ---------------------------------------------------------------- the tenant's groups, a page at a time


@dataclass
class GroupsPage:
    groups: list[Group]  # by id
    contracts: dict[str, Contract]  # by group id: the current ones
    months: dict[str, set[str]]  # by group id, when asked for: the months each has sessions in
    more: bool


def groups_page(tenant_id: str, after: str | None, limit: int, with_months: bool = False) -> GroupsPage:
    """Up to `limit` groups after the group id `after`, with their contracts (and months): one
    Query of the groups (once the list has settled), one BatchGetItem per 100 keys."""
    listings.settled(keys.groups(tenant_id))
    condition = Group.GSI1SK > after if after is not None else None
    found = list(store.query(Group, keys.groups(tenant_id), index="gsi1", range_key_condition=condition, limit=limit + 1,
                             page_size=limit + 1))
    groups = found[:limit]
    wanted = [(keys.group(tenant_id, g.group_id), "CONTRACT") for g in groups]
    if with_months:
        wanted += [months_key(tenant_id, g.group_id) for g in groups]
    items = store.batch_get(wanted)
    contracts, months = {}, {}
    for group in groups:
        contract = items.get((keys.group(tenant_id, group.group_id), "CONTRACT"))
        if isinstance(contract, Contract):
            contracts[group.group_id] = contract
        if with_months:
            seen = items.get(months_key(tenant_id, group.group_id))
            months[group.group_id] = set(seen.months or ()) if isinstance(seen, GroupMonths) else set()
    return GroupsPage(groups, contracts, months, len(found) > limit)


# ---------------------------------------------------------------- sessions, a page at a time


def sessions(tenant_id: str, group_id: str, low: str, high: str, status=None, technician=None, page_size=None,
             start_key=None, recorded_before: datetime | None = None):
    """The group's sessions with sort keys from `low` to `high`, oldest first, lazily paged.
    `to_account` ones are read from the sparse index of open sessions (GSI2), never through the
    accounted history."""
    condition = None
    if status:
        condition = Session.status == status  # on GSI2 it only drops a session locked a moment ago
    if technician:
        by_technician = Session.technician == technician
        condition = by_technician if condition is None else condition & by_technician
    if recorded_before:
        before = Session.recorded_at < recorded_before
        condition = before if condition is None else condition & before
    if status == "to_account":
        return store.query(Session, keys.open_sessions_of(tenant_id, group_id), index="gsi2",
                           range_key_condition=Session.GSI2SK.between(low, high), filter_condition=condition,
                           page_size=page_size, last_evaluated_key=start_key)
    return store.query(Session, keys.sessions_of(tenant_id, group_id), index="gsi1",
                       range_key_condition=Session.GSI1SK.between(low, high), filter_condition=condition,
                       page_size=page_size, last_evaluated_key=start_key)


def position_of(session: Session) -> dict[str, str]:
    """Where a search of a group's sessions stopped: its last session's keys (table and GSI1)."""
    return {"PK": session.PK, "SK": session.SK, "GSI1PK": session.GSI1PK, "GSI1SK": session.GSI1SK}


def is_position(tenant_id: str, group_id: str, position: dict) -> bool:
    """`position` is one `position_of` gave for a session of this group."""
    return (set(position) == {"PK", "SK", "GSI1PK", "GSI1SK"} and all(isinstance(v, str) for v in position.values())
            and position["GSI1PK"] == keys.sessions_of(tenant_id, group_id)
            and position["PK"].startswith(keys.session(tenant_id, "")) and position["SK"] == "SESSION")


def start_key(tenant_id: str, group_id: str, position: dict, low: str, high: str, open_index: bool) -> dict | None:
    """The key a search from `low` to `high` goes on from after `position` (None: outside those
    bounds, which DynamoDB would refuse). The search of open sessions reads the sparse index:
    its key, the same sort key."""
    if not low <= position["GSI1SK"] <= high:
        return None
    key = dict(position)
    if open_index:
        key["GSI2PK"], key["GSI2SK"] = keys.open_sessions_of(tenant_id, group_id), key.pop("GSI1SK")
        key.pop("GSI1PK")
    return {name: {"S": value} for name, value in key.items()}


def settled_snapshot(tenant_id: str, group_id: str, bounds: Bounds, known_months: set[str] | None) -> Snapshot:
    """The period's open sessions and accounted figures at one instant: read again (within the
    request's retry budget) while a lock or a recording moves them between the reads, or the
    indexes lag."""
    months = bounds.months(known_months)
    backoff, settled = store.Backoff("the totals"), False
    while True:
        found = group_snapshot(tenant_id, group_id, bounds, months)
        if found is None:
            backoff.wait()
        elif settled or not settled_past(found.adjusted_at):
            return found
        else:
            settled = True  # waited past the last adjustment (its extra minutes reach the index late): read once more


def last_adjusted(rows: dict[str, Row]) -> str | None:
    return max((row.adjusted_at for row in rows.values() if row.adjusted_at), default=None)


def settled_past(adjusted_at: str | None) -> bool:
    """Whether an adjustment less than the settle time ago was waited out (an adjustment moves no
    mark, so the marks cannot tell the index has its extra minutes)."""
    return adjusted_at is not None and deadline.settle(_UTC.deserialize(adjusted_at), "the group's sessions")


def checked_page(tenant_id: str, group_id: str, bounds: Bounds, status: str | None, technician: str | None, limit: int,
                 after: str | None, known_months: set[str]) -> list[Session]:
    """Up to `limit` + 1 sessions of the period after the sort key `after`, exactly as the table
    holds them: read from GSI1 by whole UTC days (from the start of the cursor's day, or the
    period's first, to the end of the day of the last one answered, or of the period), and each
    day checked against its running totals: the marks of its open sessions and the number of its
    accounted ones. A lock, an unlock or a recording the index does not show yet makes the page
    read again. An adjustment moves no mark but stamps its month: a page whose sessions were
    adjusted less than the settle time ago is read once more after it."""
    months = sorted(bounds.months(known_months))
    if not months:
        return []
    first, last = _days(bounds, months)
    first = max(first, after[:10]) if after else first
    backoff, settled = store.Backoff("the search"), False
    while True:
        page, marks, accounted, through = [], {}, {}, None
        for session in store.query(Session, keys.sessions_of(tenant_id, group_id), index="gsi1",
                                   range_key_condition=Session.GSI1SK.between(f"{first}T", f"{last}T~")):
            key, day = session.GSI1SK, session.GSI1SK[:10]
            if key[:7] not in months:
                continue  # a month the group had no sessions in when the request began: recorded since
            if through is not None and day != through:
                break  # the page is full and its last day read whole
            if session.status == "accounted":
                accounted[day] = accounted.get(day, 0) + 1
            else:
                marks[day] = marks.get(day, 0) + mark(session.session_id)
            if bounds.low <= key <= bounds.high and (after is None or key > after) \
                    and status in (None, session.status) and technician in (None, session.technician):
                page.append(session)
                if len(page) == limit + 1:
                    through = day
        until = through or last
        rows = month_rows(tenant_id, group_id, [m for m in months if first[:7] <= m <= until[:7]])
        stored_marks = {f"{m}-{dd}": v for m, row in rows.items() for dd, v in row.open.items() if v and first <= f"{m}-{dd}" <= until}
        stored_counts = {f"{m}-{dd}": n for m, row in rows.items() for dd, by_currency in row.accounted.items()
                         if (n := sum(f.sessions for f in by_currency.values())) and first <= f"{m}-{dd}" <= until}
        if stored_marks == {d: v for d, v in marks.items() if v} and stored_counts == accounted:
            if settled or not settled_past(last_adjusted(rows)):
                return page[:limit + 1]
            settled = True  # waited past the last adjustment: read once more
            continue
        backoff.wait()


def open_page(tenant_id: str, group_id: str, bounds: Bounds, technician: str | None, limit: int, after: str | None,
              known_months: set[str]) -> list[Session]:
    """Up to `limit` + 1 open sessions after the sort key `after`, exactly as the table holds
    them: read from the sparse index by whole UTC days (from the start of the cursor's day, to the
    end of the day of the last one answered, or of the period when it ends there), and those days
    checked against their open marks: a session locked a moment ago and still in the index, or
    recorded a moment ago and not in it yet, makes the page read again; one adjusted less than the
    settle time ago makes it read once more after it."""
    months = set(bounds.months(known_months))
    if not months:
        return []
    low = max(bounds.low, f"{after[:10]}T") if after else bounds.low
    first_day = low[:10] if low[:1].isdigit() else f"{min(months)}-01"
    backoff, settled = store.Backoff("the search"), False
    while True:
        page, marks, through = [], {}, None
        for session in sessions(tenant_id, group_id, low, bounds.high, "to_account"):
            key = session.GSI2SK
            if key[:7] not in months:
                continue  # a month the group had no sessions in when the request began: recorded since
            if through is not None and key[:10] != through:
                break  # the page is full and its last day read whole
            marks[key[:10]] = marks.get(key[:10], 0) + mark(session.session_id)
            if (after is None or key > after) and (technician is None or session.technician == technician):
                page.append(session)
                if len(page) == limit + 1:
                    through = key[:10]
        last_day = through or (_days(bounds, sorted(months))[1])
        rows = open_marks_match(tenant_id, group_id, marks, first_day, last_day, months)
        if rows is None:
            backoff.wait()
        elif settled or not settled_past(last_adjusted(rows)):
            return page[:limit + 1]
        else:
            settled = True
