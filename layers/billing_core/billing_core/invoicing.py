"""Invoices as pure values: billable events into lines, lines into a subtotal, tax and total,
invoice numbers, and the wording of each line in the client's language. No storage here: the
operations are billing_core.invoices, the table billing_core.dal.invoices.

Money is exact: a line's amount is quantity × unit amount rounded half-up to the cent; the tax is
rounded once, on the invoice (subtotal × rate / 100, half-up); the total is subtotal + tax."""
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from . import fields
from .errors import InvalidInput

CENT = fields.CENT
ZERO = Decimal("0.00")
SESSION, SUBSCRIPTION, RECHARGE, OVERAGE, COVERED = "session", "subscription", "recharge", "overage", "covered"
KINDS = (SESSION, SUBSCRIPTION, RECHARGE, OVERAGE, COVERED)
LOCALES = ("en", "fr", "it", "de")
DETAILS = ("sessions", "summary")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_RATE_TEXT = re.compile(r"\d{1,3}(\.\d{1,2})?", re.ASCII)


@dataclass(frozen=True)
class Event:
    """One billable event: what it is (`kind`), which item it comes from (`ref`), how many units
    at what price. `minutes` and `balance_left` describe a covered session."""

    kind: str
    ref: str
    unit_amount: Decimal
    quantity: int = 1
    service_date: date | None = None
    minutes: int | None = None
    balance_left: int | None = None
    sources: tuple = ()  # the stored items the event is marked on when issued (opaque here)


@dataclass(frozen=True)
class Line:
    kind: str
    ref: str
    description: str
    quantity: int
    unit_amount: Decimal
    amount: Decimal
    service_date: date | None = None

    def view(self) -> dict:
        return {"kind": self.kind, "ref": self.ref, "description": self.description, "quantity": str(self.quantity),
                "unit_amount": fields.money_text(self.unit_amount), "amount": fields.money_text(self.amount),
                "service_date": self.service_date.isoformat() if self.service_date else None}


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Billing:
    """A client's billing details, as validated."""

    tax_rate: Decimal = ZERO
    locale: str = "en"
    detail: str = "sessions"
    payment_terms_days: int = 30
    legal_name: str | None = None
    address: str | None = None
    tax_id: str | None = None
    tax_code: str | None = None
    email: str | None = None
    extra: dict = field(default_factory=dict)

    def view(self) -> dict:
        return {"legal_name": self.legal_name, "address": self.address, "tax_id": self.tax_id, "email": self.email,
                "tax_rate": fields.money_text(self.tax_rate), "tax_code": self.tax_code,
                "payment_terms_days": self.payment_terms_days, "locale": self.locale, "detail": self.detail}


def line_amount(quantity: int, unit_amount: Decimal) -> Decimal:
    return (Decimal(quantity) * unit_amount).quantize(CENT, rounding=ROUND_HALF_UP)


def totals(lines, tax_rate: Decimal) -> Totals:
    subtotal = sum((line.amount for line in lines), ZERO)
    tax = (subtotal * tax_rate / 100).quantize(CENT, rounding=ROUND_HALF_UP) + 0
    return Totals(subtotal, tax, subtotal + tax)


def build_lines(events, billing: Billing) -> list[Line]:
    """The invoice's lines, in the events' order; with `summary` detail the sessions become one
    line after the others (subscription, recharge, overage and covered lines are kept)."""
    lines = []
    summary: list[Event] = []
    for event in events:
        if billing.detail == "summary" and event.kind == SESSION:
            summary.append(event)
            continue
        lines.append(Line(event.kind, event.ref, describe(event, billing.locale), event.quantity, event.unit_amount,
                          line_amount(event.quantity, event.unit_amount), event.service_date))
    if summary:
        amount = sum((line_amount(e.quantity, e.unit_amount) for e in summary), ZERO)
        dates = [e.service_date for e in summary if e.service_date]
        lines.append(Line(SESSION, "summary", wording(billing.locale, "summary", count=len(summary)), 1, amount, amount,
                          max(dates) if dates else None))
    return lines


def credit_lines(lines: list[Line]) -> list[Line]:
    """A credit note's lines: the invoice's, negated."""
    return [Line(line.kind, line.ref, line.description, line.quantity, -line.unit_amount, -line.amount + 0,
                 line.service_date) for line in lines]


def number_text(prefix: str, number: int, digits: int) -> str:
    """`prefix` + the number zero-padded to `digits` (a longer number keeps all its digits)."""
    return f"{prefix}{number:0{digits}d}"


def parse_month(value) -> tuple[int, int]:
    match = _MONTH.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise InvalidInput("month", "must be a month written YYYY-MM, such as \"2026-10\"")
    return int(match.group(1)), int(match.group(2))


def tax_rate(field_name: str, value) -> Decimal:
    """A percentage from 0 to 100 with at most 2 decimals."""
    rate = fields._decimal(field_name, value)
    if rate < 0 or rate > 100:
        raise InvalidInput(field_name, "must be a percentage from 0 to 100")
    if rate != rate.quantize(CENT):
        raise InvalidInput(field_name, "must have at most 2 decimal places")
    fields._plain_number(field_name, value, _RATE_TEXT, "20.00")
    return rate.quantize(CENT) + 0


