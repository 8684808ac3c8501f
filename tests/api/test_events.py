"""events/*.json: one sample API Gateway v2 event per function (and the authorizer's request),
for `sam local invoke -e`. Each names a route of template.yaml, and played in order against an
empty table they are the product's main path with exact figures."""
import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from billing_core import address_book, contracts, profiles, tenants
from billing_local import template
from billing_local.gateway import function_handler, load_handler

EVENTS = Path(__file__).resolve().parents[2] / "events"
ROUTES = {route.key: route for route in template.routes()}


def load(name: str) -> dict:
    return json.loads((EVENTS / f"{name}.json").read_text())


def route_events():
    return sorted(p.stem for p in EVENTS.glob("*.json") if p.stem != "authorizer")


def invoke(name: str):
    event = load(name)
    route = ROUTES[event["routeKey"]]
    answer = load_handler(str(route.code_dir), route.handler)(event, None)
    return answer["statusCode"], json.loads(answer["body"])


def test_every_function_behind_the_api_has_a_sample_event():
    code_dirs = {route.code_dir.name for route in ROUTES.values()} | {"authorizer"}
    have = {name.split(".")[0] for name in route_events()} | {"authorizer"}
    assert code_dirs <= have, code_dirs - have


@pytest.mark.parametrize("name", route_events())
def test_a_sample_event_is_an_api_gateway_v2_event_of_its_route(name):
    event = load(name)
    assert event["version"] == "2.0" and event["isBase64Encoded"] is False
    route = ROUTES[event["routeKey"]]
    assert route.code_dir.name == name.split(".")[0]
    context = event["requestContext"]
    assert context["routeKey"] == event["routeKey"] and context["http"]["method"] == route.method
    assert context["http"]["path"] == event["rawPath"]
    if name.endswith(".staff"):  # the staff API: the JWT authorizer's claims, every value a string
        claims = context["authorizer"]["jwt"]["claims"]
        assert {"sub", "tenant_id", "cognito:groups", "token_use", "client_id", "iss", "exp"} <= set(claims)
        assert all(isinstance(value, str) for value in claims.values()) and claims["token_use"] == "access"
    else:
        assert set(context["authorizer"]["lambda"]) == {"tenant_id", "role", "token_id", "denied"}
        assert context["authorizer"]["lambda"]["denied"] == ""
    assert route.pattern.match(event["rawPath"]).groupdict() == (event.get("pathParameters") or {})
    assert dict(parse_qsl(event["rawQueryString"])) == (event.get("queryStringParameters") or {})
    if "body" in event:
        assert isinstance(json.loads(event["body"]), dict)
        assert event["headers"]["content-type"] == "application/json"


def test_the_authorizer_event_resolves_a_token(aws):
    event = load("authorizer")
    assert event["type"] == "REQUEST" and event["routeKey"] in ROUTES
    authorizer = function_handler(template.authorizer_function())
    assert authorizer(event, None) == {"isAuthorized": True, "context": {
        "tenant_id": "", "role": "", "token_id": "", "denied": "unknown_token"}}
    tenant_id = tenants.create_tenant("Example MSP")["tenant_id"]
    issued = tenants.issue_token(tenant_id, "finance")
    event["headers"]["authorization"] = f"Bearer {issued['token']}"
    assert authorizer(event, None) == {"isAuthorized": True, "context": {
        "tenant_id": tenant_id, "role": "finance", "token_id": issued["token_id"], "denied": ""}}


