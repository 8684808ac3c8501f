"""Upgrading over data of the previous version (billing_core.backfill): sessions without the open
index's keys and accounted history without running totals. After the backfill, totals, the open
search and lock-all answer as on data written by this version; a second run changes nothing;
`check` finds drift and writes nothing; a lock racing the backfill is neither lost nor counted
twice, and a session locked meanwhile never goes back into the open index."""
import json
import os
from datetime import timedelta

import boto3
import pytest

from api.conftest import GOLD, STANDARD, T0, create_group, create_profile, record_many, upload
from billing_core import backfill
from billing_core.dal import store as storage
from billing_core.dal import upgrade
from billing_core.dal.models import Session, keys
from billing_core.dal.totals import month_partition, month_row
from billing_local import backfill as backfill_cli

PERIODS = [
    "",
    "from=2026-03-03T00:00:00Z&to=2026-03-12T00:00:00Z",  # whole days (running totals only)
    "from=2026-03-03T05:30:00Z&to=2026-03-12T17:45:00Z",  # partial edge days
    "from=2026-03-05T01:00:00Z&to=2026-03-05T23:00:00Z",  # within one day
]


def spread(prefix: str, count: int, group_id: str, hours: int = 5) -> list[dict]:
    return [upload(f"{prefix}-{n:03d}", 600 + 97 * (n % 41), start=T0 + timedelta(hours=hours * n), group_id=group_id)
            for n in range(count)]


def build_history(tenant) -> None:
    """The same history for any tenant: pay per use in EUR then USD in `acme` (two currencies on
    some days), a subscription in `gold`, and a group without a contract; locked by lock-all and
    single locks, some sessions left open."""
    create_profile(tenant, profile_id="standard")
    create_profile(tenant, {**STANDARD, "name": "Dollars", "currency": "USD", "step_cost": "6.00"}, profile_id="usd")
    create_profile(tenant, GOLD, profile_id="gold")
    create_group(tenant, "acme", "standard")
    create_group(tenant, "gold", "gold")
    create_group(tenant, "bare")
    record_many(tenant, spread("a", 60, "acme") + spread("g", 30, "gold", hours=9) + spread("b", 5, "bare"))
    assert tenant.finance.post("/v1/groups/acme/lock-all", {"to": "2026-03-07T12:00:00Z"})[0] == 200
    for n in (40, 41, 50):
        assert tenant.technician.post(f"/v1/sessions/a-{n:03d}/lock")[0] == 200
    assert tenant.admin.put("/v1/groups/acme/contract", {"profile_id": "usd"})[0] == 200
    assert tenant.finance.post("/v1/groups/acme/lock-all", {"to": "2026-03-10T00:00:00Z"})[0] == 200
    assert tenant.technician.post("/v1/sessions/a-038/lock")[0] == 200  # 2026-03-10: two EUR, one USD, two open
    assert tenant.finance.post("/v1/groups/gold/lock-all", {"to": "2026-03-08T00:00:00Z"})[0] == 200


def as_previous_version(tenant_id: str) -> dict:
    """The tenant's data as the previous version left it: no GSI2 keys, no running totals
    (low-level calls, beside the product). Answers what was taken away."""
    client = boto3.client("dynamodb")
    stripped = {"sessions": 0, "month_totals": 0}
    for item in scan():
        if not item["PK"]["S"].startswith(f"T#{tenant_id}#"):
            continue
        key = {"PK": item["PK"], "SK": item["SK"]}
        if item["kind"]["S"] == "session" and "GSI2PK" in item:
            client.update_item(TableName=os.environ["TABLE_NAME"], Key=key, UpdateExpression="REMOVE GSI2PK, GSI2SK")
            stripped["sessions"] += 1
        elif item["kind"]["S"] in ("month_total", "group_months"):
            client.delete_item(TableName=os.environ["TABLE_NAME"], Key=key)
            stripped["month_totals"] += item["kind"]["S"] == "month_total"
    return stripped


def scan() -> list[dict]:
    client = boto3.client("dynamodb")
    items, start = [], None
    while True:
        page = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))


