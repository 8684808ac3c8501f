"""Invoice runs: a month's billable events of each client into draft invoices, one per client
and currency (more only when a client's month holds more events than one invoice item can keep
within DynamoDB's 400 KB: about 1,000).

Billable events, each taken from where it is recorded, dated in the tenant's time zone:
- an accounted pay-per-use session (its frozen cost), dated by its start;
- an accounted subscription session: a `covered` line at 0.00 with the minutes the balance
  covered and the balance left after its lock, and an `overage` line when the lock billed some;
- a subscription's `allotment` and each `recharge` of the contract's ledger (their amounts).
An event already on an issued invoice (its mark) is left out. Re-running a month replaces the
client's drafts in one transaction with the new ones; issued invoices are never touched.

A run that is not done within its request's time goes on as a job (billing_core.jobs), one
client per step, from the client it stopped after."""
import json
import math
import secrets
import time
from datetime import datetime

from . import fields, invoice_settings, invoicing, jobs, ledger
from .deadline import settle as settle_indexes
from .dal import invoices as dal
from .dal.marks import issued_sources, page_of
from .errors import Conflict, InvalidInput, NotFound
from .invoices import new_id, view

KIND_ORDER = {kind: n for n, kind in enumerate(invoicing.KINDS)}
REQUEST_SECONDS = 20.0  # then the rest of the run is a job (API Gateway answers within 30 s)
MAX_GROUPS = 1000  # clients per run: its job state and answer (a brief per draft) stay well within 400 KB


