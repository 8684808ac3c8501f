"""Every route of template.yaml, driven through the gateway on the strict store, needs no call
its function's IAM policy refuses: the policies in the template are enough for what the code does
(on AWS a missing action is a 500 for every such request). Each write route is driven twice: plain,
and with an Idempotency-Key (its record is claimed and finished by the route's own function)."""
import json

import pytest

from billing_local import template

from .conftest import ROLE_TABLE, Tenant, mocked_aws, seed, valid_requests


@pytest.fixture(scope="module")
def world(gateway_once):
    with mocked_aws() as store:
        yield store, seed(Tenant(gateway_once, "Acme IT"))


def call(seeded, key: str, request: tuple, idempotency_key: str | None = None) -> tuple[int, object]:
    method, path, body, query = request
    role = sorted(ROLE_TABLE[key])[0]
    headers = {"Authorization": f"Bearer {seeded.tenant.tokens[role]}"}
    raw = None
    if body is not None:
        raw, headers["content-type"] = json.dumps(body).encode(), "application/json"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    status, _, text = seeded.tenant.gateway.invoke(method, path, headers, query, raw)
    return status, json.loads(text) if text else None


def test_every_route_runs_with_its_own_policy_and_nothing_is_denied(world):
    store, seeded = world
    assert store.rules.iam and store.app.refused["iam"] == 0  # the seeding went through the routes too
    for key, request in valid_requests(seeded, unique="plain").items():
        status, answer = call(seeded, key, request)
        assert status < 500, (key, status, answer)
    for number, (key, request) in enumerate(valid_requests(seeded, unique="keyed").items()):
        if request[0] != "GET":
            status, answer = call(seeded, key, request, f"strict-route-{number}")
            assert status < 500, (key, "keyed", status, answer)
    assert store.app.refused == {"iam": 0, "limits": 0, "timeouts": 0}
    # every function behind a route made its calls as itself, checked against its own policy
    functions = {route.function for route in template.routes()} | {template.authorizer_function()}
    assert functions <= set(store.app.checked), sorted(functions - set(store.app.checked))
