"""Hand-written bad input on every route that takes a body, a query or a path id (SPEC §4
"Limits" and "Errors"): each is a 4xx with {"error": {"code", "message"}}, a 400 names the field
and why, an oversize body is a 413; none is a 5xx, and none changes anything."""
import json

import pytest

from .conftest import GOLD, STANDARD, Tenant, assert_error_shape, count, mocked_aws, seed, tenant_items, upload

MB = 1_048_576


@pytest.fixture(scope="module")
def world(gateway_once):
    with mocked_aws():
        yield seed(Tenant(gateway_once, "Acme IT"))


BODY_ROUTES = [  # every route with a body, on the seeded tenant's ids
    ("POST", "/v1/profiles"), ("PUT", "/v1/profiles/gold"), ("PUT", "/v1/groups/acme"),
    ("PUT", "/v1/groups/acme/computers/pc-1"), ("PUT", "/v1/groups/acme/contract"), ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/batch"), ("PATCH", "/v1/sessions/s-1"), ("POST", "/v1/sessions/s-1/lock"),
    ("POST", "/v1/groups/acme/lock-all"), ("POST", "/v1/groups/acme/recharges"), ("POST", "/v1/groups/acme/exports"),
    ("POST", "/v1/exports"),
]
NOT_A_JSON_OBJECT = {
    "malformed JSON": b'{"name": ',
    "trailing garbage": b'{"name": "x"} x',
    "a JSON array": b"[]",
    "a JSON string": b'"text"',
    "a JSON number": b"42",
    "JSON null": b"null",
    "JSON true": b"true",
    "a NaN literal": b'{"extra_minutes": NaN}',
    "an Infinity literal": b'{"hours": Infinity}',
    "a -Infinity literal": b'{"hours": -Infinity}',
    "non-UTF-8 bytes": b'{"name": "\xff\xfe"}',
    "10k nested arrays": b"[" * 10_000 + b"]" * 10_000,
    "10k nested objects": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "a field nested 10k deep": b'{"name": ' + b"[" * 10_000 + b"]" * 10_000 + b"}",
    "a BOM then JSON": '\ufeff{"name": "x"}'.encode(),
}
TOO_LARGE = {
    "1 MB + 1 of JSON": b'{"notes": "' + b"a" * (MB - 12) + b'"}',
    "2 MB of JSON": b'{"notes": "' + b"a" * (2 * MB) + b'"}',
    "1 MB + 1 of non-UTF-8": b"\xff" * (MB + 1),
    "2 MB of non-UTF-8": b"\xff" * (2 * MB),
}
LONG, HUGE = "x" * 10_000, "x" * 900_000  # HUGE: under the 1 MB body limit


def sub(**changes):
    return {**GOLD, **changes}


def pay(**changes):
    return {**STANDARD, **changes}


def sent(**changes):
    return {**upload("bad-1", "acme", 30), **changes}


