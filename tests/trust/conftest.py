"""Shared by the trust tests: a tenant seeded through the API, callers that keep every answer
(so secrets can be looked for in them), the error shape of SPEC §4, and a raw dump of one
tenant's items (to prove a request changed nothing).

The in-process tests run against the strict embedded store (tests/conftest.py: in memory, over
loopback) for a whole module (`mocked_aws`), so a matrix of hundreds of requests shares one
seeded world; the race tests start the whole stack as a child process instead (see test_races.py),
as strict as `make run`."""
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
import pytest
from conftest import count, strict_rules, strict_store  # noqa: F401  (count: the trust figures)

from billing_core import tenants
from billing_local import template
from billing_local.gateway import Gateway
from role_table import ROLE_TABLE, ROLES  # noqa: F401  (SPEC §4, written out once)

GOLD = {  # a subscription: 10 hours for 500.00, used in started 15-minute steps
    "name": "Gold 10h", "type": "subscription", "currency": "EUR", "min_duration_minutes": 1,
    "total_hours": 10, "amount": "500.00", "step_minutes": 15,
}
STANDARD = {  # pay per use: 15 min for 20.00, then 5 min for 5.00
    "name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 2,
    "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00",
}


@dataclass
class Answer:
    status: int
    body: object
    text: str


class Caller:
    """Calls the API as one Authorization header would; every answer text is kept in `seen`."""

    def __init__(self, gateway: Gateway, token: str | None, seen: list | None = None, authorization: str | None = None):
        self.gateway, self.token = gateway, token
        self.authorization = authorization if authorization is not None else (f"Bearer {token}" if token else None)
        self.seen = seen if seen is not None else []

    def call(self, method: str, path: str, body=None, query: str = "", raw: bytes | None = None) -> tuple[int, object]:
        answer = self.answer(method, path, body, query, raw)
        return answer.status, answer.body

    def answer(self, method: str, path: str, body=None, query: str = "", raw: bytes | None = None) -> Answer:
        headers = {}
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is not None:
            headers["content-type"] = "application/json"
        status, _, text = self.gateway.invoke(method, path, headers, query, raw)
        self.seen.append(text)
        return Answer(status, json.loads(text) if text else None, text)

    def get(self, path, query=""):
        return self.call("GET", path, query=query)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def delete(self, path):
        return self.call("DELETE", path)


class Tenant:
    """One MSP with a token and a caller per role."""

    def __init__(self, gateway: Gateway, name: str, seen: list | None = None):
        self.gateway = gateway
        self.tenant_id = tenants.create_tenant(name)["tenant_id"]
        self.issued = {role: tenants.issue_token(self.tenant_id, role) for role in ROLES}
        self.tokens = {role: issued["token"] for role, issued in self.issued.items()}
        self.seen = seen if seen is not None else []
        for role, token in self.tokens.items():
            setattr(self, role, Caller(gateway, token, self.seen))


@dataclass
class Seeded:
    """The ids a seeded tenant holds (every route has one of each to act on)."""

    tenant: Tenant
    subscription_group: str
    pay_group: str
    computer: str
    subscription_profile: str
    pay_profile: str
    session: str  # to account, in the subscription group
    locked_session: str
    pay_session: str
    export: str
    extra: dict = field(default_factory=dict)

    def ids(self) -> dict:
        return {
            "group_id": self.subscription_group, "profile_id": self.subscription_profile,
            "session_id": self.session, "computer_id": self.computer, "export_id": self.export,
            "token_id": self.extra["token_id"], "job_id": self.extra["job_id"],
            "invoice_id": "2026-03-inv-000000000000", "run_id": "2026-03-run-none", "month": "2026-02",
            "user_id": self.extra["user_id"],
            "connection_id": "main-teamviewer",
        }


def upload(session_id: str, group_id: str | None, minutes: int = 22, *, day: int = 2, hour: int = 9,
           technician: str = "ann", computer_id: str = "pc-1", notes: str | None = None) -> dict:
    body = {
        "session_id": session_id, "technician": technician, "computer_id": computer_id,
        "started_at": f"2026-03-{day:02d}T{hour:02d}:00:00Z",
        "ended_at": f"2026-03-{day:02d}T{hour + minutes // 60:02d}:{minutes % 60:02d}:00Z",
    }
    if group_id is not None:
        body["group_id"] = group_id
    if notes is not None:
        body["notes"] = notes
    return body


