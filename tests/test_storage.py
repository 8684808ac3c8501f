"""The single-table store against moto: exact round trips, settings read at call time, tenants
that never share a key, and no Scan — neither in the source nor on the wire."""
import ast
import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import boto3
import botocore.session
import pynamodb.connection.base
import pytest

from billing_core import ledger, address_book, contracts, exports, locking, profiles, recording, reporting, sessions, tenants
from billing_core.dal import models
from billing_core.dal.models import (
    BillingItem,
    Contract,
    Export,
    Group,
    HistoryEntry,
    ProfileVersion,
    Session,
    Tenant,
    keys,
)
from billing_core.tariff import PayPerUse, Subscription
from billing_local import template

ROOT = Path(__file__).resolve().parents[1]
LAYER_SOURCE = ROOT / "layers" / "billing_core"
MOMENT = datetime(2026, 3, 2, 8, 22, 5, 123456, tzinfo=timezone.utc)
PAY_PER_USE = PayPerUse(currency="EUR", min_duration_minutes=2, initial_step_minutes=15,
                        initial_step_cost=Decimal("20.00"), step_minutes=5, step_cost=Decimal("5.00"))
SUBSCRIPTION = Subscription(currency="CHF", min_duration_minutes=1, total_hours=Decimal("7.5"),
                            amount=Decimal("400.10"), step_minutes=15)
STANDARD = {"profile_id": "std", "name": "Standard", "type": "pay_per_use", "currency": "EUR",
            "min_duration_minutes": 2, "initial_step_minutes": 15, "initial_step_cost": "20.00",
            "step_minutes": 5, "step_cost": "5.00"}
PREPAID = {"profile_id": "prepaid", "name": "Prepaid 10h", "type": "subscription", "currency": "EUR",
           "min_duration_minutes": 1, "total_hours": "7.5", "amount": "400.00", "step_minutes": 15}


def upload(session_id, started="2026-03-02T09:00:00+01:00", ended="2026-03-02T08:22:00Z", **more):
    return {"session_id": session_id, "technician": "ann", "computer_id": "pc-1", "group_id": "acme",
            "started_at": started, "ended_at": ended, **more}


def raw_item(table: str, pk: str, sk: str) -> dict | None:
    return boto3.client("dynamodb").get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")


def values(item) -> dict:
    """An item's attributes as stored: a null attribute is simply absent."""
    return {name: value for name, value in item.attribute_values.items() if value is not None}


def assert_utc_aware(moment: datetime) -> None:
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


# ---------------------------------------------------------------- exact round trips


def test_a_contract_round_trips_with_exact_money_hours_and_utc_times(aws):
    models.bind()
    contract = Contract(
        keys.group("t1", "acme"), "CONTRACT",
        GSI1PK=keys.contracts_of("t1", "prepaid"), GSI1SK="acme",
        contract_id="ctr_1", group_id="acme", profile_id="prepaid", profile_version=3, profile_name="Prepaid",
        tariff=SUBSCRIPTION, assigned_at=MOMENT, assigned_by="admin", revision=2, ledger_seq=3,
    )
    balance, _ = ledger.Balance().add_block(ledger.ALLOTMENT, "a", 450, Decimal("400.10"), MOMENT)
    balance, _ = balance.add_block(ledger.RECHARGE, "r", 90, Decimal("12.30"), MOMENT, MOMENT + timedelta(days=30))
    balance, _, _ = balance.deduct("s-1", 45, MOMENT, MOMENT, 15)
    contract.balance = json.dumps(ledger.dump(balance))
    contract.save()

    stored = Contract.get(keys.group("t1", "acme"), "CONTRACT", consistent_read=True)
    assert values(stored) == values(contract)
    assert stored.tariff == SUBSCRIPTION and isinstance(stored.tariff, Subscription)
    assert type(stored.tariff.total_hours) is Decimal and stored.tariff.total_minutes == 450
    assert type(stored.tariff.amount) is Decimal and str(stored.tariff.amount) == "400.10"
    kept = ledger.load(json.loads(stored.balance))
    assert kept == balance  # exact money, whole minutes, aware expiry instants
    assert type(kept.recharged_amount) is Decimal and kept.recharged_amount == Decimal("12.30")
    assert (kept.recharged_minutes, kept.used_minutes, stored.revision, stored.ledger_seq) == (90, 45, 2, 3)
    assert_utc_aware(kept.blocks[-1].expires_at)
    assert stored.assigned_at == MOMENT
    assert_utc_aware(stored.assigned_at)

    item = raw_item("billing-test", keys.group("t1", "acme"), "CONTRACT")
    assert item["tariff"]["M"]["amount"] == {"N": "400.10"}
    assert item["tariff"]["M"]["total_hours"] == {"N": "7.5"}
    assert item["tariff"]["M"]["type"] == {"S": "subscription"}


