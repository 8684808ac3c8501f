"""Remote sessions: how one is answered (priced when read), read, adjusted, and its history.

Pricing rule: a `to_account` session is priced when read, by its group's current contract (one
read, since the contract carries its profile's latest tariff). Locking (billing_core.locking)
freezes that price; an accounted session is never written again.
"""
import json
from decimal import Decimal
from fractions import Fraction

from . import fields, history, jsonio
from .contract_views import current_contract
from .dal import sessions as dal_sessions
from .dal import store
from .dal.models import Contract, Session
from .dal.outcomes import LostRace
from .errors import Conflict, InvalidInput, NotFound
from .tariff import COST_LIMIT, PriceLine, Pricing, over_limit, price, total_seconds

TO_ACCOUNT, ACCOUNTED = "to_account", "accounted"
STATUSES = (TO_ACCOUNT, ACCOUNTED)
ADJUST_FIELDS = ("extra_minutes", "notes")


# ---------------------------------------------------------------- views


def priced(session: Session, contract: Contract | None) -> Pricing | None:
    """The price of a session: frozen when accounted, else by the current contract (None: no contract)."""
    if session.status == ACCOUNTED:
        return frozen_pricing(session)
    if contract is None:
        return None
    return price(contract.tariff, session.connection_seconds, session.extra_minutes, session.started_at)


# ---------------------------------------------------------------- the explanation of a price (§10)


def frozen_pricing(session: Session) -> Pricing:
    """An accounted session's price as its lock froze it, explanation included."""
    if session.pricing is None:  # locked before prices were explained: the frozen figures say it
        cost = "" if session.cost is None else f": {fields.money_text(session.cost)}"
        values = {"minutes": session.billed_minutes}
        if session.cost is not None:
            values["amount"] = fields.money_text(session.cost)
        lines = (PriceLine(f"accounted {session.billed_minutes} min{cost}", session.cost, session.billed_minutes, "accounted", values),)
        multiplier = Fraction(1)
    else:
        explained = json.loads(session.pricing)
        lines = tuple(PriceLine.from_view(line) for line in explained["lines"])
        multiplier = Fraction(Decimal(explained["multiplier"]))
    return Pricing(session.total_seconds, session.billed_minutes, session.cost, multiplier, lines)


def frozen_explanation(pricing: Pricing, more_lines=()) -> dict:
    """What a lock stores so the session answers its explanation unchanged forever (`more_lines`:
    what the lock itself adds, e.g. the overage)."""
    # one attribute: every SET of a lock-all's 97 updates costs (moto parses each one)
    return {"pricing": jsonio.dumps({
        "multiplier": pricing.multiplier_text,
        "lines": [line.view() for line in (*pricing.lines, *more_lines)],
    })}


def session_view(session: Session, contract: Contract | None) -> dict:
    pricing = priced(session, contract)
    accounted = session.status == ACCOUNTED
    if accounted:
        currency, profile_id, profile_version = session.currency, session.profile_id, session.profile_version
    elif contract is not None:
        currency, profile_id, profile_version = contract.tariff.currency, contract.profile_id, contract.profile_version
    else:
        currency = profile_id = profile_version = None
    view = {
        "session_id": session.session_id,
        "group_id": session.group_id,
        "technician": session.technician,
        "computer_id": session.computer_id,
        "started_at": fields.utc_text(session.started_at),
        "ended_at": fields.utc_text(session.ended_at),
        "connection_seconds": session.connection_seconds,
        "extra_minutes": session.extra_minutes,
        "total_seconds": pricing.total_seconds if pricing else total_seconds(session.connection_seconds, session.extra_minutes),
        "billed_minutes": pricing.billed_minutes if pricing else None,
        "cost": fields.money_text(pricing.cost) if pricing else None,
        "currency": currency,
        "status": session.status,
        "notes": session.notes,
        "locked_at": fields.utc_text(session.locked_at) if session.locked_at else None,
        "profile_id": profile_id,
        "profile_version": profile_version,
        **({"pricing": pricing.explanation(profile_id, profile_version)} if pricing else {}),
    }
    if accounted and session.covered_minutes is not None:
        view["covered_minutes"] = session.covered_minutes
        view["overage_minutes"] = session.overage_minutes
    return view


