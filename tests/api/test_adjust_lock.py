"""GET /v1/sessions/{session_id}, PATCH /v1/sessions/{session_id} and POST .../lock: a technician
reviews a session, adds extra minutes and notes, and locks it; an accounted session never changes."""
import pytest

from .conftest import assert_error, assert_invalid, create_group, create_profile, record

FULL = {"total_minutes": 600, "recharged_minutes": 0, "used_minutes": 0, "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0, "available_minutes": 600, "amount": "500.00"}


def test_one_session_is_read_by_every_staff_role(msp, acme):
    session = record(msp, "s-1", 1320)
    for role in ("admin", "technician", "finance"):
        assert getattr(msp, role).get("/v1/sessions/s-1") == (200, session)


def test_an_unknown_or_another_tenants_session_is_a_404(msp, other_msp, acme):
    record(msp, "s-1")
    for tenant in (other_msp,):
        assert_error(tenant.admin.get("/v1/sessions/s-1"), 404, "not_found")
        assert_error(tenant.technician.patch("/v1/sessions/s-1", {"notes": "mine now"}), 404, "not_found")
        assert_error(tenant.technician.post("/v1/sessions/s-1/lock"), 404, "not_found")
    assert_error(msp.admin.get("/v1/sessions/s-404"), 404, "not_found")
    session = msp.admin.get("/v1/sessions/s-1")[1]
    assert (session["status"], session["notes"]) == ("to_account", "")


def test_a_session_id_over_128_characters_is_a_400_naming_it(msp):
    assert_invalid(msp.admin.get("/v1/sessions/" + "s" * 129), "session_id")
    assert_invalid(msp.admin.patch("/v1/sessions/" + "s" * 129, {"notes": "x"}), "session_id")
    assert_invalid(msp.admin.post("/v1/sessions/" + "s" * 129 + "/lock"), "session_id")


def test_extra_minutes_and_notes_reprice_the_session(msp, acme):
    record(msp, "s-1", 1320)
    status, session = msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": -10})
    assert status == 200, session
    assert (session["extra_minutes"], session["total_seconds"], session["billed_minutes"], session["cost"]) == (-10, 720, 15, "20.00")
    status, session = msp.admin.patch("/v1/sessions/s-1", {"extra_minutes": 20, "notes": "server reboot after hours"})
    assert (session["extra_minutes"], session["total_seconds"], session["billed_minutes"], session["cost"]) == (20, 2520, 45, "50.00")
    assert session["notes"] == "server reboot after hours" and session["connection_seconds"] == 1320
    status, session = msp.technician.patch("/v1/sessions/s-1", {"notes": ""})
    assert (session["notes"], session["extra_minutes"]) == ("", 20)
    assert msp.technician.get("/v1/sessions/s-1") == (200, session)


def test_extra_minutes_may_make_a_session_free(msp, acme):
    record(msp, "s-1", 300)
    session = msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": -10_080})[1]
    assert (session["total_seconds"], session["billed_minutes"], session["cost"]) == (0, 0, "0.00")
    assert msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 10_080})[1]["total_seconds"] == 300 + 604_800


@pytest.mark.parametrize("body, field", [
    ({"extra_minutes": 10_081}, "extra_minutes"),
    ({"extra_minutes": -10_081}, "extra_minutes"),
    ({"extra_minutes": "5"}, "extra_minutes"),
    ({"extra_minutes": 1.5}, "extra_minutes"),
    ({"extra_minutes": None}, "extra_minutes"),
    ({"extra_minutes": True}, "extra_minutes"),
    ({"notes": "n" * 2001}, "notes"),
    ({"notes": ["a"]}, "notes"),
    ({"status": "accounted"}, "status"),
    ({"cost": "0.00"}, "cost"),
    ({}, "body"),
])
def test_a_bad_adjustment_is_a_400_naming_the_field_and_changes_nothing(msp, acme, body, field):
    before = record(msp, "s-1", 1320, notes="first")
    assert_invalid(msp.technician.patch("/v1/sessions/s-1", body), field)
    assert msp.technician.get("/v1/sessions/s-1") == (200, before)


def test_a_lock_freezes_the_session(msp, acme):
    record(msp, "s-1", 1320, notes="printer")
    status, locked = msp.technician.post("/v1/sessions/s-1/lock")
    assert status == 200, locked
    assert {k: locked[k] for k in ("status", "total_seconds", "billed_minutes", "cost", "currency", "profile_id", "profile_version", "notes")} == {
        "status": "accounted", "total_seconds": 1320, "billed_minutes": 25, "cost": "30.00", "currency": "EUR",
        "profile_id": "standard", "profile_version": 1, "notes": "printer"}
    assert locked["locked_at"].endswith("Z")
    assert msp.finance.get("/v1/sessions/s-1") == (200, locked)


def test_locking_twice_answers_200_unchanged(msp, acme):
    record(msp, "s-1", 1320)
    first = msp.technician.post("/v1/sessions/s-1/lock")
    assert first[0] == 200
    assert msp.finance.post("/v1/sessions/s-1/lock") == first
    assert msp.admin.post("/v1/sessions/s-1/lock") == first


def test_locking_twice_deducts_once(msp, gold):
    record(msp, "s-1", 960)
    first = msp.technician.post("/v1/sessions/s-1/lock")
    assert first[0] == 200 and first[1]["billed_minutes"] == 30
    assert msp.technician.post("/v1/sessions/s-1/lock") == first
    assert msp.finance.get("/v1/groups/acme/totals")[1]["balance"] == {**FULL, "used_minutes": 30, "available_minutes": 570}


def test_adjusting_an_accounted_session_is_a_409_and_changes_nothing(msp, gold):
    record(msp, "s-1", 960, notes="before")
    locked = msp.technician.post("/v1/sessions/s-1/lock")[1]
    assert_error(msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 60}), 409, "session_accounted")
    assert_error(msp.admin.patch("/v1/sessions/s-1", {"notes": "after"}), 409, "session_accounted")
    assert msp.technician.get("/v1/sessions/s-1") == (200, locked)
    assert msp.finance.get("/v1/groups/acme/totals")[1]["balance"]["used_minutes"] == 30


def test_a_lock_takes_no_fields(msp, acme):
    record(msp, "s-1")
    assert_invalid(msp.technician.post("/v1/sessions/s-1/lock", {"cost": "0.00"}), "cost")
    assert msp.technician.get("/v1/sessions/s-1")[1]["status"] == "to_account"


def test_locking_a_session_without_contract_is_a_409(msp):
    create_group(msp, "newco")
    record(msp, "s-1", group_id="newco")
    assert_error(msp.technician.post("/v1/sessions/s-1/lock"), 409, "no_contract")
    create_profile(msp, profile_id="standard")
    assert_error(msp.technician.post("/v1/sessions/s-1/lock"), 409, "no_contract")
    assert msp.technician.get("/v1/sessions/s-1")[1]["status"] == "to_account"
