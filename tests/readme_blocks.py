"""The README's shell blocks (between `<!-- NAME:start -->` and `<!-- NAME:end -->`), run as a
newcomer runs them: bash with curl and jq, from a directory whose .local/stack.json is a local
stack's."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
needs_shell = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq") and shutil.which("bash")),
                                 reason="needs curl, jq and bash")


def block(name: str) -> str:
    readme = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", readme, re.S)
    assert found, f"README.md has no {name} block"
    return found.group(1)


def run(name: str, stack, directory: Path, timeout: int = 120) -> str:
    """The block's output; it must succeed under `set -euo pipefail`."""
    (directory / ".local").mkdir()
    shutil.copy(stack.state, directory / ".local" / "stack.json")
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block(name)], cwd=directory, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return done.stdout
