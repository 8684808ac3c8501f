"""Data access of invoicing: the tenant's invoice settings and number counters, clients' billing
details, invoices and credit notes, the marks that make each billable event invoiced once, and
closed periods. The only module that knows their keys, conditions and transactions.

Keys (all tenant-owned, T#<tenant>...):
  invoice settings   T#<t>#INVOICING            SETTINGS        (prefix, digits, the two counters, issuer, closed months)
  client billing     T#<t>#G#<group>#BILLING    BILLING
  invoice            T#<t>#INV#<yyyy-mm>        <invoice_id>    (drafts, issued invoices, credit notes of a month)
  marks page         T#<t>#G#<group>#INVOICED   P#<yyyy-mm>     (the client's events of that UTC month)
  period             T#<t>#PERIODS              <yyyy-mm>       (+ its audit entries HISTORY#...)
An event's mark (S#<session> or L#<ledger entry>: issued to an invoice, released by a void, or
unlocked with the lock it undid) lives in its client's page of the event's UTC month
(billing_core.dal.marks), which the issue, the void and the unlock rewrite over exactly the
version they read: an event on two issued invoices is impossible, however many events an
invoice holds (an invoice spans two or three pages, whatever its events).
"""
import json
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute, UTCDateTimeAttribute

from .. import jsonio
from . import models, store
from .models import BillingItem, Contract, DecimalAttribute, Group, LedgerEntry, Session, keys

ISSUED, RELEASED, UNLOCKED = "issued", "released", "unlocked"


def settings_key(tenant_id: str) -> tuple[str, str]:
    return f"T#{tenant_id}#INVOICING", "SETTINGS"


def billing_key(tenant_id: str, group_id: str) -> tuple[str, str]:
    return f"{keys.group(tenant_id, group_id)}#BILLING", "BILLING"


def invoices_of(tenant_id: str, month: str) -> str:
    return f"T#{tenant_id}#INV#{month}"


def marks_of(tenant_id: str, group_id: str) -> str:
    return f"{keys.group(tenant_id, group_id)}#INVOICED"


def periods_of(tenant_id: str) -> str:
    return f"T#{tenant_id}#PERIODS"


class InvoiceSettings(BillingItem, discriminator="invoice_settings"):
    values = UnicodeAttribute()  # JSON: prefix, digits, credit_prefix, time_zone, issuer
    next_number = NumberAttribute(default=1)
    last_issued = NumberAttribute(null=True)
    credit_next_number = NumberAttribute(default=1)
    closed_months = UnicodeSetAttribute(null=True)  # the calendar every dated write reads (dal.periods)


class ClientBilling(BillingItem, discriminator="client_billing"):
    group_id = UnicodeAttribute()
    values = UnicodeAttribute()  # JSON of invoicing.Billing.view()


class Invoice(BillingItem, discriminator="invoice"):
    invoice_id = UnicodeAttribute()
    status = UnicodeAttribute()  # draft | issued | void | replaced (a draft a later run replaced)
    number = UnicodeAttribute(null=True)
    group_id = UnicodeAttribute()
    currency = UnicodeAttribute()
    period = UnicodeAttribute()
    run_id = UnicodeAttribute(null=True)
    issued_at = UTCDateTimeAttribute(null=True)
    due_date = UnicodeAttribute(null=True)
    tax_rate = DecimalAttribute()
    subtotal = DecimalAttribute()
    tax = DecimalAttribute()
    total = DecimalAttribute()
    lines = UnicodeAttribute()  # JSON list of lines as answered
    sources = UnicodeAttribute()  # JSON [[mark sort key, the lock it was built on or null], ...]
    billing = UnicodeAttribute()  # JSON: the client's billing details when built (and frozen at issue)
    issuer = UnicodeAttribute(null=True)  # JSON: the issuer, frozen at issue
    credit_note_of = UnicodeAttribute(null=True)
    credited_by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)
    issued_by = UnicodeAttribute(null=True)  # who issued it (billing_core.actors text); a credit note: who voided
    voided_by = UnicodeAttribute(null=True)


