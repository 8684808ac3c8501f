"""Demo data of the local stack: two MSPs, each with a token per role and a signed-in person per
staff role (email and password, in the user pool), a pay-per-use and a subscription profile, three
client groups with computers and contracts, and October's sessions (some adjusted, some locked, one
subscription recharged). Written through the gateway, so the seed runs the same authorizer and
handlers as every request."""
import json
import secrets

from billing_core import tenants

from .gateway import Gateway

DEMO_TENANTS = (
    {"tenant_id": "demo-acme-it", "name": "Acme IT Services", "technicians": ("ann", "bob")},
    {"tenant_id": "demo-northwind", "name": "Northwind Support", "technicians": ("chiara", "dev")},
)
PROFILES = (
    {"profile_id": "standard", "name": "Standard support", "type": "pay_per_use", "currency": "EUR",
     "min_duration_minutes": 2, "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00"},
    {"profile_id": "prepaid-10h", "name": "Prepaid 10 hours", "type": "subscription", "currency": "EUR",
     "min_duration_minutes": 1, "total_hours": 10, "amount": "450.00", "step_minutes": 15},
)
GROUPS = (  # group_id, name, profile, computers
    ("bakery", "Bakery Miller", "standard", (("bakery-till", "Till"), ("bakery-office", "Office PC"))),
    ("law-firm", "Rossi & Partners (law firm)", "prepaid-10h", (("rossi-reception", "Reception"), ("rossi-partner", "Partner laptop"))),
    ("dental", "Dental practice Lee", "prepaid-10h", (("lee-xray", "X-ray workstation"),)),
)
SESSIONS = (  # session_id, computer, technician index, started_at, ended_at, notes
    ("s-1001", "bakery-till", 0, "2026-10-01T08:00:00Z", "2026-10-01T08:12:30Z", "receipt printer offline"),
    ("s-1002", "bakery-office", 1, "2026-10-03T13:30:00Z", "2026-10-03T14:11:00Z", "mail client"),
    ("s-1003", "bakery-till", 0, "2026-10-20T07:45:00Z", "2026-10-20T07:46:10Z", "too short: not recorded"),
    ("s-2001", "rossi-reception", 0, "2026-10-02T09:00:00Z", "2026-10-02T09:50:00Z", "scanner driver"),
    ("s-2002", "rossi-partner", 1, "2026-10-14T16:00:00+02:00", "2026-10-14T17:05:00+02:00", "VPN set-up"),
    ("s-3001", "lee-xray", 1, "2026-10-09T10:00:00Z", "2026-10-09T10:20:00Z", "image archive backup"),
)
ADJUSTMENTS = {"s-1002": {"extra_minutes": 10, "notes": "mail client; follow-up call"}}
LOCKED = ("s-1001", "s-2001")
RECHARGES = {"law-firm": {"hours": 5, "amount": "225.00"}}


PEOPLE = {"admin": "Alex Admin", "technician": "Terry Technician", "finance": "Fran Finance"}


class SeedError(RuntimeError):
    pass


def demo_users(tenant_id: str) -> dict:
    """A person per staff role: their email and a password the pool's policy accepts."""
    return {role: {"email": f"{role}@{tenant_id}.example", "password": f"Demo-{secrets.token_hex(6)}-Pw1", "name": name}
            for role, name in PEOPLE.items()}


def add_users(idp, pool: dict, tenants_seeded: list[dict]) -> list[dict]:
    """The demo people in the user pool (made anew at each start: the pool lives in memory)."""
    from . import cognito

    for tenant in tenants_seeded:
        tenant.setdefault("users", demo_users(tenant["tenant_id"]))
        for role, user in tenant["users"].items():
            cognito.add_user(idp, pool["user_pool_id"], tenant["tenant_id"], role, user["email"], user["password"], user.get("name"))
    return tenants_seeded


class _Caller:
    def __init__(self, gateway: Gateway, token: str):
        self.gateway, self.token = gateway, token

    def __call__(self, method: str, path: str, body=None, expect=(200, 201)) -> dict:
        raw = None if body is None else json.dumps(body).encode()
        headers = {"authorization": f"Bearer {self.token}", "content-type": "application/json"}
        status, _, text = self.gateway.invoke(method, path, headers, "", raw)
        if status not in expect:
            raise SeedError(f"demo data: {method} {path} answered {status}: {text}")
        return json.loads(text) if text else {}


def seed_tenant(gateway: Gateway, tenant_id: str, name: str, technicians: tuple[str, str]) -> dict:
    tenant = tenants.create_tenant(name, tenant_id=tenant_id)
    tokens = {role: tenants.issue_token(tenant_id, role, label=f"{role} (demo)")["token"] for role in tenants.ROLES}
    admin, technician, finance, agent = (_Caller(gateway, tokens[role]) for role in ("admin", "technician", "finance", "agent"))
    for profile in PROFILES:
        admin("POST", "/v1/profiles", profile)
    for group_id, group_name, profile_id, computers in GROUPS:
        admin("PUT", f"/v1/groups/{group_id}", {"name": group_name})
        for computer_id, computer_name in computers:
            admin("PUT", f"/v1/groups/{group_id}/computers/{computer_id}", {"name": computer_name})
        admin("PUT", f"/v1/groups/{group_id}/contract", {"profile_id": profile_id})
    for group_id, recharge in RECHARGES.items():
        admin("POST", f"/v1/groups/{group_id}/recharges", recharge)
    uploads = [
        {"session_id": session_id, "computer_id": computer_id, "technician": technicians[who],
         "started_at": started_at, "ended_at": ended_at, "notes": notes}
        for session_id, computer_id, who, started_at, ended_at, notes in SESSIONS
    ]
    agent("POST", "/v1/sessions/batch", {"sessions": uploads})
    for session_id, change in ADJUSTMENTS.items():
        technician("PATCH", f"/v1/sessions/{session_id}", change)
    for session_id in LOCKED:
        finance("POST", f"/v1/sessions/{session_id}/lock")
    return {"tenant_id": tenant["tenant_id"], "name": tenant["name"], "tokens": tokens}


def seed(gateway: Gateway) -> list[dict]:
    """The demo tenants as .local/stack.json lists them (with their tokens)."""
    return [seed_tenant(gateway, t["tenant_id"], t["name"], t["technicians"]) for t in DEMO_TENANTS]
