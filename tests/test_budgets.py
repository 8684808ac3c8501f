"""Each operation within its DynamoDB round-trip budget (SPEC section 5), counted in botocore
(billing_local.bench.RoundTrips) on the operation's own function; the authorizer is not counted.
The counts are deterministic, so they are asserted exactly. Where an operation is allowed more
than the SPEC's figure, the test says so and why."""
import math

import pytest

from billing_local.bench import PAY_PER_USE, call_counted, upload
from conftest import set_store_rules


class Acme:
    """A pay-per-use group `acme` with computer pc-1, reached through the API."""

    def __init__(self, msp, gateway):
        self.msp, self.gateway = msp, gateway
        status, profile = msp.admin.post("/v1/profiles", PAY_PER_USE)
        assert status == 201, profile
        assert msp.admin.put("/v1/groups/acme", {"name": "Acme Ltd"})[0] in (200, 201)
        assert msp.admin.put("/v1/groups/acme/computers/pc-1", {"name": "Reception PC"})[0] in (200, 201)
        assert msp.admin.put("/v1/groups/acme/contract", {"profile_id": profile["profile_id"]})[0] == 200

    def call(self, role, method, path, body=None, query=""):
        return call_counted(self.gateway, self.msp.tokens[role], method, path, body, query)

    def record(self, count: int, first: int = 0):
        for start in range(first, first + count, 100):
            batch = [upload(n) for n in range(start, min(first + count, start + 100))]
            status, body = self.msp.agent.post("/v1/sessions/batch", {"sessions": batch})
            assert status == 200 and all(r["recorded"] for r in body["results"]), body


@pytest.fixture(autouse=True)
def caught_up_indexes(aws):
    """The round trips of reads whose indexes show every write: a lagging index makes a read
    check again, which the lag tests count (tests/api/test_totals.py, test_search.py)."""
    set_store_rules(aws, index_lag_ms=0)


@pytest.fixture
def acme(msp, gateway):
    return Acme(msp, gateway)


def test_recording_a_session_costs_two_round_trips(acme):
    status, body, trips = acme.call("agent", "POST", "/v1/sessions", upload(1))
    assert status == 201, body
    assert trips.dynamodb == 2  # the group and its contract in one BatchGetItem, one transaction
    assert [c.operation for c in trips.calls] == ["BatchGetItem", "TransactWriteItems"]


def test_an_agent_retry_costs_at_most_two_round_trips(acme):
    acme.call("agent", "POST", "/v1/sessions", upload(1))
    status, _, trips = acme.call("agent", "POST", "/v1/sessions", upload(1))
    assert status == 200
    assert trips.dynamodb <= 2


def test_a_session_uploaded_with_only_its_computer_costs_three(acme):
    # Documented exception: +1 reads the computer to learn its group before the group can be read.
    status, body, trips = acme.call("agent", "POST", "/v1/sessions", upload(1, group_id=None))
    assert status == 201 and body["session"]["group_id"] == "acme", body
    assert trips.dynamodb == 2 + 1


def test_a_batch_of_100_costs_at_most_two_plus_one_transaction_per_25(acme):
    status, body, trips = acme.call("agent", "POST", "/v1/sessions/batch", {"sessions": [upload(n) for n in range(100)]})
    assert status == 200 and all(r["recorded"] for r in body["results"])
    assert trips.dynamodb <= 2 + math.ceil(100 / 25)
    assert trips.dynamodb == 1 + 4  # one read of group + contract, 4 transactions of 25


def test_reading_a_session_costs_one_round_trip_once_accounted(acme):
    acme.record(1)
    # Documented exception: a to_account session is priced by its group's current contract on
    # every read (never a stale copy), so it costs the session and the contract: 2.
    status, body, trips = acme.call("technician", "GET", "/v1/sessions/s-000000")
    assert status == 200 and body["cost"] is not None
    assert trips.dynamodb == 1 + 1
    assert acme.call("technician", "POST", "/v1/sessions/s-000000/lock")[0] == 200
    status, body, trips = acme.call("technician", "GET", "/v1/sessions/s-000000")
    assert status == 200 and body["status"] == "accounted"
    assert trips.dynamodb == 1


def test_adjusting_and_locking_cost_three_round_trips_each(acme):
    acme.record(1)
    status, _, trips = acme.call("technician", "PATCH", "/v1/sessions/s-000000", {"extra_minutes": 5})
    assert status == 200
    assert trips.dynamodb == 3
    status, _, trips = acme.call("technician", "POST", "/v1/sessions/s-000000/lock")
    assert status == 200
    assert trips.dynamodb == 3
    assert [c.operation for c in trips.calls].count("TransactWriteItems") == 1  # session and balance together


# Documented exception: +1 reads the running totals of the page's months (one BatchGetItem),
# whose open marks and accounted counts prove the eventually consistent index showed exactly the
# sessions the table holds.
@pytest.mark.parametrize("query, calls", [
    ("limit=100", [("BatchGetItem", None), ("Query", "GSI1"), ("BatchGetItem", None)]),
    ("status=to_account", [("BatchGetItem", None), ("Query", "GSI2"), ("BatchGetItem", None)]),
])
def test_a_search_costs_its_query_pages_plus_two(acme, query, calls):
    acme.record(150)
    status, _, trips = acme.call("finance", "GET", "/v1/groups/acme/sessions", query=query)
    assert status == 200
    assert trips.pages == 1
    assert [(c.operation, c.index) for c in trips.calls] == calls  # no read per session
    assert trips.dynamodb == trips.pages + len(calls) - 1


