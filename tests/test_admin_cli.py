"""billing-admin against a running local stack: a token it issues is accepted by the local API,
and refused (401) once revoked; bad input is one line on stderr with exit code 2, no traceback."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from billing_local import admin_cli
from billing_local.stack import StackProcess

SCRIPT = Path(sys.executable).with_name("billing-admin")  # the console script pyproject declares


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = StackProcess(tmp_path_factory.mktemp("admin") / "stack.json", "--no-seed")
    yield running
    running.stop()


def admin(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "billing_local.admin_cli"]
    environment = {k: v for k, v in os.environ.items() if k not in ("TABLE_NAME", "AWS_ENDPOINT_URL")}
    environment.update(env or {})
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, env=environment)


def get(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_console_script_is_installed():
    assert SCRIPT.exists(), "pip install -e . declares billing-admin (pyproject [project.scripts])"


def test_a_token_it_issues_is_accepted_and_refused_once_revoked(stack):
    state = str(stack.state)
    api = stack.description["api_url"]
    created = admin("--stack", state, "create-tenant", "Contoso IT", "--tenant-id", "contoso")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout) == {"tenant_id": "contoso", "name": "Contoso IT"}

    issued = admin("issue-token", "contoso", "technician", "--label", "night shift", "--stack", state)  # options after the command too
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)
    assert (token["tenant_id"], token["role"]) == ("contoso", "technician")
    assert token["token"].startswith("rsa_") and len(token["token"]) >= 4 + 43  # 32 random bytes, url-safe base64

    assert get(f"{api}/v1/groups", token["token"]) == (200, {"groups": []})

    listed = admin("--stack", state, "list-tokens", "contoso")
    assert listed.returncode == 0, listed.stderr
    tokens = json.loads(listed.stdout)["tokens"]
    assert [(t["token_id"], t["role"], t["label"], t["revoked_at"]) for t in tokens] == [(token["token_id"], "technician", "night shift", None)]
    assert token["token"] not in listed.stdout  # shown once, never listed

    revoked = admin("--stack", state, "revoke-token", "contoso", token["token_id"])
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"].endswith("Z")
    status, body = get(f"{api}/v1/groups", token["token"])
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_it_works_with_aws_endpoint_url_and_table_name_as_in_aws(stack):
    env = {"AWS_ENDPOINT_URL": stack.description["aws_endpoint_url"], "TABLE_NAME": stack.description["table"],
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}
    created = admin("create-tenant", "Fabrikam", "--tenant-id", "fabrikam", env=env)
    assert created.returncode == 0, created.stderr
    issued = admin("issue-token", "fabrikam", "finance", env=env)
    token = json.loads(issued.stdout)["token"]
    status, body = get(f"{stack.description['api_url']}/v1/groups/none/totals", token)
    assert (status, body["error"]["code"]) == (404, "not_found")  # accepted: the group is what is missing


@pytest.fixture
def in_process(stack):
    """main() in this process (fast), with the environment it sets put back afterwards."""
    from billing_core.dal import models

    saved = dict(os.environ)
    for name in ("TABLE_NAME", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    admin_cli.main(["--stack", str(stack.state), "create-tenant", "Contoso 2", "--tenant-id", "contoso2"])
    yield lambda *args: admin_cli.main(list(args))
    os.environ.clear()
    os.environ.update(saved)
    models.reset()


@pytest.mark.parametrize("args, message", [
    (("issue-token", "contoso2", "boss"), "invalid_input: role: must be one of admin, technician, finance, agent"),
    (("issue-token", "nobody", "admin"), "not_found: tenant nobody not found"),
    (("create-tenant", "Acme", "--tenant-id", "bad id"), "tenant_id: must be letters, digits"),
    (("create-tenant", "   "), "name: must not be empty"),
    (("create-tenant", "Twice", "--tenant-id", "contoso2"), "tenant contoso2 already exists"),
    (("revoke-token", "contoso2", "tok_missing"), "not_found: token tok_missing not found"),
    (("issue-token", "contoso2", "admin", "--label", "x" * 201), "label: must be at most 200 characters"),
])
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(in_process, stack, capsys, args, message):
    capsys.readouterr()
    assert in_process("--stack", str(stack.state), *args) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("billing-admin: ") and message in err
    assert "Traceback" not in err and err.count("\n") == 1


def test_without_a_table_or_a_stack_it_says_what_to_give(tmp_path):
    done = admin("list-tokens", "contoso")
    assert done.returncode == 2 and "no table: give --table" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error, exit code 2 as well
        admin_cli.main(["issue-token", "contoso"])
    assert usage.value.code == 2


def test_a_missing_state_file_says_the_stack_is_not_running(tmp_path, capsys):
    saved = dict(os.environ)
    try:
        assert admin_cli.main(["--stack", str(tmp_path / "missing.json"), "list-tokens", "contoso"]) == 2
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert "is the local stack running" in capsys.readouterr().err
