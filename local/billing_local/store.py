"""The embedded store of the local stack (SPEC §8, last bullet): moto's DynamoDB and S3 behind a
WSGI layer that makes them behave as AWS does where moto alone does not. The one factory used by
`make run` (billing_local.stack), the tests and the bench.

- **Atomic requests.** moto's server is not thread-safe: two TransactWriteItems interleave, and a
  cancelled one restores a copy of the whole table taken before it began, wiping the writes made
  meanwhile. Here one lock serves each DynamoDB request whole (its answer is built under it), as
  DynamoDB applies each request atomically; the application threads still race freely between
  their requests, which are the gaps the product must survive. S3 requests are served one at a
  time under a second lock: moto's S3 backend is plain dicts too (a listing iterating while a
  multipart upload completes), S3 answers each request atomically, and S3 traffic here is small,
  so it never waits for DynamoDB nor DynamoDB for it.
- **Bounded memory.** moto backs up the whole table before each action of a transaction; here a
  transaction backs up and, if it is cancelled, restores only the items it names. With requests
  atomic that restores exactly the same state (a transaction can only change the items it names).
- **Durability** (when given a data directory). Every DynamoDB request that answered 200 and may
  write is appended to a write-ahead journal (one JSON line, flushed and fsync'd before the answer
  leaves); an S3 object write keeps the object's bytes in a file (fsync'd) and a journal line naming
  it. On start the snapshot and the journals are replayed in order (only requests that succeeded
  were journaled, in the order they were applied, so replaying them rebuilds the same state), then
  compacted into a new snapshot: tables, items, S3 objects and the live transaction tokens. A torn
  last line (a crash while writing it) is a request that was never answered, and is dropped.
- **ClientRequestToken** of TransactWriteItems (moto ignores it): a token that committed within
  the last 10 minutes answers success again without applying anything if the request is the same,
  and `IdempotentParameterMismatchException` if it is not. botocore puts a token on every
  TransactWriteItems and resends the same one when it retries, so a retry of a transaction whose
  answer was lost is recognised as done.
- **Fault injection** (off unless asked): a share of DynamoDB requests answered as DynamoDB does
  when it fails, with the exact JSON 1.0 wire format botocore parses:
  `conflict` TransactionCanceledException (reason TransactionConflict; TransactWriteItems only),
  `throughput` ProvisionedThroughputExceededException, `throttle` ThrottlingException,
  `error500` InternalServerError — all without applying the request — and `lost`: the write is
  applied and journaled, then answered 500 (an answer lost after the commit). Control-plane
  requests (tables, TTL) never fail. GET/PUT `<endpoint>/_store/faults` reads the counters and
  turns injection on and off or sets its shares: `{"enabled": true, "rates": {"lost": 0.1}}`
  (the race tests set up their data with it off).
- **As strict as AWS** (on unless switched off; billing_local.strict): each function's IAM policy
  from template.yaml for the calls its invocations make (billing_local.identity, iam), DynamoDB's
  item, transaction and batch limits, no call from an invocation past its Lambda timeout, and
  global secondary indexes kept by the store itself beside each table (billing_local.gsi), `lag`
  ms behind it, answering index queries without walking the table. GET/PUT `/_store/strict`:
  `{"iam": false, "limits": true, "timeouts": true, "index_lag_ms": 0}`.

    python -m billing_local.store [--port 0] [--data DIR | --in-memory] [--fresh] [--faults SPEC]
                                  [--index-lag MS] [--no-iam] [--no-limits] [--no-timeouts]

prints the endpoint URL and serves until SIGINT/SIGTERM (the bench runs it as a child process).
"""
import argparse
import base64
import copy
import fcntl
import hashlib
import io
import json
import logging
import os
import random
import shutil
import signal
import sys
import threading
import time
import zlib
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import parse_qs

from . import cognito, gsi, iam, identity, strict

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = ROOT / ".local" / "data"
DYNAMODB_TARGET = "DynamoDB_20120810."
COGNITO_TARGET = "AWSCognitoIdentityProviderService."
JSON_10 = "application/x-amz-json-1.0"
TOKEN_SECONDS = 600  # DynamoDB keeps a transaction's ClientRequestToken 10 minutes
# DynamoDB requests that never write: everything else that answers 200 is journaled (replaying a
# request that wrote nothing changes nothing, so an unknown one is journaled to be safe).
READS = frozenset({
    "GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems", "DescribeTable", "ListTables",
    "DescribeTimeToLive", "ListTagsOfResource", "DescribeContinuousBackups", "DescribeEndpoints",
    "DescribeLimits", "ListBackups", "ListGlobalTables", "DescribeGlobalTable", "ListExports", "ListImports",
})
CONTROL_PLANE = frozenset({
    "CreateTable", "UpdateTable", "DeleteTable", "DescribeTable", "ListTables", "UpdateTimeToLive",
    "DescribeTimeToLive", "TagResource", "UntagResource", "ListTagsOfResource", "DescribeEndpoints", "DescribeLimits",
})
SCHEMA = ("CreateTable", "UpdateTable", "DeleteTable", "UpdateTimeToLive", "TagResource", "UntagResource")
FAULT_KINDS = ("conflict", "throughput", "throttle", "error500", "lost")
FAULT_ALIASES = {"error": "error500", "500": "error500", "provisioned": "throughput"}
log = logging.getLogger("billing_local.store")


