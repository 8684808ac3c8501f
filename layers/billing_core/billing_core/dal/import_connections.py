"""Scheduled pulls' connections in the table: one item per connection (`T#<tenant>#IC#<id>`), in
the tenant's list (GSI1 `T#<tenant>#ICS`, stamped by every change and read once settled:
dal.listings). The cursor is replaced only after the page it points
past was recorded; a run's outcome is written once it stops."""
from datetime import datetime

from .. import jsonio
from . import listings, store
from .models import ImportConnection, keys

SK = "IMPORT_CONNECTION"


def put_connection(tenant_id: str, connection_id: str, options: dict, schedule: str, now: datetime) -> ImportConnection:
    """Creates the connection or changes its options and schedule (its cursor and last run kept)."""
    key, text = keys.import_connection(tenant_id, connection_id), jsonio.dumps(options)
    item = store.get(ImportConnection, key, SK)
    if item is None:
        item = ImportConnection(key, SK, GSI1PK=keys.import_connections(tenant_id), GSI1SK=connection_id,
                                connection_id=connection_id, options=text, schedule=schedule, updated_at=now)
        listed = listings.changed(keys.import_connections(tenant_id))

        def fill(transaction):
            transaction.save(item, condition=ImportConnection.PK.does_not_exist())
            listed(transaction)
        try:
            store.transact(fill, "the connection")
            return item
        except store.ConditionFailed:  # stored meanwhile by a request sent twice: change it as below
            item = store.get(ImportConnection, key, SK)
    _change(item, [ImportConnection.options.set(text), ImportConnection.schedule.set(schedule),
                   ImportConnection.updated_at.set(now)], "the connection")
    item.options, item.schedule, item.updated_at = text, schedule, now
    return item


def read_connection(tenant_id: str, connection_id: str) -> ImportConnection | None:
    return store.get(ImportConnection, keys.import_connection(tenant_id, connection_id), SK)


def connections(tenant_id: str) -> list[ImportConnection]:
    """The tenant's connections, as the table holds them (once the list has settled)."""
    listings.settled(keys.import_connections(tenant_id))
    return list(store.query(ImportConnection, keys.import_connections(tenant_id), index="gsi1"))


def save_cursor(item: ImportConnection, cursor: dict, now: datetime) -> None:
    text = jsonio.dumps(cursor)
    _change(item, [ImportConnection.cursor.set(text), ImportConnection.updated_at.set(now)], "the connection's cursor",
            must_exist=True)
    item.cursor = text


def save_run(item: ImportConnection, run: dict, now: datetime) -> None:
    text = jsonio.dumps(run)
    _change(item, [ImportConnection.last_run.set(text), ImportConnection.updated_at.set(now)], "the connection's last run",
            must_exist=True)
    item.last_run = text


def _change(item: ImportConnection, actions: list, what: str, must_exist: bool = False) -> None:
    """An update of the connection, with its list's stamp (the list shows the last run)."""
    listed = listings.changed(item.GSI1PK)

    def fill(transaction):
        transaction.update(item, actions=actions, condition=ImportConnection.PK.exists() if must_exist else None)
        listed(transaction)
    store.transact(fill, what)
