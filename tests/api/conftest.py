"""Helpers of the API tests: a client group set up through the API itself, uploads built from a
start and a duration, and the checks every error answer shares (SPEC §4 "Errors").

One embedded store (in memory, as strict as AWS: see tests/conftest.py) and bucket serve a whole
test module and every test gets the table afresh (made from template.yaml, dropped afterwards,
same name so billing_core keeps its connections): tests never see each other's data, and the suite
pays neither for a new store and new botocore clients per test nor for moto copying the whole
table in every transaction (`fast_transactions`). A module whose tests only need a tenant of their
own may share one table instead (`shared_table_aws`), and seed a tenant once for its reads."""
import os
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from conftest import strict_store

from billing_local import gateway as local_gateway
from billing_local import template
from billing_local.store import transactions_back_up_only_their_items

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

STANDARD = {  # the SPEC's worked pay-per-use example: 15 min for 20.00, then 5 min for 5.00
    "name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 2,
    "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00",
}
GOLD = {  # 10 hours for 500.00, used in started 15-minute steps
    "name": "Gold 10h", "type": "subscription", "currency": "EUR", "min_duration_minutes": 1,
    "total_hours": 10, "amount": "500.00", "step_minutes": 15,
}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def upload(session_id: str, seconds: int = 1320, *, start: datetime = T0, group_id: str | None = "acme",
           computer_id: str = "pc-1", technician: str = "ann", **more) -> dict:
    """One agent upload: `seconds` of connection from `start`."""
    body = {"session_id": session_id, "technician": technician, "computer_id": computer_id,
            "started_at": iso(start), "ended_at": iso(start + timedelta(seconds=seconds)), **more}
    if group_id is not None:
        body["group_id"] = group_id
    return body


def assert_invalid(answer, field: str):
    """A 400 whose message names the field."""
    status, body = answer
    assert status == 400, (status, body)
    assert body["error"]["code"] == "invalid_input", body
    assert body["error"]["message"].startswith(f"{field}:"), body


def assert_error(answer, status: int, code: str | None = None):
    got, body = answer
    assert got == status, (got, body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def create_profile(tenant, body=STANDARD, **changes) -> dict:
    status, profile = tenant.admin.post("/v1/profiles", {**body, **changes})
    assert status == 201, profile
    return profile


def create_group(tenant, group_id: str, profile_id: str | None = None, computers=()) -> None:
    assert tenant.admin.put(f"/v1/groups/{group_id}", {"name": f"{group_id} Ltd"})[0] in (200, 201)
    for computer_id in computers:
        status, body = tenant.admin.put(f"/v1/groups/{group_id}/computers/{computer_id}", {"name": computer_id})
        assert status == 200, body
    if profile_id is not None:
        status, body = tenant.admin.put(f"/v1/groups/{group_id}/contract", {"profile_id": profile_id})
        assert status == 200, body


def record(tenant, *args, **kwargs) -> dict:
    """Records one upload that must be recorded; answers the session."""
    status, body = tenant.agent.post("/v1/sessions", upload(*args, **kwargs))
    assert status == 201, body
    assert body["recorded"] is True
    return body["session"]


def record_many(tenant, uploads: list[dict]) -> list[dict]:
    """Records uploads through the batch route, 100 per call."""
    results = []
    for start in range(0, len(uploads), 100):
        status, body = tenant.agent.post("/v1/sessions/batch", {"sessions": uploads[start:start + 100]})
        assert status == 200, body
        results.extend(body["results"])
    assert all(result["recorded"] is True for result in results), [r for r in results if not r["recorded"]][:3]
    return results


@pytest.fixture(scope="module")
def module_aws():
    with strict_store(table=False) as store:
        yield store


@pytest.fixture
def aws(module_aws):
    """An empty table from template.yaml in the module's store (overrides tests/conftest.py's `aws`)."""
    client = boto3.client("dynamodb")
    template.create_table(client, os.environ["TABLE_NAME"])
    yield module_aws
    client.delete_table(TableName=os.environ["TABLE_NAME"])


def standard_acme(tenant) -> dict:
    """Group `acme` (computer pc-1) on the Standard pay-per-use profile; answers the profile."""
    profile = create_profile(tenant, profile_id="standard")
    create_group(tenant, "acme", profile["profile_id"], computers=["pc-1"])
    return profile


@pytest.fixture
def acme(msp):
    """Group `acme` (computer pc-1) on the Standard pay-per-use profile; answers the profile."""
    return standard_acme(msp)


@pytest.fixture(scope="module")
def module_table(module_aws):
    """One table for a whole module, for a module whose tests may share it (each test's tenant is a
    new one, and a tenant sees only its own items): a module asks for it by overriding `aws` with
    `shared_table_aws` (below), then may seed a tenant once for all its read-only tests."""
    client = boto3.client("dynamodb")
    template.create_table(client, os.environ["TABLE_NAME"])
    yield module_aws
    client.delete_table(TableName=os.environ["TABLE_NAME"])


def shared_table_aws(module_table):
    """`aws = pytest.fixture(shared_table_aws, name="aws")` in a module: its tests share `module_table`."""
    return module_table


@pytest.fixture
def gold(msp):
    """Groups `acme` and `globex` both on the Gold subscription profile; answers the profile."""
    profile = create_profile(msp, GOLD, profile_id="gold")
    create_group(msp, "acme", profile["profile_id"], computers=["pc-1"])
    create_group(msp, "globex", profile["profile_id"], computers=["pc-9"])
    return profile


@pytest.fixture(autouse=True)
def fast_transactions():
    """moto's transactions back up only the items they name, not the whole table (see
    billing_local.store: the same outcome, as each in-process request is atomic)."""
    with transactions_back_up_only_their_items():
        yield


@pytest.fixture
def query_pages(monkeypatch) -> list[bool]:
    """DynamoDB's (and moto's) 1 MB query page made 64 KB, so a few hundred sessions span several
    pages; answers one entry per page served: True when the page ended with more to read."""
    from moto.dynamodb.models import table as moto_table

    served: list[bool] = []
    original = moto_table.Table.query

    def query(self, *args, **kwargs):
        results = original(self, *args, **kwargs)
        served.append(results[2] is not None)  # (items, scanned_count, last_evaluated_key)
        return results

    monkeypatch.setattr(moto_table, "RESULT_SIZE_LIMIT", 64_000)
    monkeypatch.setattr(moto_table.Table, "query", query)
    return served


@pytest.fixture
def short_timeout(monkeypatch):
    """Functions invoked with only `seconds` of their timeout left (a request that started late)."""
    real = local_gateway.LambdaContext.of
    left = {}

    def of(logical_id):
        context = real(logical_id)
        if logical_id in left:
            context.timeout_seconds = left[logical_id]
        return context

    monkeypatch.setattr(local_gateway.LambdaContext, "of", staticmethod(of))
    return left


def close_at_its_end(tenant, month: str, monkeypatch) -> None:
    """Closes the month under way as at its end: the recharges and assignments below are dated
    now, in it, as they would be after a time zone change put now back in a closed month."""
    from billing_core import fields, periods

    with monkeypatch.context() as clock:
        clock.setattr(fields, "utc_now", lambda: periods.Calendar().bounds(month)[1])
        status, body = tenant.finance.post(f"/v1/periods/{month}/close")
    assert status == 200 and body["closed"] is True, body
