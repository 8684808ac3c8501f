"""POST /v1/sessions and POST /v1/sessions/batch: agents upload every finished session and retry
on any network error, so `session_id` is the idempotency key."""
import json
from datetime import timedelta

import pytest

from .conftest import T0, assert_error, assert_invalid, create_group, create_profile, iso, record, upload

BELOW = {"recorded": False, "reason": "below_minimum_duration"}


def search_ids(tenant, group_id="acme"):
    status, page = tenant.finance.get(f"/v1/groups/{group_id}/sessions", query="limit=1000")
    assert status == 200, page
    return [s["session_id"] for s in page["sessions"]]


def test_a_session_is_recorded_with_every_field_of_the_spec(msp, acme):
    body = upload("s-1", 1320, notes="printer driver")
    body["started_at"], body["ended_at"] = "2026-03-02T10:00:00+01:00", "2026-03-02T09:22:00.900Z"
    status, answer = msp.agent.post("/v1/sessions", body)
    assert status == 201, answer
    assert answer == {"recorded": True, "session": {
        "session_id": "s-1", "group_id": "acme", "technician": "ann", "computer_id": "pc-1",
        "started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:22:00.900000Z",
        "connection_seconds": 1320, "extra_minutes": 0, "total_seconds": 1320, "billed_minutes": 25,
        "cost": "30.00", "currency": "EUR", "status": "to_account", "notes": "printer driver",
        "locked_at": None, "profile_id": "standard", "profile_version": 1,
        "pricing": {"profile_id": "standard", "profile_version": 1, "multiplier": "1.0000", "lines": [
            {"code": "initial_step", "values": {"minutes": 15, "amount": "20.00"},
             "text": "initial 15 min: 20.00", "amount": "20.00", "minutes": 15},
            {"code": "steps", "values": {"count": 2, "step_minutes": 5, "step_cost": "5.00", "amount": "10.00"},
             "text": "2 × 5 min at 5.00: 10.00", "amount": "10.00", "minutes": 10},
        ]}}}
    assert msp.technician.get("/v1/sessions/s-1") == (200, answer["session"])


def test_the_admin_may_upload_too(msp, acme):
    assert msp.admin.post("/v1/sessions", upload("s-1"))[0] == 201


def test_a_replay_answers_200_with_the_same_body_and_records_once(msp, acme):
    first = msp.agent.post("/v1/sessions", upload("s-1"))
    assert first[0] == 201
    for _ in range(3):
        assert msp.agent.post("/v1/sessions", upload("s-1")) == (200, first[1])
    assert search_ids(msp) == ["s-1"]


def test_a_replay_in_another_offset_is_the_same_upload(msp, acme):
    first = msp.agent.post("/v1/sessions", upload("s-1"))[1]
    same = upload("s-1")
    same["started_at"], same["ended_at"] = "2026-03-02T11:00:00+02:00", "2026-03-02T09:22:00+00:00"
    assert msp.agent.post("/v1/sessions", same) == (200, first)


@pytest.mark.parametrize("change", [{"notes": "other"}, {"technician": "bob"}, {"computer_id": "pc-2"}])
def test_the_same_session_id_with_other_content_is_a_409_and_keeps_the_first(msp, acme, change):
    first = msp.agent.post("/v1/sessions", upload("s-1"))[1]
    assert_error(msp.agent.post("/v1/sessions", upload("s-1", **change)), 409)
    assert_error(msp.agent.post("/v1/sessions", upload("s-1", 1500)), 409)
    assert msp.technician.get("/v1/sessions/s-1") == (200, first["session"])


def test_below_the_minimum_is_not_recorded(msp, acme):
    assert msp.agent.post("/v1/sessions", upload("s-short", 119)) == (200, BELOW)
    assert msp.agent.post("/v1/sessions", upload("s-short", 119)) == (200, BELOW)
    assert_error(msp.technician.get("/v1/sessions/s-short"), 404)
    assert search_ids(msp) == []
    assert msp.agent.post("/v1/sessions", upload("s-exact", 120))[0] == 201


