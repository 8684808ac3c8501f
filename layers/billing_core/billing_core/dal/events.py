"""The outbox's events in the table: one partition per tenant, sorted by instant and id."""
from datetime import datetime

from .. import fields
from . import store
from .models import Event, keys


def new_event(tenant_id: str, event_id: str, event_type: str, at: datetime, group_id: str | None, contract_id: str | None,
              detail: str) -> Event:
    """An event item, to be written in the transaction of its cause (`detail` as JSON)."""
    return Event(keys.events(tenant_id), f"{fields.sortable_utc(at)}#{event_id}", event_id=event_id, type=event_type, at=at,
                 group_id=group_id, contract_id=contract_id, detail=detail)


def events_after(tenant_id: str, after: str | None, limit: int) -> list[Event]:
    """Up to `limit` of the tenant's events after the position `after`, oldest first (strongly consistent)."""
    condition = Event.SK > after if after else None
    return list(store.query(Event, keys.events(tenant_id), range_key_condition=condition, limit=limit, consistent_read=True))


def from_stream(image: dict) -> Event | None:
    """An event item as the table's stream hands it (a new image), or None for another item."""
    return Event.from_raw_data(image) if image.get("kind", {}).get("S") == "event" else None