def test_a_profile_version_round_trips_a_pay_per_use_tariff(aws):
    models.bind()
    profile = ProfileVersion(
        keys.profile("t1", "std"), keys.version(2),
        profile_id="std", version=2, name="Standard", tariff=PAY_PER_USE, created_at=MOMENT, created_by=None,
    )
    profile.save()

    stored = ProfileVersion.get(keys.profile("t1", "std"), keys.version(2), consistent_read=True)
    assert values(stored) == values(profile)
    assert stored.tariff == PAY_PER_USE and isinstance(stored.tariff, PayPerUse)
    for money in (stored.tariff.initial_step_cost, stored.tariff.step_cost):
        assert type(money) is Decimal and money.as_tuple().exponent == -2
    for minutes in (stored.tariff.min_duration_minutes, stored.tariff.initial_step_minutes, stored.tariff.step_minutes):
        assert type(minutes) is int
    assert stored.created_by is None
    assert keys.version(2) == "V#000002" and keys.version(10) > keys.version(9)  # versions sort as numbers


@pytest.mark.parametrize("tariff", [PAY_PER_USE, SUBSCRIPTION], ids=["pay_per_use", "subscription"])
def test_the_tariff_attribute_reads_back_what_it_wrote(tariff):
    attribute = models.TariffAttribute()
    serialized = attribute.serialize(tariff)
    assert all(set(typed) <= {"S", "N"} for typed in serialized.values())
    assert attribute.deserialize(serialized) == tariff


def test_stored_numbers_normalised_by_dynamodb_still_read_back_as_the_same_tariff():
    """DynamoDB answers 20.00 as 20 and 7.50 as 7.5: the tariff must not change for it."""
    attribute = models.TariffAttribute()
    normalised = {
        "type": {"S": "pay_per_use"}, "currency": {"S": "EUR"}, "min_duration_minutes": {"N": "2"},
        "initial_step_minutes": {"N": "15"}, "initial_step_cost": {"N": "20"}, "step_minutes": {"N": "5"},
        "step_cost": {"N": "5"},
    }
    tariff = attribute.deserialize(normalised)
    assert tariff == PAY_PER_USE
    assert str(tariff.initial_step_cost) == "20.00" and str(tariff.step_cost) == "5.00"
    assert models.DecimalAttribute().deserialize("12.3") == Decimal("12.30")


def test_a_locked_session_round_trips_its_frozen_price(aws):
    models.bind()
    started = datetime(2026, 3, 2, 9, 0, tzinfo=timezone(timedelta(hours=1)))  # 08:00Z given with an offset
    session = Session(
        keys.session("t1", "s-1"), "SESSION",
        GSI1PK=keys.sessions_of("t1", "acme"), GSI1SK="2026-03-02T08:00:00.000000Z#s-1",
        session_id="s-1", group_id="acme", computer_id="pc-1", technician="ann",
        started_at=started, ended_at=MOMENT, connection_seconds=1325, extra_minutes=-10, notes="printer",
        status="accounted", upload_fingerprint="f" * 64, recorded_at=MOMENT, revision=3,
        locked_at=MOMENT + timedelta(hours=1), locked_by="ann", total_seconds=725, billed_minutes=15,
        cost=Decimal("20.00"), currency="EUR", profile_id="std", profile_version=1, contract_id="ctr_1",
    )
    session.save()

    stored = BillingItem.get(keys.session("t1", "s-1"), "SESSION", consistent_read=True)  # the kind picks the class
    assert type(stored) is Session
    assert values(stored) == values(session)
    assert type(stored.cost) is Decimal and stored.cost == Decimal("20.00")
    assert (stored.connection_seconds, stored.extra_minutes, stored.total_seconds, stored.billed_minutes) == (1325, -10, 725, 15)
    assert all(type(n) is int for n in (stored.connection_seconds, stored.extra_minutes, stored.billed_minutes))
    assert stored.started_at == datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    for moment in (stored.started_at, stored.ended_at, stored.recorded_at, stored.locked_at):
        assert_utc_aware(moment)
    assert stored.ended_at.microsecond == 123456
    assert raw_item("billing-test", keys.session("t1", "s-1"), "SESSION")["cost"] == {"N": "20.00"}


