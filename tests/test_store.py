"""The embedded store (billing_local.store) as botocore sees it: DynamoDB's ClientRequestToken
idempotency, the failures it injects on request (parsed by botocore as DynamoDB's own), and its
data kept across a restart. The store runs as a child process, as the bench runs it."""
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[1]
TABLE = "store-test"


class StoreProcess:
    def __init__(self, data: Path, *extra: str):
        self.process = subprocess.Popen([sys.executable, "-m", "billing_local.store", "--port", "0", "--data", str(data), *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.url = self.process.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.process.stderr.read()

    def client(self, attempts: int = 1):
        return boto3.client("dynamodb", endpoint_url=self.url, region_name="us-east-1", aws_access_key_id="local",
                            aws_secret_access_key="local", config=Config(retries={"mode": "standard", "total_max_attempts": attempts}))

    def faults(self, **wanted) -> dict:
        request = urllib.request.Request(f"{self.url}/_store/faults", data=json.dumps(wanted).encode(), method="PUT")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    running = StoreProcess(tmp_path_factory.mktemp("store") / "data", "--fault-seed", "7")  # the same draws every run
    running.client().create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                  AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    yield running
    running.stop()


@pytest.fixture
def faults(store):
    yield store.faults
    store.faults(enabled=False, rates={})


def add(pk: str, amount: int) -> dict:
    return {"Update": {"TableName": TABLE, "Key": {"pk": {"S": pk}}, "UpdateExpression": "ADD credited :n",
                       "ExpressionAttributeValues": {":n": {"N": str(amount)}}}}


def credited(client, pk: str) -> int:
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return int(item["credited"]["N"]) if item else 0


def test_a_transaction_sent_again_with_its_token_is_applied_once(store):
    client = store.client()
    client.transact_write_items(TransactItems=[add("token-1", 300)], ClientRequestToken="recharge-0001")
    answer = client.transact_write_items(TransactItems=[add("token-1", 300)], ClientRequestToken="recharge-0001")
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert credited(client, "token-1") == 300
    client.transact_write_items(TransactItems=[add("token-1", 300)], ClientRequestToken="recharge-0002")
    assert credited(client, "token-1") == 600


def test_the_same_token_with_another_request_is_a_parameter_mismatch(store):
    client = store.client()
    client.transact_write_items(TransactItems=[add("token-2", 300)], ClientRequestToken="recharge-0003")
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[add("token-2", 600)], ClientRequestToken="recharge-0003")
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert credited(client, "token-2") == 300


def test_a_conflict_is_a_cancelled_transaction_and_applies_nothing(store, faults):
    faults(enabled=True, rates={"conflict": 1})
    with pytest.raises(ClientError) as cancelled:
        store.client().transact_write_items(TransactItems=[add("conflict", 1), add("conflict-2", 1)])
    error = cancelled.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["TransactionConflict", "None"]
    assert store.client().get_item(TableName=TABLE, Key={"pk": {"S": "conflict"}})["ResponseMetadata"]["HTTPStatusCode"] == 200
    faults(enabled=False)
    assert credited(store.client(), "conflict") == 0
    assert faults()["injected"]["conflict"] >= 1


@pytest.mark.parametrize("kind, code, status", [
    ("throughput", "ProvisionedThroughputExceededException", 400),
    ("throttle", "ThrottlingException", 400),
    ("error500", "InternalServerError", 500),
])
def test_injected_failures_are_dynamodbs_own_and_apply_nothing(store, faults, kind, code, status):
    faults(enabled=True, rates={kind: 1})
    with pytest.raises(ClientError) as failed:
        store.client().put_item(TableName=TABLE, Item={"pk": {"S": f"failed-{kind}"}})
    assert failed.value.response["Error"]["Code"] == code
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    faults(enabled=False)
    assert "Item" not in store.client().get_item(TableName=TABLE, Key={"pk": {"S": f"failed-{kind}"}}, ConsistentRead=True)


def test_botocore_retries_injected_throttling_until_it_gets_through(store, faults):
    faults(enabled=True, rates={"throttle": 0.3, "throughput": 0.2})
    client = store.client(attempts=30)
    for n in range(20):
        client.put_item(TableName=TABLE, Item={"pk": {"S": f"retried-{n}"}})
    injected = faults(enabled=False)["injected"]
    assert injected["throttle"] + injected["throughput"] > 0
    assert all("Item" in client.get_item(TableName=TABLE, Key={"pk": {"S": f"retried-{n}"}}) for n in range(20))


def test_a_lost_answer_was_applied_and_the_retry_with_its_token_is_recognised(store, faults):
    faults(enabled=True, rates={"lost": 1})
    with pytest.raises(ClientError) as lost:
        store.client().transact_write_items(TransactItems=[add("lost", 300)], ClientRequestToken="recharge-lost")
    assert lost.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    faults(enabled=False)
    client = store.client()
    assert credited(client, "lost") == 300  # the write was committed before the answer was lost
    client.transact_write_items(TransactItems=[add("lost", 300)], ClientRequestToken="recharge-lost")  # botocore's retry
    assert credited(client, "lost") == 300


def test_data_and_tokens_survive_a_crash(tmp_path):
    first = StoreProcess(tmp_path / "data")
    client = first.client()
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    client.transact_write_items(TransactItems=[add("kept", 90)], ClientRequestToken="before-the-crash")
    client.put_item(TableName=TABLE, Item={"pk": {"S": "put"}, "notes": {"S": "é" * 2000}})
    first.process.kill()  # SIGKILL: no snapshot, only the journal
    first.process.wait()
    second = StoreProcess(tmp_path / "data")
    try:
        client = second.client()
        assert credited(client, "kept") == 90
        assert client.get_item(TableName=TABLE, Key={"pk": {"S": "put"}})["Item"]["notes"]["S"] == "é" * 2000
        client.transact_write_items(TransactItems=[add("kept", 90)], ClientRequestToken="before-the-crash")
        assert credited(client, "kept") == 90
    finally:
        assert second.stop() == 0
    third = StoreProcess(tmp_path / "data")  # from the snapshot the clean stop wrote
    try:
        assert credited(third.client(), "kept") == 90
        assert sorted(p.name for p in (tmp_path / "data").glob("journal-*.jsonl")) != []
    finally:
        third.stop()


def test_a_second_store_on_the_same_data_is_refused(store, tmp_path):
    first = StoreProcess(tmp_path / "data")
    try:
        second = subprocess.run([sys.executable, "-m", "billing_local.store", "--port", "0", "--data", str(tmp_path / "data")],
                                capture_output=True, text=True, timeout=60, cwd=ROOT)
        assert second.returncode == 2
        assert "in use by another running stack" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.stop()


def test_the_strict_rules_are_set_from_the_command_line_and_an_index_survives_a_restart(tmp_path):
    first = StoreProcess(tmp_path / "data", "--index-lag", "0", "--no-iam")
    with urllib.request.urlopen(f"{first.url}/_store/strict", timeout=10) as answer:
        rules = json.loads(answer.read())
    assert (rules["index_lag_ms"], rules["iam"], rules["limits"], rules["timeouts"]) == (0, False, True, True)
    client = first.client()
    client.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "g", "AttributeType": "S"}],
                        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                                 "Projection": {"ProjectionType": "ALL"}}], BillingMode="PAY_PER_REQUEST")
    client.put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "g": {"S": "group"}})
    first.process.kill()  # a crash: the journal only
    first.process.wait()
    second = StoreProcess(tmp_path / "data")  # the defaults: strict, 200 ms of lag
    try:
        client = second.client()
        found = client.query(TableName=TABLE, IndexName="by-g", KeyConditionExpression="g = :g",
                             ExpressionAttributeValues={":g": {"S": "group"}})["Items"]
        assert [item["pk"]["S"] for item in found] == ["kept"]  # the index is rebuilt from the restored table
    finally:
        second.stop()
