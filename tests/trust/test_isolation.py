"""Tenant isolation (SPEC §1, §7): every route, called by tenant A's admin with tenant B's ids,
answers 404 (or, for a route that creates by id, creates A's own item) and changes nothing of B;
the same ids in two tenants never collide."""
import json

import pytest

from billing_local import template

from .conftest import GOLD, STANDARD, assert_error_shape, count, tenant_items, upload


def state_seen_by_api(seeded) -> str:
    """Everything tenant B's own admin can read about its data (links excluded: they are signed anew)."""
    admin, seen = seeded.tenant.admin, {}
    for path in ("/v1/groups", "/v1/profiles"):
        seen[path] = admin.get(path)
    for group in (seeded.subscription_group, seeded.pay_group):
        for suffix in ("sessions", "totals", "history"):
            seen[f"{group}/{suffix}"] = admin.get(f"/v1/groups/{group}/{suffix}")
    for session in (seeded.session, seeded.locked_session, seeded.pay_session):
        seen[session] = admin.get(f"/v1/sessions/{session}")
        seen[f"{session}/history"] = admin.get(f"/v1/sessions/{session}/history")
    for profile in (seeded.subscription_profile, seeded.pay_profile):
        seen[profile] = admin.get(f"/v1/profiles/{profile}/versions")
    seen["users"] = admin.get("/v1/users")
    status, export = admin.get(f"/v1/exports/{seeded.export}")
    seen["export"] = (status, {k: v for k, v in export.items() if k not in ("url", "expires_at")})
    return json.dumps(seen, sort_keys=True)


def _uploaded(seeded) -> str:
    """A file in the tenant's import uploads (a TeamViewer report of one connection)."""
    import urllib.request

    status, link = seeded.tenant.admin.post("/v1/imports/uploads")
    assert status == 201, link
    report = json.dumps({"records": [{"id": "b-1", "username": "bob", "devicename": seeded.computer,
                                      "start_date": "2026-03-09T09:00:00Z", "end_date": "2026-03-09T09:30:00Z"}]})
    put = urllib.request.Request(link["url"], data=report.encode(), method="PUT", headers={"content-type": "application/octet-stream"})
    with urllib.request.urlopen(put):
        return link["upload_id"]


def probes(a, b) -> list[tuple]:
    """(route key, method, path, body, query, expected status): A's admin with B's ids."""
    ids = b.ids()
    found = []
    for route in template.routes():
        path = route.path
        for name, value in ids.items():
            path = path.replace("{" + name + "}", value)
        found.append((route.key, route.method, path))
    bodies = {
        "PUT /v1/profiles/{profile_id}": {**GOLD, "step_minutes": 30},
        "PUT /v1/groups/{group_id}/computers/{computer_id}": {"name": "Taken over"},
        "PUT /v1/groups/{group_id}/contract": {"profile_id": a.subscription_profile},
        "PATCH /v1/sessions/{session_id}": {"extra_minutes": 600, "notes": "moved"},
        "POST /v1/groups/{group_id}/lock-all": {},
        "POST /v1/groups/{group_id}/recharges": {"hours": 100, "amount": "0.00"},
        "POST /v1/groups/{group_id}/exports": {},
        "POST /v1/invoice-runs/{run_id}/exports": {"format": "xero"},
        "PATCH /v1/users/{user_id}": {"role": "admin", "enabled": False},
        "POST /v1/groups/{group_id}/simulate": {"profile_id": a.pay_profile},  # A's profile, B's group
        "POST /v1/quotes": {"profile_id": b.pay_profile, "sessions": [  # B's profile in the body
            {"started_at": "2026-03-07T09:00:00Z", "ended_at": "2026-03-07T09:40:00Z"}]},
    }
    made = []
    for key, method, path in found:
        if key in ("POST /v1/profiles", "PUT /v1/groups/{group_id}", "GET /v1/groups", "GET /v1/profiles", "GET /v1/me",
                   "POST /v1/sessions", "POST /v1/sessions/batch", "POST /v1/exports", "GET /v1/tokens", "POST /v1/tokens",
                   "GET /v1/events", "GET /v1/totals", "PUT /v1/settings/invoicing", "GET /v1/settings/invoicing",
                   "POST /v1/invoice-runs", "GET /v1/invoices", "GET /v1/periods/{month}", "POST /v1/periods/{month}/close",
                   "POST /v1/periods/{month}/reopen", "GET /v1/users", "POST /v1/users",
                   "POST /v1/imports", "POST /v1/imports/uploads", "PUT /v1/imports/connections/{connection_id}",
                   "GET /v1/imports/connections"):
            continue  # no id of another tenant in the path: the probes below
        made.append((key, method, path, bodies.get(key), "", 404))
    made += [
        # B's ids in the body or query of A's requests
        ("PUT /v1/groups/{group_id}/contract", "PUT", f"/v1/groups/{a.subscription_group}/contract", {"profile_id": b.subscription_profile}, "", 404),
        ("POST /v1/sessions", "POST", "/v1/sessions", upload("iso-1", b.subscription_group, 30), "", 404),
        ("POST /v1/sessions", "POST", "/v1/sessions", upload("iso-2", None, 30, computer_id=b.computer), "", 400),  # unknown computer here
        ("POST /v1/sessions", "POST", "/v1/sessions", upload(b.session, b.subscription_group, 22), "", 404),  # B's session id, B's group
        ("GET /v1/profiles/{profile_id}", "GET", f"/v1/profiles/{b.subscription_profile}", None, "version=1", 404),
        ("GET /v1/groups/{group_id}/sessions", "GET", f"/v1/groups/{a.subscription_group}/sessions", None, "limit=1", 200),  # A's own (cursor below)
        ("POST /v1/imports", "POST", "/v1/imports", {"source": "teamviewer", "upload_id": _uploaded(b)}, "", 404),  # B's file
        ("POST /v1/imports", "POST", "/v1/imports", {"source": "teamviewer", "group_id": b.subscription_group, "content": json.dumps(
            {"records": [{"id": "iso-3", "username": "ann", "devicename": b.computer, "start_date": "2026-03-09T09:00:00Z",
                          "end_date": "2026-03-09T09:30:00Z"}]})}, "", 200),  # B's group and computer: a rejected line
    ]
    return made


