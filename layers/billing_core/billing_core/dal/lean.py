"""The lean read path for rows that must be read in bulk (totals): a projected low-level Query
and a slotted row instead of a pynamodb Session, which spends most of its time building the
model (docs/benchmarks.md: the profile before and after)."""
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator

from pynamodb.attributes import UTCDateTimeAttribute

from . import store as storage
from .models import keys

_UTC = UTCDateTimeAttribute()

OPEN, ACCOUNTED_SESSION = "to_account", "accounted"
_OPEN_FIELDS = ("connection_seconds", "extra_minutes", "started_at")
_ACCOUNTED_FIELDS = ("total_seconds", "billed_minutes", "cost", "currency")


@dataclass(slots=True)
class Row:
    connection_seconds: int = 0
    extra_minutes: int = 0
    total_seconds: int = 0
    billed_minutes: int | None = None
    cost: Decimal | None = None
    currency: str | None = None
    started: str | None = None  # as stored; parsed only when a surcharge needs it (`started_at`)

    @property
    def started_at(self):
        return _UTC.deserialize(self.started) if self.started else None


def sessions(tenant_id: str, group_id: str, period, status: str) -> Iterator[Row]:
    """The group's sessions of `period` in `status`: open ones from the sparse index (GSI2),
    accounted ones (edge days only: whole days come from the running totals) from GSI1."""
    if status == OPEN:
        for item in storage.raw_query(keys.open_sessions_of(tenant_id, group_id), period.low, period.high, _OPEN_FIELDS,
                                      index="GSI2", equals={"status": OPEN}):
            extra = item.get("extra_minutes")
            yield Row(connection_seconds=int(item["connection_seconds"]["N"]), extra_minutes=int(extra["N"]) if extra else 0,
                      started=item["started_at"]["S"])
        return
    for item in storage.raw_query(keys.sessions_of(tenant_id, group_id), period.low, period.high, _ACCOUNTED_FIELDS,
                                  index="GSI1", equals={"status": ACCOUNTED_SESSION}):
        cost = item.get("cost")
        yield Row(total_seconds=int(item["total_seconds"]["N"]), billed_minutes=int(item["billed_minutes"]["N"]),
                  cost=Decimal(cost["N"]) if cost else None, currency=item["currency"]["S"])
