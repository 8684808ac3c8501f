"""The README's "Bring your sessions" block runs as written against the local stack `make run`
starts (a child process, strict, with index lag), one worked example per tool."""
import json
import subprocess

import pytest
from readme_blocks import needs_shell, run

from billing_local.stack import StackProcess


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = StackProcess(tmp_path_factory.mktemp("stack") / "stack.json")
    yield running
    running.stop()


@needs_shell
def test_the_readme_imports_run_as_written(stack, tmp_path):
    out = run("imports", stack, tmp_path, timeout=180)
    answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [(a["imported"], a["duplicates"], a["conflict_count"], [(r["line"], r["field"]) for r in a["rejected"]])
            for a in answers] == [
        (1, 0, 0, []),  # TeamViewer
        (0, 1, 0, []),  # ... again: nothing written
        (1, 0, 0, [(2, "end-time")]),  # AnyDesk: the active session waits
        (2, 0, 0, []),  # ScreenConnect
        (1, 0, 0, []),  # RustDesk
        (1, 0, 0, [(3, "Start Time")]),  # Splashtop: 02:30 happened twice in Paris that night
        (1, 0, 0, []),  # Supremo
        (1, 0, 0, [(3, "Finish")]),  # generic: ends before it starts
        (0, 1, 0, []),  # the upload's job
    ]
    api, admin = stack.description["api_url"], stack.description["tenants"][0]["tokens"]["admin"]
    found = subprocess.run(["curl", "-s", f"{api}/v1/sessions/anydesk:7001", "-H", f"Authorization: Bearer {admin}"],
                           capture_output=True, text=True, timeout=30)
    session = json.loads(found.stdout)
    assert (session["group_id"], session["technician"], session["computer_id"]) == ("law-firm", "Ann", "rossi-reception")
