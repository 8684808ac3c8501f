"""Fuzzing from the project's OpenAPI document (openapi.yaml) with schemathesis, in process: every
operation gets generated requests (valid ones on the seeded tenant's real ids, valid ones on
generated ids, and invalid ones), sent with a valid admin token through the template's authorizer
and handlers. No answer may be a 5xx; every 4xx has the SPEC's error shape and a 400 names its
field. Deterministic (derandomize) and bounded, so CI runs the same cases every time.

The number of cases run is asserted and shown in the run's "trust figures" summary."""
import contextlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from jsonschema import Draft202012Validator

from billing_core import jsonio
from billing_core.dal import models

from .conftest import STANDARD, Answer, Tenant, assert_error_shape, count, mocked_aws, seed, valid_requests

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES = {"real ids": 15, "generated ids": 6, "invalid": 15}  # per operation (with the field matrix below: about 60 s)


class GatewayApp:
    """A WSGI app in front of the in-process API Gateway (what schemathesis calls)."""

    def __init__(self, gateway):
        self.gateway = gateway

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        status, answer_headers, text = self.gateway.invoke(environ["REQUEST_METHOD"], path, headers, environ.get("QUERY_STRING", ""), body)
        start_response(f"{status} {'OK' if status < 400 else 'Error'}", list({"content-type": "application/json", **answer_headers}.items()))
        return [text.encode()]


@pytest.fixture(scope="module")
def fuzzed(gateway_once):
    with mocked_aws():
        seeded = seed(Tenant(gateway_once, "Fuzzed IT"))
        schema = schemathesis.openapi.from_path(SPEC)
        schema.app = GatewayApp(gateway_once)
        yield schema, seeded


MISMATCHES: list[tuple] = []  # answers that openapi.yaml does not describe
CONFORMANCE = [response_schema_conformance, status_code_conformance, content_type_conformance]


def check(case, response, log: list) -> None:
    status = response.status_code
    if status < 500:  # the answer is the one the document describes (status, content type, schema)
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as failure:
            MISMATCHES.append((case.method, case.path, status, str(failure).split("\n")[1:4], response.text[:200]))
    log.append(status)
    where = f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]!r}"
    assert status < 500, (where, status, response.text[:500])
    if status >= 400:
        body = json.loads(response.text)
        if body == {"message": "Unauthorized"}:  # API Gateway's own 401: only without a header
            assert status == 401 and not response.request.headers.get("Authorization"), (where, status)
            return
        error = assert_error_shape(status, body)
        if status == 400:
            field, colon, why = error["message"].partition(": ")
            # "<field>: <why>" (a query parameter with an empty name is named by its empty name)
            assert colon and why and " " not in field, (where, error)


