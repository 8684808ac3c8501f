"""The worked invoice cases (tests/golden_invoices.json) through the pure domain: lines, exact
money (half-up per line, tax once on the invoice) and numbering."""
import json
from decimal import Decimal
from pathlib import Path

import pytest

from billing_core import invoicing
from billing_core.errors import InvalidInput

CASES = json.loads((Path(__file__).resolve().parents[1] / "golden_invoices.json").read_text())
LINE_CASES = [case for case in CASES if "events" in case]
NUMBER_CASES = [case for case in CASES if "expect_numbers" in case]


def billing_of(case) -> invoicing.Billing:
    values = case["billing"]
    return invoicing.Billing(tax_rate=invoicing.tax_rate("tax_rate", values.get("tax_rate", "0.00")),
                             locale=values.get("locale", "en"), detail=values.get("detail", "sessions"))


def events_of(case) -> list[invoicing.Event]:
    return [invoicing.Event(e["kind"], e["ref"], Decimal(e["unit_amount"]), int(e.get("quantity", 1)))
            for e in case["events"]]


@pytest.mark.parametrize("case", LINE_CASES, ids=[c["name"] for c in LINE_CASES])
def test_golden_lines_and_totals(case):
    billing = billing_of(case)
    lines = invoicing.build_lines(events_of(case), billing)
    got = [{k: line.view()[k] for k in ("kind", "ref", "quantity", "unit_amount", "amount")} for line in lines]
    assert got == case["expect"]["lines"]
    totals = invoicing.totals(lines, billing.tax_rate)
    assert (str(totals.subtotal), str(totals.tax), str(totals.total)) == (
        case["expect"]["subtotal"], case["expect"]["tax"], case["expect"]["total"])


@pytest.mark.parametrize("case", NUMBER_CASES, ids=[c["name"] for c in NUMBER_CASES])
def test_golden_numbers(case):
    settings = case["settings"]
    numbers = [invoicing.number_text(settings["prefix"], settings["next_number"] + n, settings["digits"])
               for n in range(case["issue_count"])]
    assert numbers == case["expect_numbers"]


def test_descriptions_are_in_the_clients_language():
    event = invoicing.Event("covered", "s5", Decimal("0.00"), minutes=45, balance_left=555)
    assert invoicing.describe(event, "fr") == "Session s5 couverte par l'abonnement : 45 min utilisées, 555 min restantes"
    assert "45 Min. genutzt" in invoicing.describe(event, "de")
    assert invoicing.money_in("fr", Decimal("1234.50")) == "1\u202f234,50"
    assert invoicing.money_in("de", Decimal("1234.50")) == "1.234,50"


def test_a_credit_note_negates_every_line_and_its_totals():
    lines = invoicing.build_lines(events_of(LINE_CASES[0]), billing_of(LINE_CASES[0]))
    credit = invoicing.credit_lines(lines)
    totals = invoicing.totals(credit, Decimal("20.00"))
    assert (str(totals.subtotal), str(totals.tax), str(totals.total)) == ("-57.35", "-11.47", "-68.82")


@pytest.mark.parametrize("value, reason", [("100.01", "from 0 to 100"), ("-1", "from 0 to 100"),
                                           ("20.005", "2 decimal places"), ("abc", "decimal number"), ("1e1", "plain digits")])
def test_a_bad_tax_rate_names_the_field(value, reason):
    with pytest.raises(InvalidInput) as refused:
        invoicing.tax_rate("billing.tax_rate", value)
    assert refused.value.field == "billing.tax_rate" and reason in refused.value.reason


@pytest.mark.parametrize("value", ["2026-13", "2026-1", "26-10", "2026-10-01", 202610, None])
def test_a_month_not_yyyy_mm_is_refused(value):
    with pytest.raises(InvalidInput) as refused:
        invoicing.parse_month(value)
    assert refused.value.field == "month"


@pytest.mark.parametrize("id_length, locale, kind", [(8, "en", invoicing.SESSION), (128, "fr", invoicing.SESSION),
                                                      (128, "it", invoicing.COVERED)])
def test_a_months_events_are_split_only_where_an_invoice_item_would_pass_400_kb(id_length, locale, kind):
    """Each invoice item keeps its lines and events as JSON, under DynamoDB's 400 KB item limit:
    a run splits a client's month by their weight, whatever the length of their ids."""
    from datetime import date

    from billing_core.invoice_runs import _chunks

    events = [invoicing.Event(kind, f"{n:0{id_length}d}", Decimal("99999.99"), 1, date(2026, 3, 31), minutes=600,
                              balance_left=-99999, sources=((f"S#{n:0{id_length}d}", "2026-03-31T23:59:59.999999Z", "2026-03"),))
              for n in range(3000)]
    chunks = _chunks(events)
    assert sum(len(chunk) for chunk in chunks) == 3000
    for chunk in chunks:
        lines = json.dumps([line.view() for line in invoicing.build_lines(chunk, invoicing.Billing(locale=locale))])
        sources = json.dumps(sorted({s for event in chunk for s in event.sources}))
        assert len(lines.encode()) + len(sources.encode()) < 380_000
    if id_length == 8:
        assert len(chunks) == 3 and len(chunks[0]) >= 900  # about 1,000 events an invoice with short ids
