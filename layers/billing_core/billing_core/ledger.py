"""The balance of a subscription contract as a ledger of blocks (SPEC §3, §8, §10), pure: no I/O.

A contract holds blocks of minutes: its allotment (copied from the profile at assignment, so a
later profile edit never changes what a client bought), each recharge, and what a previous
contract carried over. A lock consumes the blocks that had not expired when the session
started, soonest-expiring first (never-expiring last, then oldest first). What no block covers
is overage (billed at the profile's overage price, when it has one) or overrun (the balance goes
negative until a recharge settles it). Every change is an entry whose `minutes` is the change of
`available_minutes` it causes, so the available balance is always the sum of the entries.
"""
from datetime import datetime
from decimal import Decimal

from . import fields, tariff
from .values import Value

ALLOTMENT, RECHARGE, DEDUCTION, OVERAGE = "allotment", "recharge", "deduction", "overage"
CARRY_OVER, CLOSING, EXPIRY = "carry_over", "closing", "expiry"
ZERO = Decimal("0.00")


class Block(Value):
    __slots__ = ("block_id", "kind", "minutes", "remaining", "added_at", "expires_at", "expiry_entered")

    def __init__(self, block_id: str, kind: str, minutes: int, remaining: int, added_at: datetime,
                 expires_at: datetime | None = None, expiry_entered: bool = False):
        # expiry_entered: an `expiry` entry already took its remainder out of `available`
        self._set(block_id, kind, minutes, remaining, added_at, expires_at, expiry_entered)

    def expired(self, at: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= at

    def covers(self, started_at: datetime) -> bool:
        return self.expires_at is None or started_at < self.expires_at


class Change(Value):
    """One ledger entry to write: `minutes` is the change of available minutes it causes."""

    __slots__ = ("kind", "minutes", "at", "amount", "session_id", "block_id", "expires_at")

    def __init__(self, kind: str, minutes: int, at: datetime, amount: Decimal | None = None, session_id: str | None = None,
                 block_id: str | None = None, expires_at: datetime | None = None):
        self._set(kind, minutes, at, amount, session_id, block_id, expires_at)


class Deduction(Value):
    """What locking one session did to the balance."""

    __slots__ = ("billed_minutes", "covered_minutes", "overage_minutes", "overage_cost")

    def __init__(self, billed_minutes: int, covered_minutes: int, overage_minutes: int, overage_cost: Decimal | None):
        # overage_cost: None: no overage price, the rest is overrun
        self._set(billed_minutes, covered_minutes, overage_minutes, overage_cost)


class Balance(Value):
    __slots__ = ("total_minutes", "amount", "recharged_minutes", "recharged_amount", "carried_over_minutes", "used_minutes",
                 "overage_minutes", "overrun_minutes", "blocks", "crossed")

    def __init__(self, total_minutes: int = 0, amount: Decimal = ZERO, recharged_minutes: int = 0,
                 recharged_amount: Decimal = ZERO, carried_over_minutes: int = 0, used_minutes: int = 0,
                 overage_minutes: int = 0, overrun_minutes: int = 0, blocks: tuple[Block, ...] = (),
                 crossed: tuple[int, ...] = ()):
        # total_minutes: the allotment
        # amount: the allotment's amount
        # carried_over_minutes: signed: what a previous contract handed over
        # used_minutes: charged to the balance: covered plus overrun
        # overage_minutes: billed at the overage price instead
        # overrun_minutes: used but covered by no block yet; recharges settle it first
        # crossed: alert thresholds (percent) crossed and not re-armed by a recharge since
        self._set(total_minutes, amount, recharged_minutes, recharged_amount, carried_over_minutes, used_minutes,
                  overage_minutes, overrun_minutes, blocks, crossed)

    # ------------------------------------------------------------ figures

    def expired_minutes(self, at: datetime) -> int:
        return sum(block.remaining for block in self.blocks if block.expired(at))

    def available_minutes(self, at: datetime) -> int:
        live = sum(block.remaining for block in self.blocks if not block.expired(at))
        return live - self.overrun_minutes

    def entered_minutes(self) -> int:
        """The available minutes as the entries written so far sum them (expiries entered)."""
        kept = sum(block.remaining for block in self.blocks if not block.expiry_entered)
        return kept - self.overrun_minutes

    def view(self, at: datetime) -> dict:
        return {
            "total_minutes": self.total_minutes,
            "recharged_minutes": self.recharged_minutes,
            "carried_over_minutes": self.carried_over_minutes,
            "used_minutes": self.used_minutes,
            "expired_minutes": self.expired_minutes(at),
            "overage_minutes": self.overage_minutes,
            "available_minutes": self.available_minutes(at),
            "amount": fields.money_text(self.amount + self.recharged_amount),
        }

    # ------------------------------------------------------------ changes

    def expire(self, at: datetime) -> tuple["Balance", list[Change]]:
        """Enters the blocks that expired by `at` and were not entered yet (one entry each)."""
        changes, blocks = [], []
        for block in self.blocks:
            if block.expired(at) and not block.expiry_entered:
                changes.append(Change(EXPIRY, -block.remaining, block.expires_at, block_id=block.block_id))
                block = block.replace(expiry_entered=True)
            blocks.append(block)
        return self.replace(blocks=tuple(blocks)), changes

    def add_block(self, kind: str, block_id: str, minutes: int, amount: Decimal, at: datetime,
                  expires_at: datetime | None = None) -> tuple["Balance", Change]:
        """An allotment, a recharge or a positive carry-over. A new block settles any overrun first."""
        settled = min(self.overrun_minutes, minutes)
        block = Block(block_id, kind, minutes, minutes - settled, at, expires_at, expiry_entered=bool(expires_at and expires_at <= at))
        balance = self.replace(overrun_minutes=self.overrun_minutes - settled, blocks=self.blocks + (block,))
        if kind == ALLOTMENT:
            balance = balance.replace(total_minutes=self.total_minutes + minutes, amount=self.amount + amount)
        elif kind == RECHARGE:
            balance = balance.replace(recharged_minutes=self.recharged_minutes + minutes,
                              recharged_amount=self.recharged_amount + amount)
        else:
            balance = balance.replace(carried_over_minutes=self.carried_over_minutes + minutes)
        return balance._pruned(), self._change(balance, kind, at, amount=None if kind == CARRY_OVER else amount,
                                               block_id=block_id, expires_at=expires_at)

    def carry_overrun(self, minutes: int, at: datetime) -> tuple["Balance", Change]:
        """A negative carry-over: the previous contract's overrun, settled by the next recharges."""
        balance = self.replace(carried_over_minutes=self.carried_over_minutes - minutes,
                          overrun_minutes=self.overrun_minutes + minutes)
        return balance, self._change(balance, CARRY_OVER, at)

    def deduct(self, session_id: str, billed: int, started_at: datetime, at: datetime,
               step_minutes: int, overage_step_cost: Decimal | None = None) -> tuple["Balance", Deduction, list[Change]]:
        """Locks one session of `billed` minutes that started at `started_at`."""
        need = billed
        consumed: dict[str, int] = {}
        order = sorted(
            (b for b in self.blocks if b.remaining > 0 and b.covers(started_at)),
            key=lambda b: (b.expires_at is None, b.expires_at or b.added_at, b.added_at),
        )
        for block in order:
            if need == 0:
                break
            consumed[block.block_id] = min(block.remaining, need)
            need -= consumed[block.block_id]
        covered = billed - need
        if overage_step_cost is not None:
            overage, overrun = need, 0
            overage_cost = tariff.overage_cost(overage_step_cost, step_minutes, overage) if overage else None
        else:
            overage, overrun, overage_cost = 0, need, None
        balance = self.replace(
            blocks=tuple(b.replace(remaining=b.remaining - consumed.get(b.block_id, 0)) for b in self.blocks),
            used_minutes=self.used_minutes + covered + overrun,
            overage_minutes=self.overage_minutes + overage,
            overrun_minutes=self.overrun_minutes + overrun,
        )._pruned()
        changes = [self._change(balance, DEDUCTION, at, session_id=session_id)]
        if overage:
            changes.append(Change(OVERAGE, 0, at, amount=overage_cost, session_id=session_id))
        return balance, Deduction(billed, covered, overage, overage_cost), changes

    def shared_room(self, at: datetime, started: list[datetime], thresholds) -> int | None:
        """How many minutes locks may take from this balance without reading each other's (each
        adds its minutes to the contract's `pending_minutes`, conditioned on this balance and on
        the pending total staying within this room), so that the order they commit in changes
        nothing: every live block covers each of their sessions and has not expired by `at`
        (so no expiry entry is due and the draw order is the same for all), every minute is
        covered (no overage, no overrun) and no alert threshold not crossed yet is crossed.
        None when the balance is not in that state: such a lock reads and writes it whole."""
        live = [b for b in self.blocks if b.remaining > 0]
        if self.overrun_minutes or any(b.expired(at) or not all(b.covers(s) for s in started) for b in live):
            return None
        available = sum(b.remaining for b in live)
        base = self.threshold_base()
        limits = [-(-base * int(p) // 100) for p in thresholds if int(p) not in self.crossed]  # the least minutes at or above it
        floor = max((limit for limit in limits if limit <= available), default=0)
        return max(0, available - floor)

    def draw(self, minutes: int) -> "Balance":
        """The balance once the locks that shared its room (`shared_room`) took `minutes`: drawn
        from the blocks as `deduct` draws them, soonest-expiring first."""
        need = minutes
        consumed: dict[str, int] = {}
        for block in sorted((b for b in self.blocks if b.remaining > 0),
                            key=lambda b: (b.expires_at is None, b.expires_at or b.added_at, b.added_at)):
            if need == 0:
                break
            consumed[block.block_id] = min(block.remaining, need)
            need -= consumed[block.block_id]
        return self.replace(  # `need` is 0 by the room's condition; were it not, the rest is overrun, as `deduct` counts it
            blocks=tuple(b.replace(remaining=b.remaining - consumed.get(b.block_id, 0)) for b in self.blocks),
            used_minutes=self.used_minutes + minutes, overrun_minutes=self.overrun_minutes + need,
        )._pruned()

    def close(self, at: datetime) -> Change:
        """Ends the contract: its final available balance is entered as taken out."""
        return Change(CLOSING, -self.entered_minutes(), at)

    def threshold_base(self) -> int:
        """What alert thresholds are percentages of: the allotment plus the recharges."""
        return self.total_minutes + self.recharged_minutes

    def cross_thresholds(self, before: "Balance", thresholds, at: datetime) -> tuple["Balance", list[dict]]:
        """SPEC §10: the thresholds this change took `available` from at-or-above to below, each
        once until a recharge re-arms it (`rearm`). Answers the balance and one crossing each."""
        base = self.threshold_base()
        was, now = before.available_minutes(at), self.available_minutes(at)
        crossings = []
        for percent in sorted(thresholds, reverse=True):
            limit = base * percent / 100
            if percent not in self.crossed and was >= limit > now:
                crossings.append({"threshold": percent, "available_minutes": now, "total_minutes": base})
        crossed = tuple(sorted(set(self.crossed) | {c["threshold"] for c in crossings}, reverse=True))
        return self.replace(crossed=crossed), crossings

    def rearm(self, thresholds, at: datetime) -> "Balance":
        """A recharge re-arms every threshold the balance is back at or above."""
        base, available = self.threshold_base(), self.available_minutes(at)
        return self.replace(crossed=tuple(p for p in self.crossed if p in thresholds and available < base * p / 100))

    def _pruned(self) -> "Balance":
        """Spent blocks say nothing more (their expiry can no longer remove anything)."""
        return self.replace(blocks=tuple(b for b in self.blocks if b.remaining > 0))

    def _change(self, after: "Balance", kind: str, at: datetime, **details) -> Change:
        return Change(kind, after.entered_minutes() - self.entered_minutes(), at, **details)


# ---------------------------------------------------------------- stored form


def _moment(text: str | None) -> datetime | None:
    return None if text is None else fields.parse_utc(text)


def dump(balance: Balance) -> dict:
    """A plain JSON-able form (exact numbers as ints and strings) for the contract item."""
    return {
        "total_minutes": balance.total_minutes,
        "amount": fields.money_text(balance.amount),
        "recharged_minutes": balance.recharged_minutes,
        "recharged_amount": fields.money_text(balance.recharged_amount),
        "carried_over_minutes": balance.carried_over_minutes,
        "used_minutes": balance.used_minutes,
        "overage_minutes": balance.overage_minutes,
        "overrun_minutes": balance.overrun_minutes,
        "blocks": [
            {
                "block_id": b.block_id, "kind": b.kind, "minutes": b.minutes, "remaining": b.remaining,
                "added_at": fields.sortable_utc(b.added_at),
                "expires_at": fields.sortable_utc(b.expires_at) if b.expires_at else None,
                "expiry_entered": b.expiry_entered,
            }
            for b in balance.blocks
        ],
        "crossed": list(balance.crossed),
    }


def load(values: dict) -> Balance:
    return Balance(
        total_minutes=int(values["total_minutes"]),
        amount=Decimal(values["amount"]),
        recharged_minutes=int(values["recharged_minutes"]),
        recharged_amount=Decimal(values["recharged_amount"]),
        carried_over_minutes=int(values["carried_over_minutes"]),
        used_minutes=int(values["used_minutes"]),
        overage_minutes=int(values["overage_minutes"]),
        overrun_minutes=int(values["overrun_minutes"]),
        blocks=tuple(
            Block(b["block_id"], b["kind"], int(b["minutes"]), int(b["remaining"]), _moment(b["added_at"]),
                  _moment(b["expires_at"]), bool(b["expiry_entered"]))
            for b in values["blocks"]
        ),
        crossed=tuple(int(p) for p in values.get("crossed", ())),
    )