def test_a_to_account_session_keeps_its_price_fields_empty(aws):
    models.bind()
    Session(
        keys.session("t1", "s-2"), "SESSION", session_id="s-2", group_id="acme", computer_id="pc-1",
        technician="ann", started_at=MOMENT, ended_at=MOMENT, connection_seconds=0, upload_fingerprint="f",
        recorded_at=MOMENT,
    ).save()
    stored = Session.get(keys.session("t1", "s-2"), "SESSION")
    assert (stored.status, stored.extra_minutes, stored.notes, stored.revision) == ("to_account", 0, "", 1)
    assert stored.cost is None and stored.locked_at is None and stored.billed_minutes is None


def test_history_entries_exports_groups_and_tenants_round_trip(aws):
    models.bind()
    items = [
        HistoryEntry(keys.group("t1", "acme"), "HISTORY#1", at=MOMENT, actor="admin:tok_1", action="recharged",
                     changes='{"amount":{"before":null,"after":"99.90"}}'),
        Export(keys.export("t1", "exp_1"), "EXPORT", export_id="exp_1", group_id="acme", key="tenants/t1/exports/x.csv",
               status="ready", rows=3, created_at=MOMENT, expires_at=1_900_000_000),
        Group(keys.group("t1", "acme"), "GROUP", GSI1PK=keys.groups("t1"), GSI1SK="acme", group_id="acme",
              name="Acme Ltd", profile_id=None, created_at=MOMENT),
        Tenant(keys.tenant("t1"), "TENANT", tenant_id="t1", name="Acme IT", created_at=MOMENT),
    ]
    for item in items:
        item.save()
    for item in items:
        stored = BillingItem.get(item.PK, item.SK, consistent_read=True)
        assert type(stored) is type(item)
        assert values(stored) == values(item)
    assert_utc_aware(HistoryEntry.get(keys.group("t1", "acme"), "HISTORY#1").at)


# ---------------------------------------------------------------- settings at call time


def test_the_table_is_the_one_table_name_names_at_call_time(aws, monkeypatch):
    tenant = tenants.create_tenant("Acme IT")["tenant_id"]
    address_book.put_group(tenant, "first", {"name": "In the first table"})
    assert raw_item("billing-test", keys.group(tenant, "first"), "GROUP") is not None

    template.create_table(boto3.client("dynamodb"), "billing-second")
    monkeypatch.setenv("TABLE_NAME", "billing-second")
    models.reset()
    tenants.create_tenant("Acme IT", tenant_id=tenant)  # the same tenant id is new in the second table
    address_book.put_group(tenant, "second", {"name": "In the second table"})
    recording.record_sessions(tenant, [upload("s-1", group_id="second")])

    assert raw_item("billing-second", keys.group(tenant, "second"), "GROUP")["name"] == {"S": "In the second table"}
    assert raw_item("billing-second", keys.session(tenant, "s-1"), "SESSION") is not None
    assert raw_item("billing-test", keys.group(tenant, "second"), "GROUP") is None
    assert raw_item("billing-test", keys.session(tenant, "s-1"), "SESSION") is None
    assert [g["group_id"] for g in address_book.list_groups(tenant)["groups"]] == ["second"]

    monkeypatch.setenv("TABLE_NAME", "billing-test")  # and back, even without a reset
    assert [g["group_id"] for g in address_book.list_groups(tenant)["groups"]] == ["first"]


# ---------------------------------------------------------------- tenants never share a key


