"""GET /v1/groups/{group_id}/sessions: a client's sessions, oldest first, paged by `limit` and an
opaque `cursor`, filtered by status, technician and period (from inclusive, to exclusive)."""
import base64
import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from conftest import Tenant

from billing_local.store import transactions_back_up_only_their_items

from .conftest import T0, assert_error, assert_invalid, create_group, iso, record_many, shared_table_aws, standard_acme, upload

aws = pytest.fixture(shared_table_aws, name="aws")  # one table for the module: every test has a tenant of its own


def uploads(count=23, group_id="acme", prefix="s"):
    """Sessions an hour apart (every fifth pair at the same instant), two technicians."""
    items = []
    for n in range(count):
        start = T0 + timedelta(hours=n - n % 5 // 4)  # n ≡ 4 (mod 5) starts with n-1
        items.append(upload(f"{prefix}-{n:02d}", 600 + n, start=start, group_id=group_id,
                            technician="ann" if n % 3 else "bob"))
    return items


def expected_order(items):
    return [u["session_id"] for u in sorted(items, key=lambda u: (u["started_at"], u["session_id"]))]


def walk(client, group_id="acme", **params):
    """Every page of a search; answers the session ids in order and the number of pages."""
    seen, pages, cursor = [], 0, None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        status, page = client.get(f"/v1/groups/{group_id}/sessions", query=urlencode(query))
        assert status == 200, page
        pages += 1
        assert set(page) == {"sessions", "next_cursor"}
        seen.extend(s["session_id"] for s in page["sessions"])
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, pages
        assert pages < 100


def record_and_lock(tenant) -> list[dict]:
    """The 23 sessions of `uploads` in client `acme`, four of them locked (accounted)."""
    items = uploads()
    record_many(tenant, items)
    for session_id in ("s-02", "s-03", "s-10", "s-21"):
        assert tenant.finance.post(f"/v1/sessions/{session_id}/lock")[0] == 200
    return items


@pytest.fixture
def sessions(msp, acme):
    return record_and_lock(msp)


@pytest.fixture(scope="module")
def searched(module_table, gateway):
    """A tenant and its sessions (as `msp` with `sessions`), made once for the tests that only read them."""
    with transactions_back_up_only_their_items():
        tenant = Tenant(gateway, "Acme IT")
        standard_acme(tenant)
        return tenant, record_and_lock(tenant)


def test_one_page_holds_every_session_oldest_first_with_its_price(searched):
    msp, sessions = searched
    status, page = msp.technician.get("/v1/groups/acme/sessions")
    assert status == 200 and page["next_cursor"] is None
    assert [s["session_id"] for s in page["sessions"]] == expected_order(sessions)
    first = page["sessions"][0]
    assert (first["session_id"], first["connection_seconds"], first["cost"], first["billed_minutes"]) == ("s-00", 600, "20.00", 15)


@pytest.mark.parametrize("limit", [1, 4, 5, 22, 23, 1000])
def test_limit_and_cursor_walk_every_page_without_duplicates_or_gaps(searched, limit):
    msp, sessions = searched
    seen, pages = walk(msp.finance, limit=limit)
    assert seen == expected_order(sessions)
    assert pages == max(1, -(-23 // limit))


@pytest.mark.parametrize("params, wanted", [
    ({"status": "accounted"}, lambda u: u["session_id"] in ("s-02", "s-03", "s-10", "s-21")),
    ({"status": "to_account"}, lambda u: u["session_id"] not in ("s-02", "s-03", "s-10", "s-21")),
    ({"technician": "bob"}, lambda u: u["technician"] == "bob"),
    ({"technician": "bob", "status": "to_account"}, lambda u: u["technician"] == "bob" and u["session_id"] not in ("s-03", "s-21")),
    ({"from": iso(T0 + timedelta(hours=5))}, lambda u: u["started_at"] >= iso(T0 + timedelta(hours=5))),
    ({"to": iso(T0 + timedelta(hours=5))}, lambda u: u["started_at"] < iso(T0 + timedelta(hours=5))),
    ({"from": iso(T0 + timedelta(hours=3)), "to": iso(T0 + timedelta(hours=9))},
     lambda u: iso(T0 + timedelta(hours=3)) <= u["started_at"] < iso(T0 + timedelta(hours=9))),
    ({"from": "2026-03-02T12:00:00+02:00", "to": "2026-03-02T12:00:00+01:00"},  # 10:00Z to 11:00Z
     lambda u: "2026-03-02T10:00:00Z" <= u["started_at"] < "2026-03-02T11:00:00Z"),
    ({"from": iso(T0 + timedelta(hours=30))}, lambda u: False),
])
@pytest.mark.parametrize("limit", [2, 1000])
def test_filters_page_like_the_whole_search(searched, params, wanted, limit):
    msp, sessions = searched
    expected = expected_order([u for u in sessions if wanted(u)])
    seen, _ = walk(msp.admin, limit=limit, **params)
    assert seen == expected


def test_filters_pick_what_they_say(searched):
    msp, _ = searched
    page = msp.admin.get("/v1/groups/acme/sessions", query="status=accounted&technician=ann")[1]
    assert [(s["session_id"], s["status"], s["technician"]) for s in page["sessions"]] == [
        ("s-02", "accounted", "ann"), ("s-10", "accounted", "ann")]
    # from is inclusive, to is exclusive, on started_at (s-03 and s-04 start at T0+3h)
    page = msp.admin.get("/v1/groups/acme/sessions", query=urlencode({"from": iso(T0 + timedelta(hours=3)), "to": iso(T0 + timedelta(hours=5))}))[1]
    assert [s["session_id"] for s in page["sessions"]] == ["s-03", "s-04"]


def test_another_groups_or_tenants_cursor_is_a_400_naming_cursor(msp, other_msp, sessions):
    create_group(msp, "globex", "standard")
    record_many(msp, uploads(5, group_id="globex", prefix="g"))
    globex_cursor = msp.admin.get("/v1/groups/globex/sessions", query="limit=2")[1]["next_cursor"]
    assert globex_cursor
    assert_invalid(msp.admin.get("/v1/groups/acme/sessions", query=urlencode({"cursor": globex_cursor})), "cursor")

    create_group(other_msp, "acme")  # the same group id in the other tenant (no contract: kept unpriced)
    record_many(other_msp, uploads(5, prefix="o"))
    their_cursor = other_msp.admin.get("/v1/groups/acme/sessions", query="limit=2")[1]["next_cursor"]
    assert their_cursor
    assert_invalid(msp.admin.get("/v1/groups/acme/sessions", query=urlencode({"cursor": their_cursor})), "cursor")
    own = msp.admin.get("/v1/groups/acme/sessions", query="limit=2")[1]["next_cursor"]
    assert_invalid(other_msp.admin.get("/v1/groups/acme/sessions", query=urlencode({"cursor": own})), "cursor")


def forged(position) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage", "!!!", "e30", forged([1, 2]), forged({"PK": 1}),
    forged({"PK": "T#x#S#s-1", "SK": "SESSION", "GSI1PK": "T#x#G#acme#SESSIONS", "GSI1SK": "2026"}),
    "A" * 2000, "%00",
])
def test_a_forged_cursor_is_a_400_naming_cursor(searched, cursor):
    msp, _ = searched
    assert_invalid(msp.admin.get("/v1/groups/acme/sessions", query=urlencode({"cursor": cursor})), "cursor")


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"), ("limit=2.5", "limit"),
    ("status=open", "status"), ("from=yesterday", "from"), ("from=2026-03-02T09:00:00", "from"),
    ("to=2026-13-01T00:00:00Z", "to"), ("from=2026-03-03T00:00:00Z&to=2026-03-02T00:00:00Z", "to"),
    ("technician=" + "t" * 201, "technician"), ("group=acme", "group"),
])
def test_a_bad_search_parameter_is_a_400_naming_it(msp, acme, query, field):
    assert_invalid(msp.admin.get("/v1/groups/acme/sessions", query=query), field)