class MarkPage(BillingItem, discriminator="mark_page"):
    marks = UnicodeAttribute()  # JSON {source: [status, invoice_id, lock_at]} (billing_core.dal.marks)
    version = NumberAttribute()


class Period(BillingItem, discriminator="period"):
    month = UnicodeAttribute()
    closed = NumberAttribute(default=0)
    changed_at = UTCDateTimeAttribute()
    changed_by = UnicodeAttribute(null=True)


INVOICE_TYPES = [InvoiceSettings, ClientBilling, Invoice, MarkPage, Period]


# The table's item types, these included, share one binding and one connection (models.bind); a
# process that bound the others before importing this module binds again, these included.
if any(model not in models.ITEM_TYPES for model in INVOICE_TYPES):
    models.ITEM_TYPES.extend(model for model in INVOICE_TYPES if model not in models.ITEM_TYPES)
    models.reset()


# ------------------------------------------------------------------ reads

def read_settings(tenant_id: str) -> InvoiceSettings | None:
    return store.get(InvoiceSettings, *settings_key(tenant_id))


def read_billings(tenant_id: str, group_ids) -> dict[str, dict]:
    found = store.batch_get(billing_key(tenant_id, g) for g in group_ids)
    return {item.group_id: jsonio.parse_object(item.values, "billing") for item in found.values()}


def read_client(tenant_id: str, group_id: str) -> tuple[Group | None, Contract | None, dict | None]:
    """A group, its current contract and its billing details: one BatchGetItem."""
    group_key, billing = (keys.group(tenant_id, group_id), "GROUP"), billing_key(tenant_id, group_id)
    found = store.batch_get([group_key, (group_key[0], "CONTRACT"), billing])
    details = found.get(billing)
    return (found.get(group_key), found.get((group_key[0], "CONTRACT")),
            jsonio.parse_object(details.values, "billing") if details else None)


def closed_contracts(tenant_id: str, group_id: str) -> list[Contract]:
    return list(store.query(Contract, keys.closed_contracts(tenant_id, group_id), consistent_read=True))


def group_ids(tenant_id: str) -> list[str]:
    return sorted(group.group_id for group in store.query(Group, keys.groups(tenant_id), index="gsi1"))


def sessions_started(tenant_id: str, group_id: str, low: str, high: str) -> list[Session]:
    """A group's sessions started in [low, high) (sortable UTC texts), oldest first (GSI1)."""
    return [s for s in store.query(Session, keys.sessions_of(tenant_id, group_id), index="gsi1",
                                   range_key_condition=Session.GSI1SK.between(low, high)) if s.GSI1SK < high]


def assignment_at(tenant_id: str, group_id: str, at) -> dict | None:
    """The changes of the group's contract assignment made at `at` (its audit entry), if any."""
    from ..fields import sortable_utc
    from .models import HistoryEntry

    prefix = f"HISTORY#{sortable_utc(at)}"
    for item in store.query(HistoryEntry, keys.group(tenant_id, group_id), range_key_condition=HistoryEntry.SK.startswith(prefix),
                            consistent_read=True):
        if item.action == "contract_assigned":
            return json.loads(item.changes)
    return None


def ledger_entries(tenant_id: str, group_id: str, contract_id: str) -> list[LedgerEntry]:
    return list(store.query(LedgerEntry, keys.ledger(tenant_id, group_id, contract_id), consistent_read=True))


def month_invoices(tenant_id: str, month: str) -> list[Invoice]:
    return list(store.query(Invoice, invoices_of(tenant_id, month), consistent_read=True))


def invoice(tenant_id: str, month: str, invoice_id: str) -> Invoice | None:
    return store.get(Invoice, invoices_of(tenant_id, month), invoice_id)


