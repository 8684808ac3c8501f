"""The embedded store's own global secondary indexes: kept beside each table, answering index
queries without scanning the table, and as eventually consistent as DynamoDB's.

moto answers a Query on an index by walking every item of the table (and a page of a large
partition by sorting all of it): seconds per page at tens of thousands of items. Here each index
is a sorted list per index partition, keyed (index sort key, table hash key, table range key) —
the order moto and DynamoDB page in — fed from every write the store applies (it serves each
request whole, so it knows which items a request changed) and made visible `lag` seconds later:
an index read misses a write younger than the lag and sees it after, as a GSI does on AWS.

A Query on an index still goes through moto's own request handling (its key-condition, filter and
projection parsers and evaluators, Limit, ExclusiveStartKey, the 1 MB page, Select COUNT, the
answer's wire format): the store only hands moto, instead of the whole table, the few items of
the partition that can be on the asked page, already narrowed to the key condition and the start
key (see `serving`)."""
import base64
import bisect
import copy
import time
from collections import deque
from contextlib import contextmanager
from decimal import Decimal

_serving: dict[int, list] = {}  # id(moto Table) → the candidate items of the Query being served


def _whole_table_walked(table) -> None:
    """Called when moto walks a whole table (a Scan; a Query the store's indexes do not serve)."""


