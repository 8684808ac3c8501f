"""openapi.yaml is a valid OpenAPI document of exactly the routes template.yaml declares, its
request bodies name exactly the fields the handlers accept, and the answers of the real
functions (through the gateway) match the schemas it documents."""
import re
import sys
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from billing_core import profiles, quotes, recording, sessions
from billing_local import template
from billing_local.gateway import load_handler

ROOT = Path(__file__).resolve().parents[1]
SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = {"get", "put", "post", "patch", "delete"}


def operations():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, item, operation


def deref(node):
    """A node of the document with its local $ref followed."""
    while isinstance(node, dict) and "$ref" in node:
        assert node["$ref"].startswith("#/"), node["$ref"]
        target = SPEC
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def test_the_document_is_valid_openapi():
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


def test_it_documents_exactly_the_routes_of_the_template():
    documented = {(method, path) for method, path, _, _ in operations()}
    declared = {(route.method, route.path) for route in template.routes()}
    assert documented - declared == set(), "documented but not in template.yaml"
    assert declared - documented == set(), "in template.yaml but not documented"


def test_every_operation_declares_its_path_parameters_roles_and_bearer_security():
    assert SPEC["components"]["securitySchemes"]["bearer"] == {**SPEC["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    assert SPEC["security"] == [{"bearer": []}]
    for method, path, item, operation in operations():
        declared = {deref(p)["name"] for p in item.get("parameters", []) + operation.get("parameters", []) if deref(p)["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
        assert set(operation["x-roles"]) <= {"admin", "technician", "finance", "agent"}, (method, path)
        answers = operation["responses"]
        assert any(code.startswith("2") for code in answers), (method, path)
        assert "401" in answers, (method, path)
        if set(operation["x-roles"]) != {"admin", "technician", "finance", "agent"}:
            assert "403" in answers, (method, path)


def body_schemas(operation):
    """The object schemas a request body may be (both branches of a oneOf)."""
    schema = deref(operation["requestBody"]["content"]["application/json"]["schema"])
    return [deref(branch) for branch in schema["oneOf"]] if "oneOf" in schema else [schema]


def test_every_request_body_refuses_unknown_fields():
    bodies = 0
    for method, path, _, operation in operations():
        if "requestBody" not in operation:
            assert method in ("GET", "DELETE"), f"{method} {path} documents no body"
            continue
        for schema in body_schemas(operation):
            bodies += 1
            assert schema["type"] == "object" and schema["additionalProperties"] is False, (method, path)
    assert bodies >= 14


def documented_fields(method, path) -> set:
    operation = SPEC["paths"][path][method.lower()]
    return set().union(*(schema["properties"] for schema in body_schemas(operation)))


def test_the_documented_body_fields_are_the_fields_the_handlers_accept():
    assert documented_fields("POST", "/v1/sessions") == set(recording.UPLOAD_FIELDS)
    batch_item = deref(SPEC["paths"]["/v1/sessions/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["sessions"]["items"])
    assert set(batch_item["properties"]) == set(recording.UPLOAD_FIELDS)
    assert documented_fields("PATCH", "/v1/sessions/{session_id}") == set(sessions.ADJUST_FIELDS)
    assert documented_fields("POST", "/v1/profiles") == set(profiles.PROFILE_FIELDS)
    assert documented_fields("PUT", "/v1/profiles/{profile_id}") == set(profiles.PROFILE_FIELDS)
    assert documented_fields("POST", "/v1/quotes") == set(quotes.QUOTE_FIELDS)
    quoted = SPEC["paths"]["/v1/quotes"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["sessions"]["items"]
    assert set(quoted["properties"]) == set(quotes.SESSION_FIELDS)
    export_route = next(r for r in template.routes() if (r.method, r.path) == ("POST", "/v1/groups/{group_id}/exports"))
    export_module = sys.modules[load_handler(str(export_route.code_dir), export_route.handler).__module__]
    if hasattr(export_module, "EXPORT_FIELDS"):
        assert documented_fields("POST", "/v1/groups/{group_id}/exports") == set(export_module.EXPORT_FIELDS)
        assert documented_fields("POST", "/v1/exports") == set(export_module.EVERY_CLIENT_FIELDS)


def test_the_limits_of_the_spec_are_in_the_schemas():
    schemas = SPEC["components"]["schemas"]
    assert (schemas["Id"]["minLength"], schemas["Id"]["maxLength"]) == (1, 128)
    assert schemas["Name"]["maxLength"] == 200 and schemas["Notes"]["maxLength"] == 2000
    assert (schemas["ExtraMinutes"]["minimum"], schemas["ExtraMinutes"]["maximum"]) == (-10080, 10080)
    assert schemas["MoneyInput"]["anyOf"][1]["maximum"] == 999999999.99
    assert schemas["Status"]["enum"] == ["to_account", "accounted"]
    assert schemas["ProfileType"]["enum"] == ["pay_per_use", "subscription"]
    assert schemas["Role"]["enum"] == ["admin", "technician", "finance", "agent"]
    batch = SPEC["paths"]["/v1/sessions/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert (batch["properties"]["sessions"]["minItems"], batch["properties"]["sessions"]["maxItems"]) == (1, 100)
    export = deref(SPEC["paths"]["/v1/groups/{group_id}/exports"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    assert export["properties"]["delimiter"]["enum"] == [",", ";"]
    assert export["properties"]["format"]["enum"] == ["csv", "xlsx", "quickbooks", "xero"]
    assert export["properties"]["locale"]["enum"] == ["en", "fr", "it", "de"]


# ---------------------------------------------------------------- the real answers match the document


def answer_validator(method: str, path: str, status: int) -> Draft202012Validator:
    responses = SPEC["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} answered {status}, which openapi.yaml does not document"
    schema = deref(responses[str(status)])["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": SPEC["components"]})


def check(client, method: str, path: str, concrete: str | None = None, body=None, query: str = ""):
    status, answer = client.call(method, concrete or path, body, query=query)
    errors = sorted(answer_validator(method, path, status).iter_errors(answer), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} in {answer}"
    return status, answer


def request_validator(method: str, path: str) -> Draft202012Validator:
    schema = SPEC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": SPEC["components"]})


def test_the_main_path_answers_as_documented(msp, other_msp, anonymous):
    pay_per_use = {"profile_id": "std", "name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 2,
                   "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00"}
    subscription = {"profile_id": "sub", "name": "Prepaid", "type": "subscription", "currency": "EUR", "min_duration_minutes": 1,
                    "total_hours": "7.5", "amount": "300.00", "step_minutes": 15}
    for body in (pay_per_use, subscription):  # what the document says a client may send is what the API takes
        assert request_validator("POST", "/v1/profiles").is_valid(body)
        assert check(msp.admin, "POST", "/v1/profiles", body=body)[0] == 201
    assert not request_validator("POST", "/v1/profiles").is_valid({**pay_per_use, "total_hours": 1})
    assert check(msp.admin, "POST", "/v1/profiles", body=pay_per_use)[0] == 409
    assert check(msp.admin, "POST", "/v1/profiles", body={**pay_per_use, "profile_id": "x", "step_minutes": 0})[0] == 400
    assert check(msp.admin, "PUT", "/v1/profiles/{profile_id}", "/v1/profiles/std", body={**pay_per_use, "step_cost": "6.00"})[1]["version"] == 2
    assert check(msp.finance, "GET", "/v1/profiles")[0] == 200
    assert check(msp.finance, "GET", "/v1/profiles/{profile_id}", "/v1/profiles/std", query="version=1")[1]["version"] == 1
    assert len(check(msp.finance, "GET", "/v1/profiles/{profile_id}/versions", "/v1/profiles/std/versions")[1]["versions"]) == 2
    assert check(other_msp.finance, "GET", "/v1/profiles/{profile_id}", "/v1/profiles/std")[0] == 404

    assert check(msp.admin, "PUT", "/v1/groups/{group_id}", "/v1/groups/acme", body={"name": "Acme"})[0] == 201
    assert check(msp.admin, "PUT", "/v1/groups/{group_id}", "/v1/groups/acme", body={"name": "Acme Ltd"})[0] == 200
    assert check(msp.admin, "PUT", "/v1/groups/{group_id}", "/v1/groups/club", body={"name": "Club"})[0] == 201
    assert check(msp.admin, "PUT", "/v1/groups/{group_id}/computers/{computer_id}", "/v1/groups/acme/computers/pc-1", body={"name": "PC"})[0] == 200
    assert check(msp.technician, "GET", "/v1/groups")[0] == 200
    assert check(msp.admin, "PUT", "/v1/groups/{group_id}/contract", "/v1/groups/acme/contract", body={"profile_id": "std"})[0] == 200
    assert "balance" in check(msp.admin, "PUT", "/v1/groups/{group_id}/contract", "/v1/groups/club/contract", body={"profile_id": "sub"})[1]
    assert check(msp.admin, "POST", "/v1/groups/{group_id}/recharges", "/v1/groups/club/recharges", body={"hours": 2, "amount": "80.00"})[0] == 201
    assert check(msp.admin, "POST", "/v1/groups/{group_id}/recharges", "/v1/groups/acme/recharges", body={"hours": 2, "amount": "80.00"})[0] == 409

    upload = {"session_id": "s-1", "technician": "ann", "computer_id": "pc-1",
              "started_at": "2026-03-02T09:00:00+01:00", "ended_at": "2026-03-02T08:22:00Z"}
    assert request_validator("POST", "/v1/sessions").is_valid(upload)
    assert check(msp.agent, "POST", "/v1/sessions", body=upload)[0] == 201
    assert check(msp.agent, "POST", "/v1/sessions", body=upload)[0] == 200
    assert check(msp.agent, "POST", "/v1/sessions", body={**upload, "notes": "other"})[0] == 409
    short = {**upload, "session_id": "s-short", "ended_at": "2026-03-02T08:00:30Z"}
    assert check(msp.agent, "POST", "/v1/sessions", body=short)[1] == {"recorded": False, "reason": "below_minimum_duration"}
    status, batch = check(msp.agent, "POST", "/v1/sessions/batch", body={"sessions": [
        {**upload, "session_id": "s-2"}, short, {**upload, "session_id": "s-3", "group_id": "club"}, {**upload, "session_id": "s-4", "computer_id": "nowhere"}]})
    assert [r["recorded"] for r in batch["results"]] == [True, False, True, False]
    assert check(msp.agent, "POST", "/v1/sessions", body={**upload, "extra": 1})[0] == 400

    assert check(msp.finance, "GET", "/v1/sessions/{session_id}", "/v1/sessions/s-1")[1]["cost"] == "32.00"  # version 2: 20.00 + 2 x 6.00
    assert check(msp.finance, "GET", "/v1/sessions/{session_id}", "/v1/sessions/s-3")[1]["cost"] is None
    assert check(msp.technician, "PATCH", "/v1/sessions/{session_id}", "/v1/sessions/s-1", body={"extra_minutes": -10, "notes": "n"})[0] == 200
    assert check(msp.technician, "PATCH", "/v1/sessions/{session_id}", "/v1/sessions/s-1", body={"extra_minutes": 10081})[0] == 400
    assert check(msp.technician, "POST", "/v1/sessions/{session_id}/lock", "/v1/sessions/s-1/lock")[1]["status"] == "accounted"
    assert check(msp.technician, "POST", "/v1/sessions/{session_id}/lock", "/v1/sessions/s-1/lock")[0] == 200
    assert check(msp.technician, "PATCH", "/v1/sessions/{session_id}", "/v1/sessions/s-1", body={"notes": "late"})[0] == 409
    assert check(msp.finance, "GET", "/v1/sessions/{session_id}/history", "/v1/sessions/s-1/history")[0] == 200
    assert check(msp.finance, "GET", "/v1/groups/{group_id}/history", "/v1/groups/club/history")[0] == 200
    status, page = check(msp.finance, "GET", "/v1/groups/{group_id}/sessions", "/v1/groups/acme/sessions", query="limit=1")
    assert page["next_cursor"] is not None
    assert check(msp.finance, "GET", "/v1/groups/{group_id}/sessions", "/v1/groups/acme/sessions", query="status=maybe")[0] == 400
    assert check(msp.finance, "POST", "/v1/groups/{group_id}/lock-all", "/v1/groups/acme/lock-all", body={})[1]["locked"] == 1
    assert check(msp.finance, "POST", "/v1/groups/{group_id}/lock-all", "/v1/groups/club/lock-all")[1]["cost"] is None
    assert check(msp.finance, "GET", "/v1/groups/{group_id}/totals", "/v1/groups/acme/totals", query="from=2026-03-01T00:00:00Z")[0] == 200
    assert "balance" in check(msp.finance, "GET", "/v1/groups/{group_id}/totals", "/v1/groups/club/totals")[1]
    assert check(msp.finance, "GET", "/v1/groups/{group_id}/totals", "/v1/groups/nowhere/totals")[0] == 404

    status, export = check(msp.finance, "POST", "/v1/groups/{group_id}/exports", "/v1/groups/acme/exports", body={"delimiter": ";"})
    assert status in (201, 202)
    assert check(msp.finance, "GET", "/v1/exports/{export_id}", f"/v1/exports/{export['export_id']}")[0] == 200
    assert check(msp.finance, "POST", "/v1/groups/{group_id}/exports", "/v1/groups/acme/exports", body={"delimiter": "|"})[0] == 400

    assert check(msp.agent, "GET", "/v1/me")[1]["role"] == "agent"
    assert check(anonymous, "GET", "/v1/groups")[0] == 401
    assert check(msp.agent, "GET", "/v1/groups")[0] == 403


def test_tariff_rules_and_quotes_answer_as_documented(msp):
    """SPEC §10: a profile with every rule, a session priced by it, its lock, and quotes."""
    rules = {"time_zone": "Europe/Paris", "holidays": {"country": "FR", "subdivision": None, "dates": ["2026-12-24"]},
             "surcharges": [{"name": "evening", "days": ["mon", "tue", "wed", "thu", "fri", "holiday"],
                             "from": "18:00", "to": "24:00", "multiplier": "1.50"}]}
    gold = {"profile_id": "gold", "name": "Gold", "type": "subscription", "currency": "EUR", "min_duration_minutes": 1,
            "total_hours": 10, "amount": "500.00", "step_minutes": 15, **rules, "overage_step_cost": "30.00",
            "alert_thresholds": [50, 20, 0]}
    standard = {"profile_id": "std", "name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 2,
                "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00", **rules}
    for body in (gold, standard):
        assert request_validator("POST", "/v1/profiles").is_valid(body)
        assert check(msp.admin, "POST", "/v1/profiles", body=body)[0] == 201
    assert not request_validator("POST", "/v1/profiles").is_valid({**standard, "overage_step_cost": "1.00"})
    assert check(msp.admin, "PUT", "/v1/groups/{group_id}", "/v1/groups/acme", body={"name": "Acme"})[0] == 201
    assert check(msp.admin, "PUT", "/v1/groups/{group_id}/contract", "/v1/groups/acme/contract", body={"profile_id": "std"})[0] == 200
    upload = {"session_id": "s-1", "technician": "ann", "computer_id": "pc-1", "group_id": "acme",
              "started_at": "2026-10-06T17:30:00+02:00", "ended_at": "2026-10-06T18:30:00+02:00"}
    assert check(msp.agent, "POST", "/v1/sessions", body=upload)[1]["session"]["pricing"]["multiplier"] == "1.2500"
    assert check(msp.finance, "POST", "/v1/sessions/{session_id}/lock", "/v1/sessions/s-1/lock")[1]["cost"] == "81.25"  # (20.00 + 9 × 5.00) × 1.25

    quote = {"profile_id": "gold", "sessions": [
        {"started_at": "2026-12-24T17:00:00+01:00", "ended_at": "2026-12-24T19:00:00+01:00", "extra_minutes": 5},
        {"started_at": "2026-12-24T17:00:00+01:00", "ended_at": "2026-12-24T17:00:30+01:00"}]}
    assert request_validator("POST", "/v1/quotes").is_valid(quote)
    status, answer = check(msp.technician, "POST", "/v1/quotes", body=quote)
    assert (answer["sessions"][0]["multiplier"], answer["sessions"][1]["recorded"]) == ("1.2500", False)
    assert answer["sessions"][0]["billed_minutes"] == 165  # 125 min × 1.25 in started 15-min steps
    inline = {"profile": {k: v for k, v in standard.items() if k != "profile_id"}, "sessions": quote["sessions"][:1]}
    assert check(msp.technician, "POST", "/v1/quotes", body=inline)[1]["sessions"][0]["cost"] == "162.50"  # (20.00 + 22 × 5.00) × 1.25
    assert check(msp.technician, "POST", "/v1/quotes", body={"profile_id": "nope", "sessions": quote["sessions"]})[0] == 404
    assert check(msp.technician, "POST", "/v1/quotes", body={"sessions": quote["sessions"]})[0] == 400
    assert check(msp.agent, "POST", "/v1/quotes", body=quote)[0] == 403