@pytest.mark.parametrize("query, edges", [
    ("", 0),
    ("from=2026-03-02T00:00:00Z&to=2026-04-01T00:00:00Z", 0),  # whole UTC days
    ("from=2026-03-02T10:00:00Z&to=2026-03-05T12:00:00+02:00", 2),  # a partial day at each edge
    ("from=2026-03-02T10:00:00Z&to=2026-03-02T18:00:00Z", 1),  # within one day: all of it is one edge
])
def test_totals_cost_at_most_4_plus_the_open_pages_whatever_the_history(acme, query, edges):
    acme.record(150)
    assert acme.call("finance", "POST", "/v1/groups/acme/lock-all", {"to": "2026-03-04T00:00:00Z"})[0] == 200
    status, body, trips = acme.call("finance", "GET", "/v1/groups/acme/totals", query=query)
    assert status == 200, body
    # SPEC §9: the group, its contract and its months (one BatchGetItem), the open sessions' pages
    # of the sparse index, one Query per partial edge day, then the running totals of the
    # period's months (one BatchGetItem), which check the index reads: 4 + the open pages at most.
    assert trips.pages == 1 + edges
    assert trips.dynamodb == 1 + 1 + edges + 1 <= 4 + 1
    assert [(c.operation, c.index) for c in trips.calls] == [("BatchGetItem", None), ("Query", "GSI2"),
                                                             *[("Query", "GSI1")] * edges, ("BatchGetItem", None)]


def test_lock_all_costs_pages_plus_one_transaction_per_99_plus_one(acme):
    acme.record(150)
    status, body, trips = acme.call("finance", "POST", "/v1/groups/acme/lock-all", {})
    assert status == 200 and body["locked"] == 150
    assert trips.dynamodb == trips.pages + math.ceil(150 / 99) + 1


def test_lock_all_locks_99_sessions_per_transaction(acme):
    acme.record(150)
    status, body, trips = acme.call("finance", "POST", "/v1/groups/acme/lock-all", {})
    assert status == 200 and body["locked"] == 150
    assert [c.operation for c in trips.calls].count("TransactWriteItems") == math.ceil(150 / 99)


def test_an_export_costs_its_pages_plus_the_group_read_and_its_record(acme):
    acme.record(150)
    status, body, trips = acme.call("finance", "POST", "/v1/groups/acme/exports", {})
    assert status == 201 and body["rows"] == 150, body
    # SPEC: pages + 1 (one BatchGetItem reads the group and its contract). Documented exceptions: +1
    # PutItem of the Export record, which GET /v1/exports/{id} and the audit of who exported read;
    # +1 Query of the group's computers, for the names beside the ids (SPEC §11). The profile's
    # name is the contract's: no read.
    calls = [(c.operation, c.index) for c in trips.calls if c.service == "dynamodb"]
    assert calls == [("BatchGetItem", None), ("Query", "GSI1"), ("Query", "GSI1"), ("PutItem", None)]
    assert trips.s3 == ["PutObject"]  # small: one put; large: one multipart upload (test_async_export)
    status, _, trips = acme.call("finance", "GET", f"/v1/exports/{body['export_id']}")
    assert status == 200
    assert trips.dynamodb == 1 and trips.s3 == []  # a presigned link is signed locally


def test_the_tenant_overview_costs_four_per_page_and_two_per_group_with_open_sessions(acme):
    for group_id in ("beta", "cyan"):
        assert acme.msp.admin.put(f"/v1/groups/{group_id}", {"name": group_id})[0] in (200, 201)
    acme.record(60)
    acme.call("finance", "POST", "/v1/groups/acme/lock-all", {"to": "2026-03-02T12:00:00Z"})
    status, body, trips = acme.call("finance", "GET", "/v1/totals", query="from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z")
    assert status == 200 and len(body["groups"]) == 3
    # when the groups list last changed (one GetItem: a list changed a moment ago is read once
    # its index has settled), one Query of the groups, one BatchGetItem of their contracts, one
    # Query of the month's running totals of every group of the page; a group with open sessions
    # in the month also reads them (one page of the sparse index) and its month again.
    assert trips.dynamodb == 4 + 1 * 2
    assert [(c.operation, c.index) for c in trips.calls] == [("GetItem", None), ("Query", "GSI1"), ("BatchGetItem", None),
                                                             ("Query", None), ("Query", "GSI2"), ("BatchGetItem", None)]
    acme.call("finance", "POST", "/v1/groups/acme/lock-all", {})
    status, body, trips = acme.call("finance", "GET", "/v1/totals", query="from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z")
    assert status == 200 and body["groups"][0]["accounted"]["sessions"] == 60
    assert trips.dynamodb == 4  # nothing open: the running totals say it all, whatever the number of groups


def test_a_job_status_costs_one_round_trip(acme, monkeypatch):
    from billing_core import jobs, locking

    acme.record(3)
    monkeypatch.setattr(jobs, "start", lambda job: None)
    monkeypatch.setattr(locking, "out_of_time", lambda deadline: deadline is not None)
    status, started, trips = acme.call("finance", "POST", "/v1/groups/acme/lock-all", {})
    assert status == 202
    # the group read, one page of the open sessions, then the job's record: the rest is the worker's
    assert trips.dynamodb == 1 + trips.pages + 1
    status, job, trips = acme.call("finance", "GET", f"/v1/jobs/{started['job_id']}")
    assert status == 200 and job["status"] == "running"
    assert trips.dynamodb == 1
