"""The export worker: finishes, asynchronously (Lambda Event invocation by the export function),
an export that needs longer than API Gateway's 30 seconds. Not reachable over HTTP."""
from billing_core import exports, observability


@observability.entry_point
def lambda_handler(event: dict, context=None) -> dict:
    try:
        done = exports.run_export(event)
    except Exception:
        observability.count("ExportJobsFailed")
        raise  # the event and its error go to the failure destination (ExportDeadLetterQueue)
    observability.export_done(done["rows"], job=True)
    return done