def month_bounds(month: str, time_zone: str) -> tuple[datetime, datetime]:
    from zoneinfo import ZoneInfo  # on first use: zoneinfo loads sysconfig, a cold start's cost

    year, number = invoicing.parse_month(month)
    zone = ZoneInfo(time_zone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, end


def parse_run(values: dict) -> tuple[str, list[str] | None]:
    if "month" not in values:
        raise InvalidInput("month", "is required")
    month = values["month"]
    invoicing.parse_month(month)
    groups = values.get("groups")
    if groups is not None:
        fields.bounded_list("groups", groups, MAX_GROUPS, "a list of group ids", "groups", non_empty=True)
        groups = sorted({fields.identifier("groups[]", g) for g in groups})
    return month, groups


# ------------------------------------------------------------------ events of one client

def _session_events(session, contract, balance_left: dict, zone) -> list[invoicing.Event]:
    day = session.started_at.astimezone(zone).date()
    source = ((f"S#{session.session_id}", fields.sortable_utc(session.locked_at), page_of(session.started_at)),)
    if session.covered_minutes is None:
        return [invoicing.Event(invoicing.SESSION, session.session_id, session.cost or invoicing.ZERO, 1, day, sources=source)]
    events = []
    if session.covered_minutes:
        events.append(invoicing.Event(invoicing.COVERED, session.session_id, invoicing.ZERO, 1, day,
                                      minutes=int(session.covered_minutes), balance_left=balance_left.get(session.session_id),
                                      sources=source))
    if session.overage_minutes and session.cost:
        quantity, unit = 1, session.cost
        tariff = contract.tariff if contract is not None else None
        step_cost = getattr(tariff, "overage_step_cost", None)
        if step_cost:
            steps = math.ceil(int(session.overage_minutes) / int(tariff.step_minutes))
            if steps * step_cost == session.cost:
                quantity, unit = steps, step_cost
        events.append(invoicing.Event(invoicing.OVERAGE, session.session_id, unit, quantity, day, sources=source))
    return events


def _carried_over_renewal(tenant_id: str, group_id: str, at) -> bool:
    """A re-assignment of the same profile that carried the balance over bills no new subscription."""
    changes = dal.assignment_at(tenant_id, group_id, at) or {}
    profile = changes.get("profile_id") or {}
    return (changes.get("balance") or {}).get("after") == "carry_over" and profile.get("before") == profile.get("after")


def _ledger_events(tenant_id: str, contract, start, end, zone, balance_left: dict) -> list[tuple[str, invoicing.Event]]:
    found = []
    entries = dal.ledger_entries(tenant_id, contract.group_id, contract.contract_id)
    running = 0
    for entry in entries:  # a shared lock's entry has no running balance of its own: the previous one's plus its minutes
        running = int(entry.running_balance) if entry.running_balance is not None else running + int(entry.minutes)
        if entry.entry_kind == ledger.DEDUCTION and entry.session_id:
            balance_left[entry.session_id] = running
        if not start <= entry.at < end or entry.amount is None:
            continue
        kind = {ledger.ALLOTMENT: invoicing.SUBSCRIPTION, ledger.RECHARGE: invoicing.RECHARGE}.get(entry.entry_kind)
        if kind is None or (kind == invoicing.SUBSCRIPTION and _carried_over_renewal(tenant_id, contract.group_id, entry.at)):
            continue
        ref = contract.profile_name if kind == invoicing.SUBSCRIPTION else (entry.block_id or entry.entry_id)
        found.append((contract.tariff.currency, invoicing.Event(
            kind, ref, entry.amount, 1, entry.at.astimezone(zone).date(), sources=((f"L#{entry.entry_id}", None, page_of(entry.at)),))))
    return found


def client_events(tenant_id: str, group_id: str, contract, start, end, zone) -> dict[str, list[invoicing.Event]]:
    """The client's billable events of [start, end), by currency, not on an issued invoice."""
    contracts = [contract] if contract is not None else []
    if contract is None or contract.assigned_at >= start:
        contracts += [c for c in dal.closed_contracts(tenant_id, group_id) if c.closed_at is None or c.closed_at >= start]
    by_id = {c.contract_id: c for c in contracts}
    balance_left: dict[str, int] = {}
    found: list[tuple[str, invoicing.Event]] = []
    for item in contracts:
        if item.balance is not None and item.assigned_at < end:
            found += _ledger_events(tenant_id, item, start, end, zone, balance_left)
    low, high = fields.sortable_utc(start), fields.sortable_utc(end)
    for session in dal.sessions_started(tenant_id, group_id, low, high):
        if session.status == "accounted" and session.currency:
            found += [(session.currency, e) for e in _session_events(session, by_id.get(session.contract_id), balance_left, zone)]
    issued = issued_sources(tenant_id, group_id, {(sk, page) for _, e in found for sk, _, page in e.sources})
    by_currency: dict[str, list[invoicing.Event]] = {}
    for currency, event in found:
        if any(sk in issued for sk, _, _ in event.sources):
            continue
        by_currency.setdefault(currency, []).append(event)
    for events in by_currency.values():
        events.sort(key=lambda e: (e.service_date, KIND_ORDER[e.kind], e.ref))
    return by_currency


LINE_BYTES, SOURCE_BYTES = 250, 70  # a line's JSON besides its ref (named twice), a source's besides its key
INVOICE_BYTES = 350_000  # of lines and sources per invoice item: within DynamoDB's 400 KB with the rest


def _chunks(events: list[invoicing.Event]) -> list[list[invoicing.Event]]:
    """Events split so that no invoice item passes DynamoDB's 400 KB: each event's line and new
    sources weighed by an upper estimate of their JSON (about 1,000 events an invoice, fewer with
    long ids)."""
    chunks, current, sources, weight = [], [], set(), 0
    for event in events:
        new = {sk for sk, _, _ in event.sources} - sources
        more = LINE_BYTES + 2 * len(event.ref) + sum(SOURCE_BYTES + len(sk) for sk in new)
        if current and weight + more > INVOICE_BYTES:
            chunks.append(current)
            current, sources, weight = [], set(), 0
            new = {sk for sk, _, _ in event.sources}
            more = LINE_BYTES + 2 * len(event.ref) + sum(SOURCE_BYTES + len(sk) for sk in new)
        current.append(event)
        sources |= new
        weight += more
    return chunks + ([current] if current else [])


def drafts_of(tenant_id: str, month: str, run_id: str, group_id: str, billing_values, by_currency, actor) -> list:
    billing = invoice_settings.billing_from(billing_values)
    billing_json = json.dumps(invoice_settings.billing_view(billing))
    now = fields.utc_now()
    drafts = []
    for currency, events in sorted(by_currency.items()):
        for chunk in _chunks(events):
            lines = invoicing.build_lines(chunk, billing)
            totals = invoicing.totals(lines, billing.tax_rate)
            sources = sorted({source for event in chunk for source in event.sources})
            drafts.append(dal.new_invoice(
                tenant_id, month, new_id(month), status="draft", group_id=group_id, currency=currency, run_id=run_id,
                tax_rate=billing.tax_rate, subtotal=totals.subtotal, tax=totals.tax, total=totals.total,
                lines=json.dumps([line.view() for line in lines]), sources=json.dumps(sources), billing=billing_json,
                created_at=now, created_by=actor or None))
    return drafts


# ------------------------------------------------------------------ the run

class Run:
    """A run's position: the clients still to do and the drafts made so far (a job's state)."""

    def __init__(self, month: str, run_id: str, groups: list[str], made: list | None = None):
        self.month, self.run_id, self.groups, self.made = month, run_id, groups, made or []

    def state(self) -> dict:
        return {"month": self.month, "run_id": self.run_id, "groups": self.groups, "made": self.made}

    def answer(self, full: list | None = None) -> dict:
        return {"run_id": self.run_id, "month": self.month, "invoices": full if full is not None else self.made}


def _one_client(tenant_id: str, run: Run, group_id: str, start, end, zone, existing: list, actor, job=None) -> list:
    group, contract, billing_values = dal.read_client(tenant_id, group_id)
    if group is None:
        return []
    drafts = drafts_of(tenant_id, run.month, run.run_id, group_id, billing_values,
                       client_events(tenant_id, group_id, contract, start, end, zone), actor)
    old = [i for i in existing if i.group_id == group_id and i.status == "draft"]
    after = Run(run.month, run.run_id, run.groups[1:], run.made + [_brief(d) for d in drafts])
    try:
        dal.replace_drafts(old, drafts, also=(lambda t: jobs.advance(t, job, after.state(), len(after.made))) if job else None)
    except dal.DraftsChanged:
        if job is not None:
            raise jobs.JobMoved() from None
        raise Conflict(f"another run of {run.month} changed {group_id}'s drafts meanwhile; run it again", "run_in_progress") from None
    if job is not None:
        jobs.committed(job, after.state(), len(after.made))
    run.groups, run.made = after.groups, after.made
    return drafts


def _brief(draft) -> dict:
    return {"invoice_id": draft.invoice_id, "group_id": draft.group_id, "currency": draft.currency,
            "total": fields.money_text(draft.total)}


def _go_on(tenant_id: str, run: Run, actor, deadline: float | None, job=None) -> list | None:
    """Runs clients until done (answers the drafts made) or past `deadline` (answers None)."""
    zone_name = invoice_settings.settings(tenant_id)["time_zone"]
    start, end = month_bounds(run.month, zone_name)
    existing = dal.month_invoices(tenant_id, run.month)
    made = []
    while run.groups:
        if deadline is not None and time.monotonic() > deadline:
            return None
        drafts = _one_client(tenant_id, run, run.groups[0], start, end, start.tzinfo, existing, actor, job)
        if job is None:  # a job keeps only the drafts' briefs (its state), not the drafts
            made += drafts
    return made


def run_month(tenant_id: str, values: dict, actor: str | None) -> tuple[int, dict]:
    """POST /v1/invoice-runs: 201 with the drafts, or 202 with the job that goes on with them."""
    month, groups = parse_run(values)
    # the run reads indexes, which show a write a moment after it: it starts once they have
    # settled past this request (a session locked just before is on its invoice)
    settle_indexes(fields.utc_now(), "the indexes", reserve=REQUEST_SECONDS)
    if groups is not None:
        unknown = [g for g in groups if dal.read_client(tenant_id, g)[0] is None]
        if unknown:
            raise NotFound(f"group {unknown[0]} not found")
    if groups is None:
        groups = dal.group_ids(tenant_id)
        if len(groups) > MAX_GROUPS:  # a run's state and answer list its drafts: one item of 400 KB at most
            raise Conflict(f"the tenant has {len(groups):,} clients: run the month in parts of at most {MAX_GROUPS:,} "
                           "(`groups`)", "too_many_clients")
    run = Run(month, f"{month}-run-{secrets.token_hex(5)}", groups)
    made = _go_on(tenant_id, run, actor, time.monotonic() + REQUEST_SECONDS)
    if made is not None:
        return 201, run.answer([view(d) for d in made])
    job = jobs.create(tenant_id, jobs.INVOICE_RUN, run.state(), actor, done=len(run.made))
    jobs.start(job)
    return 202, jobs.job_view(job)


def continue_run(tenant_id: str, job, deadline: float | None) -> dict | None:
    """The job of a long run: one client per step, each step one transaction with its drafts."""
    state = json.loads(job.state)
    run = Run(state["month"], state["run_id"], state["groups"], state["made"])
    if _go_on(tenant_id, run, job.created_by, deadline, job) is None:
        return None
    return run.answer()
