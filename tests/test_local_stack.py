"""The local stack as a newcomer runs it: a child process on free ports, the README walkthrough
over real HTTP (urllib, and the README's own shell block with curl + jq), the CSV downloaded from
the presigned link, listeners on loopback only, and a clean stop on SIGTERM."""
import csv
from http.client import HTTPConnection
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from billing_local.stack import StackProcess
from readme_blocks import needs_shell, run

ROOT = Path(__file__).resolve().parents[1]
CSV_HEADER = [
    "session_id", "group_id", "technician", "computer_id", "started_at", "ended_at",
    "connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "cost", "currency",
    "status", "locked_at", "profile_id", "profile_version", "notes",
]
# The walkthrough's session after the adjustment and the lock, as the CSV gives it (locked_at aside).
WALK_ROW = {
    "session_id": "walk-1", "group_id": "city-hall", "technician": "ann", "computer_id": "ch-front-desk",
    "started_at": "2026-11-02T08:00:00Z", "ended_at": "2026-11-02T08:22:00Z", "connection_seconds": "1320",
    "extra_minutes": "-10", "total_seconds": "720", "billed_minutes": "15", "cost": "20.00", "currency": "EUR",
    "status": "accounted", "profile_id": "hourly", "profile_version": "1", "notes": "printer driver",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = StackProcess(tmp_path_factory.mktemp("stack") / "stack.json")
    yield running
    running.stop()


def http(method, url, token=None, body=None, raw=None, headers=None):
    """(status, parsed JSON or text, headers) of one real HTTP request."""
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        raw = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=raw, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, text, got = answer.status, answer.read().decode(), answer.headers
    except urllib.error.HTTPError as error:
        status, text, got = error.code, error.read().decode(), error.headers
    if "json" in (got.get("Content-Type") or ""):
        return status, json.loads(text), got
    return status, text, got


def test_the_stack_describes_itself_and_seeds_two_tenants(stack):
    description = stack.description
    assert set(description) == {"api_url", "aws_endpoint_url", "table", "bucket", "data", "faults", "cognito", "tenants"}
    assert set(description["cognito"]) == {"user_pool_id", "client_id", "region"}
    assert description["faults"] == {}  # no fault injection unless asked
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", description["api_url"])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", description["aws_endpoint_url"])
    assert [t["tenant_id"] for t in description["tenants"]] == ["demo-acme-it", "demo-northwind"]
    assert oct(stack.state.stat().st_mode & 0o777) == "0o600"  # it holds tokens
    api = description["api_url"]
    for tenant in description["tenants"]:
        assert set(tenant["tokens"]) == {"admin", "technician", "finance", "agent"}
        finance = tenant["tokens"]["finance"]
        status, groups, _ = http("GET", f"{api}/v1/groups", finance)
        assert status == 200, groups
        assert sorted(g["group_id"] for g in groups["groups"]) == ["bakery", "dental", "law-firm"]
        status, profiles, _ = http("GET", f"{api}/v1/profiles", finance)
        assert sorted((p["profile_id"], p["type"]) for p in profiles["profiles"]) == [
            ("prepaid-10h", "subscription"), ("standard", "pay_per_use")]
        # bakery: s-1001 (12.5 min, locked: 15 min, 20.00), s-1002 (41 + 10 min: 55 min, 60.00); s-1003 under the minimum
        status, totals, _ = http("GET", f"{api}/v1/groups/bakery/totals", finance)
        assert status == 200, totals
        assert totals["accounted"] == {"sessions": 1, "total_seconds": 750, "billed_minutes": 15, "cost": "20.00", "costs": [{"currency": "EUR", "amount": "20.00"}]}
        assert totals["to_account"] == {"sessions": 1, "total_seconds": 3060, "billed_minutes": 55, "cost": "60.00", "costs": [{"currency": "EUR", "amount": "60.00"}]}
        # law-firm: 10 h + a 5 h recharge, 60 minutes used by the locked s-2001
        status, totals, _ = http("GET", f"{api}/v1/groups/law-firm/totals", finance)
        assert totals["balance"] == {"total_minutes": 600, "recharged_minutes": 300, "used_minutes": 60, "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0,
                                     "available_minutes": 840, "amount": "675.00"}