def test_an_unknown_or_another_tenants_group_is_a_404(msp, other_msp, sessions):
    assert_error(other_msp.admin.get("/v1/groups/acme/sessions"), 404, "not_found")
    assert_error(msp.admin.get("/v1/groups/nowhere/sessions"), 404, "not_found")


def test_a_group_without_sessions_answers_an_empty_page(msp, acme):
    assert msp.admin.get("/v1/groups/acme/sessions") == (200, {"sessions": [], "next_cursor": None})


@pytest.mark.parametrize("limit", [3, 100])
def test_the_open_sessions_are_exact_while_the_index_lags(msp, sessions, monkeypatch, limit):
    """The sparse index of open sessions lags (as a GSI does on AWS): a session locked a moment
    ago is not answered as open, one recorded a moment ago is, on every page."""
    from .lagging import Lag

    lag = Lag(monkeypatch)
    lag.freeze(1.0)  # longer than the walk takes
    assert msp.finance.post("/v1/sessions/s-07/lock")[0] == 200
    late = upload("late", 700, start=T0 + timedelta(hours=12, minutes=30))
    assert msp.agent.post("/v1/sessions", late)[0] == 201
    seen, _ = walk(msp.technician, status="to_account", limit=limit)
    open_ones = [u for u in sessions + [late] if u["session_id"] not in ("s-02", "s-03", "s-10", "s-21", "s-07")]
    assert seen == expected_order(open_ones)


@pytest.mark.parametrize("status", [None, "to_account"])
def test_a_search_right_after_an_adjustment_shows_it(msp, acme, status):
    """The open index shows an adjustment's extra minutes a moment after it: a search read at once
    waits that moment out, whichever index it reads."""
    record_many(msp, [upload("s-1", 1320, start=T0)])
    query = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", **({"status": status} if status else {})}
    for extra, cost in ((-10, "20.00"), (20, "50.00")):
        assert msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": extra})[0] == 200
        status_code, page = msp.finance.get("/v1/groups/acme/sessions", query=urlencode(query))
        assert status_code == 200 and [(s["extra_minutes"], s["cost"]) for s in page["sessions"]] == [(extra, cost)], page
