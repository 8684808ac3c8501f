"""Any other tool: a CSV with a header row, whose headers the request names in `columns`
(`{session_id, started_at, ended_at, computer_id, technician, group?, notes?}`). Timestamps
with an offset are read as they say; without one, in `time_zone`."""
from ..errors import InvalidInput
from .reading import CsvColumns, Options, Parsed, csv_connections, read_csv

TOOL = "a CSV with the named columns"
REQUIRED = ("session_id", "started_at", "ended_at", "computer_id", "technician")
OPTIONAL = ("group", "notes")


def columns_option(value) -> dict:
    """The request's `columns`: each of our fields → the header that holds it."""
    if not isinstance(value, dict):
        raise InvalidInput("columns", "is required for the generic source: an object naming the header of "
                                      + ", ".join(REQUIRED) + " (and optionally group, notes)")
    for name in value:
        if name not in REQUIRED + OPTIONAL:
            raise InvalidInput(f"columns.{name}", "is not a field of a session: " + ", ".join(REQUIRED + OPTIONAL))
    for name in REQUIRED:
        if name not in value:
            raise InvalidInput(f"columns.{name}", "is required: the header that holds it")
    for name, header in value.items():
        if not isinstance(header, str) or not header.strip() or len(header) > 200:
            raise InvalidInput(f"columns.{name}", "must be a header of 1 to 200 characters")
    return value


def parse(content: str, options: Options) -> Parsed:
    names = columns_option(options.columns)
    table = read_csv(content, TOOL)
    if not any(table.column(header) for header in names.values()):
        raise InvalidInput("content", "is not " + TOOL + ": its header row has none of the headers columns names")

    def header(name: str) -> str | None:
        if name not in names:
            return None
        found = table.column(names[name])
        if found is None:
            raise InvalidInput(f"columns.{name}", f"names {names[name]!r}, which the file's header row does not have")
        return found

    columns = CsvColumns(vendor_id=header("session_id"), started_at=header("started_at"), ended_at=header("ended_at"),
                         computer=header("computer_id"), technician=header("technician"), group=header("group"),
                         notes=header("notes"))
    return csv_connections(table, columns, options)
