"""Data access: the one module that binds the models to the table, reads items, and runs
transactions under DynamoDB's documented rules.

- A transaction carries a ClientRequestToken, so a retry of one that committed but whose answer
  was lost (botocore's own retry, or ours below) is recognised by DynamoDB as the same request.
- Transient failures (a TransactionConflict with another request, throttling, a 5xx) are retried
  with jittered exponential backoff within the function's time budget, then answered as a 503
  `retry` (nothing half applied: a transaction is all or nothing).
- A failed condition is not transient: it is handed back (`ConditionFailed`, with one reason per
  action) for the caller to read again and decide.
"""
import random
import secrets
import time
from typing import Callable, Iterable

from pynamodb.exceptions import DoesNotExist, PynamoDBException, TransactWriteError
from pynamodb.transactions import TransactWrite

from .. import deadline, observability, settings
from . import models
from ..errors import Unavailable
from .models import BillingItem

TRANSIENT_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
}
TRANSIENT_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
FIRST_BACKOFF = 0.02  # seconds; doubled at each attempt, with full jitter
MAX_BACKOFF = 1.0
REQUEST_BUDGET = 24  # seconds one request may wait on others' progress: inside the 29 s API timeout


class ConditionFailed(Exception):
    """A condition of the transaction did not hold. `reasons` has one entry per action, in order
    (None for the actions that were not the cause)."""

    def __init__(self, reasons: list):
        super().__init__("a condition of the transaction did not hold")
        self.reasons = reasons

    def failed(self, position: int) -> bool:
        reason = self.reasons[position] if position < len(self.reasons) else None
        return reason is not None and reason.code == "ConditionalCheckFailed"

    def item(self, position: int) -> BillingItem | None:
        """The stored item of a failed action that asked for it (ALL_OLD)."""
        reason = self.reasons[position] if position < len(self.reasons) else None
        if reason is not None and reason.code == "ConditionalCheckFailed" and reason.raw_item:
            return BillingItem.from_raw_data(reason.raw_item)
        return None


def is_transient(error: Exception) -> bool:
    """A store failure that a later attempt of the same request may not meet: pynamodb's, or
    botocore's own where a client is called directly (a raw query, S3)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code") in TRANSIENT_CODES
    if not isinstance(error, PynamoDBException):
        return _is_timeout(error)
    if _is_timeout(error.cause):  # first: such a cause has a `response` of None (cause_response_code fails)
        return True
    if isinstance(error, TransactWriteError) and error.cause_response_code == "TransactionCanceledException":
        codes = {reason.code for reason in error.cancellation_reasons if reason is not None}
        return not codes & {"ConditionalCheckFailed", "ValidationError"} and bool(codes & TRANSIENT_REASONS)
    return error.cause_response_code in TRANSIENT_CODES


def _is_timeout(error: Exception | None) -> bool:
    """A read timeout, a closed connection, an endpoint that could not be reached."""
    from botocore.exceptions import ConnectionError, HTTPClientError  # botocore is loaded already

    return isinstance(error, (HTTPClientError, ConnectionError))


class Backoff:
    """Jittered exponential backoff that gives up when the function's budget for it is spent."""

    def __init__(self, what: str):
        self.what = what
        self.started = time.monotonic()
        self.deadline = min(self.started + settings.retry_budget_seconds(), deadline.at())
        self.attempt = 0

    def progressed(self) -> None:
        """Another request made progress on what this one waits for (it was no livelock): wait
        afresh, within the function's time all the same."""
        self.attempt = 0
        self.deadline = max(self.deadline, min(time.monotonic() + settings.retry_budget_seconds(),
                                               self.started + REQUEST_BUDGET, deadline.at()))

    def wait(self, error: Exception | None = None) -> None:
        pause = random.uniform(0, min(MAX_BACKOFF, FIRST_BACKOFF * 2**self.attempt))
        self.attempt += 1
        observability.count("ConflictsRetried")
        if time.monotonic() + pause > self.deadline:
            raise Unavailable(f"{self.what} could not be completed just now; retry") from error
        time.sleep(pause)