def test_another_tenants_ids_are_not_found_on_every_route_and_change_nothing(two_seeded_tenants):
    a, b = two_seeded_tenants
    b_items, b_seen = tenant_items(b.tenant.tenant_id), state_seen_by_api(b)
    a_items = tenant_items(a.tenant.tenant_id)
    checked, routes_probed = 0, set()
    for key, method, path, body, query, expected in probes(a, b):
        status, answer = a.tenant.admin.call(method, path, body, query)
        assert status == expected, (key, path, body, status, answer)
        if status >= 400:
            assert_error_shape(status, answer, code="not_found" if status == 404 else None)
            assert b.tenant.tenant_id not in json.dumps(answer)
        checked += 1
        routes_probed.add(key)

    # A search cursor of tenant B is refused by tenant A's search (it names B's partition).
    status, page = b.tenant.admin.get(f"/v1/groups/{b.subscription_group}/sessions", "limit=1")
    assert status == 200 and page["next_cursor"], page
    status, answer = a.tenant.admin.get(f"/v1/groups/{a.subscription_group}/sessions", f"limit=1&cursor={page['next_cursor']}")
    assert status == 400 and answer["error"]["message"].startswith("cursor:"), answer
    checked += 1

    # Routes that create by id create tenant A's own item; lists never show B's.
    created = [
        ("PUT /v1/groups/{group_id}", a.tenant.admin.put(f"/v1/groups/{b.subscription_group}", {"name": "A's own"}), 201),
        ("POST /v1/profiles", a.tenant.admin.post("/v1/profiles", {**STANDARD, "profile_id": b.pay_profile}), 201),
        ("POST /v1/sessions/batch", a.tenant.admin.post("/v1/sessions/batch", {"sessions": [upload("iso-3", b.pay_group, 30)]}), 200),
        ("POST /v1/tokens", a.tenant.admin.post("/v1/tokens", {"role": "finance", "label": "rival-spare laptop"}), 201),
        # one pool for every tenant: an email is one person's, whichever tenant invited them
        ("POST /v1/users", a.tenant.admin.post("/v1/users", {"email": "rival-dana@example.com", "role": "admin"}), 409),
        ("POST /v1/imports/uploads", a.tenant.admin.post("/v1/imports/uploads"), 201),
        ("PUT /v1/imports/connections/{connection_id}", a.tenant.admin.put(  # B's connection id: A's own connection
            "/v1/imports/connections/main-teamviewer", {"source": "anydesk", "credentials": {"license_id": "1", "api_password": "a"}}), 200),
    ]
    for key, (status, answer), expected in created:
        assert status == expected, (key, status, answer)
        checked += 1
        routes_probed.add(key)
    assert created[2][1][1]["results"][0]["error"]["code"] == "not_found"
    assert f"/tenants/{a.tenant.tenant_id}/imports/" in created[5][1][1]["url"]  # an upload lands in A's own files
    assert created[6][1][1]["source"] == "anydesk"
    for key, path in (("GET /v1/imports/connections", "/v1/imports/connections"),
                      ("GET /v1/groups", "/v1/groups"), ("GET /v1/profiles", "/v1/profiles"), ("GET /v1/me", "/v1/me"), ("GET /v1/tokens", "/v1/tokens"),
                      ("GET /v1/events", "/v1/events"), ("GET /v1/totals", "/v1/totals"),
                      ("GET /v1/users", "/v1/users")):
        status, answer = a.tenant.admin.get(path)
        assert status == 200
        text = json.dumps(answer).replace("rival-spare laptop", "", 1)  # A's own token of that label, made above
        assert b.tenant.tenant_id not in text and "rival-" not in text.replace(b.subscription_group, "").replace(b.pay_profile, ""), answer
        checked += 1
        routes_probed.add(key)

    # Tenant-wide invoicing routes act on A's own settings, runs, invoices and periods only.
    for key, method, path, body, query in (
            ("PUT /v1/settings/invoicing", "PUT", "/v1/settings/invoicing", {"prefix": "A-"}, ""),
            ("GET /v1/settings/invoicing", "GET", "/v1/settings/invoicing", None, ""),
            ("POST /v1/invoice-runs", "POST", "/v1/invoice-runs", {"month": "2026-03"}, ""),
            ("GET /v1/invoices", "GET", "/v1/invoices", None, "month=2026-03"),
            ("POST /v1/periods/{month}/close", "POST", "/v1/periods/2026-01/close", None, ""),
            ("POST /v1/periods/{month}/reopen", "POST", "/v1/periods/2026-01/reopen", None, ""),
            ("GET /v1/periods/{month}", "GET", "/v1/periods/2026-01", None, "")):
        status, answer = a.tenant.admin.call(method, path, body, query)
        assert status in (200, 201) and b.tenant.tenant_id not in json.dumps(answer) and "rival-" not in json.dumps(answer), answer
        checked += 1
        routes_probed.add(key)

    # Every client's export of tenant A holds A's clients only, in every format.
    for file_format in ("csv", "xlsx", "quickbooks", "xero"):
        body = {"format": file_format, **({"status": "to_account"} if file_format in ("quickbooks", "xero") else {})}
        status, export = a.tenant.admin.post("/v1/exports", body)
        assert status == 201 and export["rows"] >= 1, export
        content = _download(export["key"])
        assert b.tenant.tenant_id.encode() not in content and b"rival-" not in content, file_format
        assert (a.subscription_group.encode() in content) == (file_format in ("csv", "xlsx")), file_format
        checked += 1
    routes_probed.add("POST /v1/exports")

    assert routes_probed == {route.key for route in template.routes()}
    assert tenant_items(b.tenant.tenant_id) == b_items, "a request of tenant A changed tenant B's items"
    assert state_seen_by_api(b) == b_seen
    assert len(tenant_items(a.tenant.tenant_id)) > len(a_items)  # A's own group, profile (and entries) were made
    count("isolation pairs (route × another tenant's ids)", checked)