def locale(field_name: str, value) -> str:
    if value not in LOCALES:
        raise InvalidInput(field_name, f"must be one of {', '.join(LOCALES)}")
    return value


# ------------------------------------------------------------------ wording per locale

WORDS = {
    "en": {
        SESSION: "Remote support session {ref}", SUBSCRIPTION: "Subscription {ref}", RECHARGE: "Balance recharge {ref}",
        OVERAGE: "Overage beyond the balance, session {ref}",
        COVERED: "Session {ref} covered by the subscription: {minutes} min used, {left} min left",
        "summary": "Remote support: {count} sessions", "invoice": "Invoice", "credit_note": "Credit note",
        "number": "Number", "issue_date": "Issue date", "due_date": "Due date", "period": "Period",
        "description": "Description", "quantity": "Qty", "unit": "Unit price", "amount": "Amount",
        "subtotal": "Subtotal", "tax": "Tax", "total": "Total", "terms": "Payment due within {days} days",
        "bill_to": "Bill to", "tax_id": "Tax ID", "draft": "DRAFT",
    },
    "fr": {
        SESSION: "Session d'assistance à distance {ref}", SUBSCRIPTION: "Abonnement {ref}",
        RECHARGE: "Recharge du solde {ref}", OVERAGE: "Dépassement du solde, session {ref}",
        COVERED: "Session {ref} couverte par l'abonnement : {minutes} min utilisées, {left} min restantes",
        "summary": "Assistance à distance : {count} sessions", "invoice": "Facture", "credit_note": "Avoir",
        "number": "Numéro", "issue_date": "Date d'émission", "due_date": "Date d'échéance", "period": "Période",
        "description": "Désignation", "quantity": "Qté", "unit": "Prix unitaire", "amount": "Montant",
        "subtotal": "Total HT", "tax": "TVA", "total": "Total TTC", "terms": "Paiement à {days} jours",
        "bill_to": "Facturé à", "tax_id": "N° TVA", "draft": "BROUILLON",
    },
    "it": {
        SESSION: "Sessione di assistenza remota {ref}", SUBSCRIPTION: "Abbonamento {ref}",
        RECHARGE: "Ricarica del saldo {ref}", OVERAGE: "Eccedenza oltre il saldo, sessione {ref}",
        COVERED: "Sessione {ref} coperta dall'abbonamento: {minutes} min usati, {left} min rimanenti",
        "summary": "Assistenza remota: {count} sessioni", "invoice": "Fattura", "credit_note": "Nota di credito",
        "number": "Numero", "issue_date": "Data di emissione", "due_date": "Scadenza", "period": "Periodo",
        "description": "Descrizione", "quantity": "Qtà", "unit": "Prezzo unitario", "amount": "Importo",
        "subtotal": "Imponibile", "tax": "IVA", "total": "Totale", "terms": "Pagamento entro {days} giorni",
        "bill_to": "Intestatario", "tax_id": "P. IVA", "draft": "BOZZA",
    },
    "de": {
        SESSION: "Fernwartungssitzung {ref}", SUBSCRIPTION: "Abonnement {ref}", RECHARGE: "Aufladung des Guthabens {ref}",
        OVERAGE: "Mehrverbrauch über das Guthaben, Sitzung {ref}",
        COVERED: "Sitzung {ref} im Abonnement enthalten: {minutes} Min. genutzt, {left} Min. übrig",
        "summary": "Fernwartung: {count} Sitzungen", "invoice": "Rechnung", "credit_note": "Gutschrift",
        "number": "Nummer", "issue_date": "Rechnungsdatum", "due_date": "Fällig am", "period": "Zeitraum",
        "description": "Beschreibung", "quantity": "Menge", "unit": "Einzelpreis", "amount": "Betrag",
        "subtotal": "Zwischensumme", "tax": "USt.", "total": "Gesamtbetrag", "terms": "Zahlbar innerhalb von {days} Tagen",
        "bill_to": "Rechnungsempfänger", "tax_id": "USt-IdNr.", "draft": "ENTWURF",
    },
}


def wording(locale_name: str, key: str, **values) -> str:
    return WORDS.get(locale_name, WORDS["en"])[key].format(**values)


def describe(event: Event, locale_name: str) -> str:
    return wording(locale_name, event.kind, ref=event.ref, minutes=event.minutes if event.minutes is not None else 0,
                   left=event.balance_left if event.balance_left is not None else 0)


def money_in(locale_name: str, amount: Decimal) -> str:
    """An amount as the locale writes it: 1,234.50 (en), 1 234,50 (fr), 1.234,50 (it, de)."""
    text = f"{amount:,.2f}"
    if locale_name == "en":
        return text
    group = "\u202f" if locale_name == "fr" else "."
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", group)


def date_in(locale_name: str, day: date) -> str:
    return day.isoformat() if locale_name == "en" else day.strftime("%d.%m.%Y" if locale_name == "de" else "%d/%m/%Y")
