"""The export worker: finishes, asynchronously (Lambda Event invocation by the export function),
an export that needs longer than API Gateway's 30 seconds. Not reachable over HTTP."""
from billing_core import exports


def lambda_handler(event: dict, context=None) -> dict:
    return exports.run_export(event)
