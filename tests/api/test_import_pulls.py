"""Scheduled pulls, the pull itself: pages of TeamViewer's connection report read from a fake of
its web API and recorded page by page, the cursor moved only past what was recorded; a rate limit
waited out or stopped at, an outage retried then stopped, refused credentials named — and the
rows taken before any stop kept."""
import json

import pytest

from billing_core import importing, pulls

from imports_.fake_vendor import FakeTeamViewer


def connection(n: int, day: int = 2) -> dict:
    return {"id": f"tv-{n}", "username": "Ann Tech", "devicename": "RECEPTION-PC", "groupname": "acme Ltd",
            "start_date": f"2026-03-{day:02d}T09:{n:02d}:00Z", "end_date": f"2026-03-{day:02d}T10:{n:02d}:00Z", "notes": ""}


@pytest.fixture
def vendor(monkeypatch):
    fake = FakeTeamViewer([connection(n) for n in range(5)])
    monkeypatch.setenv("IMPORT_VENDOR_URLS", json.dumps({"teamviewer": fake.url}))
    yield fake
    fake.stop()


class Saved:
    def __init__(self):
        self.cursors = []

    def __call__(self, cursor, summary):
        self.cursors.append((dict(cursor), summary["imported"]))


def run(tenant_id: str, cursor=None, token="script-token", seconds=600.0, slept=None):
    saved = Saved()
    result = pulls.pull(tenant_id, importing.parse_options({"source": "teamviewer"}), {"token": token}, cursor, save=saved,
                        time_left=lambda: seconds, sleep=(slept.append if slept is not None else lambda s: None))
    return result, saved


def test_every_page_is_recorded_and_the_cursor_moves_past_it(msp, acme, vendor):
    result, saved = run(msp.tenant_id)
    assert (result.status, result.pages, result.summary["imported"]) == ("done", 3, 5)
    assert [imported for _, imported in saved.cursors] == [2, 4, 5]  # saved after each page recorded
    assert result.cursor["from_date"] == "2026-03-01T09:04:00Z"  # the latest start less a day
    assert [r["query"].get("offset_id") for r in vendor.requests] == [None, "2", "4"]
    assert msp.admin.get("/v1/sessions/teamviewer:tv-4")[1]["group_id"] == "acme"
    again, _ = run(msp.tenant_id, result.cursor)
    assert (again.status, again.summary["imported"], again.summary["duplicates"]) == ("done", 0, 5)


def test_a_429_is_waited_out_when_its_retry_after_fits(msp, acme, vendor):
    vendor.script = [(429, {"Retry-After": "3"}, "{}")]
    slept = []
    result, _ = run(msp.tenant_id, slept=slept)
    assert (result.status, result.summary["imported"], slept) == ("done", 5, [3.0])


def test_a_429_longer_than_the_time_left_stops_with_the_rows_taken_kept(msp, acme, vendor):
    vendor.script = [(200, {}, json.dumps(vendor.page({}))), (429, {"Retry-After": "3600"}, "{}")]
    result, saved = run(msp.tenant_id)
    assert (result.status, result.summary["imported"]) == ("rate_limited", 2)
    assert result.cursor["offset_id"] == "2" and saved.cursors[-1][0] == result.cursor
    resumed, _ = run(msp.tenant_id, result.cursor)
    assert (resumed.status, resumed.summary["imported"]) == ("done", 3)


def test_an_outage_is_retried_then_stops_where_it_was(msp, acme, vendor):
    vendor.script = [(500, {}, "oops"), (502, {}, "oops")]
    slept = []
    result, _ = run(msp.tenant_id, slept=slept)
    assert (result.status, result.summary["imported"], slept) == ("done", 5, [1.0, 2.0])  # two retries, then the pages
    vendor.script = [(503, {}, "down")] * 3
    stopped, saved = run(msp.tenant_id, {"from_date": "2026-03-01T00:00:00Z", "offset_id": "2"})
    assert (stopped.status, stopped.cursor["offset_id"], saved.cursors) == ("vendor_error", "2", [])


def test_refused_credentials_and_garbage_stop_with_their_reason(msp, acme, vendor):
    result, _ = run(msp.tenant_id, token="revoked")
    assert (result.status, result.summary["rows"]) == ("credentials_refused", 0)
    vendor.script = [(200, {}, "<html>maintenance</html>")]
    result, _ = run(msp.tenant_id)
    assert result.status == "bad_answer" and "JSON" in result.reason


def test_a_bad_row_is_a_rejected_line_and_the_page_goes_on(msp, acme, vendor):
    vendor.records[1] = {**connection(1), "end_date": "2026-03-02T08:00:00Z"}
    result, _ = run(msp.tenant_id)
    assert (result.status, result.summary["imported"]) == ("done", 4)
    assert result.summary["rejected"] == [{"line": 2, "field": "end_date", "reason": "is before the connection's start"}]


def test_the_time_left_is_respected(msp, acme, vendor):
    result, saved = run(msp.tenant_id, seconds=10.0)
    assert (result.status, result.pages, saved.cursors) == ("out_of_time", 0, [])


def test_anydesk_requests_are_signed_as_its_api_expects():
    # The official module's scheme: "AD <license>:<timestamp>:" + base64(HMAC-SHA1(password,
    # "GET\n<resource>\n<timestamp>\n" + base64(SHA-1(body)))); an empty body's SHA-1 is 2jmj7l5...
    header = pulls.anydesk_authorization("1438129266231705", "UYETICGU2CT3KES", "/sessions?offset=0", 1_700_000_000)
    import base64
    import hashlib
    import hmac
    signed = "GET\n/sessions?offset=0\n1700000000\n2jmj7l5rSw0yVb/vlWAYkK/YBwk="
    expected = base64.b64encode(hmac.new(b"UYETICGU2CT3KES", signed.encode(), hashlib.sha1).digest()).decode()
    assert header == f"AD 1438129266231705:1700000000:{expected}"