def test_a_session_naming_only_a_known_computer_is_booked_to_its_group(msp, acme):
    create_group(msp, "globex", "standard", computers=["pc-9"])
    assert record(msp, "s-1", group_id=None, computer_id="pc-9")["group_id"] == "globex"
    assert record(msp, "s-2", group_id="acme", computer_id="pc-9")["group_id"] == "acme"  # a named group wins
    assert search_ids(msp, "globex") == ["s-1"]


@pytest.mark.parametrize("first, again", [(None, "acme"), ("acme", None)])
def test_naming_the_computers_group_or_not_is_the_same_upload(msp, acme, first, again):
    """The group an upload is booked to is its group_id or its computer's: sent or left out, the
    same group is the same upload (a replay, 200), in one request or in a batch."""
    recorded = msp.agent.post("/v1/sessions", upload("s-1", group_id=first))
    assert recorded[0] == 201 and recorded[1]["session"]["group_id"] == "acme"
    assert msp.agent.post("/v1/sessions", upload("s-1", group_id=again)) == (200, recorded[1])
    results = msp.agent.post("/v1/sessions/batch", {"sessions": [upload("s-2", group_id=first), upload("s-2", group_id=again),
                                                                 upload("s-1", group_id=again)]})[1]["results"]
    assert results[0]["recorded"] and results[1] == results[0] and results[2] == recorded[1]
    create_group(msp, "globex")
    assert_error(msp.agent.post("/v1/sessions", upload("s-1", group_id="globex")), 409)  # another group: other content


def test_a_no_contract_session_is_kept_and_its_lock_is_a_409(msp):
    create_group(msp, "newco", computers=["pc-n"])
    status, answer = msp.agent.post("/v1/sessions", upload("s-1", 30, group_id="newco"))
    assert status == 201 and answer["session"]["cost"] is None
    assert_error(msp.finance.post("/v1/sessions/s-1/lock"), 409, "no_contract")
    assert msp.finance.get("/v1/sessions/s-1")[1]["status"] == "to_account"
    assert_error(msp.finance.post("/v1/groups/newco/lock-all", {}), 409, "no_contract")
    create_profile(msp, profile_id="standard", min_duration_minutes=5)
    msp.admin.put("/v1/groups/newco/contract", {"profile_id": "standard"})
    # kept although now under the minimum: the threshold applies when a session is recorded
    assert msp.finance.get("/v1/sessions/s-1")[1]["cost"] == "20.00"
    status, locked = msp.finance.post("/v1/sessions/s-1/lock")
    assert (status, locked["status"], locked["cost"]) == (200, "accounted", "20.00")


def valid():
    return upload("s-1")


@pytest.mark.parametrize("change, field", [
    ({"session_id": None}, "session_id"),
    ({"technician": None}, "technician"),
    ({"computer_id": None}, "computer_id"),
    ({"started_at": None}, "started_at"),
    ({"ended_at": None}, "ended_at"),
    ({"session_id": ""}, "session_id"),
    ({"session_id": "s" * 129}, "session_id"),
    ({"session_id": 17}, "session_id"),
    ({"technician": 5}, "technician"),
    ({"technician": "t" * 201}, "technician"),
    ({"group_id": "g" * 129}, "group_id"),
    ({"computer_id": ["pc-1"]}, "computer_id"),
    ({"notes": "n" * 2001}, "notes"),
    ({"notes": 5}, "notes"),
    ({"started_at": "2026-03-02T09:00:00"}, "started_at"),  # no offset
    ({"started_at": "yesterday"}, "started_at"),
    ({"started_at": 1772442000}, "started_at"),
    ({"ended_at": "2026-03-02 09:22"}, "ended_at"),
    ({"ended_at": "2026-03-02T08:59:59Z"}, "ended_at"),  # before the start
    ({"duration": 1320}, "duration"),
    ({"tenant_id": "t_other"}, "tenant_id"),
])
def test_a_bad_upload_is_a_400_naming_the_field(msp, acme, change, field):
    body = {**valid(), **change}
    assert_invalid(msp.agent.post("/v1/sessions", {k: v for k, v in body.items() if not (v is None and k in change)}), field)
    assert search_ids(msp) == []


