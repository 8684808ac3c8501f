"""Invoices: reading them, issuing a draft under the tenant's next number, voiding an issued one
with a numbered credit note. Every change is one transaction (billing_core.dal.invoices.issue and
.void): the number, the invoice and the marks that keep each billable event on one issued invoice."""
import json
import re
import secrets
from datetime import timedelta
from decimal import Decimal

from . import actors, fields, invoice_settings, invoicing
from .dal import invoices as dal
from .dal import store
from .dal.marks import MAX_MARKS
from .errors import Conflict, InvalidInput, NotFound

_INVOICE_ID = re.compile(r"(\d{4}-(0[1-9]|1[0-2]))-[a-z0-9-]{4,40}")
DRAFT, ISSUED, VOID = "draft", "issued", "void"
PEOPLE = ("issued_by", "voided_by")  # the actors an invoice names: `{kind: user|token, id, name}`


def new_id(month: str, kind: str = "inv") -> str:
    return f"{month}-{kind}-{secrets.token_hex(6)}"


def month_of(invoice_id: str) -> str:
    """The month an invoice id was made for (its partition); an id of no month is unknown."""
    match = _INVOICE_ID.fullmatch(invoice_id)
    if not match:
        raise NotFound(f"invoice {invoice_id} not found")
    return match.group(1)


def view(item) -> dict:
    answer = {
        "invoice_id": item.invoice_id, "number": item.number, "status": item.status, "group_id": item.group_id,
        "currency": item.currency, "period": item.period, "run_id": item.run_id,
        "issued_at": fields.utc_text(item.issued_at) if item.issued_at else None, "due_date": item.due_date,
        "lines": json.loads(item.lines), "subtotal": fields.money_text(item.subtotal),
        "tax_rate": fields.money_text(item.tax_rate), "tax": fields.money_text(item.tax),
        "total": fields.money_text(item.total), "issued_by": actors.view(item.issued_by)[0],
    }
    if item.voided_by:
        answer["voided_by"] = actors.view(item.voided_by)[0]
    if item.credit_note_of:
        answer["credit_note_of"] = item.credit_note_of
    if item.credited_by:
        answer["credited_by"] = item.credited_by
    return answer


def name_tokens(tenant_id: str, invoices: list[dict]) -> list[dict]:
    """Answered invoices with each API token that issued or voided one named by its label (one
    Query of the tenant's tokens, only when a token is named: a token is relabelled freely)."""
    def labels():
        from . import tenants

        return tenants.token_labels(tenant_id)

    return actors.name_tokens(invoices, labels, PEOPLE)


def _found(tenant_id: str, invoice_id: str):
    invoice_id = fields.identifier("invoice_id", invoice_id)
    item = dal.invoice(tenant_id, month_of(invoice_id), invoice_id)
    if item is None or item.status == "replaced":
        raise NotFound(f"invoice {invoice_id} not found")
    return item


def get_invoice(tenant_id: str, invoice_id: str) -> dict:
    return view(_found(tenant_id, invoice_id))


