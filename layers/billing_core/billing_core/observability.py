"""Logs and metrics of every function, in one place.

Logs: Powertools' Logger, one JSON line per record, each with the Lambda context (function name,
memory, request id, cold start), the correlation id (the API request id, also in the API's access
log; an export job's id in the worker) and the tenant id once the authorizer's verdict is known.

Metrics: CloudWatch embedded metric format (EMF), printed with the invocation's log lines at its
end; CloudWatch turns them into metrics of namespace RemoteSupportBilling without an API call.
Business figures are counted from the answers the handlers return; health figures where they
happen (`count("ConflictsRetried")` in a retry loop). The tenant id is a log key and EMF metadata,
never a dimension: CloudWatch bills every dimension value as a metric of its own.

Tracer is not used: it imports the X-Ray SDK (~160 ms, 1.8x `import boto3`, docs/operations.md);
the functions' X-Ray segments come from the platform (Tracing: Active)."""
import functools
from datetime import datetime
from decimal import Decimal

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit, single_metric

from . import settings

logger = Logger()  # service from POWERTOOLS_SERVICE_NAME, level from POWERTOOLS_LOG_LEVEL
COUNT = MetricUnit.Count  # minutes and cents too: EMF has no unit for either
_CONTEXT_FIELDS = {  # LambdaContext attribute -> log key (Powertools' names)
    "function_name": "function_name",
    "memory_limit_in_mb": "function_memory_size",
    "invoked_function_arn": "function_arn",
    "aws_request_id": "function_request_id",
}
_cold = True


@functools.lru_cache(maxsize=None)
def _metrics() -> Metrics:
    return Metrics(namespace=settings.metrics_namespace(), service=settings.service_name())


def begin(context, correlation_id: str | None, tenant_id: str | None = None) -> None:
    """Starts an invocation's log context: nothing of the previous invocation is kept."""
    global _cold
    # The keys of one invocation are kept per thread (a context variable), never on the shared
    # logger: the local stack serves requests in threads of one process, and a key set on the
    # logger by one would name its function in another's lines.
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
        _metrics().add_metric(name=name, unit=COUNT, value=value)


def money(name: str, amount: str | None, currency: str | None) -> None:
    """An amount in cents (exact: an integer), one metric per currency."""
    if amount is None or not currency:
        return
    cents = int(Decimal(amount) * 100)
    if cents:
        with single_metric(name=name, unit=COUNT, value=cents, namespace=settings.metrics_namespace(),
                           default_dimensions={"service": settings.service_name()}) as metric:
            metric.add_dimension(name="currency", value=currency)
            for key, value in _metrics().metadata_set.items():
                metric.add_metadata(key=key, value=value)


def flush() -> None:
    """Prints the invocation's metrics (one EMF line) and clears them."""
    metrics = _metrics()
    if metrics.metric_set:
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
