"""Sessions from the remote-support tools MSPs already use: a tool's own export (see `imports/`)
recorded through the one recording path (recording.py), each connection once.

A connection is keyed on (source, the tool's own id): its session_id is `<source>:<id>` (a hash
of the id when that would not be a valid session id). Importing the same export again writes
nothing: the sessions are read first (consistent BatchGetItem, 100 per call) and a stored one is
a duplicate when the row says what it said, a conflict when the row changed; only the others go
to recording, whose conditional writes still decide a race with a concurrent import.

Mapping: the tool's group name through `group_mapping`, else the group of that exact name, else
the request's `group_id`, else the computer's group in the address book; the device name is the
computer_id as given; the tool's user name is the technician unless `technician_mapping` names
another."""
import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable

from . import fields, imports, recording
from .dal import address_book
from .dal import recording as stored
from .errors import InvalidInput
from .imports.reading import Connection, Options, Rejected

IMPORT_FIELDS = ("source", "content", "upload_id", "group_id", "group_mapping", "technician_mapping", "time_zone", "columns")
OPTION_FIELDS = ("source", "group_id", "group_mapping", "technician_mapping", "time_zone", "columns")
MAX_CONTENT_BYTES = 5 * 1024 * 1024
MAX_MAPPING = 1000
MAX_LISTED = 1000  # rejected and conflict lines an answer lists (the counts are always whole)
CHUNK = 500  # connections per read-then-record round
SYNC_SECONDS = 20.0  # inside API Gateway's 30 s; the rest of a longer import goes on in a job
ZONED = {"splashtop"}  # tools that write the account's local time with no offset


@dataclass
class ImportOptions:
    source: str
    group_id: str | None = None
    group_mapping: dict = field(default_factory=dict)
    technician_mapping: dict = field(default_factory=dict)
    time_zone: str | None = None
    columns: dict | None = None

    def reading(self) -> Options:
        from zoneinfo import ZoneInfo

        return Options(time_zone=ZoneInfo(self.time_zone) if self.time_zone else None, zone_name=self.time_zone,
                       columns=self.columns)

    def state(self) -> dict:
        return {"source": self.source, "group_id": self.group_id, "group_mapping": self.group_mapping,
                "technician_mapping": self.technician_mapping, "time_zone": self.time_zone, "columns": self.columns}