class StoreError(Exception):
    """A reason the store cannot start, said in one line."""


# ---------------------------------------------------------------- DynamoDB's failures, on the wire


def _error(status: int, type_: str, message: str, **extra) -> tuple[int, dict, bytes]:
    """A DynamoDB error answer (JSON 1.0): botocore reads the code after the '#' of __type."""
    body = json.dumps({"__type": type_, "message": message, **extra}).encode()
    return status, _dynamodb_headers(body), body


def _dynamodb_headers(body: bytes) -> dict:
    return {"Content-Type": JSON_10, "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF),
            "x-amzn-RequestId": base64.b32encode(os.urandom(30)).decode()}


def conflict(request: dict) -> tuple[int, dict, bytes]:
    """TransactionCanceledException as DynamoDB sends it for a conflicting transaction: one
    reason per action, the first action in conflict, the others "None"."""
    actions = len(request.get("TransactItems") or []) or 1
    return cancelled([("TransactionConflict", "Transaction is ongoing for the item")] + [None] * (actions - 1))


def throughput_exceeded() -> tuple[int, dict, bytes]:
    return _error(400, "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                  "The level of configured provisioned throughput for the table was exceeded. "
                  "Consider increasing your provisioning level with the UpdateTable API.")


def throttled() -> tuple[int, dict, bytes]:
    return _error(400, "com.amazon.coral.availability#ThrottlingException", "Rate of requests exceeds the allowed throughput.")


