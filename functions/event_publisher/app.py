"""The outbox's publisher: the table's stream hands it the event items that transactions
inserted; it puts them on the EventBridge bus. At least once: a failed batch is retried by the
stream (bisected, then sent to the failure queue), and every event keeps its `event_id`."""
from billing_core import events, observability, settings

_client = None


def _eventbridge():
    global _client
    if _client is None:
        import boto3  # only this function pays for it

        _client = boto3.client("events")
    return _client


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
