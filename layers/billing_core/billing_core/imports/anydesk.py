"""AnyDesk: the sessions of its REST API (my.anydesk), `GET /sessions`.

Sources: AnyDesk "my.anydesk I REST API" (https://support.anydesk.com/docs/rest-api: the API
serves the session history of a chosen time range, "to automate billing or collect session
logs"; its full reference is in the customer portal) and AnyDesk's own open-source Python module
it links to (github.com/anydeskgitofficial/rest-api, `anydesk/api.py`), which reads the answer
as `{"list": [...]}`, each session with `sid`, `from` and `to` (each `{"cid", "alias"}`: the
client that connected and the one connected to), `active`, `start-time` and `end-time` (Unix
seconds), `duration` and `comment`.

Mapping: `sid` is the connection's key; `to` (its alias, else its client id) the computer;
`from` (its alias, else its client id) the technician; `comment` the notes. AnyDesk sessions
carry no group: the computer's group in the address book, or the request's `group_id`.
A session still `active` has no end yet: it is a rejected line until a later import."""
from .reading import Options, Parsed, RowError, connection, each_row, epoch, json_document, not_this_format, records, text, vendor_id

TOOL = "AnyDesk sessions (the REST API's JSON)"
FIELDS = {"session_id": "sid", "started_at": "start-time", "ended_at": "end-time", "computer_id": "to",
          "technician": "from", "notes": "comment"}


def _records(document) -> list:
    if isinstance(document, dict) and isinstance(document.get("list"), list):
        return document["list"]
    raise not_this_format(TOOL, 'expected an object with a "list" of sessions')


def _client(field_name: str, value) -> str:
    """A client as the session names it: its alias, else its numeric client id."""
    if not isinstance(value, dict):
        raise RowError(field_name, 'must be an object {"cid", "alias"}')
    alias = text(f"{field_name}.alias", value.get("alias"), required=False)
    return alias or text(f"{field_name}.cid", value.get("cid"))


def _read(line: int, record) -> object:
    if not isinstance(record, dict):
        raise RowError("session", "must be a JSON object")
    sid = vendor_id("sid", record.get("sid"))
    if record.get("active") is True or record.get("end-time") in (None, ""):
        raise RowError("end-time", "the session is still active (no end yet)")
    return connection(
        line,
        vendor_id=sid,
        started_at=epoch("start-time", record.get("start-time")),
        ended_at=epoch("end-time", record.get("end-time")),
        computer=_client("to", record.get("to")),
        technician=_client("from", record.get("from")),
        group=None,
        notes=text("comment", record.get("comment"), required=False),
        end_field="end-time",
    )


def parse(content: str, options: Options) -> Parsed:
    return each_row(records(_records(json_document(content, TOOL))), _read)
