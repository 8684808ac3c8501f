"""What each handler imports at cold start, as Powertools' tests/performance guards it: each
function of template.yaml imported in a fresh interpreter with its folder and the layer on
sys.path, as Lambda does. Deterministic (which modules, how many), not timed: `make bench` times
them, from the `sam build` output, against the runtime's `import boto3` (docs/benchmarks.md, table 2)."""
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
    "aws_xray_sdk",  # Tracer's SDK
    "pydantic",
    "aws_lambda_powertools",  # its package loads Logger, Metrics and Tracer (~41 modules): observability writes both JSON shapes itself
    "typing_extensions",
    "boto3",  # pynamodb needs botocore only; the export functions import boto3 on first use
    "moto",
    "yaml",
    "holidays",  # public holiday calendars: loaded on first use, by a profile with holidays only
)
PROBE = "import json, sys\nsys.path[:0] = sys.argv[2:]\n__import__(sys.argv[1])\nprint(json.dumps(sorted(sys.modules)))\n"
# Table 2's handlers load 41-70 modules that `import boto3` does not (their own packages: billing_core,
# pynamodb) and skip boto3's own 59, for 1.0-1.25x its import time. A module costs ~0.3-1 ms more
# (a dataclass ~0.5-1 ms): past this count a handler drifts over the 1.25x goal, before any timing shows it.
MODULES_BEYOND_BOTO3 = 70  # the connections function loads 66, the export and the pull 65, lock 63 (113 with Powertools)
OWN_PACKAGES = ("app", "billing_core", "pynamodb")
# What else they may load that boto3 does not: the standard library's fractions (exact prices),
# unicodedata (the export's file names), secrets (random ids) and gc (built in: billing_core/__init__.py).
# pynamodb's optional signals (blinker) are left out of the count: in the dev venv through moto,
# never in the layer.
OTHER_MODULES = ("fractions", "unicodedata", "secrets", "gc")


def imported_by(folder, module: str = "app") -> set[str]:
    paths = [str(folder), str(LAYER)] if folder else []
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module, *paths],
        capture_output=True, text=True, env={**ENVIRONMENT, "PATH": "/usr/bin:/bin"}, cwd=str(ROOT / "local"), check=True,
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(FUNCTIONS, pool.map(imported_by, FUNCTIONS.values())))


@pytest.fixture(scope="module")
def boto3_modules() -> set[str]:
    return imported_by(None, "boto3")


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


# What a cold start leaves to the requests that use it: the functions that may load each at import.
LOADED_BY_ITS_REQUESTS = {
    "billing_core.idempotency": set(),  # the first request with an Idempotency-Key (api._run)
    "billing_core.invoicing": {"InvoicePdfFunction", "InvoiceRunsFunction", "InvoicesFunction", "IssueInvoiceFunction",
                               "VoidInvoiceFunction"},  # never a dated write's calendar (invoice_settings)
    "billing_core.reporting": {"ExportFunction", "SearchSessionsFunction", "SimulateFunction", "TenantTotalsFunction",
                               "TotalsFunction"},  # lock-all's period, not a single lock's
    "billing_core.pulls": set(),  # the scheduled pull's HTTP clients: its run, never the connections API
    "billing_core.jobs": {"InvoiceRunsFunction", "JobWorkerFunction", "JobsFunction"},  # an export's only when it runs long
}


@pytest.mark.parametrize("module", sorted(LOADED_BY_ITS_REQUESTS))
def test_a_module_only_some_requests_need_is_not_loaded_at_cold_start(modules, module):
    assert {name for name, loaded in modules.items() if module in loaded} <= LOADED_BY_ITS_REQUESTS[module]


def _beyond(loaded: set[str], boto3_modules: set[str]) -> set[str]:
    return {m for m in loaded - boto3_modules if not (m == "blinker" or m.startswith("blinker."))}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_handler_loads_little_more_than_import_boto3(modules, boto3_modules, function):
    beyond = _beyond(modules[function], boto3_modules)
    assert len(beyond) <= MODULES_BEYOND_BOTO3, sorted(beyond)
    foreign = sorted(m for m in beyond if m.split(".")[0] not in OWN_PACKAGES + OTHER_MODULES)
    assert foreign == []


def test_the_module_budget_is_near_what_the_handlers_load(modules, boto3_modules):
    """The budget stays a guard: within 15 modules of the heaviest handler, not a number nobody reaches."""
    heaviest = max(len(_beyond(loaded, boto3_modules)) for loaded in modules.values())
    assert MODULES_BEYOND_BOTO3 - 15 <= heaviest <= MODULES_BEYOND_BOTO3


GC_PROBE = ("import gc, json, sys\nsys.path[:0] = sys.argv[1:]\nimport app\nheld = not gc.isenabled()\n"
            "from billing_core import observability\nobservability.begin(None, 'first')\n"
            "print(json.dumps([held, gc.isenabled(), gc.get_freeze_count() > 0]))\n")


@pytest.mark.parametrize("in_lambda", [True, False])
def test_a_cold_start_imports_without_the_garbage_collector_until_its_first_invocation(in_lambda):
    """In Lambda the collector's passes over the import's objects are skipped (5-15 ms of CPU), and the
    first invocation turns it back on with those objects frozen; elsewhere (tests, the local stack) it is never off."""
    env = {**ENVIRONMENT, "PATH": "/usr/bin:/bin"} | ({"AWS_LAMBDA_FUNCTION_NAME": "GetSessionFunction"} if in_lambda else {})
    done = subprocess.run([sys.executable, "-c", GC_PROBE, str(FUNCTIONS["GetSessionFunction"]), str(LAYER)],
                          capture_output=True, text=True, env=env, cwd=str(ROOT / "local"), check=True)
    held, enabled_after, frozen = json.loads(done.stdout.splitlines()[-1])
    assert (held, enabled_after, frozen) == (in_lambda, True, in_lambda)
