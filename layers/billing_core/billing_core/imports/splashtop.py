"""Splashtop: the session log of its web console (my.splashtop.com > Logs > Sessions, "Export as
CSV"), in the account's local time.

Sources: Splashtop support, "Logs" (support-splashtopbusiness.splashtop.com/hc/en-us/articles/
360001692992): session logs list every remote connection with "names and IP addresses of the 2
devices involved, time, user, and duration", can be exported as CSV (up to a year), and "Times
are based on the Time Zone in the Account Info" — hence `time_zone` is required. That page names
the contents but shows no header row and no sample file, and the log has no session id: the
headers read here ("Start Time", "End Time", "User", "Computer", optional "Group" and "Note",
with the aliases below) are this project's reading of it, said so in the test fixture, and a
connection's key is derived from its computer, user and start (the same row exported again has
the same key).

Mapping: computer = the device connected to; technician = the user; group = the computer's
Splashtop group when the export has one."""
from .reading import Options, Parsed, columns_of, csv_connections, read_csv

TOOL = "a Splashtop session log (CSV)"
FIELDS = {"started_at": "Start Time", "ended_at": "End Time", "computer_id": "Computer", "technician": "User",
          "notes": "Note", "group": "Group"}
ALIASES = {
    "vendor_id": ("Session ID", "SessionID"),
    "started_at": ("Start Time", "Session Start", "Start"),
    "ended_at": ("End Time", "Session End", "End"),
    "computer": ("Computer", "Computer Name", "Remote Computer", "Target"),
    "technician": ("User", "Technician", "User Name"),
    "group": ("Group", "Computer Group"),
    "notes": ("Note", "Notes", "Comment"),
}


def parse(content: str, options: Options) -> Parsed:
    table = read_csv(content, TOOL)
    return csv_connections(table, columns_of(table, TOOL, ALIASES), options)
