"""Scheduled pulls' connections in the table: one item per connection (`T#<tenant>#IC#<id>`), in
the tenant's list (GSI1 `T#<tenant>#ICS`). The cursor is replaced only after the page it points
past was recorded; a run's outcome is written once it stops."""
from datetime import datetime

from .. import jsonio
from . import store
from .models import ImportConnection, keys

SK = "IMPORT_CONNECTION"


def put_connection(tenant_id: str, connection_id: str, options: dict, schedule: str, now: datetime) -> ImportConnection:
    """Creates the connection or changes its options and schedule (its cursor and last run kept)."""
    key, text = keys.import_connection(tenant_id, connection_id), jsonio.dumps(options)
    item = store.get(ImportConnection, key, SK)
    if item is None:
        item = ImportConnection(key, SK, GSI1PK=keys.import_connections(tenant_id), GSI1SK=connection_id,
                                connection_id=connection_id, options=text, schedule=schedule, updated_at=now)
        try:
            store.transact(lambda t: t.save(item, condition=ImportConnection.PK.does_not_exist()), "the connection")
            return item
        except store.ConditionFailed:  # stored meanwhile by a request sent twice: change it as below
            item = store.get(ImportConnection, key, SK)
    store.transact(lambda t: t.update(item, actions=[ImportConnection.options.set(text), ImportConnection.schedule.set(schedule),
                                                     ImportConnection.updated_at.set(now)]), "the connection")
    item.options, item.schedule, item.updated_at = text, schedule, now
    return item


def read_connection(tenant_id: str, connection_id: str) -> ImportConnection | None:
    return store.get(ImportConnection, keys.import_connection(tenant_id, connection_id), SK)


def connections(tenant_id: str) -> list[ImportConnection]:
    """The tenant's connections (an index query: one just stored may show a moment later)."""
    return list(store.query(ImportConnection, keys.import_connections(tenant_id), index="gsi1"))


def save_cursor(item: ImportConnection, cursor: dict, now: datetime) -> None:
    text = jsonio.dumps(cursor)
    store.transact(lambda t: t.update(item, actions=[ImportConnection.cursor.set(text), ImportConnection.updated_at.set(now)],
                                      condition=ImportConnection.PK.exists()), "the connection's cursor")
    item.cursor = text


def save_run(item: ImportConnection, run: dict, now: datetime) -> None:
    text = jsonio.dumps(run)
    store.transact(lambda t: t.update(item, actions=[ImportConnection.last_run.set(text), ImportConnection.updated_at.set(now)],
                                      condition=ImportConnection.PK.exists()), "the connection's last run")
    item.last_run = text