def moto_table(region: str, name: str):
    """moto's Table object named `name` (None: no such table)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables.get(name)


def written_keys(operation: str, request: dict) -> dict[str, list[dict]]:
    """Table name → the items (as keys or whole items) a write request may change."""
    found: dict[str, list[dict]] = {}

    def add(table: str | None, key) -> None:
        if table and isinstance(key, dict):
            found.setdefault(table, []).append(key)

    if operation == "PutItem":
        add(request.get("TableName"), request.get("Item"))
    elif operation in ("UpdateItem", "DeleteItem"):
        add(request.get("TableName"), request.get("Key"))
    elif operation == "BatchWriteItem":
        for table, writes in (request.get("RequestItems") or {}).items():
            for write in writes or []:
                add(table, (write.get("PutRequest") or {}).get("Item") or (write.get("DeleteRequest") or {}).get("Key"))
    elif operation == "TransactWriteItems":
        for entry in request.get("TransactItems") or []:
            for kind, body in entry.items():
                if kind in ("Put", "Update", "Delete") and isinstance(body, dict):
                    add(body.get("TableName"), body.get("Item") if kind == "Put" else body.get("Key"))
    return found


def _native(dynamo_value: dict):
    """A key attribute value (DynamoDB JSON) as a Python value that sorts as DynamoDB sorts it."""
    (kind, value), = dynamo_value.items()
    if kind == "N":
        return Decimal(value)
    if kind == "B":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return value


def _item_native(item, attr: str):
    value = item.attrs.get(attr)
    if value is None:
        return None
    if value.type == "N":
        return Decimal(value.value)
    if value.type == "B":
        return base64.b64decode(value.value) if isinstance(value.value, str) else bytes(value.value)
    return value.value


class _Partition:
    __slots__ = ("keys", "ranges", "items")

    def __init__(self):
        self.keys: list[tuple] = []  # sorted (index range value, table hash, table range)
        self.ranges: list = []  # the index range values, parallel to keys (bisected by the key condition)
        self.items: dict[tuple, tuple] = {}  # sort key → (moto Item as of its visibility, size)

    def add(self, sort_key: tuple, item, size: int) -> None:
        at = bisect.bisect_left(self.keys, sort_key)
        self.keys.insert(at, sort_key)
        self.ranges.insert(at, sort_key[0])
        self.items[sort_key] = (item, size)

    def remove(self, sort_key: tuple) -> None:
        at = bisect.bisect_left(self.keys, sort_key)
        if at < len(self.keys) and self.keys[at] == sort_key:
            del self.keys[at]
            del self.ranges[at]
        self.items.pop(sort_key, None)


class _Index:
    def __init__(self, table, index):
        self.name = index.name
        self.hash_attr = next(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH")
        self.range_attr = next((k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"), None)
        self.table_hash, self.table_range = table.hash_key_attr, table.range_key_attr
        self.partitions: dict = {}
        self.where: dict[tuple, tuple] = {}  # table key → (partition value, sort key)

    def put(self, table_key: tuple, item) -> None:
        self.delete(table_key)
        if item is None:
            return
        partition = _item_native(item, self.hash_attr)
        ranged = _item_native(item, self.range_attr) if self.range_attr else ""
        if partition is None or ranged is None:
            return  # a sparse index: an item without the index's keys is not in it
        sort_key = (ranged, *table_key)
        self.partitions.setdefault(partition, _Partition()).add(sort_key, item, item.size())
        self.where[table_key] = (partition, sort_key)

    def delete(self, table_key: tuple) -> None:
        found = self.where.pop(table_key, None)
        if found is not None:
            partition = self.partitions[found[0]]
            partition.remove(found[1])
            if not partition.keys:
                del self.partitions[found[0]]


class _TableIndexes:
    def __init__(self, table):
        self.table = table
        self.indexes = {index.name: _Index(table, index) for index in table.global_indexes}
        # table keys whose index entries are moto's live Item (moto updates an item in place):
        # copied just before a write changes them, so a lagging index keeps the state it had
        self.live: set[tuple] = set()

    def table_key(self, key) -> tuple:
        """(hash, range) of an item (moto Item) or a key / item in DynamoDB JSON."""
        hash_attr, range_attr = self.table.hash_key_attr, self.table.range_key_attr
        if isinstance(key, dict):
            return _native(key[hash_attr]), (_native(key[range_attr]) if range_attr else "")
        return _item_native(key, hash_attr), (_item_native(key, range_attr) if range_attr else "")

    def current(self, key: dict):
        from moto.dynamodb.models.dynamo_type import DynamoType

        range_attr = self.table.range_key_attr
        try:
            return self.table.get_item(DynamoType(key[self.table.hash_key_attr]), DynamoType(key[range_attr]) if range_attr else None)
        except Exception:
            return None

    def apply(self, table_key: tuple, item, live: bool) -> None:
        for index in self.indexes.values():
            index.put(table_key, item)
        if live:
            self.live.add(table_key)
        else:
            self.live.discard(table_key)


class Indexes:
    """Every table's global secondary indexes, `lag_ms` behind the table. Not thread-safe: the
    store calls it under its DynamoDB lock."""

    def __init__(self, lag_ms: int = 0):
        self.lag_ms = int(lag_ms)
        self.tables: dict[int, _TableIndexes] = {}  # id(moto Table) → its indexes
        self.pending: deque = deque()  # (visible at, moto Table, table key, item or None)

    def _of(self, table) -> _TableIndexes:
        kept = self.tables.get(id(table))
        if kept is None or kept.table is not table:
            kept = _TableIndexes(table)
            for item in _every_item(table):
                kept.apply(kept.table_key(item), item, live=True)
            self.tables = {key: value for key, value in self.tables.items() if value.table is not table}
            self.tables[id(table)] = kept
        return kept

    def forget(self, table_name: str) -> None:
        """A table created, changed or dropped: its indexes are built again when next used."""
        self.tables = {key: kept for key, kept in self.tables.items() if kept.table.name != table_name}
        self.pending = deque(entry for entry in self.pending if entry[1].name != table_name)

    def before_write(self, writes) -> None:
        """Called before a write is applied, with (moto Table, keys it may change) pairs: an index
        first built now is built without the write, and (with a lag) an entry still showing moto's
        live item is pinned to a copy of it, the state the index keeps showing until the lag passes."""
        for table, keys in writes:
            if not table.global_indexes:
                continue
            kept = self._of(table)
            if self.lag_ms <= 0:
                continue
            for key in keys:
                table_key = kept.table_key(key)
                if table_key in kept.live:
                    item = kept.current(key)
                    kept.apply(table_key, copy.deepcopy(item) if item is not None else None, live=False)

    def written(self, table, keys) -> None:
        """The items at `keys` ({attr: DynamoDB JSON}) of `table` changed: their state now becomes
        visible in the indexes `lag_ms` from now."""
        if not table.global_indexes:
            return
        kept = self._of(table)
        visible = time.monotonic() + self.lag_ms / 1000
        for key in keys:
            item, table_key = kept.current(key), kept.table_key(key)
            if self.lag_ms <= 0:
                kept.apply(table_key, item, live=True)
            else:
                self.pending.append((visible, table, table_key, copy.deepcopy(item) if item is not None else None))
        self._catch_up()

    def refused(self, table, keys) -> None:
        """A write that touched `keys` was refused (a cancelled transaction): moto has put copies of
        the items back in its table, while the mutated originals may be what an index entry holds
        (lag 0): those entries follow the table's items again."""
        if not table.global_indexes:
            return
        kept = self._of(table)
        for key in keys:
            table_key = kept.table_key(key)
            if table_key in kept.live:
                kept.apply(table_key, kept.current(key), live=True)

    def _catch_up(self) -> None:
        now = time.monotonic()
        while self.pending and (self.pending[0][0] <= now or self.lag_ms <= 0):
            _, table, table_key, item = self.pending.popleft()
            kept = self.tables.get(id(table))
            if kept is not None and kept.table is table:
                kept.apply(table_key, item, live=False)

    def set_lag(self, lag_ms: int) -> None:
        """A new lag: writes already waiting keep the time they were to be seen at (0: seen at once)."""
        self.lag_ms = int(lag_ms)
        self._catch_up()

    def candidates(self, table, index_name: str, request: dict, page_bytes: int) -> list | None:
        """The items of the index, as visible now, that moto needs to answer `request` (a Query on
        `index_name`): those of the key condition's partition within its range condition, from the
        start key on, in the scan's direction, enough for one page. None: not an index this store
        keeps (moto answers alone)."""
        from moto.dynamodb.parsing.key_condition_expression import parse_expression

        kept = self._of(table)
        index = kept.indexes.get(index_name)
        if index is None or not request.get("KeyConditionExpression"):
            return None
        self._catch_up()
        schema = [{"AttributeName": index.hash_attr, "KeyType": "HASH"}]
        if index.range_attr:
            schema.append({"AttributeName": index.range_attr, "KeyType": "RANGE"})
        try:
            hashes, ranges, _ = parse_expression(request["KeyConditionExpression"], request.get("ExpressionAttributeValues") or {},
                                                 request.get("ExpressionAttributeNames") or {}, schema)
            wanted = _native(hashes[0][1])
        except Exception:
            return []  # moto parses it again and answers its ValidationException
        partition = index.partitions.get(wanted)
        if partition is None:
            return []
        low, high = _bounds(partition, ranges[-1] if ranges else None)
        forward = request.get("ScanIndexForward", True) is not False
        start = request.get("ExclusiveStartKey")
        if start:
            try:
                after = (_native(start[index.range_attr]) if index.range_attr else "", _native(start[index.table_hash]),
                         _native(start[index.table_range]) if index.table_range else "")
            except (KeyError, ValueError, TypeError):
                return []
            if forward:
                low = max(low, bisect.bisect_right(partition.keys, after))
            else:
                high = min(high, bisect.bisect_left(partition.keys, after))
        limit = request.get("Limit")
        wanted_count = int(limit) + 1 if isinstance(limit, int) and limit > 0 else None
        picked, size = [], 0
        positions = range(low, high) if forward else range(high - 1, low - 1, -1)
        for position in positions:
            item, item_size = partition.items[partition.keys[position]]
            picked.append(item)
            size += item_size
            if size > page_bytes or (wanted_count is not None and len(picked) >= wanted_count):
                break
        return picked


