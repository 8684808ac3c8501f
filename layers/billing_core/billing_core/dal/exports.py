"""Exports in the table: the Export record (`T#<tenant>#X#<export_id>`, "EXPORT": what
`GET /v1/exports/{export_id}` reads, removed by TTL after the longest link), and the reads an
export makes beside its search: the tenant's clients a page at a time, the names of computers
and profiles, and the positions a search goes on from (an index's exclusive start key)."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import fields
from . import models, store
from .models import Computer, Export, Group, ProfileVersion, keys

RECORD_DAYS = 8  # the record outlives the longest link (7 days)


@dataclass(frozen=True)
class ExportRecord:
    export_id: str
    group_id: str | None
    key: str
    status: str
    rows: int
    job_id: str | None
    file_name: str | None
    created_at: datetime
    link_ttl_seconds: int | None


def put_export(tenant_id: str, export_id: str, group_id: str | None, key: str, status: str, rows: int,
               job_id: str | None, file_name: str | None, actor: str | None, link_ttl_seconds: int) -> None:
    """Writes the record as it now stands (a plain put: the same put again changes nothing)."""
    now = fields.utc_now()
    record = Export(keys.export(tenant_id, export_id), "EXPORT", export_id=export_id, group_id=group_id, key=key,
                    status=status, job_id=job_id, rows=rows, file_name=file_name, created_at=now, created_by=actor,
                    link_ttl_seconds=link_ttl_seconds, expires_at=int((now + timedelta(days=RECORD_DAYS)).timestamp()))
    models.bind()
    store.read(record.save, "the export record")


def read_export(tenant_id: str, export_id: str) -> ExportRecord | None:
    record = store.get(Export, keys.export(tenant_id, export_id), "EXPORT")
    if record is None:
        return None
    return ExportRecord(record.export_id, record.group_id, record.key, record.status, int(record.rows or 0), record.job_id,
                        record.file_name, record.created_at,
                        int(record.link_ttl_seconds) if record.link_ttl_seconds is not None else None)


def clients_after(tenant_id: str, after: dict | None):
    """The tenant's groups by id (GSI1), after the position `group_position` gave."""
    return store.query(Group, keys.groups(tenant_id), index="gsi1", last_evaluated_key=after)


def computers_of(tenant_id: str, group_id: str) -> dict[str, str]:
    return {c.computer_id: c.name for c in store.query(Computer, keys.computers_of(tenant_id, group_id), index="gsi1")}


def computer_names(tenant_id: str, computer_ids) -> dict[str, str]:
    """Names of computers by id (BatchGetItem, strongly consistent); an unknown one is left out."""
    found = store.batch_get((keys.computer(tenant_id, c), "COMPUTER") for c in computer_ids)
    return {item.computer_id: item.name for item in found.values() if isinstance(item, Computer)}


def profile_names(tenant_id: str) -> dict[str, str]:
    return {p.profile_id: p.name for p in store.query(ProfileVersion, keys.profiles(tenant_id), index="gsi1")}


def group_position(group) -> dict:
    """Where a listing of the tenant's groups goes on after this group (as text: a job's state)."""
    return {"PK": group.PK, "SK": group.SK, "GSI1PK": group.GSI1PK, "GSI1SK": group.GSI1SK}


def session_position(session, open_index: bool) -> dict:
    """Where a session search goes on after this session: on the open-session index (GSI2) or
    the group's sessions by start (GSI1)."""
    index = "GSI2" if open_index else "GSI1"
    return {"PK": session.PK, "SK": session.SK, f"{index}PK": getattr(session, f"{index}PK"),
            f"{index}SK": getattr(session, f"{index}SK")}


def start_key(position: dict | None) -> dict | None:
    """A saved position as the exclusive start key of a Query."""
    return None if position is None else {name: {"S": value} for name, value in position.items()}