def ok(answer, *statuses):
    status, body = answer
    assert status in (statuses or (200,)), (status, body)
    return body


def seed(tenant: Tenant, prefix: str = "") -> Seeded:
    """Profiles, two groups (subscription and pay per use), a computer, sessions (one locked) and an export."""
    admin = tenant.admin
    gold = ok(admin.post("/v1/profiles", {**GOLD, "profile_id": f"{prefix}gold"}), 201)
    standard = ok(admin.post("/v1/profiles", {**STANDARD, "profile_id": f"{prefix}standard"}), 201)
    sub, pay, pc = f"{prefix}acme", f"{prefix}beta", f"{prefix}pc-1"
    ok(admin.put(f"/v1/groups/{sub}", {"name": f"{prefix}Acme Ltd"}), 201)
    ok(admin.put(f"/v1/groups/{pay}", {"name": f"{prefix}Beta Ltd"}), 201)
    ok(admin.put(f"/v1/groups/{sub}/computers/{pc}", {"name": "Reception PC"}))
    ok(admin.put(f"/v1/groups/{sub}/contract", {"profile_id": gold["profile_id"]}))
    ok(admin.put(f"/v1/groups/{pay}/contract", {"profile_id": standard["profile_id"]}))
    ok(admin.post(f"/v1/groups/{sub}/recharges", {"hours": 2, "amount": "100.00"}), 201)
    ok(tenant.agent.post("/v1/sessions", upload(f"{prefix}s-1", None, 22, computer_id=pc)), 201)
    ok(tenant.agent.post("/v1/sessions", upload(f"{prefix}s-2", sub, 40, hour=11)), 201)
    ok(tenant.agent.post("/v1/sessions", upload(f"{prefix}s-3", pay, 31)), 201)
    ok(tenant.technician.patch(f"/v1/sessions/{prefix}s-2", {"extra_minutes": 5, "notes": "printer"}))
    ok(tenant.technician.post(f"/v1/sessions/{prefix}s-2/lock"))
    export = ok(tenant.finance.post(f"/v1/groups/{sub}/exports", {}), 201)
    spare = ok(admin.post("/v1/tokens", {"role": "technician", "label": f"{prefix}spare laptop"}), 201)
    person = ok(admin.post("/v1/users", {"email": f"{prefix}dana@example.com", "role": "technician"}), 201)
    return Seeded(tenant, sub, pay, pc, gold["profile_id"], standard["profile_id"],
                  f"{prefix}s-1", f"{prefix}s-2", f"{prefix}s-3", export["export_id"],
                  {"token_id": spare["token_id"], "job_id": seed_job(tenant, pay), "user_id": person["user_id"]})


def seed_job(tenant: Tenant, group_id: str) -> str:
    """A finished lock-all job (of an empty period, so it locks nothing the tests rely on), made
    and run as a lock-all request hands one to the worker."""
    from billing_core import fields, jobs, locking, reporting

    run = locking.LockAllRun(tenant.tenant_id, group_id, reporting.parse_period({"from": "2027-01-01T00:00:00Z"}), None,
                             fields.utc_now())
    job = jobs.create(tenant.tenant_id, jobs.LOCK_ALL, run.state(), "finance:seed")
    assert jobs.run({"tenant_id": tenant.tenant_id, "job_id": job.job_id}, None) == jobs.SUCCEEDED
    return job.job_id


@contextmanager
def mocked_aws():
    """The strict embedded store with the template's table, bucket and user pool (for a whole module)."""
    from billing_local import cognito

    with strict_store() as store:
        cognito.create_pool(boto3.client("cognito-idp"))
        yield store


@pytest.fixture(scope="module")
def gateway_once():
    return Gateway(strict_rules())


@pytest.fixture(scope="module")
def two_seeded_tenants(gateway_once):
    """Acme IT and its rival, both seeded, sharing one mocked table for the module."""
    with mocked_aws():
        a = seed(Tenant(gateway_once, "Acme IT"))
        b = seed(Tenant(gateway_once, "Rival IT"), prefix="rival-")
        yield a, b