def test_an_upload_to_another_tenants_group_is_a_404(msp, other_msp, acme):
    create_profile(other_msp, profile_id="standard")
    create_group(other_msp, "theirs", "standard", computers=["pc-x"])
    assert_error(msp.agent.post("/v1/sessions", upload("s-1", group_id="theirs")), 404, "not_found")
    assert_invalid(msp.agent.post("/v1/sessions", upload("s-2", group_id=None, computer_id="pc-x")), "group_id")
    assert search_ids(other_msp, "theirs") == []


def test_the_same_session_id_in_two_tenants_is_two_sessions(msp, other_msp, acme):
    create_profile(other_msp, profile_id="standard")
    create_group(other_msp, "acme", "standard", computers=["pc-1"])
    assert msp.agent.post("/v1/sessions", upload("s-1", 1320))[0] == 201
    assert other_msp.agent.post("/v1/sessions", upload("s-1", 3600, notes="theirs"))[0] == 201
    assert msp.finance.get("/v1/sessions/s-1")[1]["connection_seconds"] == 1320
    assert other_msp.finance.get("/v1/sessions/s-1")[1]["connection_seconds"] == 3600


# ---------------------------------------------------------------- batch


def test_a_batch_answers_per_item_in_order_and_one_bad_item_sinks_nothing(msp, acme):
    first = msp.agent.post("/v1/sessions", upload("s-old"))[1]
    items = [
        upload("s-1", 1320),
        upload("s-bad", 1320, started_at="2026-03-02T09:00:00"),
        upload("s-short", 60),
        upload("s-old"),  # a replay of an earlier upload
        upload("s-old", notes="changed"),  # a conflict with it
        upload("s-nowhere", group_id="nowhere"),
        {"session_id": "s-junk", "color": "red"},
        "not an object",
        upload("s-2", 3660, group_id=None),  # booked by its computer
    ]
    status, answer = msp.agent.post("/v1/sessions/batch", {"sessions": items})
    assert status == 200, answer
    results = answer["results"]
    assert len(results) == len(items)
    assert results[0]["recorded"] is True and results[0]["session"]["cost"] == "30.00"
    assert results[1]["recorded"] is False and results[1]["error"]["code"] == "invalid_input"
    assert results[1]["error"]["message"].startswith("started_at:")
    assert results[2] == BELOW
    assert results[3] == first
    assert results[4]["recorded"] is False and results[4]["error"]["code"] == "session_conflict"
    assert results[5]["recorded"] is False and results[5]["error"]["code"] == "not_found"
    assert results[6]["error"]["message"].startswith("color:")
    assert results[7]["error"]["code"] == "invalid_input"
    assert results[8]["session"]["group_id"] == "acme" and results[8]["session"]["cost"] == "70.00"
    assert search_ids(msp) == ["s-1", "s-2", "s-old"]  # same start: by session_id


def test_duplicates_inside_one_batch_create_one_session(msp, acme):
    items = [upload("s-1"), upload("s-2", start=T0 + timedelta(hours=1)), upload("s-1"), upload("s-1", notes="other")]
    results = msp.agent.post("/v1/sessions/batch", {"sessions": items})[1]["results"]
    assert results[0]["recorded"] is True and results[2] == results[0]
    assert results[3]["recorded"] is False and results[3]["error"]["code"] == "session_conflict"
    assert search_ids(msp) == ["s-1", "s-2"]
    assert msp.agent.post("/v1/sessions", upload("s-1")) == (200, results[0])


def test_a_batch_replayed_answers_the_same_and_records_once(msp, acme):
    items = [upload(f"s-{n}", 600 + n, start=T0 + timedelta(minutes=n)) for n in range(30)]
    first = msp.agent.post("/v1/sessions/batch", {"sessions": items})
    again = msp.agent.post("/v1/sessions/batch", {"sessions": items})
    assert first == again and first[0] == 200
    assert len(search_ids(msp)) == 30


