"""Business events through a transactional outbox (SPEC §10): an event item is written in the
same transaction as its cause (a lock that takes a balance below an alert threshold), so it
exists exactly when its cause does. The table's stream hands new event items to a publisher that
puts them on the EventBridge bus, at least once; each carries its stable `event_id`, so consumers
de-duplicate. `GET /v1/events?after=` lists a tenant's events (how the local stack shows them)."""
import base64
import binascii
import json
import secrets
from datetime import datetime

from . import fields, jsonio
from .dal import events as stored
from .errors import InvalidInput

THRESHOLD_CROSSED = "balance.threshold_crossed"
SOURCE = "remote-support-billing"
PAGE = 100


def threshold_crossed(tenant_id: str, group_id: str, contract_id: str, at: datetime, crossing: dict):
    """The outbox's event of a threshold crossed, to be written in the lock's transaction."""
    return stored.new_event(tenant_id, f"evt_{secrets.token_hex(10)}", THRESHOLD_CROSSED, at, group_id, contract_id,
                            jsonio.dumps(crossing))


def event_view(event) -> dict:
    return {
        "event_id": event.event_id,
        "type": event.type,
        "at": fields.utc_text(event.at),
        "group_id": event.group_id,
        "contract_id": event.contract_id,
        "detail": json.loads(event.detail),
    }


def _cursor(value, tenant_id: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        if isinstance(position, dict) and set(position) == {"after"} and isinstance(position["after"], str) \
                and len(position["after"]) < 200 and "#evt_" in position["after"]:
            return position["after"]
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput("after", "is not a cursor this list gave")


def list_events(tenant_id: str, query: dict) -> dict:
    """The tenant's events, oldest first, after a cursor (`next_cursor` of the previous page)."""
    unknown = sorted(set(query) - {"after", "limit"})
    if unknown:
        raise InvalidInput(unknown[0], "is not a parameter of this list")
    limit = fields.page_limit(query.get("limit"), PAGE)
    after = _cursor(query.get("after"), tenant_id)
    found = stored.events_after(tenant_id, after, limit + 1)
    page = found[:limit]
    last = page[-1].SK if page else after
    return {
        "events": [event_view(event) for event in page],
        # a cursor even on the last page: the next call with it answers only newer events
        "next_cursor": base64.urlsafe_b64encode(json.dumps({"after": last}).encode()).decode().rstrip("=") if last else None,
    }


def entries_to_publish(records: list[dict]) -> list[dict]:
    """EventBridge entries for the event items a DynamoDB stream batch inserted."""
    entries = []
    for record in records:
        event = stored.from_stream(((record.get("dynamodb") or {}).get("NewImage")) or {})
        if record.get("eventName") != "INSERT" or event is None:
            continue
        tenant_id = event.PK[2:-len("#EVENTS")]
        entries.append({
            "Source": SOURCE,
            "DetailType": event.type,
            "Time": event.at,
            "Detail": jsonio.dumps({**event_view(event), "tenant_id": tenant_id}),
        })
    return entries
