"""SPEC §10 balance thresholds through the transactional outbox: one `balance.threshold_crossed`
event per crossing, written with the lock, re-armed by a recharge, listed by GET /v1/events, and
published to EventBridge from the table's stream with its stable event_id."""
import json
import os

import boto3
import pytest

from billing_core.dal.models import Event
from billing_local.gateway import function_handler

from .conftest import GOLD, T0, assert_invalid, create_group, create_profile, record

ALERTED = {**GOLD, "name": "Gold alerts", "total_hours": 10, "alert_thresholds": [50, 20, 0]}


@pytest.fixture
def alerted(msp):
    create_profile(msp, ALERTED, profile_id="gold-alerts")
    create_group(msp, "acme", "gold-alerts")


def lock(tenant, session_id, minutes, hour):
    record(tenant, session_id, minutes * 60, start=T0.replace(hour=hour))
    status, body = tenant.technician.post(f"/v1/sessions/{session_id}/lock")
    assert status == 200, body


def events_of(tenant, after=None):
    status, body = tenant.finance.get("/v1/events", query=f"after={after}" if after else "")
    assert status == 200, body
    return body


def test_each_threshold_crossed_once_until_a_recharge_rearms_it(msp, alerted):
    lock(msp, "s-1", 4 * 60, 8)  # 600 → 360: still above 50 % (300)
    assert events_of(msp)["events"] == []
    lock(msp, "s-2", 2 * 60, 13)  # 360 → 240: below 50 %
    lock(msp, "s-3", 3 * 60, 16)  # 240 → 60: below 20 % only (50 % already crossed)
    page = events_of(msp)
    crossed = [(e["type"], e["detail"]["threshold"], e["detail"]["available_minutes"]) for e in page["events"]]
    assert crossed == [("balance.threshold_crossed", 50, 240), ("balance.threshold_crossed", 20, 60)]
    assert all(e["group_id"] == "acme" and e["contract_id"] and e["detail"]["total_minutes"] == 600 for e in page["events"])

    # 60 + 300 = 360 of 900: back above 20 % (180), which is re-armed; still under 50 % (450)
    assert msp.admin.post("/v1/groups/acme/recharges", {"hours": 5, "amount": "250.00"})[0] == 201
    lock(msp, "s-4", 4 * 60, 18)  # 360 → 120: below 20 % once more
    newer = events_of(msp, page["next_cursor"])["events"]
    assert [(e["detail"]["threshold"], e["detail"]["available_minutes"], e["detail"]["total_minutes"]) for e in newer] == [(20, 120, 900)]
    assert events_of(msp, events_of(msp)["next_cursor"])["events"] == []  # nothing newer


def test_a_lock_all_crossing_several_thresholds_writes_one_event_each(msp, alerted):
    for n in range(5):
        record(msp, f"s-{n}", 2 * 3600, start=T0.replace(hour=8 + 2 * n))  # 5 × 120 min: 600 → 0
    status, body = msp.finance.post("/v1/groups/acme/lock-all", {})
    assert status == 200 and body["locked"] == 5, body
    thresholds = [e["detail"]["threshold"] for e in events_of(msp)["events"]]
    assert sorted(thresholds) == [20, 50]  # 0 is not crossed: available reached 0, not below it


def test_events_belong_to_their_tenant_and_bad_cursors_are_400(msp, other_msp, alerted):
    lock(msp, "s-1", 6 * 60, 8)
    assert len(events_of(msp)["events"]) == 1
    assert events_of(other_msp)["events"] == []
    assert_invalid(msp.finance.get("/v1/events", query="after=bm9wZQ"), "after")
    assert_invalid(msp.finance.get("/v1/events", query="limit=0"), "limit")
    assert msp.technician.get("/v1/events")[0] == 403


def test_the_publisher_puts_each_stream_insert_of_an_event_on_the_bus(msp, alerted):
    lock(msp, "s-1", 6 * 60, 8)
    (event,) = list(Event.query(f"T#{msp.tenant_id}#EVENTS"))
    events_client = boto3.client("events")
    events_client.create_event_bus(Name="billing-test-bus")
    os.environ["EVENT_BUS_NAME"] = "billing-test-bus"
    try:
        stream = {"Records": [
            {"eventName": "INSERT", "dynamodb": {"NewImage": event.serialize()}},
            {"eventName": "MODIFY", "dynamodb": {"NewImage": event.serialize()}},  # not an insert: not published again
            {"eventName": "INSERT", "dynamodb": {"NewImage": {"PK": {"S": "x"}, "SK": {"S": "y"}, "kind": {"S": "session"}}}},
        ]}
        assert function_handler("EventPublisherFunction")(stream, None) == {"published": 1}
    finally:
        os.environ.pop("EVENT_BUS_NAME")
    from billing_core import events

    (entry,) = events.entries_to_publish(stream["Records"])
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == "balance.threshold_crossed" and entry["Source"] == "remote-support-billing"
    assert detail["event_id"] == event.event_id and detail["tenant_id"] == msp.tenant_id
