"""What each handler imports at cold start, as Powertools' tests/performance guards it: each
function of template.yaml imported in a fresh interpreter with its folder and the layer on
sys.path, as Lambda does. Deterministic (which modules), not timed: `make bench` times them."""
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from billing_local import template
from billing_local.bench import ENVIRONMENT, LAYER, ROOT

FUNCTIONS = {name: ROOT / f["Properties"]["CodeUri"] for name, f in template.functions().items()}
EXPORT_FUNCTIONS = {"ExportFunction"}
NEVER = (
    "aws_xray_sdk",  # Tracer's SDK: Powertools' package __init__ loads tracing/tracer.py, never the SDK
    "pydantic",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.parser",
    "aws_lambda_powertools.utilities.data_classes",
    "aws_lambda_powertools.utilities.idempotency",
    "boto3",  # pynamodb needs botocore only; the export functions import boto3 on first use
    "moto",
    "yaml",
    "holidays",  # public holiday calendars: loaded on first use, by a profile with holidays only
)
PROBE = "import json, sys\nsys.path[:0] = sys.argv[1:]\nimport app\nprint(json.dumps(sorted(sys.modules)))\n"


def imported_by(folder) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder), str(LAYER)],
        capture_output=True, text=True, env={**ENVIRONMENT, "PATH": "/usr/bin:/bin"}, cwd=str(ROOT / "local"), check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(FUNCTIONS, pool.map(imported_by, FUNCTIONS.values())))


def test_every_function_of_the_template_is_probed(modules):
    assert {"AuthorizerFunction", "RecordSessionFunction", "ExportFunction", "JobWorkerFunction"} <= set(modules)


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_handler_imports_nothing_heavy_it_does_not_use(modules, function):
    loaded = modules[function]
    heavy = sorted(m for m in loaded if any(m == never or m.startswith(never + ".") for never in NEVER))
    assert heavy == []


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - EXPORT_FUNCTIONS))
def test_only_the_export_functions_load_the_csv_export(modules, function):
    assert "billing_core.exports" not in modules[function]


def test_the_handlers_reach_dynamodb_through_pynamodb_and_botocore(modules):
    assert "pynamodb.models" in modules["GetSessionFunction"]
    assert "botocore.client" in modules["GetSessionFunction"]
