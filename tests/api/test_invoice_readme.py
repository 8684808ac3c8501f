"""The README's worked month of invoicing, request for request: its block states the sessions,
the lines, the totals and the number, and the API must answer exactly those."""
import json
import re
from datetime import timedelta
from pathlib import Path

from .conftest import T0, record
from .test_invoices import BILLING, ISSUER

README = Path(__file__).resolve().parents[2] / "README.md"


def worked_month() -> dict:
    found = re.search(r"<!-- invoicing:month -->\s*```json\n(.*?)```\s*<!-- invoicing:end -->", README.read_text(), re.S)
    assert found, "README.md has no worked invoicing month"
    return json.loads(found.group(1))


def test_the_readme_worked_month_is_what_the_api_answers(msp, acme):
    month = worked_month()
    assert msp.admin.put("/v1/settings/invoicing", {"prefix": "INV-", "next_number": 41, "digits": 5,
                                                     "time_zone": "Europe/Paris", "issuer": ISSUER})[0] == 200
    assert msp.admin.put("/v1/groups/acme", {"name": "Boulangerie", "billing": BILLING})[0] == 200
    for n, minutes in enumerate(month["session_minutes"]):
        record(msp, f"s{n + 1}", 60 * minutes, start=T0 + timedelta(days=n))
        assert msp.technician.post(f"/v1/sessions/s{n + 1}/lock")[0] == 200
    status, run = msp.finance.post("/v1/invoice-runs", {"month": month["month"]})
    assert status == 201, run
    (draft,) = run["invoices"]
    status, issued = msp.finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")
    assert status == 200, issued
    assert [[l["description"], l["quantity"], l["unit_amount"], l["amount"]] for l in issued["lines"]] == month["lines"]
    assert (issued["number"], issued["subtotal"], issued["tax"], issued["total"]) == (
        month["number"], month["subtotal"], month["tax"], month["total"])