def _download(key: str) -> bytes:
    """The file as stored; an xlsx is unzipped, so its sheets' text can be searched."""
    import io
    import os
    import zipfile

    import boto3

    raw = boto3.client("s3").get_object(Bucket=os.environ["EXPORTS_BUCKET"], Key=key)["Body"].read()
    if key.endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(raw)) as book:
            return b"".join(book.read(name) for name in book.namelist())
    return raw


def test_the_same_ids_in_two_tenants_never_collide(two_seeded_tenants):
    a, b = two_seeded_tenants
    answers = {}
    for seeded, minutes, amount in ((a, 20, "10.00"), (b, 50, "99.00")):
        admin = seeded.tenant.admin
        answers[seeded.tenant.tenant_id] = [
            admin.post("/v1/profiles", {**STANDARD, "profile_id": "shared-p", "initial_step_cost": amount}),
            admin.put("/v1/groups/shared-g", {"name": f"Client of {seeded.tenant.tenant_id}"}),
            admin.put("/v1/groups/shared-g/computers/pc-9", {"name": "Desk"}),
            admin.put("/v1/groups/shared-g/contract", {"profile_id": "shared-p"}),
            seeded.tenant.agent.post("/v1/sessions", upload("shared-s", "shared-g", minutes)),
        ]
    for seeded in (a, b):
        assert [status for status, _ in answers[seeded.tenant.tenant_id]] == [201, 201, 200, 200, 201], answers[seeded.tenant.tenant_id]
    assert answers[a.tenant.tenant_id][4][1]["session"]["cost"] == "15.00" and answers[b.tenant.tenant_id][4][1]["session"]["cost"] == "134.00"
    for seeded, other in ((a, b), (b, a)):
        admin = seeded.tenant.admin
        assert admin.get("/v1/sessions/shared-s")[1] == answers[seeded.tenant.tenant_id][4][1]["session"]
        assert admin.get("/v1/profiles/shared-p")[1]["initial_step_cost"] == answers[seeded.tenant.tenant_id][0][1]["initial_step_cost"]
        assert admin.get("/v1/groups/shared-g/totals")[1]["to_account"]["sessions"] == 1
        assert seeded.tenant.technician.post("/v1/sessions/shared-s/lock")[0] == 200
    assert b.tenant.admin.get("/v1/groups/shared-g/totals")[1]["accounted"]["cost"] == "134.00"
    assert a.tenant.admin.get("/v1/groups/shared-g/totals")[1]["accounted"]["cost"] == "15.00"
    count("isolation pairs (same id in two tenants)", 5)
