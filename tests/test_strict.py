"""The strict embedded store refuses what AWS refuses, the way AWS refuses it: each function's IAM
policy, DynamoDB's item, transaction and batch limits, Lambda's timeout; and its global secondary
indexes lag behind the table as DynamoDB's do, answered without walking the table."""
import json
import time
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

from billing_local import gateway as gateway_module
from billing_local import gsi, identity
from billing_local.gateway import Gateway
from conftest import set_store_rules as set_rules

TABLE = "billing-test"
BIG = "x" * (400 * 1024)  # with its name and the keys, one item over DynamoDB's 400 KB


def item(pk: str, sk: str = "A", **attributes) -> dict:
    found = {"PK": {"S": pk}, "SK": {"S": sk}}
    found.update({name: {"S": value} if isinstance(value, str) else value for name, value in attributes.items()})
    return found


def error_of(call) -> dict:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response




@pytest.fixture
def db(aws):
    return boto3.client("dynamodb")


# ---------------------------------------------------------------- limits


def test_an_item_over_400_kb_is_a_validation_exception_not_a_failed_condition(db):
    refused = error_of(lambda: db.put_item(TableName=TABLE, Item=item("T#a", notes=BIG)))
    assert refused["Error"]["Code"] == "ValidationException"
    assert refused["Error"]["Message"] == "Item size has exceeded the maximum allowed size"
    db.put_item(TableName=TABLE, Item=item("T#a", notes="x" * (390 * 1024)))  # under the limit: stored


