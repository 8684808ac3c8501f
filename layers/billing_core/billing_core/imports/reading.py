"""What every reader of a tool's export shares: the connection it yields, the rejected line,
CSV text as spreadsheets and tools write it (a byte-order mark, `,` `;` or tab between cells,
Excel's `sep=` line), timestamps in UTC or in a local time zone (DST-safe: a wall-clock time the
zone's clocks skip or repeat is refused, naming the field), and the checks of one row."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # zoneinfo is loaded by a request that names a zone (its load is not a cold start's)
    from zoneinfo import ZoneInfo

from ..errors import InvalidInput

MAX_TEXT = 200  # a vendor's name of a device, user or group longer than this is refused by the row


@dataclass
class Connection:
    """One connection as the tool recorded it; `line` is the CSV line or the JSON record (1-based)."""

    line: int
    vendor_id: str
    started_at: datetime
    ended_at: datetime
    computer: str
    technician: str
    group: str | None = None
    notes: str = ""


@dataclass
class Rejected:
    line: int
    field: str
    reason: str

    def view(self) -> dict:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass
class Parsed:
    connections: list[Connection] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


@dataclass
class Options:
    """What the request says about the export: the zone its local times are in, and for the
    generic CSV which header holds which field."""

    time_zone: ZoneInfo | None = None
    zone_name: str | None = None
    columns: dict | None = None


class RowError(Exception):
    """One row cannot be read: `field` is the tool's own name of the field at fault."""

    def __init__(self, field_name: str, reason: str):
        super().__init__(f"{field_name}: {reason}")
        self.field, self.reason = field_name, reason


def not_this_format(tool: str, why: str) -> InvalidInput:
    return InvalidInput("content", f"is not {tool}: {why}")


# ------------------------------------------------------------------------------------------ CSV

_DELIMITERS = (",", ";", "\t")


def _delimiter(header_line: str) -> str:
    """The delimiter of a CSV from its header line: the one that splits it most (outside quotes)."""
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    return max(_DELIMITERS, key=unquoted.count)


def header_key(name: str) -> str:
    """A header as compared: case, spaces, dashes and underscores do not count ("Session ID" = "session_id")."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


@dataclass
class CsvTable:
    headers: list[str]
    rows: list[tuple[int, dict]]  # (line number of the row's first line, {header: cell})

    def column(self, *names: str) -> str | None:
        """The header among `names` (its aliases) this file has, as the file spells it."""
        keys = {header_key(h): h for h in self.headers}
        for name in names:
            if header_key(name) in keys:
                return keys[header_key(name)]
        return None


def read_csv(content: str, tool: str) -> CsvTable:
    """The rows of a CSV export: BOM, `sep=` line and delimiter handled; a row's line is the line
    of the file it starts on (a quoted cell may span lines)."""
    text = content[1:] if content.startswith("\ufeff") else content
    lines = text.splitlines(keepends=True)
    skipped = 0
    while lines and not lines[0].strip():
        lines.pop(0)
        skipped += 1
    if not lines:
        raise not_this_format(tool, "the file is empty")
    first = lines[0].strip()
    if re.fullmatch(r'"?sep=(.)"?', first, flags=re.IGNORECASE):  # Excel's hint line, as AnyDesk's own CSV writes it
        delimiter = re.fullmatch(r'"?sep=(.)"?', first, flags=re.IGNORECASE).group(1)
        lines.pop(0)
        skipped += 1
    else:
        delimiter = _delimiter(first)
    reader = csv.reader(io.StringIO("".join(lines)), delimiter=delimiter, strict=False)
    try:
        headers = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise not_this_format(tool, "no header row") from None
    rows, start = [], reader.line_num + 1
    try:
        for cells in reader:
            line = start + skipped
            start = reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            rows.append((line, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(headers)}))
    except csv.Error as error:
        raise InvalidInput("content", f"is not readable CSV at line {start + skipped}: {error}") from None
    return CsvTable(headers, rows)


# ------------------------------------------------------------------------------------ the times

_NAIVE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
                  "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def moment(field_name: str, text, options: Options | None = None, *, naive_zone: ZoneInfo | None = None,
           day_first_formats: tuple[str, ...] = ()) -> datetime:
    """A timestamp: ISO 8601 with an offset is read as it says; one without is the wall-clock time
    of `options.time_zone` (else `naive_zone`, else refused). Answered in UTC."""
    if not isinstance(text, str) or not text.strip():
        raise RowError(field_name, "is required")
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        parsed = None
        for pattern in _NAIVE_FORMATS + day_first_formats:
            try:
                parsed = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
        if parsed is None:
            raise RowError(field_name, f"is not a date and time: {value[:40]!r}") from None
    if parsed.tzinfo is not None:
        return _utc(field_name, parsed)
    zone = (options.time_zone if options else None) or naive_zone
    if zone is None:
        raise RowError(field_name, "has no UTC offset: give the export's time_zone")
    return local_to_utc(field_name, parsed, zone)


def local_to_utc(field_name: str, wall: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time of `zone` in UTC. One the clocks repeat (the hour after a DST end) could
    be either of two instants, one they skip (the hour of a DST start) is none: both are refused."""
    early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset():
        if early.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != wall:
            raise RowError(field_name, f"{wall:%Y-%m-%d %H:%M:%S} does not exist in {zone.key} (the clocks skip it)")
        raise RowError(field_name, f"{wall:%Y-%m-%d %H:%M:%S} is ambiguous in {zone.key} (the clocks repeat it)")
    return _utc(field_name, early)


