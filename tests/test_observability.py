"""What operators read in CloudWatch, from a local run through the gateway: every log line of a
function carries the Lambda context, the API request id (correlation id) and the tenant id, and
the business figures come out as EMF metrics of the RemoteSupportBilling namespace."""
import io
import json

import pytest

from billing_core import observability

from api.conftest import create_group, create_profile, record, upload


@pytest.fixture
def emitted(capsys, monkeypatch):
    """The JSON lines the functions write: log lines (Powertools' handler, pointed at a buffer) and
    EMF metric lines (printed on stdout)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    handler = observability.logger.registered_handler
    level, stream = observability.logger.log_level, handler.setStream(io.StringIO())
    observability.logger.setLevel("DEBUG")
    capsys.readouterr()

    def lines() -> list[dict]:
        text = handler.stream.getvalue() + capsys.readouterr().out
        handler.stream.seek(0)
        handler.stream.truncate()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    yield lines
    observability.logger.setLevel(level)
    handler.setStream(stream)


def metrics_of(line: dict) -> set[str]:
    return {m["Name"] for d in line["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def test_log_lines_carry_the_request_id_the_tenant_and_the_lambda_context(msp, emitted):
    create_profile(msp, profile_id="standard")
    emitted()
    status, _ = msp.admin.get("/v1/profiles/missing")
    assert status == 404
    (line,) = [entry for entry in emitted() if "_aws" not in entry and entry["message"] == "refused"]
    assert line["message"] == "refused" and line["status"] == 404 and line["code"] == "not_found"
    assert line["tenant_id"] == msp.tenant_id
    assert len(line["correlation_id"]) == 32  # the gateway's requestId
    assert line["function_name"] == "ProfilesFunction" and line["function_memory_size"] == 256
    assert line["function_request_id"] and line["service"] == "billing"


def test_each_request_gets_its_own_correlation_id_and_no_tenant_leaks_into_the_next(msp, other_msp, emitted):
    msp.admin.get("/v1/profiles/missing")
    other_msp.admin.get("/v1/profiles/missing")
    first, second = [entry for entry in emitted() if "_aws" not in entry and entry["message"] == "refused"]
    assert (first["tenant_id"], second["tenant_id"]) == (msp.tenant_id, other_msp.tenant_id)
    assert first["correlation_id"] != second["correlation_id"]


def test_business_figures_are_emf_metrics_with_the_tenant_as_metadata_not_a_dimension(msp, emitted):
    create_profile(msp, profile_id="standard")
    create_group(msp, "acme", "standard", computers=["pc-1"])
    emitted()
    record(msp, "s-1", 1320)  # 22 minutes: 15 for 20.00 + 2 x 5 for 10.00
    status, body = msp.agent.post("/v1/sessions/batch", {"sessions": [upload("s-2", 60), upload("s-3", 600), {"session_id": "bad"}]})
    assert status == 200
    assert msp.technician.post("/v1/sessions/s-1/lock")[0] == 200
    assert msp.technician.post("/v1/sessions/s-1/lock")[0] == 200  # a repeat accounts nothing more
    assert msp.finance.post("/v1/groups/acme/lock-all", {})[0] == 200
    assert msp.finance.post("/v1/groups/acme/exports", {})[0] == 201

    lines = [entry for entry in emitted() if "_aws" in entry]
    for line in lines:
        assert line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "RemoteSupportBilling"
        assert "tenant_id" not in sum(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], [])
        assert line["tenant_id"] == msp.tenant_id and line["correlation_id"]

    def total(name: str) -> float:
        return sum(sum(line[name]) for line in lines if name in metrics_of(line))

    assert total("SessionUploads") == 4
    assert total("SessionsRecorded") == 2  # s-1 and s-3; s-2 is below the 2-minute minimum
    assert total("SessionsBelowMinimum") == 1 and total("SessionsRefused") == 1
    assert total("SessionsLocked") == 2  # s-1 by its lock, s-3 by lock-all; not the repeat
    assert total("MinutesAccounted") == 25 + 15
    money = [line for line in lines if "AmountAccountedCents" in metrics_of(line)]
    # s-1's lock (30.00) and lock-all's costs per currency (s-3: 20.00)
    assert [(line["currency"], line["AmountAccountedCents"]) for line in money] == [("EUR", [3000.0]), ("EUR", [2000.0])]
    assert total("ExportsCreated") == 1 and total("ExportRows") == 2


def test_the_authorizer_counts_refused_tokens_under_the_request_id(msp, emitted, anonymous):
    anonymous.call("GET", "/v1/me", headers={"Authorization": "Bearer rsa_" + "x" * 43})
    (line,) = [entry for entry in emitted() if "_aws" in entry and "TokensRefused" in metrics_of(entry)]
    assert line["correlation_id"] and "tenant_id" not in line
