"""Scheduled pulls from AnyDesk, end to end: an admin stores a connection with the license id and
API password, the pull function (as its schedule invokes it) reads `GET /sessions` of a fake of
AnyDesk's REST API that checks each request's signature and pages as the API may (fewer sessions
than asked), records them and keeps its cursor; a 429 and an outage lose no session already taken,
keep the cursor, and never hold up another tenant's pull."""
import json

import pytest

from billing_local.gateway import function_handler, invoke_function
from imports_.fake_vendor import FakeAnyDesk, anydesk_session

from .conftest import create_group, create_profile

MARCH_2 = 1772442000  # 2026-03-02T09:00:00Z
ACME_LICENSE, RIVAL_LICENSE = "1438129266231705", "8842001937461120"


@pytest.fixture
def vendor(monkeypatch):
    fake = FakeAnyDesk({
        ACME_LICENSE: ("UYETICGU2CT3KES", [anydesk_session(5039827600 + n, MARCH_2 + 3600 * n, 20 + n) for n in range(5)]),
        RIVAL_LICENSE: ("RIVAL-API-PASSWORD", [anydesk_session(7000000000 + n, MARCH_2 + 600 * n, 15, technician="rita",
                                                               computer="till-1") for n in range(3)]),
    })
    monkeypatch.setenv("IMPORT_VENDOR_URLS", json.dumps({"anydesk": fake.url}))
    yield fake
    fake.stop()


def connect(tenant, license_id=ACME_LICENSE, password="UYETICGU2CT3KES", group_id="acme"):
    return tenant.admin.put("/v1/imports/connections/anydesk-main", {
        "source": "anydesk", "credentials": {"license_id": license_id, "api_password": password}, "group_id": group_id})


def scheduled_run(tenant) -> dict:
    event = {"tenant_id": tenant.tenant_id, "connection_id": "anydesk-main"}
    return invoke_function("ImportPullFunction", function_handler("ImportPullFunction"), event)


def requests_of(vendor, license_id: str) -> list[dict]:
    return [r for r in vendor.requests if (r["authorization"] or "").startswith(f"AD {license_id}:")]


def test_a_run_reads_every_page_and_the_next_goes_on_from_its_cursor(msp, acme, vendor):
    assert connect(msp)[0] == 200
    run = scheduled_run(msp)
    assert (run["status"], run["imported"], run["pages"]) == ("done", 5, 4)  # 2 + 2 + 1, then an empty page
    assert [r["query"]["offset"] for r in vendor.requests] == ["0", "2", "4", "5"]
    assert {r["query"]["limit"] for r in vendor.requests} == {"1000"}  # asked for 1,000: the API answered 2 a page
    session = msp.admin.get("/v1/sessions/anydesk:5039827603")[1]
    assert (session["group_id"], session["computer_id"], session["technician"]) == ("acme", "pc-1", "ann@acme-msp")
    assert session["started_at"] == "2026-03-02T12:00:00Z" and session["ended_at"] == "2026-03-02T12:23:00Z"
    vendor.accounts[ACME_LICENSE][1].append(anydesk_session(5039827699, MARCH_2 + 86400, 30))
    again = scheduled_run(msp)
    assert (again["status"], again["imported"]) == ("done", 1)
    assert vendor.requests[-1]["query"]["from"] == str(MARCH_2 + 4 * 3600 - 86400)  # the latest start less a day
    assert msp.admin.get("/v1/imports/connections")[1]["connections"][0]["last_run"]["imported"] == 1


def test_a_wrong_api_password_is_refused_by_the_signature_check(msp, acme, vendor):
    assert connect(msp, password="not-the-password")[0] == 200
    run = scheduled_run(msp)
    assert (run["status"], run["imported"]) == ("credentials_refused", 0)


def test_a_429_keeps_the_sessions_taken_and_the_cursor_and_the_next_run_goes_on(msp, acme, vendor):
    assert connect(msp)[0] == 200
    vendor.scripts[ACME_LICENSE] = [(200, {}, json.dumps(vendor.page(ACME_LICENSE, {}))), (429, {"Retry-After": "3600"}, "{}")]
    run = scheduled_run(msp)
    assert (run["status"], run["imported"]) == ("rate_limited", 2)
    assert msp.admin.get("/v1/sessions/anydesk:5039827601")[0] == 200
    resumed = scheduled_run(msp)
    assert (resumed["status"], resumed["imported"], resumed["duplicates"]) == ("done", 3, 0)
    assert requests_of(vendor, ACME_LICENSE)[2]["query"]["offset"] == "2"  # from the saved cursor, not from the start


def test_an_outage_keeps_what_was_taken_and_never_holds_up_another_tenant(msp, other_msp, acme, vendor):
    create_group(other_msp, "shop", create_profile(other_msp, profile_id="standard")["profile_id"])
    assert connect(msp)[0] == 200
    assert connect(other_msp, RIVAL_LICENSE, "RIVAL-API-PASSWORD", group_id="shop")[0] == 200
    down = (503, {}, "<html>maintenance</html>")
    vendor.scripts[ACME_LICENSE] = [(200, {}, json.dumps(vendor.page(ACME_LICENSE, {}))), down, down, down]
    stopped = scheduled_run(msp)
    assert (stopped["status"], stopped["imported"]) == ("vendor_error", 2)
    assert "503" in stopped["reason"]
    other = scheduled_run(other_msp)  # its own schedule, its own run: Acme's outage is not its concern
    assert (other["status"], other["imported"]) == ("done", 3)
    assert other_msp.admin.get("/v1/sessions/anydesk:7000000002")[1]["group_id"] == "shop"
    assert msp.admin.get("/v1/sessions/anydesk:7000000002")[0] == 404  # each tenant's sessions are its own
    listed = msp.admin.get("/v1/imports/connections")[1]["connections"][0]["last_run"]
    assert (listed["status"], listed["imported"]) == ("vendor_error", 2)
    resumed = scheduled_run(msp)
    assert (resumed["status"], resumed["imported"], resumed["duplicates"]) == ("done", 3, 0)