def _every_item(table) -> list:
    """The table's items, without counting as a walk (building an index reads them once)."""
    items = []
    for partition in table.items.values():
        items.extend(partition.values() if table.range_key_attr else [partition])
    return items


def table_partition(table, request: dict) -> list | None:
    """For a Query on the table itself: the items of the partition its key condition names (moto
    would walk the whole table to find them). None: moto answers alone."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.parsing.key_condition_expression import parse_expression

    if not request.get("KeyConditionExpression") or not table.range_key_attr:
        return None
    schema = [{"AttributeName": table.hash_key_attr, "KeyType": "HASH"}, {"AttributeName": table.range_key_attr, "KeyType": "RANGE"}]
    try:
        hashes, _, _ = parse_expression(request["KeyConditionExpression"], request.get("ExpressionAttributeValues") or {},
                                        request.get("ExpressionAttributeNames") or {}, schema)
        partition = table.items.get(DynamoType(hashes[0][1]))
    except Exception:
        return []  # moto parses it again and answers its ValidationException
    return list(partition.values()) if partition else []


def _bounds(partition: _Partition, condition) -> tuple[int, int]:
    """[low, high) of the partition's positions whose index range value meets the condition."""
    ranges = partition.ranges
    if condition is None:
        return 0, len(ranges)
    _, operator, values = condition
    try:
        first = _native(values[0])
    except (ValueError, TypeError, AttributeError):
        return 0, 0
    operator = operator.upper()
    if operator == "=":
        return bisect.bisect_left(ranges, first), bisect.bisect_right(ranges, first)
    if operator == "<":
        return 0, bisect.bisect_left(ranges, first)
    if operator == "<=":
        return 0, bisect.bisect_right(ranges, first)
    if operator == ">":
        return bisect.bisect_right(ranges, first), len(ranges)
    if operator == ">=":
        return bisect.bisect_left(ranges, first), len(ranges)
    if operator == "BETWEEN":
        return bisect.bisect_left(ranges, first), bisect.bisect_right(ranges, _native(values[1]))
    if operator == "BEGINS_WITH":
        low = high = bisect.bisect_left(ranges, first)
        while high < len(ranges) and isinstance(ranges[high], (str, bytes)) and ranges[high].startswith(first):
            high += 1
        return low, high
    return 0, len(ranges)


@contextmanager
def moto_reads_the_index():
    """While active, moto's Table.all_items answers the candidates the store set for the Query it
    is serving (see Indexes.candidates), and the whole table otherwise."""
    from moto.dynamodb.models.table import Table

    original = Table.all_items

    def all_items(self):
        served = _serving.get(id(self))
        if served is not None:
            return list(served)
        _whole_table_walked(self)
        return original(self)

    Table.all_items = all_items
    try:
        yield
    finally:
        Table.all_items = original


@contextmanager
def serving(table, items):
    _serving[id(table)] = items
    try:
        yield
    finally:
        _serving.pop(id(table), None)
