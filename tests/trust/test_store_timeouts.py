"""A store that stops answering (a read timeout, a connection closed under load, an endpoint that
cannot be reached) is a transient failure: the request is answered 503 `retry` with a
Retry-After header once the retries are spent, never a 500 — whichever client met it (pynamodb's,
the raw DynamoDB client of the lean read path, S3's). The failure is raised where botocore's HTTP
layer raises it (its before-send hook), so botocore's own retries and ours run as they would."""
import json

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from billing_core import exports
from billing_core.dal import models

from .conftest import Tenant, assert_error_shape, mocked_aws, seed, tenant_items


@pytest.fixture(scope="module")
def world(gateway_once):
    with mocked_aws():
        yield seed(Tenant(gateway_once, "Timeout IT"))


@pytest.fixture(autouse=True)
def short_retries(monkeypatch):
    monkeypatch.setenv("RETRY_BUDGET_SECONDS", "0.3")


def _failing(events, event_name: str, error: Exception):
    def fail(**_):
        raise error

    events.register_first(event_name, fail)
    return lambda: events.unregister(event_name, fail)


FAILURES = {
    "a read timeout": ReadTimeoutError(endpoint_url="http://store"),
    "a closed connection": ConnectionClosedError(endpoint_url="http://store"),
    "an unreachable endpoint": EndpointConnectionError(endpoint_url="http://store"),
}
READS = [  # (route, DynamoDB operation it reads with)
    ("GET /v1/groups/acme/totals", "Query"),  # the lean path: the raw client, outside pynamodb
    ("GET /v1/groups/acme/sessions", "Query"),  # pynamodb's query
]


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("route,operation", READS)
def test_a_store_that_does_not_answer_a_read_is_a_503_retry(world, route, operation, failure):
    method, path = route.split(" ")
    stop = _failing(models.connection().client.meta.events, f"before-send.dynamodb.{operation}", FAILURES[failure])
    try:
        status, headers, text = world.tenant.gateway.invoke(method, path, {"Authorization": f"Bearer {world.tenant.tokens['finance']}"})
    finally:
        stop()
    assert status == 503, (route, failure, text)
    assert_error_shape(status, json.loads(text), code="retry")
    assert headers.get("retry-after") == "1"


@pytest.mark.parametrize("failure", FAILURES)
def test_a_transaction_the_store_does_not_answer_is_a_503_retry_and_changes_nothing(world, failure):
    before = tenant_items(world.tenant.tenant_id)
    stop = _failing(models.connection().client.meta.events, "before-send.dynamodb.TransactWriteItems", FAILURES[failure])
    try:
        status, headers, text = world.tenant.gateway.invoke(
            "POST", "/v1/groups/acme/recharges", {"Authorization": f"Bearer {world.tenant.tokens['admin']}"}, "",
            b'{"hours": 1, "amount": "10.00"}')
    finally:
        stop()
    assert status == 503, (failure, text)
    assert_error_shape(status, json.loads(text), code="retry")
    assert tenant_items(world.tenant.tenant_id) == before


@pytest.mark.parametrize("failure", FAILURES)
def test_an_export_whose_upload_does_not_answer_is_a_503_retry_and_records_nothing(world, failure, monkeypatch):
    before = tenant_items(world.tenant.tenant_id)
    s3 = exports.s3_client()
    monkeypatch.setattr(exports, "s3_client", lambda: s3)
    stop = _failing(s3.meta.events, "before-send.s3", FAILURES[failure])
    try:
        status, headers, text = world.tenant.gateway.invoke(
            "POST", "/v1/groups/acme/exports", {"Authorization": f"Bearer {world.tenant.tokens['finance']}"}, "", b"{}")
    finally:
        stop()
    assert status == 503, (failure, text)
    assert_error_shape(status, json.loads(text), code="retry")
    assert tenant_items(world.tenant.tenant_id) == before
