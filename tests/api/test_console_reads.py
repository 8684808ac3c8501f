"""What the console reads to say things right: the tenant's time zone in GET /v1/me (every date on
the page is written there), and whether a month is closed (GET /v1/periods/{month}) before anyone
tries to change it."""
from .conftest import assert_error, assert_invalid


def test_me_says_the_tenants_time_zone_the_invoice_settings_keep(msp):
    for role in ("admin", "technician", "finance", "agent"):
        status, me = getattr(msp, role).get("/v1/me")
        assert status == 200 and me["time_zone"] == "UTC", me  # the settings' default
    assert msp.admin.put("/v1/settings/invoicing", {"time_zone": "Europe/Paris"})[0] == 200
    status, me = msp.technician.get("/v1/me")
    assert status == 200 and me["time_zone"] == "Europe/Paris" and me["role"] == "technician"


def test_a_month_says_whether_it_is_closed(msp):
    status, period = msp.finance.get("/v1/periods/2026-10")
    assert status == 200 and period == {"month": "2026-10", "closed": False, "changed_at": None, "changed_by": None}
    assert msp.finance.post("/v1/periods/2026-10/close")[0] == 200
    status, period = msp.admin.get("/v1/periods/2026-10")
    assert status == 200 and period["closed"] is True and period["changed_at"].endswith("Z")
    assert msp.finance.get("/v1/periods/2026-11")[1]["closed"] is False  # another month
    assert msp.admin.post("/v1/periods/2026-10/reopen")[0] == 200
    assert msp.finance.get("/v1/periods/2026-10")[1]["closed"] is False
    assert_error(msp.technician.get("/v1/periods/2026-10"), 403, "forbidden")
    assert_invalid(msp.finance.get("/v1/periods/2026-13"), "month")
    assert_invalid(msp.finance.get("/v1/periods/2026-10", query="x=1"), "x")


def test_a_clients_billing_details_are_read_back(msp):
    assert msp.admin.put("/v1/groups/acme", {"name": "Acme"})[0] in (200, 201)
    status, read = msp.finance.get("/v1/groups/acme/billing")
    assert status == 200 and read["group_id"] == "acme"
    assert (read["billing"]["tax_rate"], read["billing"]["locale"], read["billing"]["detail"], read["billing"]["payment_terms_days"]) == (
        "0.00", "en", "sessions", 30)  # the defaults until set
    billing = {"tax_rate": "20.00", "locale": "fr", "detail": "summary", "payment_terms_days": 45, "legal_name": "Acme SARL",
               "address": "1 rue de la Paix\n75002 Paris", "tax_id": "FR40123456789", "email": "compta@acme.example", "country": "FR"}
    status, put = msp.admin.put("/v1/groups/acme", {"name": "Acme", "billing": billing})
    assert status == 200
    status, read = msp.admin.get("/v1/groups/acme/billing")
    assert status == 200 and read["billing"] == put["billing"] and read["billing"]["tax_rate"] == "20.00"
    assert {k: read["billing"][k] for k in billing} == billing
    assert_error(msp.admin.get("/v1/groups/nobody/billing"), 404, "not_found")
    assert_error(msp.technician.get("/v1/groups/acme/billing"), 403, "forbidden")
