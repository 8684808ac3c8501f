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
        try:
            listings.transact(lambda transaction: transaction.save(item, condition=ImportConnection.PK.does_not_exist()),
                              "the connection", item.GSI1PK)
            return item
        except store.ConditionFailed:  # stored meanwhile by a request sent twice: change it as below
            item = store.get(ImportConnection, key, SK)
    item.GSI1PK, item.GSI1SK = keys.import_connections(tenant_id), connection_id  # a removed one listed again
    _change(item, [ImportConnection.options.set(text), ImportConnection.schedule.set(schedule),
                   ImportConnection.GSI1PK.set(item.GSI1PK), ImportConnection.GSI1SK.set(connection_id),
                   ImportConnection.updated_at.set(now)], "the connection")
    item.options, item.schedule, item.updated_at = text, schedule, now
    return item


def read_connection(tenant_id: str, connection_id: str) -> ImportConnection | None:
    """The connection, or None (never stored, or removed: a tombstone without index keys)."""
    item = store.get(ImportConnection, keys.import_connection(tenant_id, connection_id), SK)
    return item if item is not None and item.GSI1PK else None


def connections(tenant_id: str) -> list[ImportConnection]:
    """The tenant's connections, as the table holds them (once the list has settled)."""
    listings.settled(keys.import_connections(tenant_id))
    return list(store.query(ImportConnection, keys.import_connections(tenant_id), index="gsi1"))


def delete_connection(tenant_id: str, connection_id: str, now: datetime) -> ImportConnection | None:
    """Takes the connection out of its list and forgets its cursor and last run. No function may
    delete table items (the template grants no DeleteItem): the item stays as a tombstone without
    index keys, which every read here treats as absent. None when there is no such connection."""
    item = read_connection(tenant_id, connection_id)
    if item is None:
        return None

    def fill(transaction):
        transaction.update(item, actions=[ImportConnection.GSI1PK.remove(), ImportConnection.GSI1SK.remove(),
                                          ImportConnection.cursor.remove(), ImportConnection.last_run.remove(),
                                          ImportConnection.updated_at.set(now)],
                           condition=ImportConnection.GSI1PK.exists())
    try:
        listings.transact(fill, "the connection's removal", item.GSI1PK)
    except store.ConditionFailed:  # removed meanwhile by a request sent twice
        return None
    return item


def save_cursor(item: ImportConnection, cursor: dict, now: datetime) -> bool:
    """False (nothing written) when the connection was removed meanwhile: its pull stops."""
    text = jsonio.dumps(cursor)
    item.cursor = text
    return _change(item, [ImportConnection.cursor.set(text), ImportConnection.updated_at.set(now)], "the connection's cursor",
                   must_be_listed=True)


def save_run(item: ImportConnection, run: dict, now: datetime) -> bool:
    text = jsonio.dumps(run)
    item.last_run = text
    return _change(item, [ImportConnection.last_run.set(text), ImportConnection.updated_at.set(now)],
                   "the connection's last run", must_be_listed=True)


def _change(item: ImportConnection, actions: list, what: str, must_be_listed: bool = False) -> bool:
    """An update of the connection, with its list's stamp (the list shows the last run); when asked,
    only while the connection is listed (not removed meanwhile): False when it was."""
    condition = ImportConnection.GSI1PK.exists() if must_be_listed else None
    try:
        listings.transact(lambda transaction: transaction.update(item, actions=actions, condition=condition), what, item.GSI1PK)
    except store.ConditionFailed:
        return False
    return True