def invoice_and_settings(tenant_id: str, month: str, invoice_id: str) -> tuple[Invoice | None, InvoiceSettings | None]:
    """The invoice and the tenant's counters: one BatchGetItem (the issue's one read)."""
    wanted = (invoices_of(tenant_id, month), invoice_id)
    found = store.batch_get([wanted, settings_key(tenant_id)])
    return found.get(wanted), found.get(settings_key(tenant_id))


def periods(tenant_id: str, months) -> dict[str, Period]:
    found = store.batch_get((periods_of(tenant_id), m) for m in months)
    return {item.month: item for item in found.values()}


def new_invoice(tenant_id: str, month: str, invoice_id: str, **values) -> Invoice:
    return Invoice(invoices_of(tenant_id, month), invoice_id, invoice_id=invoice_id, period=month, **values)


# ------------------------------------------------------------------ writes

def save_settings(tenant_id: str, values: dict, next_number: int | None, credit_next_number: int | None) -> bool:
    """Replaces the settings; a next number is taken only above the last number issued (the
    condition is checked with the write: a concurrent issue cannot slip under it). False: it was not."""
    item = InvoiceSettings(*settings_key(tenant_id))
    actions = [InvoiceSettings.kind.set(InvoiceSettings), InvoiceSettings.values.set(jsonio.dumps(values))]
    condition = None
    if next_number is not None:
        actions.append(InvoiceSettings.next_number.set(next_number))
        condition = InvoiceSettings.last_issued.does_not_exist() | (InvoiceSettings.last_issued < next_number)
    if credit_next_number is not None:
        actions.append(InvoiceSettings.credit_next_number.set(credit_next_number))
    try:
        store.transact(lambda t: t.update(item, actions=actions, condition=condition), "the invoice settings")
    except store.ConditionFailed:
        return False
    return True


def save_billing(tenant_id: str, group_id: str, values: dict) -> None:
    item = ClientBilling(*billing_key(tenant_id, group_id), group_id=group_id, values=jsonio.dumps(values))
    store.transact(lambda t: t.save(item), "the billing details")


class DraftsChanged(Exception):
    """Another run replaced or issued the drafts read meanwhile (or a job's step moved on)."""


def replace_drafts(old: list[Invoice], new: list[Invoice], also=None) -> None:
    """A run's drafts of one client: the previous drafts marked replaced (only if still drafts),
    the new ones saved, in one transaction (with `also`'s actions: a job's step)."""
    def fill(transaction):
        for draft in old:
            transaction.update(draft, actions=[Invoice.status.set("replaced")], condition=Invoice.status == "draft")
        for invoice_item in new:
            transaction.save(invoice_item, condition=Invoice.PK.does_not_exist())
        if also is not None:
            also(transaction)

    try:
        store.transact(fill, "the invoice run")
    except store.ConditionFailed:
        raise DraftsChanged() from None


class NumberTaken(Exception):
    """Another issue took the number read: read the counter again."""


class StateChanged(Exception):
    """The invoice is no longer in the state read."""


class EventInvoiced(Exception):
    """An event of the invoice is on an issued invoice already (or changed since the draft)."""

    def __init__(self, source: str):
        super().__init__(source)
        self.source = source


def _counter(transaction, settings: InvoiceSettings, tenant_id: str, credit: bool) -> None:
    """The counter's update: its number + 1, conditioned on it being the number read (1 when the
    settings or the counter were never written)."""
    counter = InvoiceSettings.credit_next_number if credit else InvoiceSettings.next_number
    current = (settings.credit_next_number if credit else settings.next_number) if settings else 1
    actions = [counter.set(current + 1)]
    if not credit:
        actions.append(InvoiceSettings.last_issued.set(current))
    if settings is None:
        item, condition = InvoiceSettings(*settings_key(tenant_id)), InvoiceSettings.PK.does_not_exist()
        actions += [InvoiceSettings.kind.set(InvoiceSettings), InvoiceSettings.values.set("{}")]
    else:
        item, condition = settings, counter == current
        if current == 1:
            condition = condition | counter.does_not_exist()
    transaction.update(item, actions=actions, condition=condition)


