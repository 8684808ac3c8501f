"""The outbox's publisher: the table's stream hands it the event items that transactions
inserted; it puts them on the EventBridge bus. At least once: a failed batch is retried by the
stream (bisected, then sent to the failure queue), and every event keeps its `event_id`."""
from billing_core import events, observability, settings

_clients: dict = {}  # by endpoint, read at call time: one client for the life of the process in Lambda


def _eventbridge():
    endpoint = settings.aws_endpoint_url()
    if endpoint not in _clients:
        import boto3  # only this function pays for it

        _clients[endpoint] = boto3.client("events", endpoint_url=endpoint, region_name=settings.region())
    return _clients[endpoint]


def lambda_handler(event: dict, context=None) -> dict:
    observability.begin(context, None)
    try:
        entries = events.entries_to_publish(event.get("Records") or [])
        failed = 0
        for start in range(0, len(entries), 10):  # PutEvents takes 10 entries a call
            batch = [{**entry, "EventBusName": settings.event_bus_name()} for entry in entries[start:start + 10]]
            failed += _eventbridge().put_events(Entries=batch).get("FailedEntryCount", 0)
        observability.count("EventsPublished", len(entries) - failed)
        if failed:
            raise RuntimeError(f"{failed} of {len(entries)} events were not accepted by EventBridge; the stream retries the batch")
        return {"published": len(entries)}
    finally:
        observability.flush()
