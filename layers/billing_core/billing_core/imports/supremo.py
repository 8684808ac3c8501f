"""Supremo (the reference product): the report CSV of Supremo Console (Remote Support > Reports,
exported).

Source: Supremo, "How the Reports work" (supremocontrol.com/support/tutorial/
come-funzionano-i-report-online, also in English, French, German and Spanish): reports collect
the outgoing remote connections made with Supremo, can be filtered and exported, and are grouped
by group, computer, Supremo ID, the user who connected, and dates. The page shows no header row
or sample file: the headers read here ("Group", "Computer", "Supremo ID", "User", "Start",
"End", "Notes", with the English and Italian aliases below) are this project's reading of it,
said so in the test fixture. Times without an offset are read in `time_zone`. Supremo's
report has no connection id: a connection's key is derived from its computer, user and start.

Mapping: computer = the computer's name (else its Supremo ID); technician = the user; group =
the Supremo group."""
from .reading import Options, Parsed, columns_of, csv_connections, read_csv

TOOL = "a Supremo report (CSV)"
FIELDS = {"started_at": "Start", "ended_at": "End", "computer_id": "Computer", "technician": "User",
          "notes": "Notes", "group": "Group"}
ALIASES = {
    "vendor_id": ("Connection ID", "Session ID"),
    "started_at": ("Start", "Start Date", "Inizio", "Data inizio"),
    "ended_at": ("End", "End Date", "Fine", "Data fine"),
    "computer": ("Computer", "Computer Name", "Supremo ID", "ID Supremo"),
    "technician": ("User", "Utente", "Operator", "Operatore"),
    "group": ("Group", "Gruppo"),
    "notes": ("Notes", "Note"),
}


def parse(content: str, options: Options) -> Parsed:
    table = read_csv(content, TOOL)
    return csv_connections(table, columns_of(table, TOOL, ALIASES), options)