class Transaction:
    """The actions of one TransactWrite, kept in the order the caller adds them. pynamodb sends
    condition checks, then deletes, puts and updates, and DynamoDB answers one cancellation reason
    per action sent: `in_caller_order` puts them back in the caller's order."""

    SENT_ORDER = ("condition_check", "delete", "save", "update")

    def __init__(self, inner: TransactWrite):
        self.inner = inner
        self.added: list[str] = []

    def _add(self, kind: str, *args, **kwargs):
        self.added.append(kind)
        return getattr(self.inner, kind)(*args, **kwargs)

    def condition_check(self, *args, **kwargs):
        return self._add("condition_check", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._add("delete", *args, **kwargs)

    def save(self, *args, **kwargs):
        return self._add("save", *args, **kwargs)

    def update(self, *args, **kwargs):
        return self._add("update", *args, **kwargs)

    def in_caller_order(self, reasons: list) -> list:
        sent = sorted(range(len(self.added)), key=lambda i: (self.SENT_ORDER.index(self.added[i]), i))
        ordered = [None] * len(self.added)
        for position_sent, caller_position in enumerate(sent):
            if position_sent < len(reasons):
                ordered[caller_position] = reasons[position_sent]
        return ordered


class Invalid(Exception):
    """DynamoDB refused an action of the transaction as invalid (a ValidationError reason: an item
    over 400 KB, an attribute it cannot hold): never a failed condition, never transient."""

    def __init__(self, reasons: list):
        super().__init__("; ".join(f"{r.code}: {r.message}" for r in reasons if r is not None and r.code == "ValidationError"))
        self.reasons = reasons


def transact(fill: Callable[[Transaction], None], what: str = "the change") -> None:
    """Runs one transaction, all or nothing. `fill` adds the actions, once: the content is built
    before the first attempt and every retry sends it again unchanged under the same
    ClientRequestToken (DynamoDB answers IdempotentParameterMismatch to a token reused with other
    content, e.g. a time read again)."""
    token = secrets.token_hex(18)
    backoff = Backoff(what)
    transaction = Transaction(TransactWrite(connection=models.connection(), client_request_token=token))
    fill(transaction)
    while True:
        try:
            transaction.inner._commit()  # pynamodb's send of the content built above, the same each time
            return
        except TransactWriteError as error:
            if is_transient(error):  # first: a timeout's cause has no response to read a code from
                backoff.wait(error)
                continue
            if error.cause_response_code == "TransactionCanceledException":
                reasons = transaction.in_caller_order(list(error.cancellation_reasons))
                if any(reason is not None and reason.code == "ValidationError" for reason in reasons):
                    raise Invalid(reasons) from None
                raise ConditionFailed(reasons) from None
            raise


def read(operation: Callable, what: str = "the read"):
    """Runs a read, retrying what is transient within the budget (botocore retries first)."""
    backoff = Backoff(what)
    while True:
        try:
            return operation()
        except DoesNotExist:
            raise
        except PynamoDBException as error:
            if not is_transient(error):
                raise
            backoff.wait(error)


def get(model, hash_key: str, range_key: str):
    """One item by key (strongly consistent), or None."""
    models.bind()
    try:
        return read(lambda: model.get(hash_key, range_key, consistent_read=True))
    except DoesNotExist:
        return None


def batch_get(item_keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], BillingItem]:
    """Items by key (strongly consistent), in one BatchGetItem per 100 keys."""
    wanted = sorted(set(item_keys))
    if not wanted:
        return {}
    models.bind()
    found = read(lambda: list(BillingItem.batch_get(wanted, consistent_read=True)))
    return {(item.PK, item.SK): item for item in found}


def query(model, hash_key: str, **options):
    """A lazily paged Query of one partition (of the table, or of an index with `index=`)."""
    models.bind()
    index = options.pop("index", None)
    source = getattr(model, index) if index else model
    return source.query(hash_key, **options)


INDEX_KEYS = {None: ("PK", "SK"), "GSI1": ("GSI1PK", "GSI1SK"), "GSI2": ("GSI2PK", "GSI2SK")}


def raw_query(hash_value: str, low: str, high: str, attributes: Iterable[str] | None, index: str | None = None,
              equals: dict[str, str] | None = None, start_key: dict | None = None, consistent: bool = False):
    """The lean read path: a Query answered as DynamoDB items (`{"name": {"S": ...}}`), only the
    `attributes` asked for (all with None), sort key between `low` and `high`, `equals` as a filter of string
    attributes. No model objects are built: where totals spend their time on many rows (see
    docs/benchmarks.md, the profile), this is what they read with. Lazily paged."""
    hash_name, range_name = INDEX_KEYS[index]
    named = dict.fromkeys([hash_name, range_name, *(attributes or ()), *(equals or {})])  # once each: a key may be asked for
    names = {f"#a{n}": name for n, name in enumerate(named)}
    alias = {name: key for key, name in names.items()}
    request = {
        "TableName": settings.table_name(),
        "KeyConditionExpression": f"{alias[hash_name]} = :h AND {alias[range_name]} BETWEEN :low AND :high",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":h": {"S": hash_value}, ":low": {"S": low}, ":high": {"S": high}},
    }
    if attributes is not None:
        request["ProjectionExpression"] = ", ".join(alias[name] for name in attributes)
    if index:
        request["IndexName"] = index
    elif consistent:
        request["ConsistentRead"] = True
    if equals:
        request["FilterExpression"] = " AND ".join(f"{alias[name]} = :f{n}" for n, name in enumerate(equals))
        request["ExpressionAttributeValues"].update({f":f{n}": {"S": value} for n, value in enumerate(equals.values())})
    client = models.connection().client
    while True:
        if start_key:
            request["ExclusiveStartKey"] = start_key
        page = read_raw(lambda: client.query(**request))
        yield from page.get("Items", ())
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            return


def read_raw(operation: Callable):
    """Runs a low-level read, retrying what is transient within the budget."""
    backoff = Backoff("the read")
    while True:
        try:
            return operation()
        except Exception as error:
            if not is_transient(error):
                raise
            backoff.wait(error)