def test_a_keyed_batch_of_100_sessions_with_long_notes_keeps_a_small_record_and_replays_the_same(msp, acme):
    import boto3
    import os

    notes = "Drucker „hängt“ — Spooler neu gestartet ✓ " * 60
    items = [upload(f"s-{n:03d}", 600, start=T0 + timedelta(minutes=n), notes=notes[:2000]) for n in range(100)]
    key = {"Idempotency-Key": "batch-2026-03-02"}
    first = msp.agent.post("/v1/sessions/batch", {"sessions": items}, headers=key)
    assert first[0] == 200 and all(r["recorded"] and len(r["session"]["notes"]) == 2000 for r in first[1]["results"])
    assert len(json.dumps(first[1]).encode()) > 300_000  # the answer itself: near what one DynamoDB item may hold
    records = [i for i in boto3.client("dynamodb").scan(TableName=os.environ["TABLE_NAME"])["Items"]
               if i["kind"]["S"] == "idempotency"]
    assert len(records) == 1 and sum(len(json.dumps(v)) for v in records[0].values()) < 20_000  # well inside 400 KB
    assert msp.agent.post("/v1/sessions/batch", {"sessions": items}, headers=key) == first


def test_a_batch_of_100_is_recorded(msp, acme):
    items = [upload(f"s-{n:03d}", 600, start=T0 + timedelta(minutes=n)) for n in range(100)]
    status, answer = msp.agent.post("/v1/sessions/batch", {"sessions": items})
    assert status == 200
    assert [r["session"]["session_id"] for r in answer["results"]] == [f"s-{n:03d}" for n in range(100)]
    assert search_ids(msp) == [f"s-{n:03d}" for n in range(100)]


@pytest.mark.parametrize("body, field", [
    ({"sessions": [upload(f"s-{n}") for n in range(101)]}, "sessions"),
    ({"sessions": []}, "sessions"),
    ({"sessions": {"s-1": upload("s-1")}}, "sessions"),
    ({}, "sessions"),
    ({"sessions": [upload("s-1")], "agent_version": "9.1"}, "agent_version"),
])
def test_a_bad_batch_is_a_400_naming_the_field_and_records_nothing(msp, acme, body, field):
    assert_invalid(msp.agent.post("/v1/sessions/batch", body), field)
    assert search_ids(msp) == []


def test_timestamps_answer_in_utc(msp, acme):
    start = T0 + timedelta(days=1)
    session = record(msp, "s-1", 1320, start=start)
    assert (session["started_at"], session["ended_at"]) == (iso(start), iso(start + timedelta(seconds=1320)))


def test_a_session_id_with_a_space_or_accent_is_addressable_percent_encoded(msp, acme):
    """API Gateway HTTP APIs hand the function URL-decoded path parameters."""
    session = record(msp, "TV 42 é", 1320)
    assert msp.technician.get("/v1/sessions/TV%2042%20%C3%A9") == (200, session)
    status, locked = msp.technician.post("/v1/sessions/TV%2042%20%C3%A9/lock")
    assert (status, locked["session_id"], locked["status"]) == (200, "TV 42 é", "accounted")


def test_a_batch_of_100_clients_in_a_month_that_may_close_fits_its_transactions(msp):
    """Each session of another client is 4 actions (it, its history, its client's month totals and
    months), and a month that has ended holds its open-period check: 25 of them would be 101
    actions, which DynamoDB refuses. The batch is cut where its transactions fit."""
    for n in range(100):
        create_group(msp, f"c-{n:03d}")
    items = [upload(f"m-{n:03d}", 600, start=T0 + timedelta(minutes=n), group_id=f"c-{n:03d}") for n in range(100)]
    status, answer = msp.agent.post("/v1/sessions/batch", {"sessions": items})
    assert status == 200, answer
    assert all(r["recorded"] for r in answer["results"]), [r for r in answer["results"] if not r["recorded"]][:3]