def list_invoices(tenant_id: str, query: dict) -> dict:
    """A month's invoices and credit notes (drafts a later run replaced left out)."""
    unknown = sorted(set(query) - {"month", "status"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of this route")
    if "month" not in query:
        raise InvalidInput("month", "is required")
    month = query["month"]
    invoicing.parse_month(month)
    status = query.get("status")
    if status is not None and status not in (DRAFT, ISSUED, VOID):
        raise InvalidInput("status", "must be one of draft, issued, void")
    items = [i for i in dal.month_invoices(tenant_id, month) if i.status != "replaced" and status in (None, i.status)]
    return {"month": month, "invoices": [view(i) for i in sorted(items, key=lambda i: (i.group_id, i.currency, i.invoice_id))]}


def local_date(moment, time_zone: str):
    from zoneinfo import ZoneInfo  # on first use: zoneinfo loads sysconfig, a cold start's cost

    return moment.astimezone(ZoneInfo(time_zone)).date()


def _with_settings(tenant_id: str, invoice_id: str):
    """The invoice to change and the tenant's counters, in one read (404 for an unknown invoice)."""
    invoice_id = fields.identifier("invoice_id", invoice_id)
    item, settings_item = dal.invoice_and_settings(tenant_id, month_of(invoice_id), invoice_id)
    if item is None or item.status == "replaced":
        raise NotFound(f"invoice {invoice_id} not found")
    return item, settings_item


def issue(tenant_id: str, invoice_id: str, actor: str | None, claim=None) -> dict:
    """Issues a draft: the next number of the tenant's counter, in one transaction with the
    invoice and its events' marks. Concurrent issues each take their own number, in the order
    their transactions commit (a lost race reads the counter again)."""
    backoff = store.Backoff("the issue")
    while True:
        draft, settings_item = _with_settings(tenant_id, invoice_id)
        if draft.status != DRAFT:
            raise Conflict(f"invoice {invoice_id} is {draft.status}: only a draft can be issued", f"invoice_{draft.status}")
        settings = invoice_settings.settings_values(settings_item)
        number = invoicing.number_text(settings["prefix"], settings["next_number"], settings["digits"])
        now = fields.utc_now()
        billing = json.loads(draft.billing)
        issued_on = local_date(now, settings["time_zone"])
        due = issued_on + timedelta(days=int(billing.get("payment_terms_days") or 0))
        draft_view = view(draft)
        answer = {**draft_view, "number": number, "status": ISSUED, "issued_at": fields.utc_text(now), "due_date": due.isoformat(),
                  "issued_by": actors.view(actor)[0]}
        try:
            dal.issue(tenant_id, settings_item, draft,
                      dal.Issued(number, now, due.isoformat(), json.dumps(settings["issuer"]), actor or None), claim, answer)
            return answer
        except dal.NumberTaken:
            backoff.progressed()  # another issue took that number: the next one is ours to try
            backoff.wait()
        except dal.StateChanged:
            backoff.wait()  # read again: issued meanwhile, or the counter item was made
        except dal.TooManyMarks as full:
            raise Conflict(f"invoice {invoice_id}: client {draft.group_id} has more billable events in {full.page} (UTC) than "
                           f"one page of invoiced marks holds ({MAX_MARKS}); split the client", "too_many_events") from None
        except dal.EventInvoiced as taken:
            raise Conflict(f"invoice {invoice_id}: its event {taken.source} is on an issued invoice already, or its lock "
                           "was undone since the run; run the month again", "event_already_invoiced") from None


def void(tenant_id: str, invoice_id: str, actor: str | None, claim=None) -> dict:
    """Voids an issued invoice: a credit note under the credit prefix's next number (negative
    lines, `credit_note_of`), and its events released for the next run."""
    backoff = store.Backoff("the void")
    while True:
        issued, settings_item = _with_settings(tenant_id, invoice_id)
        month = issued.period
        if issued.credit_note_of:
            raise Conflict(f"{invoice_id} is a credit note: it cannot be voided", "credit_note")
        if issued.status != ISSUED:
            raise Conflict(f"invoice {invoice_id} is {issued.status}: only an issued invoice can be voided", f"invoice_{issued.status}")
        settings = invoice_settings.settings_values(settings_item)
        number = invoicing.number_text(settings["credit_prefix"], settings["credit_next_number"], settings["digits"])
        now = fields.utc_now()
        lines = [invoicing.Line(l["kind"], l["ref"], l["description"], int(l["quantity"]), Decimal(l["unit_amount"]),
                                Decimal(l["amount"])) for l in json.loads(issued.lines)]
        negated = invoicing.credit_lines(lines)
        views = [{**line.view(), "service_date": old["service_date"]} for line, old in zip(negated, json.loads(issued.lines))]
        credit = dal.new_invoice(
            tenant_id, month, new_id(month, "cn"), status=ISSUED, number=number, group_id=issued.group_id,
            currency=issued.currency, run_id=issued.run_id, issued_at=now, due_date=local_date(now, settings["time_zone"]).isoformat(),
            tax_rate=issued.tax_rate, subtotal=-issued.subtotal + 0, tax=-issued.tax + 0, total=-issued.total + 0,
            lines=json.dumps(views), sources="[]", billing=issued.billing, issuer=json.dumps(settings["issuer"]),
            credit_note_of=invoice_id, created_at=now, created_by=actor or None, issued_by=actor or None,
        )
        answer = {"invoice": {**view(issued), "status": VOID, "credited_by": credit.invoice_id, "voided_by": actors.view(actor)[0]},
                  "credit_note": view(credit)}
        try:
            dal.void(tenant_id, settings_item, issued, credit, claim, answer)
            return answer
        except dal.NumberTaken:
            backoff.progressed()
            backoff.wait()
        except dal.StateChanged:
            backoff.wait()


def document_inputs(tenant_id: str, invoice_id: str) -> tuple[dict, dict, dict, dict]:
    """What an invoice's document shows: the invoice, the client's billing details and group,
    the issuer (frozen at issue; a draft shows the current one)."""
    item = _found(tenant_id, invoice_id)
    issuer = json.loads(item.issuer) if item.issuer else invoice_settings.settings_values(dal.read_settings(tenant_id))["issuer"]
    group, _, _ = dal.read_client(tenant_id, item.group_id)
    client = {"group_id": item.group_id, "name": group.name if group else item.group_id}
    return view(item), json.loads(item.billing), issuer, client