def _mapping(name: str, value, check_target: Callable[[str, object], str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(name, "must be an object {the tool's name: ours}")
    if len(value) > MAX_MAPPING:
        raise InvalidInput(name, f"must hold at most {MAX_MAPPING} names")
    for key, target in value.items():
        try:
            fields.name(name, key)
        except InvalidInput as refused:
            raise InvalidInput(name, f"a key (a name in the tool) {refused.reason}") from None
        try:
            check_target(name, target)
        except InvalidInput as refused:
            raise InvalidInput(name, f"the value of {json.dumps(key)[:80]} {refused.reason}") from None
    return dict(value)


def parse_options(values: dict) -> ImportOptions:
    """The request's options (every field but `content` and `upload_id`), each checked by name."""
    source = values.get("source")
    if not isinstance(source, str) or source not in imports.SOURCES:
        raise InvalidInput("source", "must be one of " + ", ".join(imports.SOURCES))
    zone = values.get("time_zone")
    if zone is not None:
        zone = fields.time_zone("time_zone", zone)
    elif source in ZONED:
        raise InvalidInput("time_zone", f"is required for {source}: its export writes the account's local time")
    columns = values.get("columns")
    if source == "generic":
        columns = imports.reader("generic").columns_option(columns)
    elif columns is not None:
        raise InvalidInput("columns", "is only for the generic source (a tool's own export has its known columns)")
    return ImportOptions(
        source=source,
        group_id=None if values.get("group_id") is None else fields.identifier("group_id", values["group_id"]),
        group_mapping=_mapping("group_mapping", values.get("group_mapping"), fields.identifier),
        technician_mapping=_mapping("technician_mapping", values.get("technician_mapping"), fields.name),
        time_zone=zone,
        columns=columns,
    )


def content_text(values: dict) -> str:
    content = values.get("content")
    if not isinstance(content, str) or not content.strip():
        raise InvalidInput("content", "must be the tool's export as text (CSV, or the JSON its API answered)")
    check_text(content)
    if len(content) > MAX_CONTENT_BYTES or len(content.encode("utf-8", "surrogatepass")) > MAX_CONTENT_BYTES:
        raise InvalidInput("content", f"is larger than {MAX_CONTENT_BYTES} bytes: upload it to POST /v1/imports/uploads")
    return content


def check_text(content: str) -> None:
    """Text a tool exports never holds a NUL or a lone UTF-16 surrogate (no file can encode one)."""
    if "\x00" in content:
        raise InvalidInput("content", "must be text: it holds a NUL character")
    if fields.has_surrogate(content):
        raise InvalidInput("content", "must not contain a lone UTF-16 surrogate (not valid Unicode text)")


def session_id_of(source: str, vendor_id: str) -> str:
    candidate = f"{source}:{vendor_id}"
    try:
        return fields.identifier("session_id", candidate)
    except InvalidInput:
        return f"{source}:h-{hashlib.sha256(vendor_id.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


@dataclass
class Summary:
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    below_minimum: int = 0
    conflicts: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    conflict_count: int = 0
    rejected_count: int = 0

    def reject(self, line: int, field_name: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append({"line": line, "field": field_name, "reason": reason})

    def conflict(self, line: int, session_id: str, reason: str) -> None:
        self.conflict_count += 1
        if len(self.conflicts) < MAX_LISTED:
            self.conflicts.append({"line": line, "session_id": session_id, "reason": reason})

    def view(self) -> dict:
        return {"rows": self.rows, "imported": self.imported, "duplicates": self.duplicates,
                "conflicts": self.conflicts, "below_minimum": self.below_minimum, "rejected": self.rejected,
                "conflict_count": self.conflict_count, "rejected_count": self.rejected_count}

    @classmethod
    def from_view(cls, view: dict) -> "Summary":
        return cls(**view)


class Importer:
    """Records a tool's connections for one tenant, chunk by chunk, into one Summary."""

    def __init__(self, tenant_id: str, options: ImportOptions, actor: str | None, summary: Summary | None = None):
        self.tenant_id, self.options, self.actor = tenant_id, options, actor
        self.summary = summary or Summary()
        self.columns = imports.reader(options.source).FIELDS if options.source != "generic" else {
            **options.columns, "group": options.columns.get("group", "group")}
        self._named_groups: dict[str, str] | None = None

    def parse(self, content: str) -> imports.Parsed:
        return imports.reader(self.options.source).parse(content, self.options.reading())

    def field_name(self, ours: str) -> str:
        """Our field as the tool's export names it (a rejected line speaks the file's language)."""
        return self.columns.get(ours, ours)

    def rejected(self, rejected: list[Rejected]) -> None:
        for line in rejected:
            self.summary.reject(line.line, line.field, line.reason)

    def _group_of(self, connection: Connection) -> str | None:
        name = connection.group
        if name:
            if name in self.options.group_mapping:
                return self.options.group_mapping[name]
            if self._named_groups is None:  # read once, only when an export names a group we must look up
                self._named_groups = {}
                for group in address_book.groups(self.tenant_id):
                    self._named_groups.setdefault(group.name, group.group_id)
            if name in self._named_groups:
                return self._named_groups[name]
        return self.options.group_id

    def upload_of(self, connection: Connection) -> dict:
        upload = {
            "session_id": session_id_of(self.options.source, connection.vendor_id),
            "technician": self.options.technician_mapping.get(connection.technician, connection.technician),
            "computer_id": connection.computer,
            "started_at": fields.utc_text(connection.started_at),
            "ended_at": fields.utc_text(connection.ended_at),
            "notes": connection.notes,
        }
        group_id = self._group_of(connection)
        if group_id is not None:
            upload["group_id"] = group_id
        return upload

    def record(self, connections: list[Connection], out_of_time: Callable[[], bool] = lambda: False) -> int:
        """Records the connections CHUNK at a time (one consistent read of what is stored first);
        stops between two chunks once `out_of_time()`. Answers how many it went through."""
        done = 0
        for chunk in recording.chunks(connections, CHUNK):
            if out_of_time():
                break
            self._record_chunk(chunk)
            self.summary.rows += len(chunk)
            done += len(chunk)
        return done

    def _record_chunk(self, chunk: list[Connection]) -> None:
        fresh: list[tuple[Connection, dict, recording.Upload]] = []
        for connection in chunk:
            raw = self.upload_of(connection)
            try:
                fresh.append((connection, raw, recording.parse_upload(raw)))
            except InvalidInput as error:
                self.summary.reject(connection.line, self.field_name(error.field), error.reason)
        existing = stored.sessions_by_id(self.tenant_id, {upload.session_id for _, _, upload in fresh})
        to_record, seen = [], {}
        for connection, raw, upload in fresh:
            if upload.session_id in seen:  # the export lists one connection twice
                first = seen[upload.session_id]
                if first.fingerprint_for(None) == upload.fingerprint_for(None) and first.group_id == upload.group_id:
                    self.summary.duplicates += 1
                else:
                    self.summary.conflict(connection.line, upload.session_id, "the export lists this connection twice with different content")
                continue
            seen[upload.session_id] = upload
            stored_session = existing.get(upload.session_id)
            if stored_session is None:
                to_record.append((connection, raw))
            elif upload.repeats(stored_session):
                self.summary.duplicates += 1
            else:
                self.summary.conflict(connection.line, upload.session_id, "was imported before with different content")
        if to_record:
            outcomes = recording.record_sessions(self.tenant_id, [raw for _, raw in to_record], self.actor)
            for (connection, raw), outcome in zip(to_record, outcomes):
                self._count(connection, raw, outcome)

    def _count(self, connection: Connection, raw: dict, outcome: recording.Outcome) -> None:
        body = outcome.body
        if outcome.status == 201:
            self.summary.imported += 1
        elif body.get("reason") == recording.BELOW_MINIMUM:
            self.summary.below_minimum += 1
        elif body.get("recorded") is True:  # recorded meanwhile by a concurrent import of the same row
            self.summary.duplicates += 1
        elif body["error"]["code"] == "session_conflict":
            self.summary.conflict(connection.line, raw["session_id"], "was imported before with different content")
        else:
            self.summary.reject(connection.line, self._error_field(body["error"]), body["error"]["message"].split(": ", 1)[-1])

    def _error_field(self, error: dict) -> str:
        if error["code"] == "not_found" or error["message"].startswith("group_id:"):
            return self.field_name("group")  # the group the row maps to does not exist, or none was found
        return self.field_name(error["message"].split(":", 1)[0])


@dataclass
class Answer:
    """An import's answer: `finished` with the summary, or handed to a job (`body` names it)."""

    finished: bool
    body: dict


def import_content(tenant_id: str, values: dict, actor: str | None) -> Answer:
    """POST /v1/imports with `content`: the export read and recorded inside the request for at
    most SYNC_SECONDS; what is left then goes on in a job (the text kept as an upload)."""
    import time

    from .locking import out_of_time

    until = time.monotonic() + SYNC_SECONDS
    options = parse_options(values)
    content = content_text(values)
    importer = Importer(tenant_id, options, actor)
    parsed = importer.parse(content)
    importer.rejected(parsed.rejected)
    importer.summary.rows += len(parsed.rejected)
    done = importer.record(parsed.connections, lambda: out_of_time(until))
    if done == len(parsed.connections):
        return Answer(True, importer.summary.view())
    from . import import_uploads

    return Answer(False, import_uploads.go_on_later(tenant_id, options, content, done, importer.summary, actor))


def refuse_content_and_upload(values: dict) -> None:
    if "content" in values and "upload_id" in values:
        raise InvalidInput("upload_id", "give either content (the export as text) or upload_id (an uploaded file), not both")
    if "content" not in values and "upload_id" not in values:
        raise InvalidInput("content", "is required (or upload_id of a file uploaded first)")