def test_two_tenants_with_the_same_ids_never_see_each_others_items(aws):
    acme = tenants.create_tenant("Acme IT")["tenant_id"]
    rival = tenants.create_tenant("Rival IT")["tenant_id"]
    for tenant, name, technician in ((acme, "Acme Ltd", "ann"), (rival, "Rival Ltd", "bob")):
        address_book.put_group(tenant, "acme", {"name": name})
        profiles.create_profile(tenant, {**STANDARD, "name": f"Standard of {name}"}, "admin")
        contracts.assign_profile(tenant, "acme", {"profile_id": "std"}, "admin")
        [outcome] = recording.record_sessions(tenant, [upload("s-1", technician=technician)])
        assert outcome.status == 201, outcome.body  # the same session id is new for each tenant

    # One tenant locks and adjusts; the other's session stays as it was.
    sessions.adjust_session(acme, "s-1", {"extra_minutes": -10})
    assert locking.lock_session(acme, "s-1", "ann")["cost"] == "20.00"

    acme_session, rival_session = sessions.get_session(acme, "s-1"), sessions.get_session(rival, "s-1")
    assert (acme_session["technician"], acme_session["status"], acme_session["cost"]) == ("ann", "accounted", "20.00")
    assert (rival_session["technician"], rival_session["status"], rival_session["cost"]) == ("bob", "to_account", "30.00")
    for tenant, name, technician in ((acme, "Acme Ltd", "ann"), (rival, "Rival Ltd", "bob")):
        assert address_book.list_groups(tenant) == {"groups": [{"group_id": "acme", "name": name, "profile_id": "std"}]}
        assert [p["name"] for p in profiles.list_profiles(tenant)["profiles"]] == [f"Standard of {name}"]
        found = reporting.search_sessions(tenant, "acme", {})["sessions"]
        assert [(s["session_id"], s["technician"]) for s in found] == [("s-1", technician)]
        assert reporting.totals(tenant, "acme", {})["accounted"]["sessions"] == (1 if tenant == acme else 0)

    # Every key of one tenant differs from the other's for the same ids.
    for make in (keys.group, keys.computer, keys.profile, keys.session, keys.export, keys.contracts_of,
                 keys.sessions_of, keys.computers_of):
        assert make(acme, "acme") != make(rival, "acme")
        assert make(acme, "acme").startswith(f"T#{acme}#")
    for make in (keys.groups, keys.profiles, keys.tokens):
        assert make(acme) != make(rival) and make(acme).startswith(f"T#{acme}#")


@pytest.mark.parametrize("bad_tenant", ["a#G#b", "x" * 65, "t 1", "a/b"])
def test_a_tenant_id_that_could_forge_another_key_is_refused(aws, bad_tenant):
    from billing_core.errors import InvalidInput

    with pytest.raises(InvalidInput) as error:
        tenants.create_tenant("Forger", tenant_id=bad_tenant)
    assert error.value.field == "tenant_id"


# ---------------------------------------------------------------- no Scan


def _python_sources():
    for folder in (LAYER_SOURCE, ROOT / "functions"):
        yield from sorted(p for p in folder.rglob("*.py") if ".aws-sam" not in p.parts)


def test_no_scan_exists_in_the_source():
    sources = list(_python_sources())
    assert any(p.name == "sessions.py" for p in sources)
    for path in sources:
        text = path.read_text()
        assert not re.search(r"\.(parallel_)?scan\s*\(", text), path
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("scan", "parallel_scan", "Scan"), (path, node.lineno)
            elif isinstance(node, ast.Name):
                assert node.id != "Scan", (path, node.lineno)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value.strip() != "Scan", (path, node.lineno)


# ---------------------------------------------------------------- the data-access boundary

# billing_core/dal/ alone knows the table. Every other module of the layer and every handler sees
# values and typed outcomes: no pynamodb, no key, no condition, no model write, no transaction.
OUTSIDE_DAL = sorted(p for p in (LAYER_SOURCE / "billing_core").rglob("*.py") if "dal" not in p.relative_to(LAYER_SOURCE).parts
                     and "__pycache__" not in p.parts) + sorted((ROOT / "functions").glob("*/app.py"))
TABLE_CALLS = {"save", "transact", "condition_check", "does_not_exist", "exists", "between", "begins_with", "is_in",
               "TransactWrite", "batch_get", "query", "scan"}
CONDITION_KEYWORDS = {"condition", "range_key_condition", "filter_condition", "actions", "consistent_read"}


