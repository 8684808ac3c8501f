"""Logs and metrics of every function, in one place.

Logs: one JSON line per record (the keys of Powertools' Logger: level, location, message,
timestamp, service, exception), each with the Lambda context (function name, memory, request id,
cold start), the correlation id (the API request id, also in the API's access log; an export job's
id in the worker) and the tenant id once the authorizer's verdict is known.

Metrics: CloudWatch embedded metric format (EMF), printed with the invocation's log lines at its
end; CloudWatch turns them into metrics of namespace RemoteSupportBilling without an API call.
Business figures are counted from the answers the handlers return; health figures where they
happen (`count("ConflictsRetried")` in a retry loop). The tenant id is a log key and EMF metadata,
never a dimension: CloudWatch bills every dimension value as a metric of its own.

Both are written here with the standard library, not with Powertools: importing Powertools loads
its Logger, Metrics and Tracer modules and typing_extensions (~41 modules, ~11 ms, 0.07x the
runtime's `import boto3`) at every cold start, for two JSON shapes (docs/benchmarks.md, table 2).
The settings keep Powertools' environment variables (POWERTOOLS_SERVICE_NAME, _LOG_LEVEL,
_METRICS_NAMESPACE, _METRICS_DISABLED). No tracer either: the functions' X-Ray segments come from
the platform (Tracing: Active)."""
import contextvars
import functools
import gc
import json
import logging
import os
import sys
import time
import traceback
from datetime import datetime, timezone
from decimal import Decimal

import billing_core

from . import settings

COUNT = "Count"  # minutes and cents too: EMF has no unit for either
_CONTEXT_FIELDS = {  # LambdaContext attribute -> log key (Powertools' names)
    "function_name": "function_name",
    "memory_limit_in_mb": "function_memory_size",
    "invoked_function_arn": "function_arn",
    "aws_request_id": "function_request_id",
}
_cold = True
_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# The keys of one invocation, per thread (a context variable), never on the shared logger: the local
# stack serves requests in threads of one process, and a key set by one would name its function in another's lines.
_keys: contextvars.ContextVar[dict] = contextvars.ContextVar("log_keys", default={})


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, timezone.utc)
        line = {"level": record.levelname, "location": f"{record.funcName}:{record.lineno}", "message": record.getMessage(),
                "timestamp": stamp.strftime("%Y-%m-%d %H:%M:%S,") + f"{stamp.microsecond // 1000:03d}+0000",
                "service": settings.service_name(), **_keys.get()}
        line.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)  # extra={...}
        if record.exc_info and record.exc_info[0]:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            line["exception_name"] = record.exc_info[0].__name__
        trace = os.environ.get("_X_AMZN_TRACE_ID", "")
        if trace.startswith("Root="):
            line["xray_trace_id"] = trace.split(";")[0][5:]
        return json.dumps({k: v for k, v in line.items() if v is not None}, default=str, separators=(",", ":"))


class Logger(logging.LoggerAdapter):
    """The functions' logger: a standard one (named after the service) writing JSON lines on
    stdout, with the invocation's keys (`thread_safe_append_keys`) in every line."""

    def __init__(self):
        super().__init__(logging.getLogger(settings.service_name()), {})
        self.registered_handler = logging.StreamHandler(sys.stdout)
        self.registered_handler.setFormatter(_JsonLines())
        self.logger.handlers[:] = [self.registered_handler]
        self.logger.propagate = False
        self.setLevel((os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO").upper())

    @property
    def log_level(self) -> int:
        return self.logger.level

    def process(self, msg, kwargs):
        return msg, kwargs

    @staticmethod
    def thread_safe_clear_keys() -> None:
        _keys.set({})

    @staticmethod
    def thread_safe_append_keys(**keys) -> None:
        _keys.set({**_keys.get(), **keys})


def _emf(metrics: dict[str, list], dimensions: dict, metadata: dict) -> str:
    """One EMF line: the metrics (name -> values, unit Count) under `dimensions`, `metadata` beside."""
    return json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
        {"Namespace": settings.metrics_namespace(), "Dimensions": [list(dimensions)],
         "Metrics": [{"Name": name, "Unit": COUNT} for name in metrics]}]},
        **dimensions, **metrics, **metadata}, separators=(",", ":"))


def _metrics_disabled() -> bool:
    return any(os.environ.get(name, "false").lower() in ("1", "true", "yes", "on")
               for name in ("POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_DEV"))


