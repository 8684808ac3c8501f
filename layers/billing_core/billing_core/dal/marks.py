"""The marks that make each billable event invoiced once, kept in pages: one item per client and
UTC month of the event (`P#<yyyy-mm>` in the client's INVOICED partition), holding each event's
mark `[status, invoice_id, lock_at]` by its source (`S#<session>`, `L#<ledger entry>`).

An issue, a void or an unlock reads the pages its events are on, decides from them, and rewrites
them in its one transaction, each conditioned on the version it read: whatever else changed a page
meanwhile fails the write, which reads again. So an event is never on two issued invoices, and an
invoice may hold any number of events while its transaction stays within DynamoDB's 100 actions
(an invoice's events of one local month fall on two UTC months, three at most).

A page holds about 4,000 marks within DynamoDB's 400 KB item limit: a client with more billable
events than that in one UTC month is refused with a 409 naming the limit (`PageFull`)."""
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import store
from .invoices import ISSUED, RELEASED, UNLOCKED, MarkPage, marks_of

MAX_MARKS = 4000  # ~90 bytes a mark: well within 400 KB


class PageFull(Exception):
    """A page would hold more marks than an item can."""

    def __init__(self, page: str):
        super().__init__(page)
        self.page = page


def page_of(moment: datetime) -> str:
    """The page of an event dated `moment`: its UTC month."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m")


@dataclass
class Pages:
    """A client's pages as read (absent pages as empty), and the marks a write sets on them."""

    partition: str
    items: dict[str, MarkPage | None]
    marks: dict[str, dict[str, list]]
    changed: set[str] = field(default_factory=set)

    def mark(self, page: str, source: str) -> list | None:
        return self.marks.get(page, {}).get(source)

    def status(self, page: str, source: str) -> str | None:
        mark = self.mark(page, source)
        return mark[0] if mark else None

    def holder(self, page: str, source: str) -> str | None:
        mark = self.mark(page, source)
        return mark[1] if mark else None

    def is_free(self, page: str, source: str, lock_at: str | None) -> bool:
        """Free for an invoice built on the lock `lock_at`: never issued or released; or its lock was
        undone by an unlock and the draft was built on a later lock."""
        mark = self.mark(page, source)
        if mark is None or mark[0] == RELEASED:
            return True
        return mark[0] == UNLOCKED and lock_at is not None and mark[2] != lock_at

    def set(self, page: str, source: str, status: str, invoice_id: str | None = None, lock_at: str | None = None) -> None:
        self.marks.setdefault(page, {})[source] = [status, invoice_id, lock_at]
        self.changed.add(page)

    def add_writes(self, transaction) -> list[int]:
        """Each changed page rewritten over the version read (or only if still absent); answers
        their positions in the transaction."""
        positions = []
        for page in sorted(self.changed):
            if len(self.marks[page]) > MAX_MARKS:
                raise PageFull(page)
            read = self.items.get(page)
            item = MarkPage(self.partition, f"P#{page}", marks=json.dumps(self.marks[page], separators=(",", ":")),
                            version=(read.version + 1) if read is not None else 1)
            positions.append(len(transaction.added))
            transaction.save(item, condition=(MarkPage.version == read.version) if read is not None else MarkPage.PK.does_not_exist())
        return positions


def read(tenant_id: str, group_id: str, pages) -> Pages:
    """A client's pages (strongly consistent; one BatchGetItem)."""
    partition = marks_of(tenant_id, group_id)
    found = store.batch_get((partition, f"P#{page}") for page in set(pages))
    items = {item.SK[2:]: item for item in found.values() if isinstance(item, MarkPage)}
    return Pages(partition, items, {page: json.loads(item.marks) for page, item in items.items()})


def issued_sources(tenant_id: str, group_id: str, sources) -> set[str]:
    """Which of the client's `sources` ((source, page) pairs) an issued invoice holds."""
    sources = list(sources)
    pages = read(tenant_id, group_id, {page for _, page in sources}) if sources else None
    return {source for source, page in sources if pages.status(page, source) == ISSUED}


@dataclass(frozen=True)
class SessionMark:
    """A session's mark as its unlock reads it, with the page it is on."""

    pages: Pages
    page: str
    status: str | None
    invoice_id: str | None


def session_mark(tenant_id: str, group_id: str, session_id: str, started_at: datetime) -> SessionMark:
    page = page_of(started_at)
    pages = read(tenant_id, group_id, [page])
    source = f"S#{session_id}"
    return SessionMark(pages, page, pages.status(page, source), pages.holder(page, source))