def _table_reach(path: Path) -> list[str]:
    """Where a module reaches the table itself (empty: nowhere)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        modules = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        names = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
        if any(m.startswith("pynamodb") for m in modules):
            found.append(f"{node.lineno}: imports pynamodb")
        if any(m.endswith("dal.models") for m in modules) and "keys" in names:
            found.append(f"{node.lineno}: imports the table's keys")
        if any(m.endswith("dal.store") for m in modules) or (any(m.endswith("dal") for m in modules) and "store" in names):
            found.append(f"{node.lineno}: imports the store") if names - {"store", "Backoff"} or "store" not in names else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "store" \
                and node.attr != "Backoff":  # the retry budget is shared; the store's operations are not
            found.append(f"{node.lineno}: store.{node.attr}")
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in TABLE_CALLS:
                found.append(f"{node.lineno}: .{node.func.attr}()")
            if {k.arg for k in node.keywords} & CONDITION_KEYWORDS:
                found.append(f"{node.lineno}: a condition keyword")
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and isinstance(node.left.value, ast.Name) \
                and node.left.value.id in ("Session", "Group", "Computer", "Event", "HistoryEntry", "Contract", "Job"):
            found.append(f"{node.lineno}: a condition on {node.left.value.id}")
    return found


@pytest.mark.parametrize("path", OUTSIDE_DAL, ids=lambda p: str(p.relative_to(ROOT)))
def test_outside_dal_no_module_knows_the_table(path):
    assert _table_reach(path) == []


def test_the_boundary_check_sees_a_module_that_reaches_the_table(tmp_path):
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from pynamodb.models import Model\nfrom .dal.models import Session, keys\n"
                      "def f(s):\n    s.save(condition=Session.status == 'to_account')\n")
    assert len(_table_reach(sneaky)) == 5


@pytest.mark.parametrize("path", OUTSIDE_DAL + sorted((LAYER_SOURCE / "billing_core" / "dal").glob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_450_lines(path):
    assert len(path.read_text().splitlines()) <= 450


@pytest.fixture
def dynamodb_calls(aws, monkeypatch):
    """Every DynamoDB operation pynamodb makes, recorded by a botocore `before-call` hook."""
    recorded: list[str] = []
    session = botocore.session.get_session()
    session.register("before-call.dynamodb", lambda model, **_: recorded.append(model.name))
    monkeypatch.setattr(pynamodb.connection.base, "get_session", lambda: session)
    models.reset()  # new connections, made on the recording session
    yield recorded
    models.reset()


def test_no_operation_ever_scans_the_table(dynamodb_calls):
    tenant = tenants.create_tenant("Acme IT")["tenant_id"]
    profiles.create_profile(tenant, STANDARD, "admin")
    profiles.create_profile(tenant, PREPAID, "admin")
    for group_id, profile_id in (("acme", "std"), ("beta", "prepaid")):
        address_book.put_group(tenant, group_id, {"name": group_id.title()})
        contracts.assign_profile(tenant, group_id, {"profile_id": profile_id}, "admin")
    address_book.put_computer(tenant, "acme", "pc-1", {"name": "Reception PC"})
    recorded = recording.record_sessions(tenant, [upload("s-1"), {**upload("s-2"), "group_id": None}])
    assert [o.status for o in recorded] == [201, 201]
    recording.record_batch(tenant, {"sessions": [upload(f"b-{n}", group_id="beta") for n in range(3)] + [upload("s-1")]})
    assert sessions.get_session(tenant, "s-1")["cost"] == "30.00"
    assert len(reporting.search_sessions(tenant, "acme", {"limit": "1"})["sessions"]) == 1
    reporting.search_sessions(tenant, "beta", {"status": "to_account", "technician": "ann"})
    sessions.adjust_session(tenant, "s-1", {"extra_minutes": -10, "notes": "printer"})
    assert locking.lock_session(tenant, "s-1", "ann")["status"] == "accounted"
    assert locking.lock_session(tenant, "s-1", "ann")["status"] == "accounted"
    assert locking.lock_all(tenant, "acme", {}, "fin")["locked"] == 1
    assert locking.lock_all(tenant, "beta", {"from": "2026-03-01T00:00:00Z"}, "fin")["locked"] == 3
    contracts.recharge(tenant, "beta", {"hours": "2.5", "amount": "100.00"}, "admin")
    assert reporting.totals(tenant, "beta", {})["balance"]["recharged_minutes"] == 150
    reporting.totals(tenant, "acme", {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"})
    answer = exports.export_sessions(tenant, "acme", {}, "fin", budget_seconds=60)
    export = answer.body
    assert answer.finished and export["rows"] == 2
    assert exports.export_status(tenant, export["export_id"])["status"] == "ready"
    sessions.session_history(tenant, "s-1")
    address_book.group_history(tenant, "beta")
    profiles.update_profile(tenant, "std", {**STANDARD, "step_cost": "6.00"}, "admin")
    profiles.list_profiles(tenant)
    address_book.list_groups(tenant)
    tenants.resolve(tenants.issue_token(tenant, "finance")["token"])

    operations = set(dynamodb_calls)
    assert {"GetItem", "Query", "BatchGetItem", "TransactWriteItems", "PutItem"} <= operations  # the hook sees them
    assert "Scan" not in operations, sorted(operations)


def test_the_recorder_would_see_a_scan(dynamodb_calls):
    """The hook above is not blind: a Scan made through the models is recorded."""
    models.bind()
    assert list(Group.scan(limit=1)) == []
    assert "Scan" in dynamodb_calls
