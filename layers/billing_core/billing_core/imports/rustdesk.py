"""RustDesk: the connection audit records its clients post to the API server (RustDesk Server
Pro's console lists them under Logs > Connections).

Sources: the RustDesk client's source (github.com/rustdesk/rustdesk, `src/server/connection.rs`,
`post_conn_audit`) posts one record when a connection opens (`"action": "new"`, with `ip`) and
one when it closes (`"action": "close"`), each with `id` (the RustDesk id of the device
connected to), `uuid`, `conn_id` (the connection's number on that device), `session_id`, and
on the new record `peer` (`[the connecting side's id, its name]`) and `type`; and RustDesk
Server Pro's documentation of the web console ("Browse connection logs", rustdesk.com/docs/en/
self-host/rustdesk-server-pro/console). The client sends no time: the API server stamps each
record when it receives it; this reader takes that stamp from `created_at` (ISO 8601 or Unix
seconds). No public document shows the records as the server lists them, so the test fixture
is built from the client's fields with `created_at` added, and says so.

Input: a JSON list of records, or `{"data": [...]}`. A connection is its new and close records
paired by (`id`, `conn_id`, `session_id`); its key is `<id>:<conn_id>:<session_id>`. The
computer is `id`; the technician the peer's name (else its id); no group (the computer's in the
address book, or the request's `group_id`). A connection not closed yet is a rejected line."""
from .reading import (Connection, Options, Parsed, Rejected, RowError, connection, json_document, moment, epoch,
                      not_this_format, records, text)

TOOL = "RustDesk connection audit records (JSON)"
FIELDS = {"session_id": "conn_id", "started_at": "created_at", "ended_at": "created_at", "computer_id": "id",
          "technician": "peer"}


def _records(document) -> list:
    if isinstance(document, dict) and isinstance(document.get("data"), list):
        return document["data"]
    if isinstance(document, list):
        return document
    raise not_this_format(TOOL, 'expected a list of records or an object with a "data" list')


def _stamp(record: dict):
    value = record.get("created_at")
    return epoch("created_at", value) if isinstance(value, int) else moment("created_at", value)


def _key(record: dict) -> tuple[str, str, str]:
    device = text("id", record.get("id"))
    conn_id = text("conn_id", record.get("conn_id"))
    session = text("session_id", record.get("session_id"), required=False)
    return device, conn_id, session


def _peer(record: dict) -> str:
    peer = record.get("peer")
    if not isinstance(peer, list) or not peer:
        raise RowError("peer", "is required: [the connecting side's id, its name]")
    name = text("peer", peer[1], required=False) if len(peer) > 1 else ""
    return name or text("peer", peer[0])


def parse(content: str, options: Options) -> Parsed:
    items = _records(json_document(content, TOOL))
    if items and not any(isinstance(r, dict) and r.get("action") in ("new", "close") for r in items):
        raise not_this_format(TOOL, 'no record has "action": "new" or "close"')
    parsed = Parsed()
    opened: dict[tuple, tuple[int, dict]] = {}
    for line, record in records(items):
        try:
            if not isinstance(record, dict):
                raise RowError("record", "must be a JSON object")
            action = record.get("action")
            if action not in ("new", "close"):
                continue  # other audit records (a heartbeat, a note) are not connections
            key = _key(record)
            if action == "new":
                if key in opened:
                    raise RowError("conn_id", f"opens connection {':'.join(key)} again before it closed")
                _stamp(record), _peer(record)  # refused on the line that holds the fault
                opened[key] = (line, record)
                continue
            if key not in opened:
                raise RowError("conn_id", f"closes connection {':'.join(key)}, which no earlier record opened")
            first_line, first = opened.pop(key)
            parsed.connections.append(_connection(first_line, first, record, key))
        except RowError as error:
            parsed.rejected.append(Rejected(line, error.field, error.reason))
    for line, _ in opened.values():
        parsed.rejected.append(Rejected(line, "action", "the connection has no close record yet"))
    parsed.rejected.sort(key=lambda r: r.line)
    return parsed


def _connection(line: int, new: dict, close: dict, key: tuple) -> Connection:
    return connection(line, vendor_id=":".join(part for part in key if part), started_at=_stamp(new),
                      ended_at=_stamp(close), computer=key[0], technician=_peer(new), group=None,
                      notes=text("note", new.get("note") or close.get("note"), required=False), end_field="created_at")
