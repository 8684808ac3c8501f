"""Fuzzing from the project's OpenAPI document (openapi.yaml) with schemathesis, in process: every
operation gets generated requests (valid ones on the seeded tenant's real ids, valid ones on
generated ids, and invalid ones), sent with a valid admin token through the template's authorizer
and handlers. No answer may be a 5xx; every 4xx has the SPEC's error shape and a 400 names its
field. Deterministic (derandomize) and bounded, so CI runs the same cases every time.

The number of cases run is asserted and shown in the run's "trust figures" summary."""
import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from .conftest import Tenant, assert_error_shape, count, mocked_aws, seed

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
EXAMPLES = {"real ids": 25, "generated ids": 10, "invalid": 25}  # per operation


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