def table_items() -> list[dict]:
    """Every item of the table, as DynamoDB holds it (test-side Scan: the product never scans)."""
    client = boto3.client("dynamodb", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)
    items, start = [], None
    while True:
        page = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
        items += page["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def tenant_items(tenant_id: str) -> list[str]:
    """One tenant's items, canonical and sorted: equal lists mean nothing of the tenant changed."""
    mine = [item for item in table_items() if tenant_id in json.dumps(item)]
    return sorted(json.dumps(item, sort_keys=True) for item in mine)


def assert_error_shape(status: int, body, *, field: str | None = None, code: str | None = None) -> dict:
    """SPEC §4 "Errors": {"error": {"code", "message"}}, nothing else; a 400 names its field."""
    assert isinstance(body, dict) and set(body) == {"error"}, (status, body)
    error = body["error"]
    assert isinstance(error, dict) and set(error) == {"code", "message"}, (status, body)
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and error["message"], body
    if code is not None:
        assert error["code"] == code, (status, body)
    if field is not None:
        assert error["message"].startswith(f"{field}:"), (status, body, field)
    return error


def fill(path: str, ids: dict) -> str:
    for name, value in ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


# ---------------------------------------------------------------- every route, with a valid request


def valid_requests(seeded: Seeded, unique: str = "x") -> dict[str, tuple]:
    """route key → (method, path, body, query): a request each route accepts from an allowed role."""
    ids = seeded.ids()
    bodies = {
        "POST /v1/profiles": {**STANDARD, "name": "Another"},
        "PUT /v1/profiles/{profile_id}": {**GOLD, "step_minutes": 15},
        "PUT /v1/groups/{group_id}": {"name": "Acme Ltd"},
        "PUT /v1/groups/{group_id}/computers/{computer_id}": {"name": "Reception PC"},
        "PUT /v1/groups/{group_id}/contract": {"profile_id": seeded.subscription_profile},
        "POST /v1/sessions": upload(f"up-{unique}", seeded.subscription_group, 30, day=5),
        "POST /v1/sessions/batch": {"sessions": [upload(f"batch-{unique}", seeded.subscription_group, 30, day=6)]},
        "PATCH /v1/sessions/{session_id}": {"notes": "checked"},
        "POST /v1/groups/{group_id}/lock-all": {"from": "2026-04-01T00:00:00Z"},
        "POST /v1/groups/{group_id}/recharges": {"hours": 1, "amount": "10.00"},
        "POST /v1/groups/{group_id}/exports": {"status": "accounted"},
        "POST /v1/groups/{group_id}/simulate": {"profile_id": seeded.pay_profile, "from": "2026-03-01T00:00:00Z"},
        "POST /v1/quotes": {"profile_id": seeded.pay_profile, "sessions": [
            {"started_at": "2026-03-07T09:00:00Z", "ended_at": "2026-03-07T09:40:00Z", "extra_minutes": 5}]},
        "POST /v1/tokens": {"role": "finance", "label": f"finance laptop {unique}"},
        "PUT /v1/settings/invoicing": {"digits": 5},
        "POST /v1/invoice-runs": {"month": "2026-03"},
        "POST /v1/invoice-runs/{run_id}/exports": {"format": "xero"},
        "POST /v1/users": {"email": f"new-{unique}@example.com", "role": "finance"},
        "PATCH /v1/users/{user_id}": {"name": "Dana"},
        "PUT /v1/imports/connections/{connection_id}": {"source": "teamviewer", "credentials": {"token": f"tv-{unique}"},
                                                        "schedule": "rate(1 hour)", "group_id": seeded.subscription_group},
        "POST /v1/imports": {"source": "generic", "content": f"id,start,end,pc,who\nimp-{unique},2026-03-05T09:00:00Z,"
                             "2026-03-05T09:30:00Z,pc-1,ann\n", "group_id": seeded.subscription_group,
                             "columns": {"session_id": "id", "started_at": "start", "ended_at": "end", "computer_id": "pc", "technician": "who"}},
    }
    queries = {"GET /v1/groups/{group_id}/sessions": "limit=10", "GET /v1/invoices": "month=2026-03", "GET /v1/groups/{group_id}/totals": "from=2026-03-01T00:00:00Z",
               "GET /v1/totals": "from=2026-03-01T00:00:00Z&limit=10"}
    found = {}
    for route in template.routes():
        found[route.key] = (route.method, fill(route.path, ids), bodies.get(route.key), queries.get(route.key, ""))
    return found


