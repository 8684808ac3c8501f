"""Tests see what Lambda sees: fake credentials and Powertools settings before anything imports
boto3 or Powertools, the layer on sys.path, and moto's mock active before any client is made."""
import json
import os
import sys
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
    "POWERTOOLS_METRICS_DISABLED": "true",  # tests/test_observability.py turns them on to read them
}.items():
    os.environ[name] = value
os.environ.pop("AWS_ENDPOINT_URL", None)
sys.path.insert(0, str(ROOT / "layers" / "billing_core"))  # as Lambda mounts the layer

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from billing_core import jobs, tenants  # noqa: E402
from billing_core.dal import models  # noqa: E402
from billing_local import template  # noqa: E402
from billing_local.gateway import Gateway  # noqa: E402
from billing_local.jobqueue import LocalQueue  # noqa: E402

JOBS = LocalQueue().start()  # jobs go through the local stack's queue and the worker function, as in `make run`
jobs.use_queue(JOBS)


@pytest.fixture
def aws():
    """An empty table and bucket, made from template.yaml, in moto."""
    with mock_aws():
        models.reset()
        template.create_table(boto3.client("dynamodb"), os.environ["TABLE_NAME"])
        template.create_bucket(boto3.client("s3"), os.environ["EXPORTS_BUCKET"])
        yield
        models.reset()


@pytest.fixture(scope="session")
def gateway():
    return Gateway()


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
