"""Tests see what Lambda sees: fake credentials and Powertools settings before anything imports
boto3 or Powertools, the layer on sys.path, and the embedded store `make run` runs (in memory,
over loopback, as strict as AWS: each function's IAM policy, item and batch limits, Lambda
timeouts, indexes STRICT_INDEX_LAG_MS behind the table, 200 ms as in `make run` by default) before
any client is made."""
import json
import os
import urllib.request
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "TABLE_NAME": "billing-test",
    "EXPORTS_BUCKET": "billing-exports-test",
    "POWERTOOLS_SERVICE_NAME": "billing",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # Above the strict store's 200 ms index lag, with room for a loaded machine's slow transaction
    # (a write stamps its instant just before it is sent; its lag starts once the store applied it).
    "INDEX_SETTLE_SECONDS": "0.5",
    "POWERTOOLS_METRICS_DISABLED": "true",  # tests/test_observability.py turns them on to read them
}.items():
    os.environ[name] = value
os.environ.pop("AWS_ENDPOINT_URL", None)
sys.path.insert(0, str(ROOT / "layers" / "billing_core"))  # as Lambda mounts the layer

import boto3  # noqa: E402
import pytest  # noqa: E402

from billing_core import jobs, tenants  # noqa: E402
from billing_core.dal import models  # noqa: E402
from billing_local import template  # noqa: E402
from billing_local.gateway import Gateway  # noqa: E402
from billing_local.store import EmbeddedStore  # noqa: E402
from billing_local.strict import DEFAULT_INDEX_LAG_MS, Rules  # noqa: E402
from billing_local.jobqueue import LocalQueue  # noqa: E402

JOBS = LocalQueue().start()  # jobs go through the local stack's queue and the worker function, as in `make run`
jobs.use_queue(JOBS)

def strict_rules() -> Rules:
    """The rules `make run` has: every index 200 ms behind its table (STRICT_INDEX_LAG_MS to try others)."""
    return Rules(index_lag_ms=int(os.environ.get("STRICT_INDEX_LAG_MS", str(DEFAULT_INDEX_LAG_MS))))


@contextmanager
def strict_store(table: bool = True):
    """The embedded store (in memory) on a free loopback port, this process's AWS clients pointed
    at it; with the template's table and bucket (`table=False`: the bucket only)."""
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.dynamodb.models import dynamodb_backends
    from moto.s3.models import s3_backends

    store = EmbeddedStore(0, None, rules=strict_rules())
    os.environ["AWS_ENDPOINT_URL"] = store.start()
    models.reset()
    try:
        if table:
            template.create_table(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
        template.create_bucket(boto3.client("s3"), os.environ["EXPORTS_BUCKET"])
        yield store
    finally:
        os.environ.pop("AWS_ENDPOINT_URL", None)
        models.reset()
        store.stop()
        dynamodb_backends.reset()  # moto's backends live in this process: the next store starts empty
        s3_backends.reset()
        cognitoidp_backends.reset()


def set_store_rules(store, **wanted) -> dict:
    """Switches the store's rules at run time, as `make run`'s /_store/strict route does."""
    request = urllib.request.Request(f"{store.endpoint_url}/_store/strict", data=json.dumps(wanted).encode(), method="PUT")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.fixture
def aws():
    """An empty table and bucket, made from template.yaml, in the strict embedded store."""
    with strict_store() as store:
        yield store


@pytest.fixture(scope="session")
def gateway():
    return Gateway(strict_rules())


class Client:
    """Calls the API as one token would, through the template's routes and authorizer."""

    def __init__(self, gateway: Gateway, token: str | None):
        self.gateway, self.token = gateway, token

    def call(self, method: str, path: str, body=None, query: str = "", raw: bytes | None = None, headers=None):
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            raw = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        status, _, text = self.gateway.invoke(method, path, sent, query, raw)
        return status, json.loads(text) if text else None

    def get(self, path, query=""):
        return self.call("GET", path, query=query)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)


class Tenant:
    def __init__(self, gateway, name):
        self.tenant_id = tenants.create_tenant(name)["tenant_id"]
        self.tokens = {role: tenants.issue_token(self.tenant_id, role)["token"] for role in tenants.ROLES}
        for role, token in self.tokens.items():
            setattr(self, role, Client(gateway, token))


@pytest.fixture
def msp(aws, gateway):
    return Tenant(gateway, "Acme IT")


@pytest.fixture
def other_msp(aws, gateway):
    return Tenant(gateway, "Rival IT")


@pytest.fixture
def anonymous(gateway):
    return Client(gateway, None)


# ---------------------------------------------------------------- order of the modules

# The modules that take a minute or more: `make test` runs the modules in several processes (one
# module whole in one process), and one of these started last would leave a single process working
# alone at the end. So they run first, longest first; every other module keeps its place, and the
# tests of a module their order.
LONG_MODULES = (
    "trust/test_races.py", "trust/test_fuzz.py", "test_console_real_day.py", "test_console_invoices.py",
    "test_export_jobs.py", "test_backfill.py", "test_console.py", "test_store.py", "trust/test_hostile_http.py",
)


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        module = item.nodeid.split("::", 1)[0].removeprefix("tests/")
        return LONG_MODULES.index(module) if module in LONG_MODULES else len(LONG_MODULES)

    items.sort(key=rank)  # stable: the other modules, and every module's tests, in their order


# ---------------------------------------------------------------- figures a run shows in its summary

FIGURES: dict[str, int] = {}  # e.g. the trust tests' number of fuzz cases: name -> number


def count(name: str, number: int) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + number


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker hands its figures to the run
        session.config.workeroutput["figures"] = dict(FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    for name, number in getattr(node, "workeroutput", {}).get("figures", {}).items():
        count(name, number)


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.write_sep("-", "trust figures")
        for name, number in FIGURES.items():
            terminalreporter.write_line(f"{name}: {number}")