# ---------------------------------------------------------------- reads


def read_session(tenant_id: str, session_id: str) -> Session:
    session = dal_sessions.read(tenant_id, session_id)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    return session


def get_session(tenant_id: str, session_id: str) -> dict:
    session = read_session(tenant_id, session_id)
    contract = None if session.status == ACCOUNTED else current_contract(tenant_id, session.group_id)
    return session_view(session, contract)


# ---------------------------------------------------------------- adjust


def parse_adjustment(values: dict) -> dict:
    if not values:
        raise InvalidInput("body", "give extra_minutes, notes or both")
    wanted = {}
    if "extra_minutes" in values:
        wanted["extra_minutes"] = fields.extra_minutes("extra_minutes", values["extra_minutes"])
    if "notes" in values:
        wanted["notes"] = fields.notes("notes", values["notes"])
    return wanted


def adjust_session(tenant_id: str, session_id: str, values: dict, actor: str | None = None) -> dict:
    """Extra minutes and notes, with a history entry, on a session that is still to account. Extra
    minutes that would price it above the money limit are refused (400), nothing changed."""
    from .dal import periods as dal_periods  # the calendar: of adjustments only, not of the reads of sessions
    from .periods import calendar_from

    wanted = parse_adjustment(values)
    backoff = store.Backoff("the adjustment")
    while True:
        session = read_session(tenant_id, session_id)
        if session.status == ACCOUNTED:
            raise Conflict(f"session {session_id} is accounted and can no longer change", "session_accounted")
        contract, calendar = dal_periods.contract_and_calendar(tenant_id, session.group_id)
        if contract is not None and "extra_minutes" in wanted:
            cost = price(contract.tariff, session.connection_seconds, wanted["extra_minutes"], session.started_at).cost
            if over_limit(cost):
                raise InvalidInput("extra_minutes", f"would price session {session_id} at {fields.money_text(cost)}, "
                                                    f"above the limit of {COST_LIMIT}")
        changes = {
            name: history.change(getattr(session, name), value)
            for name, value in wanted.items()
            if getattr(session, name) != value
        }
        if not changes:
            return session_view(session, contract)
        months = calendar_from(calendar).refuse_closed([session.started_at], f"adjusting session {session_id}")
        try:
            dal_sessions.adjust_session(tenant_id, session, wanted, history.entry(session.PK, actor, history.ADJUSTED, changes), months)
        except LostRace:
            backoff.wait()  # locked, adjusted or its month closed meanwhile: look again
            continue
        return session_view(session, contract)


def session_history(tenant_id: str, session_id: str) -> dict:
    """One Query: the session's entries and the session itself (whose lock is its last entry)."""
    entries, subjects = history.read(dal_sessions.partition(tenant_id, session_id))
    session = next((item for item in subjects if isinstance(item, Session)), None)
    if session is None:
        raise NotFound(f"session {session_id} not found")
    if session.status == ACCOUNTED:
        entries.append(history.view(session.locked_at, session.locked_by, history.LOCKED, lock_changes(session)))
    return {"session_id": session_id, "history": entries}


def lock_changes(session: Session) -> dict:
    """What a session's lock changed: its history entry, read from the session while it is locked
    (a lock writes no entry of its own); an unlock keeps it as an entry before undoing it."""
    return {
        "status": history.change(TO_ACCOUNT, ACCOUNTED),
        "total_seconds": history.change(None, session.total_seconds),
        "billed_minutes": history.change(None, session.billed_minutes),
        "cost": history.change(None, fields.money_text(session.cost)),
        "profile_id": history.change(None, session.profile_id),
        "profile_version": history.change(None, session.profile_version),
    }