def test_no_generated_request_is_answered_with_a_5xx_or_without_the_error_shape(fuzzed):
    schema, seeded = fuzzed
    headers = {"Authorization": f"Bearer {seeded.tenant.tokens['admin']}"}
    real_ids = seeded.ids()
    log: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        variants = [
            ("real ids", GenerationMode.POSITIVE, {name: real_ids[name] for name in names} or None),
            ("generated ids", GenerationMode.POSITIVE, None),
            ("invalid", GenerationMode.NEGATIVE, None),
        ]
        for label, mode, path_parameters in variants:
            if label == "generated ids" and not names:
                continue
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

            @settings(max_examples=EXAMPLES[label], deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def send(case):
                check(case, case.call(headers=headers), log)

            send()
    count("fuzz cases run (schemathesis, from openapi.yaml)", len(log))
    count("fuzz cases answered 2xx", sum(1 for s in log if s < 300))
    count("fuzz cases answered 4xx", sum(1 for s in log if 400 <= s < 500))
    assert len(log) >= 1000
    # Every answer is one the document describes (status code, content type, body schema).
    undocumented = sorted({f"{method} {path} answered {status}: {text}" for method, path, status, _, text in MISMATCHES})
    assert not undocumented, "\n".join(undocumented)


# ---------------------------------------------------------------- every field of every write route


DOC = yaml.safe_load(SPEC.read_text())
EXPONENT = "\x00exponent\x00"  # a placeholder: the JSON number `1e1`, which no Python value dumps as
VALUES = {  # what a field of any type may be sent instead of its value
    "an object": {}, "an object with a key": {"a": "b"}, "an array": [], "an array of text": ["x"],
    "true": True, "false": False, "null": None, "zero": 0, "minus one": -1, "a fraction": Decimal("1.5"),
    "a huge number": 10**40, "an exponent number": EXPONENT,
    "an exponent string": "1e1", "an empty string": "", "a space": " ", "a tab": "\t",
    "a lone surrogate": "\ud800", "a lone low surrogate in text": "ab\udfffcd", "a NUL": "a\x00b",
    "an escape sequence": "\x1b[2J", "a long string": "x" * 3000,
}
NEVER_TEXT = re.compile(r"[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f]")  # no field holds these (tab and line feed: notes)
KEYS = {  # keys no request has: each is a 400 naming it
    "a lone surrogate": "\ud800", "a surrogate in a key": "a\udc00b", "a NUL": "\x00", "an escape": "\x1b[2J",
    "an empty key": "", "a space": " ", "a quote": 'a"b', "a long key": "k" * 300, "a right-to-left override": "\u202eab",
    "a prototype": "__proto__", "a near miss": "Notes",
}


def _inline(node):
    """The schema with every $ref replaced by what it names (openapi.yaml has no recursive schema)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = _inline(DOC["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
            return {**target, **{k: _inline(v) for k, v in node.items() if k != "$ref"}}
        return {k: _inline(v) for k, v in node.items()}
    return [_inline(v) for v in node] if isinstance(node, list) else node


def body_schema(route_key: str, body: dict) -> dict:
    method, path = route_key.split(" ", 1)
    schema = _inline(DOC["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
                     .get("application/json", {}).get("schema", {"type": "object", "properties": {}}))
    for branch in schema.get("oneOf", ()):  # a profile: the branch of its type; an export: the branch its fields fit
        if "type" in branch["properties"]:
            if branch["properties"]["type"].get("const") == body.get("type"):
                return branch
        elif set(branch.get("required", ())) <= set(body) <= set(branch["properties"]):
            return branch
    return schema


def valid_per_schema(schema: dict, value) -> bool:
    value = float(value) if isinstance(value, Decimal) else value  # jsonschema's multipleOf divides by a float
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).is_valid(value)


def raw_json(body) -> bytes:
    return jsonio.dumps(body).replace(jsonio.dumps(EXPONENT), "1e1").encode()


SURCHARGED = {  # a profile with every optional field, so each is fuzzed from a valid start
    **STANDARD, "time_zone": "Europe/Paris", "holidays": {"country": "FR", "dates": ["2026-12-24"]},
    "surcharges": [{"name": "night", "days": ["mon", "holiday"], "from": "00:00", "to": "07:00", "multiplier": "1.50"}],
}


def fuzz_targets(seeded) -> list[tuple]:
    """(route key, method, path, a valid body, the body's schema): every write route of the template."""
    requests = valid_requests(seeded, "fz")
    extra = {"POST /v1/sessions/{session_id}/lock": {}, "POST /v1/sessions/{session_id}/unlock": {},
             "POST /v1/invoices/{invoice_id}/issue": {}, "POST /v1/invoices/{invoice_id}/void": {},
             "POST /v1/periods/{month}/close": {}, "POST /v1/periods/{month}/reopen": {}, "POST /v1/exports": {"format": "xlsx"}, "POST /v1/profiles": SURCHARGED,
             "POST /v1/imports/uploads": {},
             "POST /v1/groups/{group_id}/exports": {"format": "quickbooks", "from": "2026-03-01", "time_zone": "Europe/Paris"}}
    targets = []
    for key, (method, path, body, _) in requests.items():
        if method in ("POST", "PUT", "PATCH"):
            body = extra.get(key, body)
            assert body is not None, key
            targets.append((key, method, path, body, body_schema(key, body)))
    return targets


def places(body: dict, schema: dict):
    """(label, a setter for a copy of the body, the field's name, its schema): each top-level field
    of the schema, and each field of the first object of an array of objects (`sessions[0].notes`)."""
    for name, field_schema in schema.get("properties", {}).items():
        yield name, (lambda copy, value, name=name: copy.__setitem__(name, value)), name, field_schema
        items = field_schema.get("items", {})
        if items.get("type") == "object" and isinstance(body.get(name), list) and body[name]:
            for inner, inner_schema in items.get("properties", {}).items():
                yield (f"{name}[0].{inner}", (lambda copy, value, name=name, inner=inner: copy[name][0].__setitem__(inner, value)),
                       inner, inner_schema)
        if field_schema.get("type") == "object" and isinstance(body.get(name), dict):
            for inner, inner_schema in field_schema.get("properties", {}).items():
                yield (f"{name}.{inner}", (lambda copy, value, name=name, inner=inner: copy[name].__setitem__(inner, value)),
                       inner, inner_schema)


class Writes:
    """Counts the DynamoDB writes sent while active: a refused request must send none."""

    WRITE_CALLS = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")

    def __init__(self):
        self.sent = []
        events = models.connection().client.meta.events
        for call in self.WRITE_CALLS:
            events.register(f"before-call.dynamodb.{call}", self._count)

    def _count(self, model=None, params=None, **_):
        self.sent.append(model.name if model is not None else "?")


def _named(message: str) -> str:
    """The field a 400's message names: the text before ": ", or the JSON string it starts with."""
    if message.startswith('"'):
        with contextlib.suppress(ValueError):
            return json.JSONDecoder().raw_decode(message)[0]
    return message.partition(": ")[0]


def refusal_names(answer: Answer, label: str, leaf: str, *, strict: bool) -> str | None:
    """The problem with one answer, or None. `strict`: the value breaks the field's schema or holds
    what no field may, so the answer must be a 400 naming the field (a batch: its item's error)."""
    try:
        answer.text.encode("utf-8")
    except UnicodeEncodeError:
        return f"an answer that UTF-8 cannot encode: {answer.text[:200]!r}"
    if answer.status >= 500:
        return f"{answer.status} {answer.text[:300]}"
    status, body = answer.status, answer.body
    if status < 300 and isinstance(body, dict) and "results" in body:  # a batch answers per item
        if "error" in body["results"][0]:
            body, status = {"error": body["results"][0]["error"]}, 400
            leaf = "session" if label == "sessions" else leaf  # the item itself is not an object
    if status < 300:
        return "accepted" if strict else None
    try:
        assert_error_shape(status, body)
    except AssertionError as failure:
        return f"not the error shape: {failure}"
    if strict and (status != 400 or leaf not in _named(body["error"]["message"])):
        return f"{status} {body['error']['message'][:200]}"
    return None


def names_key(message: str, where: str, key: str) -> bool:
    """The 400 names the key: as it is, or after the object holding it (`sessions[0].<key>`),
    escaped when it must be, and cut (ending in an ellipsis) when long."""
    named = _named(message)
    for full in (key, f"{where}.{key}"):
        if named == full or (named.endswith("\u2026") and full.startswith(named[:-1])):
            return True
    return False


def _with_key(valid: dict, key: str):
    """The body with `key` added: at its top, and in each object it holds (a list's first one)."""
    copy = json.loads(json.dumps(valid))
    copy[key] = 1
    yield "body", copy
    for name, value in valid.items():
        copy = json.loads(json.dumps(valid))
        if isinstance(value, dict):
            copy[name][key] = 1
            yield name, copy
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            copy[name][0][key] = 1
            yield f"{name}[0]", copy


def _error_of(answer: Answer) -> dict:
    body = answer.body
    if answer.status < 300 and "results" in body:
        return body["results"][0]["error"]
    return body["error"]


def test_every_field_of_every_write_route_refuses_what_it_cannot_hold(fuzzed):
    """For each field (and each field of a list's object) of each write route, values of every
    JSON type and the strings no field holds: a 2xx, or a 4xx in the error shape; where the value
    breaks openapi.yaml's schema of the field, or holds a lone surrogate or a control character,
    a 400 that names the field, that sent no write to the table and left the tenant unchanged."""
    _, seeded = fuzzed
    admin, writes, problems, sent = seeded.tenant.admin, Writes(), [], 0
    for key, method, path, valid, schema in fuzz_targets(seeded):
        for label, put, leaf, field_schema in places(valid, schema):
            for name, value in VALUES.items():
                copy = json.loads(json.dumps(valid))
                put(copy, value)
                holds_never = isinstance(value, str) and NEVER_TEXT.search(value)
                strict = bool(holds_never) or (value is not None and value != EXPONENT and not valid_per_schema(field_schema, value))
                strict = strict or (value == EXPONENT and "MoneyInput" in str(field_schema.get("description", "")))
                writes.sent.clear()
                answer = admin.answer(method, path, raw=raw_json(copy))
                sent += 1
                problem = refusal_names(answer, label, leaf, strict=strict)
                if problem is None and answer.status == 400 and writes.sent:
                    problem = f"refused, yet sent {writes.sent}"
                if problem:
                    problems.append(f"{key} {label} = {name}: {problem}")
        for name, bad_key in KEYS.items():
            for where, copy in _with_key(valid, bad_key):
                writes.sent.clear()
                answer = admin.answer(method, path, raw=raw_json(copy))
                sent += 1
                problem = refusal_names(answer, where, "", strict=True)
                if problem is None and not names_key(_error_of(answer)["message"], where, bad_key):
                    problem = f"does not name the key: {_error_of(answer)['message'][:200]}"
                if problem is None and writes.sent:
                    problem = f"refused, yet sent {writes.sent}"
                if problem:
                    problems.append(f"{key} key at {where} = {name}: {problem}")
    count("fuzz requests, every field and key of every write route", sent)
    assert not problems, f"{len(problems)} of {sent}:\n" + "\n".join(problems[:80])
    assert sent >= 2000


@settings(max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(key=st.text(st.characters(codec=None, exclude_categories=()), max_size=200), nested=st.booleans())
def test_any_unknown_key_is_named_in_an_answer_utf8_can_carry(fuzzed, key, nested):
    """Whatever text a key is (any code point, surrogates and controls included), a key the
    request does not know is a 400 that names it, in an answer that is valid UTF-8."""
    _, seeded = fuzzed
    if key in ("name", "holidays"):
        return
    body = {"name": "Acme Ltd"} if not nested else {**STANDARD, "holidays": {"country": "FR", key: 1}}
    if not nested:
        body[key] = 1
    method, path = ("PUT", f"/v1/groups/{seeded.subscription_group}") if not nested else ("POST", "/v1/profiles")
    answer = seeded.tenant.admin.answer(method, path, raw=raw_json(body))
    answer.text.encode("utf-8")
    assert answer.status == 400, (key, answer.text)
    assert_error_shape(answer.status, answer.body, code="invalid_input")
    assert names_key(answer.body["error"]["message"], "holidays" if nested else "body", key), (key, answer.text)
