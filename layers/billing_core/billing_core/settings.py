"""The one place that reads the environment. Read at call time, never at import time:
tests and the local stack point the same code at other tables and endpoints."""
import os

DEFAULT_REGION = "us-east-1"


def table_name() -> str:
    return os.environ.get("TABLE_NAME", "billing")


def exports_bucket() -> str:
    return os.environ.get("EXPORTS_BUCKET", "billing-exports")


def aws_endpoint_url() -> str | None:
    """Set for the local stack and moto; unset in AWS."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def export_url_ttl_seconds() -> int:
    return int(os.environ.get("EXPORT_URL_TTL_SECONDS", "900"))


def retry_budget_seconds() -> float:
    """How long one request may spend retrying transient store failures before it answers 503
    `retry`: well inside the functions' 29 s timeout, leaving time to answer."""
    return float(os.environ.get("RETRY_BUDGET_SECONDS", "8"))


def service_name() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or "billing"


def metrics_namespace() -> str:
    """CloudWatch namespace of the business and health metrics (EMF)."""
    return os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "RemoteSupportBilling"


def event_bus_name() -> str:
    """The EventBridge bus the outbox publisher puts business events on."""
    return os.environ.get("EVENT_BUS_NAME", "default")


def lock_all_request_seconds() -> float:
    """How long a lock-all request locks before it hands the rest to a job (answered 202): well
    inside API Gateway's 30 s, leaving time for the job's record and the answer."""
    return float(os.environ.get("LOCK_ALL_REQUEST_SECONDS", "20"))


def jobs_queue_url() -> str | None:
    """The SQS queue of long jobs (billing_core.jobs), read by the job worker function. Unset in
    the local stack and the tests: jobs go to the queue installed with jobs.use_queue."""
    return os.environ.get("JOBS_QUEUE_URL") or None


def index_settle_seconds() -> float:
    """How long after a moment the indexes are trusted to show every item written before it
    (DynamoDB's global secondary indexes are eventually consistent): lock-all reads its index
    only this long after its cutoff."""
    return float(os.environ.get("INDEX_SETTLE_SECONDS", "1.0"))


def jobs_max_receives() -> int:
    """JobsQueue's maxReceiveCount: the receive on which a failing job is ended as failed."""
    return int(os.environ.get("JOBS_MAX_RECEIVES", "5"))


def jobs_dead_letter_arn() -> str | None:
    """JobsDeadLetterQueue's ARN: its records reach the worker to end their jobs as failed."""
    return os.environ.get("JOBS_DEAD_LETTER_ARN") or None


def jobs_first_retry_seconds() -> float:
    """How soon a failed job worker's message is received again (doubled at each receive)."""
    return float(os.environ.get("JOBS_FIRST_RETRY_SECONDS", "10"))


def import_pull_function_arn() -> str | None:
    """The pull function a connection's schedule invokes (template: ImportPullFunction). Unset in the
    local stack and the tests: connections are stored, and pulled when asked, not scheduled."""
    return os.environ.get("IMPORT_PULL_FUNCTION_ARN") or None


def import_scheduler_role_arn() -> str | None:
    """The role EventBridge Scheduler assumes to invoke the pull function (template: ImportSchedulerRole)."""
    return os.environ.get("IMPORT_SCHEDULER_ROLE_ARN") or None
