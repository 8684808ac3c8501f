"""Test and bench shims for moto (never imported by the product).

`transactions_back_up_only_their_items()`: moto 5's `DynamoDBBackend.transact_write_items` takes
`copy.deepcopy` of the *whole table* before every action of a transaction, to put it back if the
transaction is cancelled. That is hundreds of milliseconds per transaction once a table holds a
few hundred items, quadratic in a lock-all of 99 sessions, and makes a lock-all on a
10,000-session table exceed botocore's 30 s read timeout. The shim snapshots only the items the
transaction names (its Put / Update / Delete / ConditionCheck keys), lets moto run unchanged
except that its table "backup" is the table itself, and on any failure puts the named items back
(a Put that created an item removes it).

Why it is faithful: a transaction can only change the items it names, so restoring those items
restores exactly the state moto's whole-table copy would — *provided no other request changes the
table while the transaction runs*, i.e. each request is atomic, as in DynamoDB. That holds for the
in-process `mock_aws` (one caller at a time), for a moto server whose caller sends one request at
a time (the bench), and for a server that serialises its requests (the trust race tests'
`OneRequestAtATime`). Not covered, because the template's table has none: DynamoDB Streams
records written by a cancelled transaction are not taken back.
"""
import copy
import threading
from contextlib import contextmanager

__all__ = ["transactions_back_up_only_their_items"]


@contextmanager
def transactions_back_up_only_their_items():
    """While active, every moto DynamoDB transaction backs up (and on failure restores) only the
    items it names. Restores moto on exit. Not reentrant."""
    import moto.dynamodb.models as dynamodb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    inside = threading.local()  # set while this thread runs a transaction

    class TablesAsTheyAre:
        """Stands in for `copy` in moto's dynamodb.models: inside a transaction a Table is "copied"
        as itself (so moto's own rollback is a no-op); everything else is copied as usual."""

        @staticmethod
        def deepcopy(value, memo=None):
            if isinstance(value, Table) and getattr(inside, "active", False):
                return value
            return copy.deepcopy(value, memo)

        def __getattr__(self, name):
            return getattr(copy, name)

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(backend, transact_items):
        named = _named_items(backend, transact_items)
        inside.active = True
        try:
            return original(backend, transact_items)
        except Exception:
            for table, hash_value, range_value, before in reversed(named):
                _put_back(table, hash_value, range_value, before)
            raise
        finally:
            inside.active = False

    saved_copy = dynamodb_models.copy
    dynamodb_models.copy = TablesAsTheyAre()
    DynamoDBBackend.transact_write_items = transact_write_items
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = original
        dynamodb_models.copy = saved_copy


def _named_items(backend, transact_items) -> list[tuple]:
    """(table, hash value, range value, deep copy of the item or None) for every action whose key
    can be read; an action whose table or key is malformed is left to moto, which refuses it
    before writing it (so there is nothing of it to restore)."""
    named = []
    for entry in transact_items:
        try:
            operation = next(iter(entry.values()))
            table = backend.tables[operation["TableName"]]
            key = operation.get("Key") or {
                name: operation["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name
            }
            hash_value, range_value = backend.get_keys_value(table, key)
            before = table.get_item(hash_value, range_value)
        except Exception:
            continue
        named.append((table, hash_value, range_value, copy.deepcopy(before)))
    return named


def _put_back(table, hash_value, range_value, before) -> None:
    if range_value is None:  # a table without a sort key: items[hash] is the item
        if before is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = before
        return
    if before is not None:
        table.items[hash_value][range_value] = before
        return
    partition = table.items.get(hash_value)
    if partition is not None:
        partition.pop(range_value, None)
        if not partition:
            del table.items[hash_value]
