"""ConnectWise ScreenConnect: the session report as CSV (the session connections of its report
manager: one row per connection of a host or guest to a session).

Sources: ScreenConnect's reporting (Administration > Report Manager, and the `Report.csv`
download it serves) names the fields of a session connection `SessionID`, `ConnectionID`,
`Host` (the technician hosting the session), `GuestMachineName` (the remote computer),
`ParticipantName`, `ConnectedTime` and `DisconnectedTime`, and the session's custom properties
`CustomProperty1`... (MSPs commonly keep the company in the first). The search tools available
to this project found no public page of ScreenConnect's with a sample report, so the headers
read here are those field names (plus their spaced forms, "Session ID"); the test fixture is
built from them and says so. Its times are UTC as the report writes them (no offset): a
request's `time_zone` overrides that.

Mapping: `ConnectionID` is the key when the report has that column (an access session has many
connections), else `SessionID`; `GuestMachineName` the computer; `Host` (else
`ParticipantName`) the technician; `CustomProperty1` (or `Company`) the vendor's group;
`Notes` the notes."""
from zoneinfo import ZoneInfo

from .reading import Options, Parsed, columns_of, csv_connections, read_csv, required_column

TOOL = "a ScreenConnect session report (CSV)"
FIELDS = {"session_id": "SessionID", "started_at": "ConnectedTime", "ended_at": "DisconnectedTime",
          "computer_id": "GuestMachineName", "technician": "Host", "notes": "Notes", "group": "CustomProperty1"}
ALIASES = {
    "vendor_id": ("ConnectionID", "Connection ID"),
    "started_at": ("ConnectedTime", "Connected Time", "Connected"),
    "ended_at": ("DisconnectedTime", "Disconnected Time", "Disconnected"),
    "computer": ("GuestMachineName", "Guest Machine Name", "Guest Machine"),
    "technician": ("Host", "ParticipantName", "Participant Name"),
    "group": ("CustomProperty1", "Company"),
    "notes": ("Notes", "Note"),
}


def parse(content: str, options: Options) -> Parsed:
    table = read_csv(content, TOOL)
    session = required_column(table, TOOL, "SessionID", "Session ID")
    columns = columns_of(table, TOOL, ALIASES)
    columns.vendor_id = columns.vendor_id or session  # a connection's id where the report has it
    return csv_connections(table, columns, options, naive_zone=ZoneInfo("UTC"))
