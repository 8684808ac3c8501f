"""Concurrent issues against the local stack over HTTP (real threads, the store's faults on and
off): every issued invoice has its own number, the numbers form one gapless range in the order
the issues committed, and a draft issued by two callers at once is issued once."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from trust.test_races import Stack, race
from billing_local.stack import StackProcess

STANDARD = {"name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 0,
            "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00"}
CLIENTS = 12
T0 = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    process = StackProcess(tmp_path_factory.mktemp("issues") / "stack.json", "--no-seed",
                           "--faults", "conflict=0.08,throttle=0.03,error500=0.02,lost=0.02", "--fault-seed", "19")
    try:
        running = Stack(process)
        running.faults(False)
        assert running.admin.post("/v1/profiles", {**STANDARD, "profile_id": "standard"}).status == 201
        assert running.admin.put("/v1/settings/invoicing", {"prefix": "R-", "digits": 4}).status == 200
        yield running
    finally:
        process.stop()


def drafts(stack, month: str) -> list[dict]:
    """One locked session for each of CLIENTS new clients in `month`; answers the run's drafts."""
    agent = stack.clients("agent")[0]
    groups = []
    for n in range(CLIENTS):
        group_id = f"c-{uuid.uuid4().hex[:8]}"
        groups.append(group_id)
        assert stack.admin.put(f"/v1/groups/{group_id}", {"name": group_id}).status == 201
        assert stack.admin.put(f"/v1/groups/{group_id}/contract", {"profile_id": "standard"}).status == 200
        start = datetime.fromisoformat(f"{month}-05T09:00:00+00:00")
        upload = {"session_id": f"{group_id}-s", "technician": "ann", "computer_id": f"{group_id}-pc", "group_id": group_id,
                  "started_at": start.isoformat(), "ended_at": (start + timedelta(minutes=20)).isoformat()}
        assert agent.post("/v1/sessions", upload).status == 201
        assert stack.admin.post(f"/v1/sessions/{group_id}-s/lock").status == 200
    answer = stack.finance.post("/v1/invoice-runs", {"month": month, "groups": groups})
    assert answer.status == 201, answer.body
    return answer.body["invoices"]


@pytest.mark.parametrize("faults", [False, True], ids=["faults-off", "faults-on"])
def test_concurrent_issues_take_a_gapless_range_of_numbers(stack, faults):
    month = "2026-10" if not faults else "2026-11"
    made = drafts(stack, month)
    before = stack.admin.get("/v1/settings/invoicing").body["next_number"]
    callers = stack.clients("finance") + stack.clients("admin")
    with stack.racing(faults):
        # every draft issued by two callers at once
        answers = race([(lambda c=callers[n % len(callers)], d=d: c.post(f"/v1/invoices/{d['invoice_id']}/issue"))
                        for d in made for n in range(2)])
    issued = [a.body for a in answers if a.status == 200]
    refused = [a for a in answers if a.status != 200]
    assert all(a.status in (409, 503) for a in refused), [(a.status, a.body) for a in refused]
    listed = stack.finance.get("/v1/invoices", f"month={month}&status=issued").body["invoices"]
    assert sorted(i["invoice_id"] for i in listed) == sorted(d["invoice_id"] for d in made)  # each draft issued once
    numbers = sorted(int(i["number"][2:]) for i in listed)
    assert numbers == list(range(before, before + CLIENTS))  # unique and gapless
    assert {i["number"] for i in issued} <= {i["number"] for i in listed}
    assert stack.admin.get("/v1/settings/invoicing").body["next_number"] == before + CLIENTS