@dataclass(frozen=True)
class Issued:
    """What issuing freezes on the invoice."""

    number: str
    issued_at: datetime
    due_date: str
    issuer: str  # JSON
    by: str | None = None  # who issues it (billing_core.actors text)


class TooManyMarks(Exception):
    """A page of the client's marks would pass the item limit (billing_core.dal.marks)."""

    def __init__(self, page: str):
        super().__init__(page)
        self.page = page


def _sources(invoice: Invoice) -> list[tuple[str, str | None, str]]:
    """The invoice's events: (source, the lock it was built on or None, page)."""
    return [tuple(source) for source in json.loads(invoice.sources)]


def _run(fill, what: str) -> None:
    """The issue's or void's transaction: the counter first, the invoice second, then the pages."""
    from . import marks

    try:
        store.transact(fill, what)
    except marks.PageFull as full:
        raise TooManyMarks(full.page) from None
    except store.ConditionFailed as error:
        if error.failed(0):
            raise NumberTaken() from None
        raise StateChanged() from None  # the invoice, or a page of its marks, changed: read again


def issue(tenant_id: str, settings: InvoiceSettings | None, draft: Invoice, issued: Issued, claim=None, answer=None) -> None:
    """Reads the pages of the draft's events (one BatchGetItem); `EventInvoiced` when one is held
    by an issued invoice, or its lock was undone since the draft. Then one transaction: the
    counter's number (conditioned on being the one read), the invoice frozen (conditioned on still
    being a draft), every event marked issued on its page (each page conditioned on the version
    read), the answer kept for the Idempotency-Key."""
    from . import marks

    sources = _sources(draft)
    pages = marks.read(tenant_id, draft.group_id, {page for _, _, page in sources})
    for source, lock_at, page in sources:
        if not pages.is_free(page, source, lock_at):
            raise EventInvoiced(source)
        pages.set(page, source, ISSUED, draft.invoice_id)
    actions = [Invoice.status.set(ISSUED), Invoice.number.set(issued.number), Invoice.issued_at.set(issued.issued_at),
               Invoice.due_date.set(issued.due_date), Invoice.issuer.set(issued.issuer)]
    if issued.by:
        actions.append(Invoice.issued_by.set(issued.by))

    def fill(transaction):
        _counter(transaction, settings, tenant_id, credit=False)
        transaction.update(draft, actions=actions, condition=Invoice.status == "draft")
        pages.add_writes(transaction)
        if claim:
            claim.save(transaction, answer)

    _run(fill, "the issue")


def void(tenant_id: str, settings: InvoiceSettings | None, issued: Invoice, credit: Invoice, claim=None, answer=None) -> None:
    """Reads the pages of the invoice's events, then one transaction: the credit note's number,
    the invoice voided (only if still issued), the credit note saved, every mark the invoice
    holds released (each page conditioned on the version read). Who voids it is the credit note's
    `issued_by`, kept on the invoice as `voided_by`."""
    from . import marks

    sources = _sources(issued)
    pages = marks.read(tenant_id, issued.group_id, {page for _, _, page in sources})
    for source, _, page in sources:
        if pages.holder(page, source) == issued.invoice_id:
            pages.set(page, source, RELEASED, issued.invoice_id)

    def fill(transaction):
        _counter(transaction, settings, tenant_id, credit=True)
        voided = [Invoice.status.set("void"), Invoice.credited_by.set(credit.invoice_id)]
        if credit.issued_by:
            voided.append(Invoice.voided_by.set(credit.issued_by))
        transaction.update(issued, actions=voided, condition=Invoice.status == ISSUED)
        transaction.save(credit, condition=Invoice.PK.does_not_exist())
        pages.add_writes(transaction)
        if claim:
            claim.save(transaction, answer)

    _run(fill, "the void")