# (method, path, body (dict, or raw bytes), query, status, field or code)
CASES = [
    # profiles
    ("POST", "/v1/profiles", pay(min_duration_minutes=-1), "", 400, "min_duration_minutes"),
    ("POST", "/v1/profiles", pay(step_minutes=1.5), "", 400, "step_minutes"),
    ("POST", "/v1/profiles", pay(step_minutes="5"), "", 400, "step_minutes"),
    ("POST", "/v1/profiles", pay(step_minutes=0), "", 400, "step_minutes"),
    ("POST", "/v1/profiles", pay(step_minutes=10**40), "", 400, "step_minutes"),
    ("POST", "/v1/profiles", pay(step_minutes=True), "", 400, "step_minutes"),
    ("POST", "/v1/profiles", pay(step_cost="5.001"), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost="1e400"), "", 400, "step_cost"),
    ("POST", "/v1/profiles", json.dumps(pay(step_cost="X")).replace('"X"', "1e400").encode(), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost=10**40), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost="NaN"), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost="Infinity"), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost="-1.00"), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost=True), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(step_cost=LONG), "", 400, "step_cost"),
    ("POST", "/v1/profiles", pay(currency="eur"), "", 400, "currency"),
    ("POST", "/v1/profiles", pay(type="foo"), "", 400, "type"),
    ("POST", "/v1/profiles", pay(type=None), "", 400, "type"),
    ("POST", "/v1/profiles", pay(name=LONG), "", 400, "name"),
    ("POST", "/v1/profiles", pay(name=HUGE), "", 400, "name"),
    ("POST", "/v1/profiles", pay(name=""), "", 400, "name"),
    ("POST", "/v1/profiles", pay(name=5), "", 400, "name"),
    ("POST", "/v1/profiles", pay(profile_id="x" * 129), "", 400, "profile_id"),
    ("POST", "/v1/profiles", pay(profile_id="a\x00b"), "", 400, "profile_id"),
    ("POST", "/v1/profiles", pay(profile_id=["gold"]), "", 400, "profile_id"),
    ("POST", "/v1/profiles", pay(total_hours=10), "", 400, "total_hours"),  # a field of the other type
    ("POST", "/v1/profiles", pay(rate="1.00"), "", 400, "rate"),  # unknown field
    ("POST", "/v1/profiles", {k: v for k, v in STANDARD.items() if k != "step_minutes"}, "", 400, "step_minutes"),
    ("POST", "/v1/profiles", sub(total_hours="0.01"), "", 400, "total_hours"),
    ("POST", "/v1/profiles", sub(total_hours=-1), "", 400, "total_hours"),
    ("POST", "/v1/profiles", sub(total_hours=10**40), "", 400, "total_hours"),
    ("POST", "/v1/profiles", sub(amount="12.345"), "", 400, "amount"),
    ("POST", "/v1/profiles", sub(amount="1000000000.00"), "", 400, "amount"),
    ("POST", "/v1/profiles", {**GOLD, "profile_id": "gold"}, "", 409, "profile_exists"),
    ("PUT", "/v1/profiles/gold", sub(profile_id="other"), "", 400, "profile_id"),
    ("PUT", "/v1/profiles/gold", sub(step_minutes=-15), "", 400, "step_minutes"),
    ("PUT", "/v1/profiles/nope", sub(), "", 404, "not_found"),
    ("GET", "/v1/profiles/gold", None, "version=abc", 400, "version"),
    ("GET", "/v1/profiles/gold", None, "version=0", 400, "version"),
    ("GET", "/v1/profiles/gold", None, "version=-1", 400, "version"),
    ("GET", "/v1/profiles/gold", None, "version=" + "9" * 400, 400, "version"),
    ("GET", "/v1/profiles/gold", None, "version=" + "9" * 5000, 400, "version"),  # int() refuses > 4300 digits
    ("GET", "/v1/profiles/gold", None, "version=%C2%B2", 400, "version"),  # a superscript two is a digit to str.isdigit
    ("GET", "/v1/profiles/gold", None, "version=%D9%A3", 400, "version"),  # an Arabic-Indic three, idem (int() takes it)
    ("GET", "/v1/profiles/gold", None, "version=99", 404, "not_found"),
    ("GET", "/v1/profiles/gold", None, "bogus=1", 400, "bogus"),
    # address book and contracts
    ("PUT", "/v1/groups/acme", {"name": "x" * 201}, "", 400, "name"),
    ("PUT", "/v1/groups/acme", {"name": "bell\x07"}, "", 400, "name"),
    ("PUT", "/v1/groups/acme", {"name": None}, "", 400, "name"),
    ("PUT", "/v1/groups/acme", {}, "", 400, "name"),
    ("PUT", "/v1/groups/acme", {"name": "Acme", "profile_id": "gold"}, "", 400, "profile_id"),
    ("PUT", "/v1/groups/acme/computers/pc-1", {}, "", 400, "name"),
    ("PUT", "/v1/groups/acme/computers/pc-1", {"name": ["PC"]}, "", 400, "name"),
    ("PUT", "/v1/groups/nope/computers/pc-1", {"name": "PC"}, "", 404, "not_found"),
    ("PUT", "/v1/groups/acme/contract", {}, "", 400, "profile_id"),
    ("PUT", "/v1/groups/acme/contract", {"profile_id": 5}, "", 400, "profile_id"),
    ("PUT", "/v1/groups/acme/contract", {"profile_id": "x" * 129}, "", 400, "profile_id"),
    ("PUT", "/v1/groups/acme/contract", {"profile_id": "nope"}, "", 404, "not_found"),
    ("POST", "/v1/groups/acme/recharges", {"hours": "0.01", "amount": "1.00"}, "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", {"hours": -1, "amount": "1.00"}, "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", {"hours": "abc", "amount": "1.00"}, "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", {"hours": "NaN", "amount": "1.00"}, "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", {"hours": 10**40, "amount": "1.00"}, "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", b'{"hours": 1e400, "amount": "1.00"}', "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", b'{"hours": 1e-400, "amount": "1.00"}', "", 400, "hours"),
    ("POST", "/v1/groups/acme/recharges", {"hours": "1E-999999999", "amount": "1.00"}, "", 400, "hours"),  # not 0 hours
    ("POST", "/v1/groups/acme/recharges", {"hours": 1, "amount": "1.001"}, "", 400, "amount"),
    ("POST", "/v1/groups/acme/recharges", {"hours": 1, "amount": 10**40}, "", 400, "amount"),
    ("POST", "/v1/groups/acme/recharges", {"hours": 1, "amount": "-5.00"}, "", 400, "amount"),
    ("POST", "/v1/groups/acme/recharges", {"hours": 1}, "", 400, "amount"),
    ("POST", "/v1/groups/acme/recharges", {"hours": 0, "amount": "0.00"}, "", 400, "hours"),
    ("POST", "/v1/groups/beta/recharges", {"hours": 1, "amount": "1.00"}, "", 409, "not_subscription"),
    # record
    ("POST", "/v1/sessions", sent(started_at="2026-03-02T09:00:00"), "", 400, "started_at"),
    ("POST", "/v1/sessions", sent(ended_at="2026-03-02T09:30:00"), "", 400, "ended_at"),
    ("POST", "/v1/sessions", sent(ended_at="2026-03-02T08:59:59Z"), "", 400, "ended_at"),  # end before start
    ("POST", "/v1/sessions", sent(started_at="yesterday"), "", 400, "started_at"),
    ("POST", "/v1/sessions", sent(started_at="2026-02-30T09:00:00Z"), "", 400, "started_at"),
    ("POST", "/v1/sessions", sent(started_at="0001-01-01T00:00:00+14:00"), "", 400, "started_at"),
    ("POST", "/v1/sessions", sent(ended_at="9999-12-31T23:59:59-14:00"), "", 400, "ended_at"),
    ("POST", "/v1/sessions", sent(started_at=1772442000), "", 400, "started_at"),
    ("POST", "/v1/sessions", sent(started_at=LONG), "", 400, "started_at"),
    ("POST", "/v1/sessions", sent(session_id=5), "", 400, "session_id"),
    ("POST", "/v1/sessions", sent(session_id=""), "", 400, "session_id"),
    ("POST", "/v1/sessions", sent(session_id="x" * 129), "", 400, "session_id"),
    ("POST", "/v1/sessions", sent(session_id="a\nb"), "", 400, "session_id"),
    ("POST", "/v1/sessions", sent(session_id=None), "", 400, "session_id"),
    ("POST", "/v1/sessions", sent(technician=LONG), "", 400, "technician"),
    ("POST", "/v1/sessions", sent(technician=["ann"]), "", 400, "technician"),
    ("POST", "/v1/sessions", sent(computer_id={"id": 1}), "", 400, "computer_id"),
    ("POST", "/v1/sessions", sent(group_id=""), "", 400, "group_id"),
    ("POST", "/v1/sessions", sent(group_id="nope"), "", 404, "not_found"),
    ("POST", "/v1/sessions", sent(notes="x" * 2001), "", 400, "notes"),
    ("POST", "/v1/sessions", sent(notes=5), "", 400, "notes"),
    ("POST", "/v1/sessions", sent(notes=HUGE), "", 400, "notes"),
    ("POST", "/v1/sessions", sent(cost="0.00"), "", 400, "cost"),
    ("POST", "/v1/sessions", sent(extra_minutes=5), "", 400, "extra_minutes"),
    ("POST", "/v1/sessions/batch", {"sessions": []}, "", 400, "sessions"),
    ("POST", "/v1/sessions/batch", {"sessions": [upload(f"b-{n}", "acme", 30) for n in range(101)]}, "", 400, "sessions"),
    ("POST", "/v1/sessions/batch", {"sessions": "all"}, "", 400, "sessions"),
    ("POST", "/v1/sessions/batch", {"sessions": {"0": upload("b-0", "acme")}}, "", 400, "sessions"),
    ("POST", "/v1/sessions/batch", {}, "", 400, "sessions"),
    ("POST", "/v1/sessions/batch", {"sessions": [upload("b-0", "acme")], "dry_run": True}, "", 400, "dry_run"),
    # adjust, lock
    ("PATCH", "/v1/sessions/s-1", {}, "", 400, "body"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": 1.5}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": "10"}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": 10_081}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": -10_081}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": 10**40}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": True}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"extra_minutes": None}, "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", b'{"extra_minutes": 1e400}', "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", b'{"extra_minutes": 5.0}', "", 400, "extra_minutes"),
    ("PATCH", "/v1/sessions/s-1", {"notes": "x" * 2001}, "", 400, "notes"),
    ("PATCH", "/v1/sessions/s-1", {"notes": None}, "", 400, "notes"),
    ("PATCH", "/v1/sessions/s-1", {"status": "accounted"}, "", 400, "status"),
    ("PATCH", "/v1/sessions/s-1", {"cost": "0.00"}, "", 400, "cost"),
    ("PATCH", "/v1/sessions/s-2", {"notes": "too late"}, "", 409, "session_accounted"),
    ("PATCH", "/v1/sessions/nope", {"notes": "x"}, "", 404, "not_found"),
    ("POST", "/v1/sessions/s-1/lock", {"force": True}, "", 400, "force"),
    ("POST", "/v1/sessions/nope/lock", None, "", 404, "not_found"),
    # lock-all, exports
    ("POST", "/v1/groups/acme/lock-all", {"from": "yesterday"}, "", 400, "from"),
    ("POST", "/v1/groups/acme/lock-all", {"to": "2026-03-01T00:00:00"}, "", 400, "to"),
    ("POST", "/v1/groups/acme/lock-all", {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "", 400, "to"),
    ("POST", "/v1/groups/acme/lock-all", {"from": 5}, "", 400, "from"),
    ("POST", "/v1/groups/acme/lock-all", {"technician": "x" * 201}, "", 400, "technician"),
    ("POST", "/v1/groups/acme/lock-all", {"technician": 5}, "", 400, "technician"),
    ("POST", "/v1/groups/acme/lock-all", {"status": "to_account"}, "", 400, "status"),
    ("POST", "/v1/groups/nope/lock-all", {}, "", 404, "not_found"),
    ("POST", "/v1/groups/acme/exports", {"delimiter": "|"}, "", 400, "delimiter"),
    ("POST", "/v1/groups/acme/exports", {"delimiter": 44}, "", 400, "delimiter"),
    ("POST", "/v1/groups/acme/exports", {"status": "foo"}, "", 400, "status"),
    ("POST", "/v1/groups/acme/exports", {"from": "yesterday"}, "", 400, "from"),
    ("POST", "/v1/groups/acme/exports", {"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "", 400, "to"),
    ("POST", "/v1/groups/acme/exports", {"expires_in_minutes": 0}, "", 400, "expires_in_minutes"),
    ("POST", "/v1/groups/acme/exports", {"expires_in_minutes": 10_081}, "", 400, "expires_in_minutes"),
    ("POST", "/v1/groups/acme/exports", {"expires_in_minutes": "5"}, "", 400, "expires_in_minutes"),
    ("POST", "/v1/groups/acme/exports", {"columns": ["cost"]}, "", 400, "columns"),
    ("POST", "/v1/groups/nope/exports", {}, "", 404, "not_found"),
    ("POST", "/v1/groups/acme/exports", {"format": "pdf"}, "", 400, "format"),
    ("POST", "/v1/groups/acme/exports", {"time_zone": "Europe/Nowhere"}, "", 400, "time_zone"),
    ("POST", "/v1/groups/acme/exports", {"from": "2026-02-29"}, "", 400, "from"),
    ("POST", "/v1/exports", {"locale": "xx"}, "", 400, "locale"),
    ("POST", "/v1/exports", {"format": "xero", "due_days": -1}, "", 400, "due_days"),
    ("POST", "/v1/exports", {"format": "quickbooks", "invoice_start": "7"}, "", 400, "invoice_start"),
    ("POST", "/v1/exports", {"format": "xlsx", "item": "Support"}, "", 400, "item"),
    # search and totals queries
    ("GET", "/v1/groups/acme/sessions", None, "limit=0", 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=abc", 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=1001", 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=-1", 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=1e3", 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=" + "9" * 5000, 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=%C2%B2", 400, "limit"),
    ("GET", "/v1/groups/acme/sessions", None, "limit=%D9%A3", 400, "limit"),  # a superscript two is a digit to str.isdigit
    ("GET", "/v1/groups/acme/sessions", None, "cursor=garbage", 400, "cursor"),
    ("GET", "/v1/groups/acme/sessions", None, "cursor=%00%FF", 400, "cursor"),
    ("GET", "/v1/groups/acme/sessions", None, "cursor=" + "A" * 10_000, 400, "cursor"),
    ("GET", "/v1/groups/acme/sessions", None, "cursor=W10", 400, "cursor"),  # base64 of []
    ("GET", "/v1/totals", None, "cursor=garbage", 400, "cursor"),
    ("GET", "/v1/totals", None, "cursor=W10", 400, "cursor"),
    ("GET", "/v1/totals", None, "cursor=eyJnIjogImFjbWUiLCAicSI6ICJ4In0", 400, "cursor"),  # another period's
    ("GET", "/v1/totals", None, "limit=501", 400, "limit"),
    ("GET", "/v1/totals", None, "to=2026-01-01T00:00:00", 400, "to"),
    ("GET", "/v1/groups/acme/sessions", None, "status=foo", 400, "status"),
    ("GET", "/v1/groups/acme/sessions", None, "from=yesterday", 400, "from"),
    ("GET", "/v1/groups/acme/sessions", None, "to=2026-03-01T00:00:00", 400, "to"),
    ("GET", "/v1/groups/acme/sessions", None, "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 400, "to"),
    ("GET", "/v1/groups/acme/sessions", None, "technician=" + "x" * 201, 400, "technician"),
    ("GET", "/v1/groups/acme/sessions", None, "bogus=1", 400, "bogus"),
    ("GET", "/v1/groups/nope/sessions", None, "", 404, "not_found"),
    ("GET", "/v1/groups/acme/totals", None, "from=yesterday", 400, "from"),
    ("GET", "/v1/groups/acme/totals", None, "to=2026-03-01T00:00:00", 400, "to"),
    ("GET", "/v1/groups/acme/totals", None, "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z", 400, "to"),
    ("GET", "/v1/groups/acme/totals", None, "limit=5", 400, "limit"),
    ("GET", "/v1/groups/nope/totals", None, "", 404, "not_found"),
    # no such route or method: the gateway's own answers keep the shape
    ("GET", "/v1/nope", None, "", 404, "not_found"),
    ("DELETE", "/v1/sessions/s-1", None, "", 405, "method_not_allowed"),
]


def check(caller, method, path, body, query, status, expected, failures=None):
    if failures is not None:
        try:
            return check(caller, method, path, body, query, status, expected)
        except AssertionError as failure:
            failures.append(str(failure)[:400])
            return
    raw = body if isinstance(body, bytes) else None
    got, answer = caller.call(method, path, None if raw is not None else body, query, raw)
    shown = str(body)[:200]
    assert got == status, (method, path, shown, query[:200], got, answer)
    assert_error_shape(got, answer, field=expected if got == 400 else None, code=None if got == 400 else expected)
    if got == 400:
        assert answer["error"]["code"] == "invalid_input"
        assert len(answer["error"]["message"]) < 500  # the reason, never the input echoed whole


def test_every_bad_input_is_a_4xx_that_names_the_field(world):
    admin, before = world.tenant.admin, tenant_items(world.tenant.tenant_id)
    checked, failures = 0, []
    for method, path in BODY_ROUTES:
        for name, raw in NOT_A_JSON_OBJECT.items():
            check(admin, method, path, raw, "", 400, "body", failures)
            checked += 1
        for name, raw in TOO_LARGE.items():
            check(admin, method, path, raw, "", 413, "payload_too_large", failures)
            checked += 1
        check(admin, method, path, {"unexpected_field": 1} if "lock" in path or "exports" in path else {**_valid(method, path), "unexpected_field": 1}, "", 400, "unexpected_field", failures)
        checked += 1
    for case in CASES:
        check(admin, *case, failures)
        checked += 1
    assert not failures, "\n".join(failures)
    assert tenant_items(world.tenant.tenant_id) == before, "a refused request changed something"
    count("bad-input cases (hand-written)", checked)


def _valid(method, path):
    return {
        "/v1/profiles": STANDARD, "/v1/profiles/gold": GOLD, "/v1/groups/acme": {"name": "Acme"},
        "/v1/groups/acme/computers/pc-1": {"name": "PC"}, "/v1/groups/acme/contract": {"profile_id": "gold"},
        "/v1/sessions": upload("ok-1", "acme"), "/v1/sessions/batch": {"sessions": [upload("ok-1", "acme")]},
        "/v1/sessions/s-1": {"notes": "x"}, "/v1/groups/acme/recharges": {"hours": 1, "amount": "1.00"},
    }[path]


PATH_ROUTES = [  # every route with a path id: (method, path with {bad} in turn for each id, body)
    ("PUT", "/v1/imports/connections/{connection_id}", {"source": "teamviewer", "credentials": {"token": "x"}}),
    ("DELETE", "/v1/imports/connections/{connection_id}", None),
    ("GET", "/v1/profiles/{profile_id}", None), ("PUT", "/v1/profiles/{profile_id}", GOLD),
    ("GET", "/v1/profiles/{profile_id}/versions", None), ("PUT", "/v1/groups/{group_id}", {"name": "Acme"}),
    ("PUT", "/v1/groups/{group_id}/computers/{computer_id}", {"name": "PC"}),
    ("PUT", "/v1/groups/{group_id}/contract", {"profile_id": "gold"}), ("GET", "/v1/sessions/{session_id}", None),
    ("PATCH", "/v1/sessions/{session_id}", {"notes": "x"}), ("POST", "/v1/sessions/{session_id}/lock", None),
    ("GET", "/v1/sessions/{session_id}/history", None), ("GET", "/v1/groups/{group_id}/history", None),
    ("GET", "/v1/groups/{group_id}/sessions", None), ("POST", "/v1/groups/{group_id}/lock-all", {}),
    ("GET", "/v1/groups/{group_id}/totals", None), ("POST", "/v1/groups/{group_id}/recharges", {"hours": 1, "amount": "1.00"}),
    ("GET", "/v1/groups/{group_id}/contracts", None), ("GET", "/v1/groups/{group_id}/ledger", None),
    ("POST", "/v1/groups/{group_id}/exports", {}), ("GET", "/v1/exports/{export_id}", None),
    ("GET", "/v1/groups/{group_id}/computers", None), ("DELETE", "/v1/tokens/{token_id}", None),
    ("POST", "/v1/groups/{group_id}/simulate", {"profile_id": "gold"}),
    ("GET", "/v1/jobs/{job_id}", None),
    ("GET", "/v1/invoices/{invoice_id}", None), ("POST", "/v1/invoices/{invoice_id}/issue", None),
    ("POST", "/v1/invoices/{invoice_id}/void", None), ("GET", "/v1/invoices/{invoice_id}/pdf", None),
    ("POST", "/v1/invoice-runs/{run_id}/exports", {"format": "xero"}), ("GET", "/v1/periods/{month}", None), ("GET", "/v1/groups/{group_id}/billing", None), ("POST", "/v1/periods/{month}/close", None),
    ("POST", "/v1/periods/{month}/reopen", None), ("POST", "/v1/sessions/{session_id}/unlock", None),
    ("PATCH", "/v1/users/{user_id}", {"name": "Dana"}), ("DELETE", "/v1/users/{user_id}", None),
]
GOOD_IDS = {"profile_id": "gold", "group_id": "acme", "computer_id": "pc-1", "session_id": "s-1", "export_id": "exp_x",
            "token_id": "tok_x", "job_id": "j-x", "invoice_id": "2026-03-inv-000000000000", "run_id": "2026-03-run-x",
            "month": "2026-03", "user_id": "0b5d5e4e-0000-4000-8000-000000000000", "connection_id": "main"}
BAD_IDS = {"129 characters": "x" * 129, "10k characters": "x" * 10_000, "a control character": "s\x01", "a NUL": "s\x00",
           "an escape": "s\x1b[2J", "a DEL": "s\x7f",
           # percent-encoded bytes that are not UTF-8: API Gateway would hand them over as U+FFFD
           "bytes that are not UTF-8": "s%ff%fe", "a cut sequence": "s%c3", "an encoded surrogate": "%ed%a0%80"}


def test_every_bad_path_id_is_a_400_that_names_it(world):
    from billing_local import template

    assert {f"{m} {p}" for m, p, _ in PATH_ROUTES} == {r.key for r in template.routes() if "{" in r.path}
    admin, before = world.tenant.admin, tenant_items(world.tenant.tenant_id)
    checked, failures = 0, []
    for method, pattern, body in PATH_ROUTES:
        names = [name for name in GOOD_IDS if "{" + name + "}" in pattern]
        for name in names:
            for label, bad in BAD_IDS.items():
                path = pattern
                for other in names:
                    path = path.replace("{" + other + "}", bad if other == name else GOOD_IDS[other])
                check(admin, method, path, body, "", 400, name, failures)
                checked += 1
    assert not failures, "\n".join(failures)
    assert tenant_items(world.tenant.tenant_id) == before
    count("bad-input cases (path ids)", checked)