def internal_error() -> tuple[int, dict, bytes]:
    return _error(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")


def parameter_mismatch() -> tuple[int, dict, bytes]:
    return _error(400, "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                  "The request uses the same client token as a previous, but non-identical request.")


def cancelled(reasons: list[tuple[str, str] | None]) -> tuple[int, dict, bytes]:
    """TransactionCanceledException with one reason per action ((code, message) or None)."""
    listed = [{"Code": r[0], "Message": r[1]} if r else {"Code": "None"} for r in reasons]
    codes = ", ".join(r["Code"] for r in listed)
    body = json.dumps({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        "CancellationReasons": listed,
    }).encode()
    return 400, _dynamodb_headers(body), body


def invocation_ended(function: str) -> tuple[int, dict, bytes]:
    """The answer to a call made by an invocation past its function's Timeout. On AWS the call is
    never made (Lambda has stopped the invocation); here the thread still runs, and every call it
    makes is refused, with an error botocore does not retry."""
    return _error(403, "com.amazon.coral.service#InvocationEnded",
                  f"the invocation of {function} ended at its function's Timeout: Lambda stopped it, it makes no further call")


def s3_denied(message: str, code: str = "AccessDenied") -> tuple[int, dict, bytes]:
    from xml.sax.saxutils import escape

    request_id = base64.b32encode(os.urandom(10)).decode()
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>").encode()
    return 403, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body


# ---------------------------------------------------------------- fault injection


class Faults:
    """Which share of DynamoDB requests fails, and how: `conflict=0.1,throttle=0.05,...`."""

    def __init__(self, rates: dict[str, float] | None = None, seed: int | None = None, enabled: bool = False):
        self.rates = {kind: float((rates or {}).get(kind, 0)) for kind in FAULT_KINDS}
        self.random = random.Random(seed)
        self.enabled = enabled
        self.injected = {kind: 0 for kind in FAULT_KINDS}
        self.lock = threading.Lock()

    @classmethod
    def parse(cls, text: str | None, seed: int | None = None) -> "Faults":
        rates = {}
        for part in filter(None, (text or "").replace(" ", "").split(",")):
            name, sep, value = part.partition("=")
            kind = FAULT_ALIASES.get(name, name)
            if not sep or kind not in FAULT_KINDS:
                raise StoreError(f"--faults: {part!r} is not one of {', '.join(k + '=SHARE' for k in FAULT_KINDS)}")
            try:
                rates[kind] = float(value)
            except ValueError:
                raise StoreError(f"--faults: {name} must be a share from 0 to 1, not {value!r}") from None
            if not 0 <= rates[kind] <= 1:
                raise StoreError(f"--faults: {name} must be a share from 0 to 1, not {value!r}")
        if sum(rates.values()) > 1:
            raise StoreError("--faults: the shares add up to more than 1")
        return cls(rates, seed)

    @property
    def configured(self) -> bool:
        return any(self.rates.values())

    def draw(self, operation: str) -> str | None:
        """The fault this request gets, if any (one draw per request)."""
        if not self.enabled or operation in CONTROL_PLANE:
            return None
        with self.lock:
            roll = self.random.random()
        for kind in FAULT_KINDS:
            share = self.rates[kind]
            if roll < share:
                if kind == "conflict" and operation != "TransactWriteItems":
                    return None
                if kind == "lost" and operation in READS:
                    return None
                with self.lock:
                    self.injected[kind] += 1
                return kind
            roll -= share
        return None

    def describe(self) -> dict:
        return {"enabled": self.enabled, "rates": self.rates, "injected": dict(self.injected)}


# ---------------------------------------------------------------- moto, patched for atomic requests


@contextmanager
def transactions_back_up_only_their_items():
    """While active, every moto DynamoDB transaction backs up (and on failure restores) only the
    items it names instead of a deep copy of each whole table per action — the same state back,
    provided no other request runs meanwhile (the store's lock). Restores moto on exit."""
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    inside = threading.local()

    class TablesAsTheyAre:
        """Stands in for `copy` in moto's dynamodb.models: inside a transaction a Table is
        "copied" as itself (moto's own rollback becomes a no-op); the rest is copied as usual."""

        @staticmethod
        def deepcopy(value, memo=None):
            if isinstance(value, Table) and getattr(inside, "active", False):
                return value
            return copy.deepcopy(value, memo)

        def __getattr__(self, name):
            return getattr(copy, name)

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(backend, transact_items):
        named = _named_items(backend, transact_items)
        inside.active = True
        try:
            return original(backend, transact_items)
        except Exception:
            for table, hash_value, range_value, before in reversed(named):
                _put_back(table, hash_value, range_value, before)
            raise
        finally:
            inside.active = False

    saved_copy = dynamodb_models.copy
    dynamodb_models.copy = TablesAsTheyAre()
    DynamoDBBackend.transact_write_items = transact_write_items
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original
        dynamodb_models.copy = saved_copy


def _named_items(backend, transact_items) -> list[tuple]:
    """(table, hash value, range value, copy of the item or None) for every action whose key can
    be read; a malformed action is refused by moto before anything is written."""
    named = []
    for entry in transact_items:
        try:
            operation = next(iter(entry.values()))
            table = backend.tables[operation["TableName"]]
            key = operation.get("Key") or {
                name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
            }
            hash_value, range_value = backend.get_keys_value(table, key)
            before = table.get_item(hash_value, range_value)
        except Exception:
            continue
        named.append((table, hash_value, range_value, copy.deepcopy(before)))
    return named


def _put_back(table, hash_value, range_value, before) -> None:
    if range_value is None:
        if before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
        return
    if before is not None:
        table.items[hash_value][range_value] = before
        return
    partition = table.items.get(hash_value)
    if partition is not None:
        partition.pop(range_value, None)
        if not partition:
            del table.items[hash_value]


@contextmanager
def plain_item_answers():
    """Query and Scan answers written as the DynamoDB JSON they already are: moto 5 re-serialises
    them through the service model, ~2.5 ms per item, most of a large query's time."""
    from moto.dynamodb import responses

    original = responses.DynamoResult

    class PlainItems(original):
        def execute_result(self, context):
            if isinstance(self.result, dict) and "Items" in self.result:
                try:
                    body = json.dumps(self.result)
                except (TypeError, ValueError):
                    return super().execute_result(context)
                return 200, {"Content-Type": JSON_10}, body
            return super().execute_result(context)

    responses.DynamoResult = PlainItems
    try:
        yield
    finally:
        responses.DynamoResult = original


# ---------------------------------------------------------------- the journal


class Journal:
    """`snapshot.jsonl` (a header naming the first journal it does not hold, then records) and
    `journal-<n>.jsonl` files (one record per applied request); `objects/` holds S3 objects'
    bytes by SHA-256. A record is one JSON line, fsync'd before the request is answered."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.objects = self.directory / "objects"
        self.file = None
        self.generation = 0
        self.journal_records = 0
        self._lock_file = None

    def open(self, fresh: bool = False) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.directory / "LOCK", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise StoreError(f"the data directory {self.directory} is in use by another running stack") from None
        if fresh:
            for entry in self.directory.iterdir():
                if entry.name != "LOCK":
                    shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        self.objects.mkdir(exist_ok=True)

    def records(self):
        """Every record to replay, oldest first: the snapshot's, then the journals' after it."""
        first = 0
        self.journal_records = 0
        snapshot = self.directory / "snapshot.jsonl"
        if snapshot.exists():
            with open(snapshot, encoding="utf-8") as lines:
                header = json.loads(next(lines))
                first = header["next_journal"]
                for line in lines:
                    yield json.loads(line)
        for number, path in self._journals():
            if number < first:
                continue
            with open(path, "rb") as lines:
                for raw in lines:
                    try:
                        record = json.loads(raw)
                    except ValueError:  # a torn last line: written while the process died, never answered
                        log.warning("journal %s: dropped an incomplete last record", path.name)
                        break
                    self.journal_records += 1
                    yield record
        self.generation = max(first, self._journals()[-1][0] if self._journals() else 0)

    def resume(self) -> None:
        """Appends to the journal the snapshot names as its next one (nothing to compact)."""
        self.file = open(self.directory / f"journal-{self.generation}.jsonl", "ab")

    def _journals(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.directory.glob("journal-*.jsonl"):
            try:
                found.append((int(path.stem.split("-", 1)[1]), path))
            except ValueError:
                continue
        return sorted(found)

    def compact(self, records) -> None:
        """Writes a snapshot of `records`, then starts a new journal and removes the old ones.
        Crash-safe: the snapshot names the first journal it does not hold; it replaces the old
        snapshot atomically; older journals are removed only after."""
        self.close()
        self.generation += 1
        temporary = self.directory / "snapshot.jsonl.tmp"
        kept_objects = set()
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(json.dumps({"next_journal": self.generation}) + "\n")
            for record in records:
                if record.get("file"):
                    kept_objects.add(record["file"])
                out.write(json.dumps(record, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.directory / "snapshot.jsonl")
        self._sync_directory()
        for number, path in self._journals():
            if number < self.generation:
                path.unlink()
        for path in self.objects.iterdir():
            if path.name not in kept_objects:
                path.unlink()
        self.file = open(self.directory / f"journal-{self.generation}.jsonl", "ab")

    def append(self, record: dict) -> None:
        self.file.write(json.dumps(record, separators=(",", ":")).encode() + b"\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def keep_object(self, content: bytes) -> str:
        name = hashlib.sha256(content).hexdigest()
        path = self.objects / name
        if not path.exists():
            temporary = path.with_suffix(".tmp")
            with open(temporary, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
            self._sync_directory(self.objects)
        return name

    def _sync_directory(self, directory: Path | None = None) -> None:
        descriptor = os.open(directory or self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def release(self) -> None:
        self.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


# ---------------------------------------------------------------- the WSGI layer


def _signed(service: str, region: str) -> str:
    """An Authorization header moto reads the service and region from (it checks no signature)."""
    return (f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0")


def _region_of(environ) -> str:
    try:
        return environ["HTTP_AUTHORIZATION"].split("Credential=", 1)[1].split("/")[2]
    except (KeyError, IndexError):
        return "us-east-1"


def _read_body(environ) -> bytes:
    length = environ.get("CONTENT_LENGTH")
    stream = environ["wsgi.input"]
    if length and length.strip().isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class StoreApp:
    """The WSGI application: moto's, with each request atomic, journaled, tokens kept, faults."""

    def __init__(self, moto_app, journal: Journal | None, faults: Faults, rules: strict.Rules | None = None):
        self.moto, self.journal, self.faults = moto_app, journal, faults
        self.rules = rules if rules is not None else strict.Rules()
        self.indexes = gsi.Indexes(self.rules.index_lag_ms)
        self.refused = {"iam": 0, "limits": 0, "timeouts": 0}
        self.checked: dict[str, int] = {}  # function → calls checked against its policy
        self.dynamodb_lock = threading.Lock()
        self.s3_lock = threading.Lock()
        self.tokens: dict[str, tuple[str, float]] = {}  # ClientRequestToken → (request digest, when)
        self.objects: dict[tuple[str, str], dict] = {}  # the S3 objects kept in the journal

    # ------------------------------------------------ serving

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith("/_store/"):
            status, headers, body = self._control(environ)
        elif (environ.get("HTTP_X_AMZ_TARGET") or "").startswith(DYNAMODB_TARGET):
            status, headers, body = self._dynamodb(environ)
        elif (environ.get("HTTP_X_AMZ_TARGET") or "").startswith(COGNITO_TARGET):
            status, headers, body = self._cognito_refusal(environ) or self._call_moto(environ)
        elif (environ.get("HTTP_X_AMZ_TARGET") or "").startswith(tuple(strict.JSON_SERVICES)):
            status, headers, body = self._json_service_refusal(environ) or self._call_moto(environ)
        elif "/scheduler/" in (environ.get("HTTP_AUTHORIZATION") or ""):
            status, headers, body = self._scheduler_refusal(environ) or self._call_moto(environ)
        elif "/s3/" in (environ.get("HTTP_AUTHORIZATION") or "") or "X-Amz-Credential" in (environ.get("QUERY_STRING") or ""):
            status, headers, body = self._s3_refusal(environ) or (None, None, None)
            if status is None:
                with self.s3_lock:
                    status, headers, body = self._s3(environ)
        else:  # moto's own API (/moto-api) and anything unsigned
            status, headers, body = self._call_moto(environ)
        start_response(_status_line(status), list(headers.items()) if isinstance(headers, dict) else headers)
        return [body]

    def _call_moto(self, environ) -> tuple[int, list, bytes]:
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), headers

        chunks = self.moto(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        headers = [(name, value) for name, value in answer["headers"] if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(body))))
        return answer["status"], headers, body

    def _dynamodb(self, environ):
        operation = environ["HTTP_X_AMZ_TARGET"][len(DYNAMODB_TARGET):]
        raw = _read_body(environ)
        request = _parsed(raw)
        region = _region_of(environ)
        refused = self._dynamodb_refusal(environ, operation, request, region)
        if refused is not None:
            return refused
        fault = self.faults.draw(operation)
        if fault in ("conflict", "throughput", "throttle", "error500"):
            return {"conflict": lambda: conflict(request), "throughput": throughput_exceeded,
                    "throttle": throttled, "error500": internal_error}[fault]()
        with self.dynamodb_lock:
            token = request.get("ClientRequestToken") if operation == "TransactWriteItems" else None
            known = self._known_token(token, request) if token else None
            if known is not None:
                status, headers, body = known
            else:
                status, headers, body = self._apply(environ, operation, request, region)
            if known is None and status == 200 and operation not in READS:
                at = time.time()
                if token:
                    self.tokens[token] = (_digest(request), at)
                if self.journal is not None:
                    self.journal.append({"at": at, "dynamodb": operation, "region": region,
                                         "body": raw.decode("utf-8")})
        if fault == "lost":
            return internal_error()
        return status, headers, body

    def _dynamodb_refusal(self, environ, operation: str, request: dict, region: str):
        """The answer AWS gives before applying anything: a call of an ended invocation, a call its
        function's policy does not allow, a request over a limit. None: go on."""
        caller = identity.parse(environ.get(identity.WSGI_HEADER))
        if caller is not None and self.rules.timeouts and time.time() > caller[1]:
            self.refused["timeouts"] += 1
            return invocation_ended(caller[0])
        if caller is not None and self.rules.iam:
            self.checked[caller[0]] = self.checked.get(caller[0], 0) + 1
            denied = iam.first_denied(caller[0], strict.dynamodb_checks(operation, request, region, self._hash_attr(region)), region)
            if denied is not None:
                self.refused["iam"] += 1
                return _error(400, "com.amazon.coral.service#AccessDeniedException", iam.denial_message(caller[0], denied))
        if self.rules.limits:
            refusal = strict.limit_refusal(operation, request)
            if refusal is not None:
                self.refused["limits"] += 1
                kind, message, oversized = refusal
                if kind == "cancelled":
                    return cancelled([("ValidationError", message) if bad else None for bad in oversized])
                return _error(400, "com.amazon.coral.validate#ValidationException", message)
        return None

    def _hash_attr(self, region: str):
        def hash_attr_of(table_name: str, index_name: str | None) -> str | None:
            table = gsi.moto_table(region, table_name)
            if table is None:
                return None
            if index_name is None:
                return table.hash_key_attr
            index = next((i for i in table.indexes + table.global_indexes if i.name == index_name), None)
            return next((k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"), None) if index else None
        return hash_attr_of

    def _apply(self, environ, operation: str, request: dict, region: str):
        """moto applies the request (under the lock); the store's indexes follow what it wrote, and
        an index Query is answered from them."""
        written = gsi.written_keys(operation, request) if operation not in READS else {}
        tables = {name: gsi.moto_table(region, name) for name in written}
        self.indexes.before_write([(tables[name], keys) for name, keys in written.items() if tables[name] is not None])
        table = gsi.moto_table(region, request.get("TableName", "")) if operation == "Query" else None
        candidates = None
        if table is not None and request.get("IndexName"):
            from moto.dynamodb.models import table as moto_table

            candidates = self.indexes.candidates(table, request["IndexName"], request, moto_table.RESULT_SIZE_LIMIT)
        elif table is not None:
            candidates = gsi.table_partition(table, request)
        if candidates is not None:
            with gsi.serving(table, candidates):
                status, headers, body = self._call_moto(environ)
        else:
            status, headers, body = self._call_moto(environ)
        if operation in SCHEMA:
            self.indexes.forget(request.get("TableName", ""))
        for name, keys in written.items():
            if tables.get(name) is not None:
                (self.indexes.written if status == 200 else self.indexes.refused)(tables[name], keys)
        if status != 200 and operation == "TransactWriteItems" and self.rules.limits and b"Item size" in body and b"ValidationException" in body:
            # moto refuses an item grown too large inside a transaction with a bare ValidationException;
            # DynamoDB cancels the transaction, naming the action (reason ValidationError)
            actions = request.get("TransactItems") or []
            guilty = max(range(len(actions)), key=lambda i: ("Update" in actions[i], strict.item_size((actions[i].get("Put") or {}).get("Item") or {})))
            return cancelled([("ValidationError", "Item size to update has exceeded the maximum allowed size") if i == guilty else None
                              for i in range(len(actions))])
        return status, headers, body

    def _known_token(self, token: str, request: dict):
        """The answer to a TransactWriteItems whose token already committed, or None."""
        now = time.time()
        while self.tokens:  # oldest first (a dict keeps the order tokens were recorded in)
            oldest, (_, at) = next(iter(self.tokens.items()))
            if now - at <= TOKEN_SECONDS:
                break
            del self.tokens[oldest]
        if token not in self.tokens:
            return None
        digest, _ = self.tokens[token]
        if digest != _digest(request):
            return parameter_mismatch()
        body = b"{}"
        return 200, _dynamodb_headers(body), body

    def _s3_refusal(self, environ):
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        caller = identity.parse(environ.get(identity.WSGI_HEADER)) or identity.signer(query)
        if caller is None or environ["REQUEST_METHOD"] == "OPTIONS":  # a CORS preflight is no IAM call
            return None
        if self.rules.timeouts and time.time() > caller[1]:
            self.refused["timeouts"] += 1
            return s3_denied(f"the invocation of {caller[0]} ended at its function's Timeout: Lambda stopped it", "InvocationEnded")
        if not self.rules.iam:
            return None
        self.checked[caller[0]] = self.checked.get(caller[0], 0) + 1
        parts = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)
        check = strict.s3_check(environ["REQUEST_METHOD"], parts[0], parts[1] if len(parts) > 1 else "", query)
        if iam.allowed(caller[0], check, _region_of(environ)):
            return None
        self.refused["iam"] += 1
        return s3_denied(iam.denial_message(caller[0], check))

    def _cognito_refusal(self, environ):
        """A function's call of the user pool's administrator API, checked against its policy as
        IAM does (the sign-in calls a browser makes name no pool and are not IAM calls)."""
        request = _parsed(_read_body(environ))
        if not request.get("UserPoolId"):
            return None
        action = "cognito-idp:" + environ["HTTP_X_AMZ_TARGET"][len(COGNITO_TARGET):]
        return self._json_refusal(environ, lambda region: [
            iam.Check(action, f"arn:aws:cognito-idp:{region}:{iam.ACCOUNT}:userpool/{request['UserPoolId']}")])

    def _json_service_refusal(self, environ):
        """A function's Secrets Manager or EventBridge call, checked against its policy."""
        request = _parsed(_read_body(environ))
        return self._json_refusal(environ, lambda region: strict.json_service_checks(environ["HTTP_X_AMZ_TARGET"], request, region))

    def _scheduler_refusal(self, environ):
        """A function's EventBridge Scheduler call (REST-JSON), checked against its policy."""
        request, query = _parsed(_read_body(environ)), parse_qs(environ.get("QUERY_STRING", ""))
        return self._json_refusal(environ, lambda region: strict.scheduler_checks(
            environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), query, request, region))

    def _json_refusal(self, environ, checks_in):
        """The answer to a JSON-protocol call made by an invocation past its Timeout, or one its
        function's policy refuses (400 AccessDeniedException); None: go on (an admin's call too)."""
        caller = identity.parse(environ.get(identity.WSGI_HEADER))
        if caller is None:
            return None
        if self.rules.timeouts and time.time() > caller[1]:
            self.refused["timeouts"] += 1
            return invocation_ended(caller[0])
        if not self.rules.iam:
            return None
        self.checked[caller[0]] = self.checked.get(caller[0], 0) + 1
        region = _region_of(environ)
        denied = iam.first_denied(caller[0], checks_in(region), region)
        if denied is None:
            return None
        self.refused["iam"] += 1
        return _error(400, "AccessDeniedException", iam.denial_message(caller[0], denied))

    def _s3(self, environ):
        method = environ["REQUEST_METHOD"]
        parts = environ.get("PATH_INFO", "").lstrip("/").split("/", 1)
        bucket, key = parts[0], (parts[1] if len(parts) > 1 else "")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if self.journal is None or method in ("GET", "HEAD", "OPTIONS") or not bucket:
            return self._call_moto(environ)
        if not key:  # bucket-level: create, configure, delete, delete many objects
            raw = _read_body(environ)
            status, headers, body = self._call_moto(environ)
            if status < 300:
                self._journal_s3({"at": time.time(), "s3": "request", "region": _region_of(environ), "method": method,
                                     "path": environ["PATH_INFO"], "query": environ.get("QUERY_STRING", ""),
                                     "content_type": environ.get("CONTENT_TYPE", ""), "host": environ.get("HTTP_HOST", ""),
                                     "body": base64.b64encode(raw).decode()})
            return status, headers, body
        status, headers, body = self._call_moto(environ)
        if status >= 300:
            return status, headers, body
        if method == "DELETE" and "uploadId" not in query:
            self._journal_s3({"at": time.time(), "s3": "delete", "region": _region_of(environ), "bucket": bucket, "key": key})
        elif (method == "PUT" and "uploadId" not in query) or (method == "POST" and "uploadId" in query):
            # an object written whole, or a multipart upload completed: keep the object as stored
            stored = self._s3_object(environ, bucket, key)
            if stored is not None:
                content, content_type = stored
                self._journal_s3({"at": time.time(), "s3": "object", "region": _region_of(environ), "bucket": bucket,
                                     "key": key, "content_type": content_type, "file": self.journal.keep_object(content)})
        return status, headers, body

    def _s3_object(self, environ, bucket: str, key: str):
        from urllib.parse import quote

        status, headers, body = self._internal("GET", f"/{bucket}/{quote(key)}", "s3", _region_of(environ),
                                               host=environ.get("HTTP_HOST", "localhost"))
        if status != 200:
            return None
        content_type = next((value for name, value in headers if name.lower() == "content-type"), "binary/octet-stream")
        return body, content_type

    def _control(self, environ):
        headers = {"Content-Type": "application/json"}
        if environ["PATH_INFO"] == "/_store/faults":
            if environ["REQUEST_METHOD"] == "PUT":
                wanted = _parsed(_read_body(environ))
                if isinstance(wanted.get("rates"), dict):
                    try:
                        rates = Faults.parse(",".join(f"{kind}={share}" for kind, share in wanted["rates"].items())).rates
                    except StoreError as error:
                        return 400, headers, json.dumps({"message": str(error)}).encode()
                    self.faults.rates = rates
                if "enabled" in wanted:
                    self.faults.enabled = bool(wanted["enabled"])
            return 200, headers, json.dumps(self.faults.describe()).encode()
        if environ["PATH_INFO"] == "/_store/strict":
            if environ["REQUEST_METHOD"] == "PUT":
                wrong = self.rules.update(_parsed(_read_body(environ)))
                if wrong is not None:
                    return 400, headers, json.dumps({"message": wrong}).encode()
                with self.dynamodb_lock:
                    self.indexes.set_lag(self.rules.index_lag_ms)
            return 200, headers, json.dumps({**self.rules.describe(), "refused": dict(self.refused),
                                             "checked": dict(self.checked)}).encode()
        return 404, headers, b'{"message": "no such store route"}'

    # ------------------------------------------------ internal requests (replay, snapshot)

    def _internal(self, method: str, path: str, service: str, region: str, *, body: bytes = b"", target: str | None = None,
                  query: str = "", content_type: str = "", host: str = "localhost"):
        from werkzeug.test import EnvironBuilder

        headers = {"Authorization": _signed(service, region), "Host": host}
        if target:
            headers["X-Amz-Target"] = DYNAMODB_TARGET + target
            content_type = content_type or JSON_10
        builder = EnvironBuilder(method=method, path=path, query_string=query or None, headers=headers, data=body,
                                 content_type=content_type or None)
        try:
            return self._call_moto(builder.get_environ())
        finally:
            builder.close()

    def dynamodb_call(self, operation: str, request: dict | str, region: str = "us-east-1") -> dict:
        raw = request if isinstance(request, str) else json.dumps(request)
        status, _, body = self._internal("POST", "/", "dynamodb", region, body=raw.encode(), target=operation)
        if status != 200:
            raise StoreError(f"{operation} failed while restoring the store: {body[:300].decode(errors='replace')}")
        return json.loads(body or b"{}")

    def _journal_s3(self, record: dict) -> None:
        self.journal.append(record)
        self._object_kept(record)

    def replay(self, record: dict) -> None:
        self._object_kept(record)
        if "tokens" in record:
            now = time.time()
            self.tokens.update({t: (d, at) for t, (d, at) in record["tokens"].items() if now - at <= TOKEN_SECONDS})
        elif "dynamodb" in record:
            self.dynamodb_call(record["dynamodb"], record["body"], record["region"])
            if record["dynamodb"] == "TransactWriteItems":
                request = json.loads(record["body"])
                if request.get("ClientRequestToken") and time.time() - record["at"] <= TOKEN_SECONDS:
                    self.tokens[request["ClientRequestToken"]] = (_digest(request), record["at"])
        elif record.get("s3") == "request":
            status, _, body = self._internal(record["method"], record["path"], "s3", record["region"],
                                             body=base64.b64decode(record["body"]), query=record["query"],
                                             content_type=record["content_type"], host=record["host"] or "localhost")
            if status >= 300 and record["method"] != "DELETE":
                raise StoreError(f"S3 {record['method']} {record['path']} failed while restoring the store: {body[:300]!r}")
        elif record.get("s3") == "object":
            from urllib.parse import quote

            content = (self.journal.objects / record["file"]).read_bytes()
            self._internal("PUT", f"/{record['bucket']}/{quote(record['key'])}", "s3", record["region"], body=content,
                           content_type=record["content_type"])
        elif record.get("s3") == "delete":
            from urllib.parse import quote

            self._internal("DELETE", f"/{record['bucket']}/{quote(record['key'])}", "s3", record["region"])

    def state(self, schema: list[dict], s3_requests: list[dict]):
        """The records that rebuild the current state: the schema requests and S3 bucket requests
        as they were sent, every item of every table (BatchWriteItem of 25), every S3 object, the
        live transaction tokens."""
        yield from schema
        yield from s3_requests
        regions = sorted({r["region"] for r in schema} or {"us-east-1"})
        for region in regions:
            for table in self.dynamodb_call("ListTables", {}, region).get("TableNames", []):
                start = None
                while True:
                    page = self.dynamodb_call("Scan", {"TableName": table, **({"ExclusiveStartKey": start} if start else {})}, region)
                    items = page.get("Items", [])
                    for first in range(0, len(items), 25):
                        writes = [{"PutRequest": {"Item": item}} for item in items[first:first + 25]]
                        yield {"at": time.time(), "dynamodb": "BatchWriteItem", "region": region,
                               "body": json.dumps({"RequestItems": {table: writes}})}
                    start = page.get("LastEvaluatedKey")
                    if not start:
                        break
        yield from self.objects.values()
        if self.tokens:
            yield {"tokens": {t: [d, at] for t, (d, at) in self.tokens.items()}}

    def _object_kept(self, record: dict) -> None:
        """Follows which S3 objects exist (bucket, key → the record naming its file)."""
        if record.get("s3") == "object":
            self.objects[(record["bucket"], record["key"])] = record
        elif record.get("s3") == "delete":
            self.objects.pop((record["bucket"], record["key"]), None)
        elif record.get("s3") == "request" and record["method"] == "DELETE" and not record["query"]:
            bucket = record["path"].strip("/")
            self.objects = {place: kept for place, kept in self.objects.items() if place[0] != bucket}