def test_an_oversized_item_cancels_its_transaction_with_the_reason_validation_error(db):
    actions = [{"Put": {"TableName": TABLE, "Item": item("T#a", "1")}},
               {"Put": {"TableName": TABLE, "Item": item("T#a", "2", notes=BIG)}}]
    refused = error_of(lambda: db.transact_write_items(TransactItems=actions))
    assert refused["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in refused["CancellationReasons"]] == ["None", "ValidationError"]
    assert "Item" not in db.get_item(TableName=TABLE, Key=item("T#a", "1"), ConsistentRead=True)


def test_an_update_growing_an_item_past_400_kb_is_refused_and_changes_nothing(db):
    db.put_item(TableName=TABLE, Item=item("T#a", notes="x" * (300 * 1024)))
    grow = {"TableName": TABLE, "Key": item("T#a"), "UpdateExpression": "SET more = :m",
            "ExpressionAttributeValues": {":m": {"S": "y" * (200 * 1024)}}}
    assert error_of(lambda: db.update_item(**grow))["Error"]["Code"] == "ValidationException"
    refused = error_of(lambda: db.transact_write_items(TransactItems=[{"Update": grow}]))
    assert refused["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in refused["CancellationReasons"]] == ["ValidationError"]
    assert "more" not in db.get_item(TableName=TABLE, Key=item("T#a"), ConsistentRead=True)["Item"]


def test_batches_and_transactions_are_held_to_dynamodb_counts(db):
    writes = [{"PutRequest": {"Item": item("T#a", f"{n:03}")}} for n in range(26)]
    refused = error_of(lambda: db.batch_write_item(RequestItems={TABLE: writes}))
    assert refused["Error"]["Code"] == "ValidationException" and "25" in refused["Error"]["Message"]
    db.batch_write_item(RequestItems={TABLE: writes[:25]})
    keys = [item("T#a", f"{n:03}") for n in range(101)]
    assert error_of(lambda: db.batch_get_item(RequestItems={TABLE: {"Keys": keys}}))["Error"]["Code"] == "ValidationException"
    assert len(db.batch_get_item(RequestItems={TABLE: {"Keys": keys[:100]}})["Responses"][TABLE]) == 25
    actions = [{"Put": {"TableName": TABLE, "Item": item("T#b", f"{n:03}")}} for n in range(101)]
    refused = error_of(lambda: db.transact_write_items(TransactItems=actions))
    assert refused["Error"]["Code"] == "ValidationException" and "100" in refused["Error"]["Message"]
    db.transact_write_items(TransactItems=actions[:100])  # DynamoDB's 100 actions: accepted
    big = [{"Put": {"TableName": TABLE, "Item": item("T#c", f"{n:03}", notes="z" * (380 * 1024))}} for n in range(11)]
    refused = error_of(lambda: db.transact_write_items(TransactItems=big))
    assert refused["Error"]["Message"] == "Transaction request cannot be larger than 4 MB"


def test_limits_switch_off_at_run_time(aws, db):
    writes = [{"PutRequest": {"Item": item("T#a", f"{n:03}")}} for n in range(26)]
    assert set_rules(aws, limits=False)["limits"] is False
    db.batch_write_item(RequestItems={TABLE: writes})
    assert set_rules(aws, limits=True)["limits"] is True
    assert error_of(lambda: db.batch_write_item(RequestItems={TABLE: writes}))["Error"]["Code"] == "ValidationException"


# ---------------------------------------------------------------- IAM


def test_a_call_its_function_may_not_make_is_access_denied_as_aws_answers(aws, db):
    identity.install()
    with identity.invocation("QuotesFunction", 10):  # may Query, nothing else
        refused = error_of(lambda: db.put_item(TableName=TABLE, Item=item("T#a")))
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused["Error"]["Code"] == "AccessDeniedException"
    assert refused["Error"]["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/billing-local-QuotesFunctionRole/QuotesFunction is not authorized "
        "to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/billing-test "
        "because no identity-based policy allows the dynamodb:PutItem action")
    db.put_item(TableName=TABLE, Item=item("T#a"))  # outside any invocation: an administrator's call
    assert aws.app.refused["iam"] == 1


def test_leading_keys_index_arns_and_each_action_of_a_transaction_are_checked(db):
    identity.install()
    db.put_item(TableName=TABLE, Item=item("TOKEN#abc"))
    with identity.invocation("AuthorizerFunction", 10):  # GetItem on TOKEN#... items only
        assert db.get_item(TableName=TABLE, Key=item("TOKEN#abc"))["Item"]
        assert error_of(lambda: db.get_item(TableName=TABLE, Key=item("T#acme")))["Error"]["Code"] == "AccessDeniedException"
    by_index = {"TableName": TABLE, "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :p",
                "ExpressionAttributeValues": {":p": {"S": "T#acme"}}}
    with identity.invocation("SearchSessionsFunction", 10):  # the table and its indexes
        db.query(**by_index)
    with identity.invocation("LockSessionFunction", 10):  # the table only: no index/*
        refused = error_of(lambda: db.query(**by_index))
    assert "dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:123456789012:table/billing-test/index/GSI1" in refused["Error"]["Message"]
    actions = [{"Put": {"TableName": TABLE, "Item": item("T#acme", "1")}},
               {"Delete": {"TableName": TABLE, "Key": item("T#acme", "2")}}]
    with identity.invocation("RecordSessionFunction", 10):  # may Put, Update, ConditionCheck: not Delete
        refused = error_of(lambda: db.transact_write_items(TransactItems=actions))
        db.transact_write_items(TransactItems=actions[:1])
    assert "perform: dynamodb:DeleteItem on resource" in refused["Error"]["Message"]


def test_s3_calls_are_checked_against_the_bucket_arn(aws):
    import os

    identity.install()
    s3, bucket = boto3.client("s3"), os.environ["EXPORTS_BUCKET"]
    with identity.invocation("ExportFunction", 10):
        s3.put_object(Bucket=bucket, Key="tenants/t_1/exports/a.csv", Body=b"a")
        outside = error_of(lambda: s3.put_object(Bucket=bucket, Key="elsewhere/a.csv", Body=b"a"))
    with identity.invocation("TotalsFunction", 10):
        reading = error_of(lambda: s3.get_object(Bucket=bucket, Key="tenants/t_1/exports/a.csv"))
    for refused in (outside, reading):
        assert refused["ResponseMetadata"]["HTTPStatusCode"] == 403 and refused["Error"]["Code"] == "AccessDenied"
    assert 'arn:aws:s3:::billing-exports-test/elsewhere/a.csv' in outside["Error"]["Message"]


def test_iam_switches_off_at_run_time(aws, db):
    identity.install()
    set_rules(aws, iam=False)
    with identity.invocation("QuotesFunction", 10):
        db.put_item(TableName=TABLE, Item=item("T#a"))
    set_rules(aws, iam=True)
    with identity.invocation("QuotesFunction", 10):
        assert error_of(lambda: db.put_item(TableName=TABLE, Item=item("T#a")))["Error"]["Code"] == "AccessDeniedException"


def test_a_bad_switch_is_refused_with_its_reason(aws):
    request = urllib.request.Request(f"{aws.endpoint_url}/_store/strict", data=b'{"index_lag_ms": -1}', method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400 and "index_lag_ms" in json.loads(refused.value.read())["message"]


# ---------------------------------------------------------------- index lag and the store's own index


def by_gsi1(db, partition: str, **more) -> dict:
    more.setdefault("KeyConditionExpression", "GSI1PK = :p")
    return db.query(TableName=TABLE, IndexName="GSI1", ExpressionAttributeValues={":p": {"S": partition}, **more.pop("values", {})},
                    **more)


def test_an_index_read_within_the_lag_misses_a_new_item_and_sees_it_after(aws, db):
    set_rules(aws, index_lag_ms=200)
    db.put_item(TableName=TABLE, Item=item("T#a", "S#1", GSI1PK="T#a#G#acme", GSI1SK="2026-03-02"))
    assert by_gsi1(db, "T#a#G#acme")["Items"] == []  # the table has it, the index not yet
    assert db.get_item(TableName=TABLE, Key=item("T#a", "S#1"), ConsistentRead=True)["Item"]
    time.sleep(aws.rules.index_lag_ms / 1000 + 0.05)
    assert [i["SK"]["S"] for i in by_gsi1(db, "T#a#G#acme")["Items"]] == ["S#1"]
    db.update_item(TableName=TABLE, Key=item("T#a", "S#1"), UpdateExpression="SET GSI1PK = :other",
                   ExpressionAttributeValues={":other": {"S": "T#a#G#globex"}})
    assert [i["SK"]["S"] for i in by_gsi1(db, "T#a#G#acme")["Items"]] == ["S#1"]  # still where it was
    time.sleep(aws.rules.index_lag_ms / 1000 + 0.05)
    assert by_gsi1(db, "T#a#G#acme")["Items"] == [] and len(by_gsi1(db, "T#a#G#globex")["Items"]) == 1


def test_the_lag_switches_at_run_time(aws, db):
    assert set_rules(aws, index_lag_ms=0)["index_lag_ms"] == 0
    db.put_item(TableName=TABLE, Item=item("T#a", "S#1", GSI1PK="T#a#G", GSI1SK="1"))
    assert len(by_gsi1(db, "T#a#G")["Items"]) == 1


@pytest.mark.parametrize("lag_ms", [0, 100])
def test_a_cancelled_transaction_leaves_the_index_as_the_table_is(aws, db, lag_ms):
    set_rules(aws, index_lag_ms=lag_ms)
    db.put_item(TableName=TABLE, Item=item("T#a", "S#1", GSI1PK="T#a#open", GSI1SK="1"))
    time.sleep(lag_ms / 1000 + 0.05)
    lock = {"Update": {"TableName": TABLE, "Key": item("T#a", "S#1"), "UpdateExpression": "SET GSI1PK = :l",
                       "ExpressionAttributeValues": {":l": {"S": "T#a#locked"}}}}
    missing = {"ConditionCheck": {"TableName": TABLE, "Key": item("T#a", "S#2"), "ConditionExpression": "attribute_exists(PK)"}}
    refused = error_of(lambda: db.transact_write_items(TransactItems=[lock, missing]))
    assert [r["Code"] for r in refused["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    time.sleep(lag_ms / 1000 + 0.05)
    assert [i["GSI1PK"]["S"] for i in by_gsi1(db, "T#a#open")["Items"]] == ["T#a#open"]
    assert by_gsi1(db, "T#a#locked")["Items"] == []


def test_index_queries_answer_as_dynamodb_pages_them_without_walking_the_table(aws, db, monkeypatch):
    set_rules(aws, index_lag_ms=0)
    walks = []
    monkeypatch.setattr(gsi, "_whole_table_walked", lambda table: walks.append(table.name))
    writes = [{"PutRequest": {"Item": item(f"T#other{n}", "S", GSI1PK=f"T#other{n % 7}", GSI1SK=f"{n:05}")}} for n in range(500)]
    writes += [{"PutRequest": {"Item": item("T#a", f"S#{n:03}", GSI1PK="T#a#G", GSI1SK=f"2026-03-{n % 28 + 1:02}",
                                          kind="odd" if n % 2 else "even")}} for n in range(60)]
    for first in range(0, len(writes), 25):
        db.batch_write_item(RequestItems={TABLE: writes[first:first + 25]})
    everything = sorted((w["PutRequest"]["Item"] for w in writes[500:]), key=lambda i: (i["GSI1SK"]["S"], i["SK"]["S"]))
    expected = [(i["GSI1SK"]["S"], i["SK"]["S"]) for i in everything]

    def pages(**asked) -> list:
        got, start = [], None
        while True:
            page = by_gsi1(db, "T#a#G", **asked, **({"ExclusiveStartKey": start} if start else {}))
            got += [(i["GSI1SK"]["S"], i["SK"]["S"]) for i in page["Items"]]
            assert page["Count"] == len(page["Items"]) and page["ScannedCount"] >= page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                return got
            assert set(start) == {"PK", "SK", "GSI1PK", "GSI1SK"}

    assert pages(Limit=7) == expected
    assert pages(Limit=9, ScanIndexForward=False) == expected[::-1]
    between = pages(KeyConditionExpression="GSI1PK = :p AND GSI1SK BETWEEN :a AND :b", Limit=4,
                    values={":a": {"S": "2026-03-05"}, ":b": {"S": "2026-03-09"}})
    assert between == [e for e in expected if "2026-03-05" <= e[0] <= "2026-03-09"]
    assert pages(KeyConditionExpression="GSI1PK = :p AND begins_with(GSI1SK, :m)", values={":m": {"S": "2026-03-1"}}) == \
        [e for e in expected if e[0].startswith("2026-03-1")]
    assert pages(KeyConditionExpression="GSI1PK = :p AND GSI1SK < :m", values={":m": {"S": "2026-03-03"}}) == \
        [e for e in expected if e[0] < "2026-03-03"]
    odd = pages(FilterExpression="#k = :odd", ExpressionAttributeNames={"#k": "kind"}, values={":odd": {"S": "odd"}}, Limit=10)
    assert odd == [(i["GSI1SK"]["S"], i["SK"]["S"]) for i in everything if i["kind"]["S"] == "odd"]
    projected = by_gsi1(db, "T#a#G", ProjectionExpression="SK, #k", ExpressionAttributeNames={"#k": "kind"}, Limit=1)
    assert set(projected["Items"][0]) == {"SK", "kind"}
    assert by_gsi1(db, "T#a#G", Select="COUNT")["Count"] == 60
    own = db.query(TableName=TABLE, KeyConditionExpression="PK = :p AND begins_with(SK, :s)", Limit=5,
                   ExpressionAttributeValues={":p": {"S": "T#a"}, ":s": {"S": "S#01"}})
    assert [i["SK"]["S"] for i in own["Items"]] == [f"S#01{n}" for n in range(5)]  # the table's own partition
    assert walks == []  # every page came from the store's index or the asked partition, none from a walk of the table


def test_an_index_page_ends_at_one_megabyte(aws, db):
    set_rules(aws, index_lag_ms=0)
    for n in range(12):
        db.put_item(TableName=TABLE, Item=item("T#a", f"S#{n:02}", GSI1PK="T#a#G", GSI1SK=f"{n:02}", notes="n" * (100 * 1024)))
    first = by_gsi1(db, "T#a#G")
    assert 8 <= len(first["Items"]) <= 10 and "LastEvaluatedKey" in first
    rest = by_gsi1(db, "T#a#G", ExclusiveStartKey=first["LastEvaluatedKey"])
    assert len(first["Items"]) + len(rest["Items"]) == 12 and "LastEvaluatedKey" not in rest


# ---------------------------------------------------------------- Lambda timeout


def test_a_handler_past_its_timeout_is_cut_off_and_its_later_calls_refused(aws, db, monkeypatch):
    gateway = Gateway()
    route = next(r for r in gateway.routes if r.function == "WhoAmIFunction")
    later = {}

    def slow(event, context):
        assert 0 < context.get_remaining_time_in_millis() <= 400
        time.sleep(0.6)
        try:
            db.get_item(TableName=TABLE, Key=item("TENANT#t"))
        except ClientError as error:
            later["error"] = error.response
        return {"statusCode": 200, "body": "{}"}

    monkeypatch.setattr(gateway, "handler_of", lambda asked: slow if asked is route else Gateway.handler_of(gateway, asked))
    gateway.timeout_overrides[route.function] = 0.4
    monkeypatch.setattr(gateway, "authorizer", lambda event, context: {"isAuthorized": True, "context": {}})
    started = time.monotonic()
    status, _, body = gateway.invoke(route.method, route.path, {"Authorization": "Bearer x"})
    assert time.monotonic() - started < 0.55
    assert (status, json.loads(body)) == (500, {"message": "Internal Server Error"})  # the function timed out
    time.sleep(0.5)
    assert later["error"]["Error"]["Code"] == "InvocationEnded"
    assert "Item" not in db.get_item(TableName=TABLE, Key=item("TENANT#t"))


def test_the_api_answers_503_when_its_own_integration_timeout_comes_first(aws, monkeypatch):
    gateway = Gateway()
    route = next(r for r in gateway.routes if r.function == "WhoAmIFunction")
    monkeypatch.setattr(gateway_module, "INTEGRATION_TIMEOUT_SECONDS", 0.2)
    monkeypatch.setattr(gateway, "handler_of", lambda asked: lambda event, context: time.sleep(0.4))
    monkeypatch.setattr(gateway, "authorizer", lambda event, context: {"isAuthorized": True, "context": {}})
    status, _, body = gateway.invoke(route.method, route.path, {"Authorization": "Bearer x"})
    assert (status, json.loads(body)) == (503, {"message": "Service Unavailable"})
