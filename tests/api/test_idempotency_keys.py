"""Idempotency-Key records as DynamoDB holds them (issue 18, issue 23): an answer of any size is
kept (an item holds 400 KB: a keyed batch of 100 sessions with long notes answers more), the
same body with its keys in another order is the same request, a ValidationError in a cancelled
transaction is never read as a failed condition, and an export replayed by its key answers a
link that works."""
import json
from datetime import datetime, timezone

import boto3
import pytest
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError

from billing_core.dal import store as storage

from .conftest import STANDARD, create_group, create_profile, upload

ITEM_LIMIT = 400 * 1024


def item_size(item: dict) -> int:
    """DynamoDB's size of an item: its attribute names and values (an upper bound for numbers)."""
    size = 0
    for name, value in item.items():
        (kind, content), = value.items()
        size += len(name.encode()) + (len(content) if kind == "B" else len(str(content).encode()))
    return size


def largest_item() -> int:
    client = boto3.client("dynamodb")
    items = client.scan(TableName="billing-test")["Items"]  # the test's own look at the whole table
    return max(item_size(item) for item in items)


def post_keyed(tenant, path: str, body: dict, key: str, role: str = "agent"):
    raw = json.dumps(body, ensure_ascii=False).encode()  # as an agent sends UTF-8 (escaped, it would pass 1 MB)
    return getattr(tenant, role).call("POST", path, raw=raw, headers={"Idempotency-Key": key, "content-type": "application/json"})


def test_a_keyed_batch_whose_answer_passes_400_kb_is_kept_and_replayed(msp):
    create_profile(msp, STANDARD, profile_id="standard")
    create_group(msp, "acme", "standard")
    notes = "Réseau € " + "€" * 1990  # 1,999 characters, 5,981 bytes of UTF-8
    sessions = [upload(f"s-{n:03}", start=datetime(2026, 3, 2, 9, tzinfo=timezone.utc).replace(day=1 + n % 28), notes=notes)
                for n in range(100)]
    status, first = post_keyed(msp, "/v1/sessions/batch", {"sessions": sessions}, "batch-2026-03")
    assert status == 200 and all(r["recorded"] for r in first["results"]), first
    assert len(json.dumps(first, ensure_ascii=False).encode()) > ITEM_LIMIT  # the answer alone passes an item's limit
    assert largest_item() < ITEM_LIMIT  # what DynamoDB would hold: no item refused
    again = post_keyed(msp, "/v1/sessions/batch", {"sessions": sessions}, "batch-2026-03")
    assert again == (200, first)  # the replay, not 409 idempotency_key_in_use


def test_the_same_body_with_its_keys_in_another_order_is_the_same_request(msp):
    create_profile(msp, STANDARD, profile_id="standard")
    create_group(msp, "acme", "standard")
    body = upload("s-1")
    first = post_keyed(msp, "/v1/sessions/batch", {"sessions": [body]}, "k-order")
    reordered = {"sessions": [dict(reversed(list(body.items())))]}
    assert post_keyed(msp, "/v1/sessions/batch", reordered, "k-order") == first  # not a 422 reused
    changed = {"sessions": [dict(body, technician="bob")]}
    assert post_keyed(msp, "/v1/sessions/batch", changed, "k-order")[1]["error"]["code"] == "idempotency_key_reused"


def test_a_validation_error_in_a_cancelled_transaction_is_not_a_failed_condition(msp, monkeypatch):
    from pynamodb.exceptions import CancellationReason, VerboseClientError

    def cancelled(self, *args, **kwargs):  # as DynamoDB cancels a transaction holding an item over 400 KB
        reason = CancellationReason(code="ValidationError", message="Item size has exceeded the maximum allowed size")
        cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
                                   "TransactWriteItems", cancellation_reasons=[reason])
        raise TransactWriteError("Failed to write transaction items", cause=cause)

    monkeypatch.setattr(Connection, "transact_write_items", cancelled)
    from billing_core.dal.models import Tenant

    with pytest.raises(storage.Invalid, match="Item size"):
        storage.transact(lambda t: t.save(Tenant("TENANT#x", "TENANT", tenant_id="x", name="x",
                                                 created_at=datetime.now(timezone.utc))))