def _parsed(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _digest(request: dict) -> str:
    """What "the same request" means for a token: everything but the token itself."""
    rest = {name: value for name, value in request.items() if name != "ClientRequestToken"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


# ---------------------------------------------------------------- the store


class EmbeddedStore:
    """DynamoDB + S3 on 127.0.0.1:`port` (0: a free one). `data`: the directory that keeps the
    data across restarts and crashes (None: in memory only). start() → the endpoint URL."""

    def __init__(self, port: int = 0, data: Path | None = DEFAULT_DATA, *, fresh: bool = False,
                 faults: Faults | None = None, host: str = "127.0.0.1", rules: strict.Rules | None = None):
        self.port, self.host, self.fresh = port, host, fresh
        self.rules = rules if rules is not None else strict.Rules()
        self.data = Path(data) if data is not None else None
        self.faults = faults or Faults()
        self.journal = Journal(self.data) if self.data is not None else None
        self.app: StoreApp | None = None
        self.server = None
        self.thread: threading.Thread | None = None
        self.endpoint_url: str | None = None
        self.restored_records = 0
        self._patches = ExitStack()

    @property
    def is_new(self) -> bool:
        """True when the store started empty (no data restored)."""
        return self.restored_records == 0

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
        self._patches.enter_context(transactions_back_up_only_their_items())
        self._patches.enter_context(plain_item_answers())
        self._patches.enter_context(gsi.moto_reads_the_index())
        self._patches.enter_context(cognito.token_trigger())  # the user pool's token trigger, as Cognito runs it
        self._patches.enter_context(cognito.linked_providers())  # AdminLinkProviderForUser, which moto lacks
        self.app = StoreApp(DomainDispatcherApplication(create_backend_app), self.journal, self.faults, self.rules)
        if self.journal is not None:
            self.journal.open(fresh=self.fresh)
            try:
                self._restore()
            except BaseException:
                self.journal.release()
                raise
        try:
            self.server = make_server(self.host, self.port, self.app, threaded=True, request_handler=MotoRequestHandler)
        except OSError as error:
            raise StoreError(f"cannot start the embedded AWS on {self.host}:{self.port}: {error.strerror or error}") from None
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="embedded-store", daemon=True)
        self.thread.start()
        self.endpoint_url = f"http://{self.host}:{self.server.server_address[1]}"
        return self.endpoint_url

    def _restore(self) -> None:
        self.schema, self.s3_requests = [], []
        for record in self.journal.records():
            self.app.replay(record)
            self._remember(record)
            self.restored_records += 1
        if self.journal.journal_records or not (self.journal.directory / "snapshot.jsonl").exists():
            self._compact()
        else:  # only a snapshot, written by a clean stop: nothing to fold into it
            self.journal.resume()

    def _remember(self, record: dict) -> None:
        if record.get("dynamodb") in SCHEMA:
            self.schema.append(record)
        elif record.get("s3") == "request":
            self.s3_requests.append(record)

    def _compact(self) -> None:
        self.journal.compact(self.app.state(self.schema, self.s3_requests))

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.journal is not None and self.journal.file is not None:
            with self.app.dynamodb_lock, self.app.s3_lock:
                self._collect_schema()
                self._compact()  # the next start replays one snapshot, not every request since this one
            self.journal.release()
        self._patches.close()

    def _collect_schema(self) -> None:
        """The schema and bucket requests journaled since start, for the snapshot."""
        path = self.journal.directory / f"journal-{self.journal.generation}.jsonl"
        self.journal.close()
        with open(path, "rb") as lines:
            for raw in lines:
                try:
                    self._remember(json.loads(raw))
                except ValueError:
                    break


# ---------------------------------------------------------------- a child process (the bench)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m billing_local.store", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data directory (default .local/data)")
    where.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    parser.add_argument("--fresh", action="store_true", help="start empty: erase the data directory first")
    parser.add_argument("--faults", help="e.g. conflict=0.1,throttle=0.05,error500=0.02,lost=0.02")
    parser.add_argument("--fault-seed", type=int)
    strict.add_arguments(parser)
    args = parser.parse_args(argv)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        faults = Faults.parse(args.faults, args.fault_seed)
        faults.enabled = faults.configured
        try:
            rules = strict.from_arguments(args)
        except ValueError as error:
            raise StoreError(str(error)) from None
        store = EmbeddedStore(args.port, None if args.in_memory else args.data, fresh=args.fresh, faults=faults, rules=rules)
        print(store.start(), flush=True)
    except StoreError as error:
        print(f"billing_local.store: {error}", file=sys.stderr)
        return 2
    stopping.wait()
    store.stop()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