class Metrics:
    """The invocation's metrics (values per name) and metadata, printed as one EMF line by flush()."""
    MAX_METRICS = 100  # EMF's limit per line: a full set is printed and a new one begun

    def __init__(self):
        self.metric_set: dict[str, list] = {}
        self.metadata_set: dict[str, str] = {}

    def add_metric(self, name: str, value) -> None:
        if name not in self.metric_set and len(self.metric_set) >= self.MAX_METRICS:
            self.flush_metrics()
        self.metric_set.setdefault(name, []).append(float(value))

    def add_metadata(self, key: str, value) -> None:
        self.metadata_set[key] = value

    def print_line(self, metrics: dict, dimensions: dict | None = None) -> None:
        if not _metrics_disabled():
            print(_emf(metrics, {"service": settings.service_name(), **(dimensions or {})}, self.metadata_set), flush=True)

    def flush_metrics(self) -> None:
        if self.metric_set:
            self.print_line(self.metric_set)
        self.metric_set = {}

    def clear_metrics(self) -> None:
        self.metric_set, self.metadata_set = {}, {}


logger = Logger()  # service from POWERTOOLS_SERVICE_NAME, level from POWERTOOLS_LOG_LEVEL


@functools.lru_cache(maxsize=None)
def _metrics() -> Metrics:
    return Metrics()


def begin(context, correlation_id: str | None, tenant_id: str | None = None) -> None:
    """Starts an invocation's log context: nothing of the previous invocation is kept. The first
    one also ends the cold start's imports: the garbage collector back on (billing_core/__init__.py)."""
    global _cold
    if billing_core.imports_hold_gc:
        billing_core.imports_hold_gc = False
        gc.freeze()
        gc.enable()
    logger.thread_safe_clear_keys()
    keys = {key: getattr(context, name, None) for name, key in _CONTEXT_FIELDS.items()} if context else {}
    logger.thread_safe_append_keys(**keys, cold_start=_cold, tenant_id=tenant_id, correlation_id=correlation_id)
    _cold = False
    metrics = _metrics()
    metrics.clear_metrics()
    if correlation_id:
        metrics.add_metadata(key="correlation_id", value=correlation_id)


def set_tenant(tenant_id: str) -> None:
    logger.thread_safe_append_keys(tenant_id=tenant_id)
    _metrics().add_metadata(key="tenant_id", value=tenant_id)


def count(name: str, value: int = 1) -> None:
    if value:
        _metrics().add_metric(name, value)


def money(name: str, amount: str | None, currency: str | None) -> None:
    """An amount in cents (exact: an integer), one metric per currency."""
    if amount is None or not currency:
        return
    cents = int(Decimal(amount) * 100)
    if cents:
        _metrics().print_line({name: [float(cents)]}, {"currency": currency})  # a line of its own: its dimension


def flush() -> None:
    """Prints the invocation's metrics (one EMF line) and clears them."""
    metrics = _metrics()
    metrics.flush_metrics()
    metrics.clear_metrics()


def entry_point(handler):
    """A Lambda handler that does not go through api.handler (the authorizer, the export worker):
    its log context from the event and the context, its metrics flushed at the end."""

    @functools.wraps(handler)
    def run(event: dict, context=None):
        request_context = event.get("requestContext") or {}
        job = event.get("export_job") or {}
        begin(context, request_context.get("requestId") or job.get("export_id"), job.get("tenant_id"))
        try:
            return handler(event, context)
        finally:
            flush()

    return run


# ---------------------------------------------------------------- business figures of the answers


def sessions_uploaded(results: list[dict]) -> None:
    """Upload answers (single or batch items): recorded (an agent's repeat included), below the
    minimum, refused."""
    count("SessionUploads", len(results))
    count("SessionsRecorded", sum(1 for r in results if r.get("recorded")))
    count("SessionsBelowMinimum", sum(1 for r in results if r.get("reason") == "below_minimum_duration"))
    count("SessionsRefused", sum(1 for r in results if "error" in r))


def sessions_locked(sessions: int, minutes: int, costs: list[dict]) -> None:
    count("SessionsLocked", sessions)
    count("MinutesAccounted", minutes)
    for cost in costs:
        money("AmountAccountedCents", cost.get("amount"), cost.get("currency"))


def session_lock_answered(session: dict, began: datetime) -> None:
    """A lock answer counts when this request locked it (locked_at not before the request began),
    not when it repeats an earlier lock (idempotent: same answer, nothing deducted)."""
    if session.get("locked_at") and datetime.fromisoformat(session["locked_at"]) >= began:
        sessions_locked(1, session["billed_minutes"], [{"amount": session["cost"], "currency": session["currency"]}])


def export_done(rows: int, job: bool = False) -> None:
    count("ExportJobsSucceeded" if job else "ExportsCreated")
    count("ExportRows", rows)