def test_the_sample_events_played_in_order_are_the_main_path(aws):
    tenant_id = load("create_profile")["requestContext"]["authorizer"]["lambda"]["tenant_id"]
    status, profile = invoke("create_profile")
    assert (status, profile["profile_id"], profile["version"]) == (201, "standard", 1)
    assert invoke("address_book")[0] == 201
    assert invoke("address_book.computer") == (200, {"computer_id": "ACME-RECEPTION-01", "group_id": "acme", "name": "Reception PC"})
    assert invoke("assign_group")[0] == 200
    status, profile = invoke("profiles")
    assert (status, profile["version"], profile["step_cost"]) == (200, 2, "6.00")
    assert [p["version"] for p in invoke("profiles.list")[1]["profiles"]] == [2]
    status, quote = invoke("quotes")  # version 2: 20.00 + 7 × 6.00, then 60 min: 20.00 + 9 × 6.00
    assert (status, [(q["billed_minutes"], q["cost"]) for q in quote["sessions"]]) == (200, [(50, "62.00"), (60, "74.00")])

    status, recorded = invoke("record_session")  # 22:31 booked to the computer's group: 15 min + 2 steps of 6.00
    assert status == 201, recorded
    session = recorded["session"]
    assert (session["group_id"], session["connection_seconds"], session["billed_minutes"], session["cost"]) == ("acme", 1351, 25, "32.00")
    assert invoke("record_session") == (200, recorded)
    status, batch = invoke("record_session.batch")
    assert status == 200
    assert [r.get("session", {}).get("cost") for r in batch["results"]] == ["50.00", "80.00", None]
    assert batch["results"][2] == {"recorded": False, "reason": "below_minimum_duration"}

    assert invoke("get_session") == (200, session)
    status, adjusted = invoke("adjust_session")
    assert (status, adjusted["extra_minutes"], adjusted["billed_minutes"], adjusted["cost"]) == (200, -5, 20, "26.00")
    status, page = invoke("search_sessions")
    assert (status, len(page["sessions"]), page["next_cursor"]) == (200, 3, None)
    status, overview = invoke("tenant_totals")  # the tenant overview of the same month: one row, acme
    assert status == 200 and [g["group_id"] for g in overview["groups"]] == ["acme"], overview
    assert overview["groups"][0]["to_account"]["cost"] == "156.00" and overview["next_cursor"] is None
    status, totals = invoke("totals")
    assert totals["to_account"] == {"sessions": 3, "total_seconds": 1051 + 2170 + 3720, "billed_minutes": 20 + 40 + 65,
                                    "cost": "156.00", "costs": [{"currency": "EUR", "amount": "156.00"}]}
    status, locked = invoke("lock_session")
    assert (status, locked["status"], locked["cost"]) == (200, "accounted", "26.00")
    assert invoke("lock_session") == (200, locked)
    assert invoke("lock_all") == (200, {"locked": 1, "billed_minutes": 65, "cost": "80.00", "costs": [{"currency": "EUR", "amount": "80.00"}]})
    assert invoke("jobs")[0] == 404  # no such job of this tenant (a lock-all this small needs none)
    status, export = invoke("export_sessions")
    assert (status, export["rows"]) == (201, 3)
    assert export["key"].startswith(f"tenants/{tenant_id}/exports/")
    assert invoke("history")[0] == 200
    tenants.create_tenant("Example MSP", tenant_id)
    assert invoke("whoami")[0] == 200
    status, issued = invoke("tokens")  # a token for a new technician's laptop, shown once
    assert (status, issued["role"], issued["label"]) == (201, "technician", "Ann's laptop") and issued["token"].startswith("rsa_")

    # the recharge sample tops up globex, a client on a subscription
    profiles.create_profile(tenant_id, {"profile_id": "gold", "name": "Gold 10h", "type": "subscription", "currency": "EUR",
                                        "min_duration_minutes": 1, "total_hours": 10, "amount": "500.00", "step_minutes": 15}, "")
    address_book.put_group(tenant_id, "globex", {"name": "Globex"})
    contracts.assign_profile(tenant_id, "globex", {"profile_id": "gold"}, "")
    status, recharge = invoke("recharge")
    assert status == 201, recharge
    assert recharge["balance"] == {"total_minutes": 600, "recharged_minutes": 450, "used_minutes": 0, "carried_over_minutes": 0,
                                   "expired_minutes": 0, "overage_minutes": 0, "available_minutes": 1050, "amount": "800.00"}
    status, ledger = invoke("contracts")  # the recharge is the ledger's second entry, after the allotment
    assert status == 200, ledger
    assert [(e["kind"], e["minutes"], e["running_balance"]) for e in ledger["entries"]] == [("allotment", 600, 600), ("recharge", 450, 1050)]


def test_the_invoicing_sample_events_played_after_the_main_path(aws):
    """Settings, March's run and the month's list, the main path's locked session unlocked, the
    period closed; the sample invoice and run ids are of another run: unknown here (404)."""
    test_the_sample_events_played_in_order_are_the_main_path(aws)
    status, settings = invoke("invoice_settings")
    assert (status, settings["next_number"], settings["time_zone"]) == (200, 41, "Europe/Paris")
    status, run = invoke("invoice_runs")
    assert status == 201 and [(i["group_id"], i["total"]) for i in run["invoices"]] == [("acme", "106.00")], run
    status, listed = invoke("invoices")
    assert status == 200 and [i["invoice_id"] for i in listed["invoices"]] == [run["invoices"][0]["invoice_id"]]
    for name in ("issue_invoice", "void_invoice", "invoice_pdf", "invoice_runs.exports"):
        assert invoke(name)[0] == 404, name
    status, unlocked = invoke("unlock_session")
    assert (status, unlocked["status"], unlocked["locked_at"]) == (200, "to_account", None)
    status, period = invoke("periods")
    assert (status, period["month"], period["closed"]) == (200, "2026-03", True)
    assert invoke("unlock_session")[1]["error"]["code"] == "not_locked"