def epoch(field_name: str, value) -> datetime:
    """Unix seconds (an integer, or its decimal text)."""
    if isinstance(value, bool) or value is None or value == "":
        raise RowError(field_name, "is required" if value in (None, "") else "must be Unix seconds")
    try:
        seconds = int(value) if not isinstance(value, str) else int(value.strip())
    except (TypeError, ValueError):
        raise RowError(field_name, "must be Unix seconds") from None
    try:
        return _utc(field_name, datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, OSError, ValueError):
        raise RowError(field_name, "is out of range") from None


def _utc(field_name: str, value: datetime) -> datetime:
    """An aware instant in UTC, within the years a session may have (fields.timestamp's rule)."""
    from .. import fields

    try:
        return fields.timestamp(field_name, value.isoformat())
    except InvalidInput as refused:
        raise RowError(field_name, refused.reason) from None


# ------------------------------------------------------------------------------------- one row

def text(field_name: str, value, *, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(field_name, "is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RowError(field_name, "must be text")
    return str(value).strip()


def vendor_id(field_name: str, value) -> str:
    value = text(field_name, value)
    if len(value) > 512:
        raise RowError(field_name, "is longer than 512 characters")
    return value


def connection(line: int, *, vendor_id: str, started_at: datetime, ended_at: datetime, computer: str, technician: str,
               group: str | None, notes: str, end_field: str) -> Connection:
    """A row's connection once its fields are read: its end may not come before its start."""
    if ended_at < started_at:
        raise RowError(end_field, "is before the connection's start")
    return Connection(line, vendor_id, started_at, ended_at, computer, technician, group or None, notes)


def each_row(items, read) -> Parsed:
    """`read(line, item) -> Connection` over (line, item) pairs; a RowError is the line's rejection."""
    parsed = Parsed()
    for line, item in items:
        try:
            parsed.connections.append(read(line, item))
        except RowError as error:
            parsed.rejected.append(Rejected(line, error.field, error.reason))
    return parsed


def records(items) -> Iterator[tuple[int, object]]:
    """JSON records numbered from 1, as their rejections name them."""
    return enumerate(items, start=1)


def json_document(content: str, tool: str):
    """The JSON a tool's web API answered (a BOM before it tolerated)."""
    import json

    text_ = content[1:] if content.startswith("\ufeff") else content
    try:
        return json.loads(text_)
    except (ValueError, RecursionError):
        raise not_this_format(tool, "it is not JSON") from None


@dataclass
class CsvColumns:
    """Which header of a CSV holds each field (None: the file has no such column)."""

    vendor_id: str | None
    started_at: str
    ended_at: str
    computer: str
    technician: str
    group: str | None = None
    notes: str | None = None


def derived_id(computer: str, technician: str, started_at: datetime) -> str:
    """The key of a connection whose tool writes no id: the device, the user and the start, which
    one connection alone has (the same row exported again has the same key)."""
    import hashlib

    identity = f"{computer}\x1f{technician}\x1f{started_at.isoformat()}"
    return "d-" + hashlib.sha256(identity.encode()).hexdigest()[:32]


def csv_connections(table: CsvTable, columns: CsvColumns, options: Options, naive_zone: ZoneInfo | None = None) -> Parsed:
    """The connections of a CSV export's rows; a tool without an id column gets `derived_id`."""

    def read(line: int, row: dict) -> Connection:
        started_at = moment(columns.started_at, row.get(columns.started_at), options, naive_zone=naive_zone)
        ended_at = moment(columns.ended_at, row.get(columns.ended_at), options, naive_zone=naive_zone)
        computer = text(columns.computer, row.get(columns.computer))
        technician = text(columns.technician, row.get(columns.technician))
        if columns.vendor_id is not None:
            key = vendor_id(columns.vendor_id, row.get(columns.vendor_id))
        else:
            key = derived_id(computer, technician, started_at)
        group = text(columns.group, row.get(columns.group), required=False) if columns.group else None
        notes = text(columns.notes, row.get(columns.notes), required=False) if columns.notes else ""
        return connection(line, vendor_id=key, started_at=started_at, ended_at=ended_at, computer=computer,
                          technician=technician, group=group, notes=notes, end_field=columns.ended_at)

    return each_row(table.rows, read)


def required_column(table: CsvTable, tool: str, *names: str) -> str:
    found = table.column(*names)
    if found is None:
        raise not_this_format(tool, f"no {names[0]} column (the header row has {', '.join(table.headers[:12]) or 'nothing'})")
    return found


REQUIRED_COLUMNS = ("started_at", "ended_at", "computer", "technician")


def columns_of(table: CsvTable, tool: str, aliases: dict[str, tuple[str, ...]]) -> CsvColumns:
    """A tool's columns found by their aliases (the first alias is the name a refusal shows):
    `vendor_id`, `group`, `notes` may be missing, the others make the file that tool's."""
    return CsvColumns(**{name: required_column(table, tool, *names) if name in REQUIRED_COLUMNS else table.column(*names)
                         for name, names in aliases.items()})