def open_search(tenant, group_id: str) -> list[str]:
    found, cursor = [], None
    while True:
        query = "status=to_account&limit=7" + (f"&cursor={cursor}" if cursor else "")
        status, page = tenant.technician.get(f"/v1/groups/{group_id}/sessions", query)
        assert status == 200, page
        found += [s["session_id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if not cursor:
            return found


def answers(tenant) -> dict:
    """What finance and technicians are answered: totals of several periods, the open search."""
    seen = {}
    for group_id in ("acme", "gold", "bare"):
        for query in PERIODS:
            status, totals = tenant.finance.get(f"/v1/groups/{group_id}/totals", query)
            assert status == 200, totals
            seen[group_id, query] = (totals["accounted"], totals["to_account"])
        seen[group_id, "open"] = open_search(tenant, group_id)
    return seen


def lock_everything(tenant) -> dict:
    return {group_id: tenant.finance.post(f"/v1/groups/{group_id}/lock-all", {})[1] for group_id in ("acme", "gold")}


def test_old_data_answers_as_new_data_once_backfilled(msp, other_msp):
    build_history(msp)  # this version's data
    build_history(other_msp)  # the same history, taken back to what the previous version wrote
    expected = answers(msp)
    assert expected["acme", ""][0]["costs"] and len(expected["acme", ""][0]["costs"]) == 2  # EUR and USD
    stripped = as_previous_version(other_msp.tenant_id)
    assert stripped["sessions"] == 19 + 15 + 5 and stripped["month_totals"] == 3  # the open ones; 41 + 15 accounted
    before = answers(other_msp)
    assert before["acme", "open"] == [] and before["acme", ""][0]["sessions"] == 0  # what an upgrade without backfill answers

    report = backfill.backfill([other_msp.tenant_id])

    assert report.sessions_indexed == report.sessions_unindexed == stripped["sessions"]
    assert report.months_written == report.months_missing == 3 and report.months_drifted == [] == report.months_moving
    assert answers(other_msp) == expected
    assert lock_everything(other_msp) == lock_everything(msp)  # lock-all finds and locks the same sessions
    assert answers(other_msp) == answers(msp)


def test_every_tenant_by_default_and_a_second_run_changes_nothing(msp, other_msp):
    build_history(msp)
    create_profile(other_msp, profile_id="standard")
    create_group(other_msp, "acme", "standard")
    record_many(other_msp, spread("o", 8, "acme"))
    assert other_msp.finance.post("/v1/groups/acme/lock-all", {"to": "2026-03-02T20:00:00Z"})[0] == 200
    as_previous_version(msp.tenant_id)
    as_previous_version(other_msp.tenant_id)
    tenants = backfill_cli.every_tenant()  # the command's default: a Scan finds them
    assert sorted(tenants) == sorted([msp.tenant_id, other_msp.tenant_id])
    first = backfill.backfill(tenants)
    assert first.tenants == 2 and first.groups == 4 and first.sessions_indexed == 39 + 5
    after_first = scan()

    second = backfill.backfill(tenants)

    assert scan() == after_first
    assert (second.sessions_unindexed, second.sessions_indexed, second.months_written, second.months_missing) == (0, 0, 0, 0)
    assert second.months_right == second.months_checked == first.months_checked
    assert backfill.backfill(tenants, check=True).needs_writing is False


@pytest.fixture
def settled(monkeypatch):
    """moto's indexes never lag: the backfill need not wait for recent recordings to settle."""
    monkeypatch.setattr(backfill, "SETTLE_SECONDS", 0)


def test_check_finds_a_drifted_month_and_writes_nothing(msp, capsys, monkeypatch, settled):
    monkeypatch.setenv("TABLE_NAME", os.environ["TABLE_NAME"])  # the command sets it from --table
    build_history(msp)
    client = boto3.client("dynamodb")
    drifted_key = {"PK": {"S": month_partition(msp.tenant_id, "2026-03")}, "SK": {"S": month_row("acme")}}
    client.update_item(TableName=os.environ["TABLE_NAME"], Key=drifted_key, UpdateExpression="ADD #c :c",
                       ExpressionAttributeNames={"#c": "c04EUR"}, ExpressionAttributeValues={":c": {"N": "5.00"}})
    client.update_item(TableName=os.environ["TABLE_NAME"], Key={"PK": {"S": keys.session(msp.tenant_id, "a-059")}, "SK": {"S": "SESSION"}},
                       UpdateExpression="REMOVE GSI2PK, GSI2SK")
    day = "from=2026-03-04T00:00:00Z&to=2026-03-05T00:00:00Z"  # the drifted day (a-059 started on 14 March)
    wrong_totals = msp.finance.get("/v1/groups/acme/totals", day)[1]
    stored = scan()
    capsys.readouterr()  # what the API's functions printed (their metrics)

    assert backfill_cli.main(["--table", os.environ["TABLE_NAME"], "--check"]) == 1  # the audit: something to write
    audit = json.loads(capsys.readouterr().out)

    assert scan() == stored
    assert audit["drifted"] == [f"{msp.tenant_id}/acme/2026-03"] and audit["sessions_unindexed"] == 1
    assert (audit["months_written"], audit["sessions_indexed"], audit["months_missing"]) == (0, 0, 0)
    assert audit["months_right"] == audit["months_checked"] - 1 and audit["round_trips"] > 0
    assert backfill.backfill([msp.tenant_id]).months_written == 1
    totals = msp.finance.get("/v1/groups/acme/totals", day)[1]
    eur = lambda line: next(c["amount"] for c in line["costs"] if c["currency"] == "EUR")  # noqa: E731
    assert float(eur(wrong_totals["accounted"])) - float(eur(totals["accounted"])) == 5.0
    assert "a-059" in open_search(msp, "acme")
    assert backfill_cli.main(["--table", os.environ["TABLE_NAME"], "--check", "--tenant", msp.tenant_id]) == 0


@pytest.mark.parametrize("between", ["month_total", "month_sessions"])
def test_a_lock_during_the_backfill_of_its_month_is_neither_lost_nor_counted_twice(msp, other_msp, monkeypatch, settled, between):
    """The lock commits after the backfill read the month's MonthTotal (or its sessions too) and
    before it writes it: its write then fails its condition and the month is read again."""
    for tenant in (msp, other_msp):
        build_history(tenant)
    as_previous_version(other_msp.tenant_id)
    real = getattr(upgrade, between)
    raced = []

    def read_then_lock(tenant_id, group_id, month):
        found = real(tenant_id, group_id, month)
        if tenant_id == other_msp.tenant_id and (group_id, month) == ("acme", "2026-03") and not raced:
            raced.append(other_msp.technician.post("/v1/sessions/a-037/lock")[0])  # open, started 2026-03-10T02:00Z
        return found

    monkeypatch.setattr(upgrade, between, read_then_lock)
    report = backfill.backfill([other_msp.tenant_id])

    assert raced == [200] and report.months_moving == []
    assert msp.technician.post("/v1/sessions/a-037/lock")[0] == 200  # the same lock on the up-to-date tenant
    assert answers(other_msp) == answers(msp)
    month = upgrade.month_total(other_msp.tenant_id, "acme", "2026-03").row
    assert backfill.same(month, upgrade.month_total(msp.tenant_id, "acme", "2026-03").row)
    day = month.accounted["10"]
    assert (day["EUR"].sessions, day["USD"].sessions) == (2, 2)  # a-040, a-041 locked in EUR; a-038 and the raced a-037 in USD
    assert backfill.backfill([other_msp.tenant_id], check=True).needs_writing is False


def test_a_session_locked_between_the_index_read_and_write_is_not_indexed_again(msp, monkeypatch, settled):
    build_history(msp)
    as_previous_version(msp.tenant_id)
    real = upgrade.index_open
    locked = []

    def lock_then_index(tenant_id, group_id, sessions):
        if not locked and group_id == "acme" and sessions:
            locked.append(sessions[0].session_id)
            assert msp.technician.post(f"/v1/sessions/{sessions[0].session_id}/lock")[0] == 200
        return real(tenant_id, group_id, sessions)

    monkeypatch.setattr(upgrade, "index_open", lock_then_index)
    report = backfill.backfill([msp.tenant_id])

    assert report.sessions_indexed == report.sessions_unindexed - 1 and report.months_moving == []
    session = storage.get(Session, keys.session(msp.tenant_id, locked[0]), "SESSION")
    assert session.status == "accounted" and session.GSI2PK is None and session.GSI2SK is None
    assert locked[0] not in open_search(msp, "acme")
    assert msp.finance.get("/v1/groups/acme/totals")[1]["accounted"]["sessions"] == 41 + 1  # locked before, and this one
    assert backfill.backfill([msp.tenant_id], check=True).needs_writing is False


def test_the_command_names_what_is_wrong_in_one_line(msp, capsys, monkeypatch):
    table = os.environ["TABLE_NAME"]
    monkeypatch.setenv("TABLE_NAME", table)  # the command sets it from --table: put back afterwards
    assert backfill_cli.main(["--table", table, "--tenant", "nobody"]) == 2
    assert capsys.readouterr().err.strip() == "backfill: not_found: tenant nobody not found"
    assert backfill_cli.main(["--table", "no-such-table"]) == 2
    assert capsys.readouterr().err.startswith("backfill: table no-such-table not found")
    assert backfill_cli.main(["--table", table, "--group", "acme"]) == 2
    assert capsys.readouterr().err.strip() == "backfill: --group needs --tenant"