def sign_in(description: dict, email: str, password: str) -> dict:
    import boto3

    pool = description["cognito"]
    idp = boto3.client("cognito-idp", endpoint_url=description["aws_endpoint_url"], region_name=pool["region"],
                       aws_access_key_id="local", aws_secret_access_key="local")
    return idp.initiate_auth(ClientId=pool["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]


def test_demo_people_sign_in_on_the_embedded_aws_and_call_the_api_beside_the_tokens(stack):
    api = stack.description["api_url"]
    for tenant in stack.description["tenants"]:
        assert set(tenant["users"]) == {"admin", "technician", "finance"}
        for role, user in tenant["users"].items():
            access = sign_in(stack.description, user["email"], user["password"])["AccessToken"]
            status, me, _ = http("GET", f"{api}/v1/me", access)
            assert status == 200 and (me["tenant_id"], me["role"], me["actor"]["kind"]) == (tenant["tenant_id"], role, "user")
        admin = sign_in(stack.description, tenant["users"]["admin"]["email"], tenant["users"]["admin"]["password"])
        status, listed, _ = http("GET", f"{api}/v1/users", admin["AccessToken"])
        assert status == 200 and {u["email"] for u in listed["users"]} == {u["email"] for u in tenant["users"].values()}
        status, _, headers = http("GET", f"{api}/v1/users", admin["IdToken"])  # not an access token
        assert status == 403 and "insufficient_scope" in headers["www-authenticate"]


def test_the_consoles_sign_in_relay_carries_sign_in_calls_only(stack):
    """/_cognito/ on the console's origin passes a browser's sign-in calls to the pool, never an
    administrator's (those are IAM-signed calls of the users function), and refuses garbage with a 400."""
    api, pool = stack.description["api_url"], stack.description["cognito"]
    user = stack.description["tenants"][0]["users"]["technician"]

    def relay(target, body):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return http("POST", f"{api}/_cognito/", raw=raw, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}"})

    status, answer, _ = relay("InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": pool["client_id"],
                                               "AuthParameters": {"USERNAME": user["email"], "PASSWORD": user["password"]}})
    assert status == 200 and answer["AuthenticationResult"]["AccessToken"]
    status, answer, _ = relay("AdminCreateUser", {"UserPoolId": pool["user_pool_id"], "Username": "intruder@example.com"})
    assert status == 400 and answer["__type"] == "InvalidParameterException"
    for garbage in (b"not json", b"[]", {"AuthFlow": "USER_PASSWORD_AUTH"}):
        status, _, _ = relay("InitiateAuth", garbage)
        assert 400 <= status < 500, garbage
    status, config, _ = http("GET", f"{api}/console/config.json")
    assert status == 200 and config == {"idp": "/_cognito/", "client_id": pool["client_id"], "region": pool["region"],
                                    "uploads": "/_s3/"}


def test_the_readme_walkthrough_over_http(stack):
    """The README's steps, request for request, in the second demo tenant (the shell block runs in the first)."""
    api = stack.description["api_url"]
    tokens = stack.description["tenants"][1]["tokens"]
    admin, technician, finance, agent = (tokens[r] for r in ("admin", "technician", "finance", "agent"))

    status, profile, _ = http("POST", f"{api}/v1/profiles", admin, {
        "profile_id": "hourly", "name": "Standard", "type": "pay_per_use", "currency": "EUR",
        "min_duration_minutes": 2, "initial_step_minutes": 15, "initial_step_cost": "20.00",
        "step_minutes": 5, "step_cost": "5.00"})
    assert status == 201, profile
    assert (profile["profile_id"], profile["version"], profile["initial_step_cost"]) == ("hourly", 1, "20.00")
    status, group, _ = http("PUT", f"{api}/v1/groups/city-hall", admin, {"name": "City hall"})
    assert (status, group["name"]) == (201, "City hall")
    status, computer, _ = http("PUT", f"{api}/v1/groups/city-hall/computers/ch-front-desk", admin, {"name": "Front desk"})
    assert (status, computer["group_id"]) == (200, "city-hall")
    status, contract, _ = http("PUT", f"{api}/v1/groups/city-hall/contract", admin, {"profile_id": "hourly"})
    assert (status, contract["profile_id"], contract["profile_version"]) == (200, "hourly", 1), contract

    upload = {"session_id": "walk-1", "technician": "ann", "computer_id": "ch-front-desk",
              "started_at": "2026-11-02T09:00:00+01:00", "ended_at": "2026-11-02T08:22:00Z"}
    status, recorded, _ = http("POST", f"{api}/v1/sessions", agent, upload)
    assert status == 201, recorded
    session = recorded["session"]
    assert (session["group_id"], session["started_at"], session["connection_seconds"]) == ("city-hall", "2026-11-02T08:00:00Z", 1320)
    assert (session["billed_minutes"], session["cost"], session["status"]) == (25, "30.00", "to_account")
    assert http("POST", f"{api}/v1/sessions", agent, upload)[:2] == (200, recorded)  # the agent's retry

    status, adjusted, _ = http("PATCH", f"{api}/v1/sessions/walk-1", technician, {"extra_minutes": -10, "notes": "printer driver"})
    assert status == 200, adjusted
    assert (adjusted["total_seconds"], adjusted["billed_minutes"], adjusted["cost"]) == (720, 15, "20.00")
    status, locked, _ = http("POST", f"{api}/v1/sessions/walk-1/lock", technician)
    assert status == 200, locked
    assert (locked["status"], locked["cost"], locked["profile_id"], locked["profile_version"]) == ("accounted", "20.00", "hourly", 1)
    assert locked["locked_at"].endswith("Z")

    status, totals, _ = http("GET", f"{api}/v1/groups/city-hall/totals?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z", finance)
    assert status == 200, totals
    assert (totals["from"], totals["to"]) == ("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert totals["accounted"] == {"sessions": 1, "total_seconds": 720, "billed_minutes": 15, "cost": "20.00", "costs": [{"currency": "EUR", "amount": "20.00"}]}
    assert totals["to_account"] == {"sessions": 0, "total_seconds": 0, "billed_minutes": 0, "cost": "0.00", "costs": []}

    status, export, _ = http("POST", f"{api}/v1/groups/city-hall/exports", finance, {"status": "accounted"})
    assert status in (201, 202), export
    if status == 202:  # finished by the worker: ask until it is ready
        for _ in range(100):
            status, export, _ = http("GET", f"{api}/v1/exports/{export['export_id']}", finance)
            if export.get("status") != "running":
                break
            time.sleep(0.1)
    assert export["rows"] == 1, export
    assert export["key"].startswith("tenants/demo-northwind/exports/") and export["key"].endswith(".csv")
    assert export["url"].startswith(stack.description["aws_endpoint_url"] + "/"), export["url"]

    status, text, headers = http("GET", export["url"])  # the presigned link, straight from the embedded S3
    assert status == 200, text
    assert headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2
    row = dict(zip(CSV_HEADER, rows[1]))
    assert row.pop("locked_at") == locked["locked_at"]
    assert row == WALK_ROW


@needs_shell
def test_the_readme_walkthrough_runs_as_written(stack, tmp_path):
    """The README's shell block itself, from a directory whose .local/stack.json is this stack's."""
    out = run("walkthrough", stack, tmp_path)
    # jq pretty-prints each answer; they come in the walkthrough's order.
    expected_in_order = [
        '"profile_id": "hourly"', '"version": 1',
        '"group_id": "city-hall"', '"name": "City hall"',
        '"computer_id": "ch-front-desk"',
        '"profile_version": 1',
        '"recorded": true', '"billed_minutes": 25', '"cost": "30.00"',
        "\n200\n",
        '"extra_minutes": -10', '"billed_minutes": 15', '"cost": "20.00"',
        '"status": "accounted"',
        '"from": "2026-11-01T00:00:00Z"', '"accounted": {',
        '"rows": 1', '"key": "tenants/demo-acme-it/exports/',
        ",".join(CSV_HEADER),
        "walk-1,city-hall,ann,ch-front-desk,2026-11-02T08:00:00Z,2026-11-02T08:22:00Z,1320,-10,720,15,20.00,EUR,accounted,",
    ]
    position = 0
    for fragment in expected_in_order:
        found = out.find(fragment, position)
        assert found >= 0, f"{fragment!r} missing after position {position} of:\n{out}"
        position = found + len(fragment)
    assert out.rstrip().endswith(",hourly,1,printer driver")
    assert '"error"' not in out


def test_unknown_routes_methods_tokens_and_big_bodies_answer_in_the_error_shape(stack):
    api = stack.description["api_url"]
    token = stack.description["tenants"][0]["tokens"]["admin"]
    assert http("GET", f"{api}/v1/nowhere", token)[:2] == (404, {"error": {"code": "not_found", "message": "no such route"}})
    status, body, _ = http("DELETE", f"{api}/v1/groups", token)
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    assert http("GET", f"{api}/v1/groups")[:2] == (401, {"message": "Unauthorized"})  # API Gateway's own, as deployed
    status, body, _ = http("GET", f"{api}/v1/groups", "rsa_not-a-token")
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    status, body, _ = http("GET", f"{api}/v1/groups", stack.description["tenants"][0]["tokens"]["agent"])
    assert (status, body["error"]["code"]) == (403, "forbidden")
    # Over 1 MB: refused from the Content-Length, before the body reaches a function.
    status, body, _ = http("POST", f"{api}/v1/sessions/batch", token, raw=b" " * (1_048_576 + 1), headers={"Content-Type": "application/json"})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    # Exactly 1 MB goes through to the function (which answers about the content, not the size).
    status, body, _ = http("POST", f"{api}/v1/sessions/batch", token, raw=b" " * 1_048_576, headers={"Content-Type": "application/json"})
    assert (status, body["error"]["code"]) == (400, "invalid_input")


def test_the_web_console_is_served_without_escaping_its_folder(stack):
    if not (ROOT / "console" / "index.html").is_file():
        pytest.skip("no console/ in this checkout")
    api = stack.description["api_url"]
    status, text, headers = http("GET", f"{api}/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert text == (ROOT / "console" / "index.html").read_text()
    for name in os.listdir(ROOT / "console"):
        if name.endswith(".js"):
            status, _, headers = http("GET", f"{api}/console/{name}")
            assert (status, headers["Content-Type"]) == (200, "text/javascript; charset=utf-8")
    host, port = api.removeprefix("http://").split(":")
    for path in ("/console/../template.yaml", "/console/%2e%2e/template.yaml", "/console/..%2ftemplate.yaml", "/console/nothing.js"):
        connection = HTTPConnection(host, int(port), timeout=10)
        connection.request("GET", path)
        answer = connection.getresponse()
        assert answer.status == 404, path
        assert "AWSTemplateFormatVersion" not in answer.read().decode()
        connection.close()


def _listening(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of every listening TCP socket and bound UDP socket of the process."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if inode not in inodes or (table.startswith("tcp") and state != "0A"):  # 0A: LISTEN
                continue
            address_hex, port_hex = local.split(":")
            raw = bytes.fromhex(address_hex)
            if len(raw) == 4:
                address = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:
                address = socket.inet_ntop(socket.AF_INET6, b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.append((table, address, int(port_hex, 16)))
    return found


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="reads /proc (Linux)")
def test_every_listener_binds_loopback_only(stack):
    listeners = _listening(stack.pid)
    api_port = int(stack.description["api_url"].rsplit(":", 1)[1])
    aws_port = int(stack.description["aws_endpoint_url"].rsplit(":", 1)[1])
    assert sorted(listeners) == sorted([("tcp", "127.0.0.1", api_port), ("tcp", "127.0.0.1", aws_port)]), listeners


def test_a_host_other_than_loopback_is_refused(tmp_path):
    state = tmp_path / "stack.json"
    done = subprocess.run([sys.executable, "-m", "billing_local.stack", "--host", "0.0.0.0", "--port", "0", "--state", str(state)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert "loopback only" in done.stderr and "Traceback" not in done.stderr
    assert not state.exists()


def test_sigterm_stops_everything_cleanly(stack):
    """Last test of the module: the stack stops, exits 0, closes its ports and removes its state file."""
    api_port = int(stack.description["api_url"].rsplit(":", 1)[1])
    aws_port = int(stack.description["aws_endpoint_url"].rsplit(":", 1)[1])
    began = time.monotonic()
    assert stack.stop() == 0, stack.log.read_text()
    assert time.monotonic() - began < 10
    assert not stack.state.exists()
    assert "stopping the local stack" in stack.log.read_text()
    assert "Traceback" not in stack.log.read_text()
    for port in (api_port, aws_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
