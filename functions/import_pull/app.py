"""The pull function: invoked by a connection's EventBridge Scheduler schedule with {tenant_id,
connection_id}; pulls and records the tool's new connections until done or shortly before its
timeout (the next run goes on from the saved cursor). Not reachable over HTTP."""
from billing_core import deadline, import_connections, observability

MARGIN_SECONDS = 30


@observability.entry_point
def lambda_handler(event: dict, context=None) -> dict:
    started = deadline.start(context)
    try:
        left = (lambda: context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS) if context else (lambda: 600.0)
        return import_connections.run_pull(event["tenant_id"], event["connection_id"], left)
    finally:
        deadline.stop(started)
