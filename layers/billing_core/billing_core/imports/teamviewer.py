"""TeamViewer: the connection report of its web API, `GET /api/v1/reports/connections`.

Source: TeamViewer "API Documentation" (the web API manual, chapter "Reporting", section
"Connection reports"; https://webapi.teamviewer.com/api/v1/docs/index). The answer is a JSON
object `{"records": [...], "records_remaining": n, "next_offset": "..."}`; each record carries
`id` (the connection's id), `userid`, `username` (the TeamViewer account that connected),
`deviceid`, `devicename` (the device connected to), `groupid`, `groupname` (its group in the
Computers & Contacts list), `start_date` and `end_date` (ISO 8601, UTC), `fee`, `currency`,
`billing_state`, `notes` and `contact_id`. Pages past the first are asked for with
`offset_id=<next_offset>`: an import takes one page or several pages' records concatenated.

Mapping: `id` is the connection's key; `devicename` (else `deviceid`) the computer;
`username` the technician; `groupname` the vendor's group; `notes` the notes."""
from .reading import Options, Parsed, RowError, connection, each_row, json_document, moment, not_this_format, records, text, vendor_id

TOOL = "a TeamViewer connection report (the web API's JSON)"
FIELDS = {"session_id": "id", "started_at": "start_date", "ended_at": "end_date", "computer_id": "devicename",
          "technician": "username", "notes": "notes", "group": "groupname"}


def _records(document) -> list:
    if isinstance(document, dict) and isinstance(document.get("records"), list):
        return document["records"]
    if isinstance(document, list) and all(isinstance(page, dict) and isinstance(page.get("records"), list) for page in document):
        return [record for page in document for record in page["records"]]  # several pages, as answered
    raise not_this_format(TOOL, 'expected an object with a "records" list')


def _read(line: int, record) -> object:
    if not isinstance(record, dict):
        raise RowError("record", "must be a JSON object")
    computer = record.get("devicename") if text("devicename", record.get("devicename"), required=False) else record.get("deviceid")
    return connection(
        line,
        vendor_id=vendor_id("id", record.get("id")),
        started_at=moment("start_date", record.get("start_date")),
        ended_at=moment("end_date", record.get("end_date")),
        computer=text("devicename", computer),
        technician=text("username", record.get("username")),
        group=text("groupname", record.get("groupname"), required=False),
        notes=text("notes", record.get("notes"), required=False),
        end_field="end_date",
    )


def parse(content: str, options: Options) -> Parsed:
    return each_row(records(_records(json_document(content, TOOL))), _read)
