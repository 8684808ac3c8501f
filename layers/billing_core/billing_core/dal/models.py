"""Storage: the pynamodb models of the one table. The key design is documented beside the
table in template.yaml; `dal.keys` is its code. Table name and endpoint are read from
settings at call time (`bind`), because pynamodb would freeze them when a class is made."""
from decimal import Decimal

from pynamodb.attributes import (
    Attribute,
    DiscriminatorAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.constants import MAP, NUMBER
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from .. import settings
from ..tariff import MONEY_FIELDS, Tariff
from ..tariff_fields import parse_tariff, tariff_values
from .keys import keys  # noqa: F401 (the models' keys, imported from here by the rest of dal/)


class DecimalAttribute(Attribute[Decimal]):
    """A DynamoDB number read back as an exact Decimal (pynamodb's NumberAttribute gives floats)."""

    attr_type = NUMBER

    def serialize(self, value):
        return str(value)

    def deserialize(self, value):
        return Decimal(value)


def _typed(value) -> dict:
    """A plain value as a DynamoDB typed value (numbers exact, nested lists and maps kept)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return {"N": str(value)}
    if isinstance(value, (list, tuple)):
        return {"L": [_typed(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {name: _typed(item) for name, item in value.items()}}
    raise TypeError(f"a tariff holds no {type(value).__name__}")


def _plain(typed: dict):
    """A DynamoDB typed value as a plain one: whole numbers as int, others as exact Decimals."""
    if "S" in typed:
        return typed["S"]
    if "N" in typed:
        number = Decimal(typed["N"])
        return int(number) if number == number.to_integral_value() and "." not in typed["N"] else number
    if "L" in typed:
        return [_plain(item) for item in typed["L"]]
    if "M" in typed:
        return {name: _plain(item) for name, item in typed["M"].items()}
    return None  # NULL


class TariffAttribute(Attribute[Tariff]):
    """A tariff stored as a map of exact values (as the API answers it: surcharge rules, holidays
    and thresholds as nested lists and maps), read back through the same validation."""

    attr_type = MAP

    def serialize(self, tariff):
        if isinstance(tariff, dict):  # already a DynamoDB map: update expressions pass maps through
            return tariff
        return {  # money as exact numbers, as DynamoDB sums them
            name: _typed(getattr(tariff, name) if name in MONEY_FIELDS else value)
            for name, value in tariff_values(tariff).items()
        }

    def deserialize(self, values):
        plain = {name: _plain(typed) for name, typed in values.items()}
        return parse_tariff(plain.pop("type"), plain)


class ByGSI1(GlobalSecondaryIndex):
    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class ByGSI2(GlobalSecondaryIndex):
    """Sparse: only to_account sessions carry GSI2PK/GSI2SK (the lock removes them)."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class BillingItem(Model):
    """The one table. Each item type below is a subclass told apart by `kind`."""

    class Meta:
        table_name = "billing"
        region = settings.DEFAULT_REGION
        # Inside a 29 s function: a hung connection fails fast and is retried (standard mode
        # retries throttling and 5xx), instead of pynamodb's 15 s / 30 s defaults.
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 2

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    kind = DiscriminatorAttribute()
    gsi1 = ByGSI1()
    gsi2 = ByGSI2()


class Tenant(BillingItem, discriminator="tenant"):
    tenant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()


class ApiToken(BillingItem, discriminator="token"):
    """Only the SHA-256 of a token is stored (in the key); the token itself is shown once."""

    token_id = UnicodeAttribute()
    tenant_id = UnicodeAttribute()
    role = UnicodeAttribute()
    label = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    revoked_at = UTCDateTimeAttribute(null=True)


class Group(BillingItem, discriminator="group"):
    group_id = UnicodeAttribute()
    name = UnicodeAttribute()
    profile_id = UnicodeAttribute(null=True)  # the current contract's profile, for listings
    created_at = UTCDateTimeAttribute()


class Computer(BillingItem, discriminator="computer"):
    computer_id = UnicodeAttribute()
    group_id = UnicodeAttribute()
    name = UnicodeAttribute()


class ProfileVersion(BillingItem, discriminator="profile"):
    profile_id = UnicodeAttribute()
    version = NumberAttribute()
    name = UnicodeAttribute()
    tariff = TariffAttribute()
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)


class Contract(BillingItem, discriminator="contract"):
    """Contract n of a group: one profile assigned to it, with that group's own balance. The
    current contract is the group's `CONTRACT` item; a re-assignment moves it, closed, to
    `closed_contracts`/`C#<n>` and never changes it again. It carries a copy of the profile's
    latest tariff so one read prices a session; `revision` changes whenever that tariff does,
    so a lock priced on an old copy fails. `balance` is the ledger's state (billing_core.ledger)
    and `ledger_seq` the number of its entries: every change of either is conditioned on both,
    but for locks that share the balance's room (`pending_minutes`, ledger.Balance.shared_room)."""

    contract_id = UnicodeAttribute()
    number = NumberAttribute(default=1)
    group_id = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    profile_version = NumberAttribute()
    profile_name = UnicodeAttribute()
    tariff = TariffAttribute()
    assigned_at = UTCDateTimeAttribute()
    assigned_by = UnicodeAttribute(null=True)
    valid_until = UTCDateTimeAttribute(null=True)
    closed_at = UTCDateTimeAttribute(null=True)
    balance = UnicodeAttribute(null=True)  # JSON of ledger.dump(); None for pay per use
    ledger_seq = NumberAttribute(default=0)
    revision = NumberAttribute(default=1)
    pending_minutes = NumberAttribute(null=True)  # taken by locks since `balance` was written whole


class LedgerEntry(BillingItem, discriminator="ledger"):
    """One append-only change of a contract's balance, written in the transaction of its cause.
    `minutes` is the change of available minutes; `running_balance` the available minutes after."""

    entry_id = UnicodeAttribute()
    contract_id = UnicodeAttribute()
    entry_kind = UnicodeAttribute()
    minutes = NumberAttribute()
    amount = DecimalAttribute(null=True)
    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    block_id = UnicodeAttribute(null=True)
    expires_at = UTCDateTimeAttribute(null=True)
    running_balance = NumberAttribute(null=True)  # None: a shared lock's, the previous entry's plus `minutes`


class IdempotencyRecord(BillingItem, discriminator="idempotency"):
    """The first answer to a request that carried an Idempotency-Key, written in the same
    transaction as its effect; DynamoDB's TTL removes it after 24 hours."""

    route = UnicodeAttribute()
    fingerprint = UnicodeAttribute()  # of the request body: the same key with another body is refused
    status = NumberAttribute()
    answer = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute()  # epoch seconds (TTL)


class Session(BillingItem, discriminator="session"):
    """One remote connection. `to_account` sessions are priced when read, by the group's current
    contract; locking (`accounted`) freezes the price fields below and the item never changes again."""

    session_id = UnicodeAttribute()
    group_id = UnicodeAttribute()
    computer_id = UnicodeAttribute()
    technician = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    ended_at = UTCDateTimeAttribute()
    connection_seconds = NumberAttribute()
    extra_minutes = NumberAttribute(default=0)
    notes = UnicodeAttribute(default="")
    status = UnicodeAttribute(default="to_account")
    upload_fingerprint = UnicodeAttribute()  # the agent's upload, to tell a replay from a conflict
    recorded_at = UTCDateTimeAttribute()
    recorded_by = UnicodeAttribute(null=True)
    revision = NumberAttribute(default=1)  # bumped by every change: a lock priced on an old one fails
    # frozen by the lock
    locked_at = UTCDateTimeAttribute(null=True)
    locked_by = UnicodeAttribute(null=True)
    total_seconds = NumberAttribute(null=True)
    billed_minutes = NumberAttribute(null=True)
    cost = DecimalAttribute(null=True)
    currency = UnicodeAttribute(null=True)
    profile_id = UnicodeAttribute(null=True)
    profile_version = NumberAttribute(null=True)
    contract_id = UnicodeAttribute(null=True)
    covered_minutes = NumberAttribute(null=True)  # subscriptions: what the balance's blocks covered
    overage_minutes = NumberAttribute(null=True)  # subscriptions: what the overage price billed
    pricing = UnicodeAttribute(null=True)  # JSON {multiplier, lines}: the frozen price explained (§10)


class HistoryEntry(BillingItem, discriminator="history"):
    """An append-only audit entry in the partition of what it is about (a session or a group)."""

    at = UTCDateTimeAttribute()
    actor = UnicodeAttribute(null=True)  # "<role>:<token_id>" — never the token itself
    action = UnicodeAttribute()
    changes = UnicodeAttribute()  # JSON {field: {"before", "after"}}, numbers exact


class Event(BillingItem, discriminator="event"):
    """An event of the transactional outbox: written in the transaction of its cause, published
    to EventBridge from the table's stream (at least once: `event_id` lets consumers de-duplicate)."""

    event_id = UnicodeAttribute()
    type = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    group_id = UnicodeAttribute(null=True)
    contract_id = UnicodeAttribute(null=True)
    detail = UnicodeAttribute()  # JSON


class Export(BillingItem, discriminator="export"):
    export_id = UnicodeAttribute()
    group_id = UnicodeAttribute(null=True)  # None: every client of the tenant
    key = UnicodeAttribute()
    file_name = UnicodeAttribute(null=True)  # what the link saves it as: bakery_2026-10.xlsx
    status = UnicodeAttribute()
    rows = NumberAttribute(default=0)
    job_id = UnicodeAttribute(null=True)  # the job that goes on with an export longer than its request
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)
    link_ttl_seconds = NumberAttribute(null=True)  # how long each link to it lives, as asked
    expires_at = NumberAttribute(null=True)  # epoch seconds: DynamoDB's TTL removes the record


class ImportConnection(BillingItem, discriminator="import_connection"):
    """A scheduled pull from a tool's web API (billing_core.import_connections): its options, the
    cursor of its last page recorded and its last run. The credentials are in Secrets Manager."""

    connection_id = UnicodeAttribute()
    options = UnicodeAttribute()  # JSON: importing.ImportOptions.state()
    schedule = UnicodeAttribute()
    cursor = UnicodeAttribute(null=True)  # JSON
    last_run = UnicodeAttribute(null=True)  # JSON: {at, status, reason, imported, duplicates, ...}
    updated_at = UTCDateTimeAttribute()


class DayTotal(BillingItem, discriminator="day_total"):
    """Running totals: what the locks of one group accounted for the sessions that started on one
    UTC day, in one currency. Only ever changed by ADD in the lock's own transaction, so it is
    exactly-once with the locks. `cost` exists only once a session of it had a cost (a
    subscription session without overage has none), as totals answer it."""

    group_id = UnicodeAttribute()
    day = UnicodeAttribute()  # yyyy-mm-dd (UTC) of the sessions' started_at
    currency = UnicodeAttribute()
    sessions = NumberAttribute(default=0)
    total_seconds = NumberAttribute(default=0)
    billed_minutes = NumberAttribute(default=0)
    cost = DecimalAttribute(null=True)


class Job(BillingItem, discriminator="job"):
    """Long work that goes on in a worker (billing_core.jobs). `state` is the kind's JSON state
    (its parameters, position and figures so far), replaced only under `step` == the step read,
    in the same transaction as the work of that step: a retried or restarted worker continues
    from the last committed step and never does one twice."""

    job_id = UnicodeAttribute()
    job_kind = UnicodeAttribute()
    status = UnicodeAttribute()  # running | succeeded | failed
    step = NumberAttribute(default=0)
    done = NumberAttribute(default=0)
    total = NumberAttribute(null=True)
    state = UnicodeAttribute()
    result = UnicodeAttribute(null=True)  # JSON: what the synchronous call answers, or the error
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute()
    expires_at = NumberAttribute(null=True)  # epoch seconds (TTL)


ITEM_TYPES = [BillingItem, Tenant, ApiToken, Group, Computer, ProfileVersion, Contract, LedgerEntry, IdempotencyRecord, Session,
              HistoryEntry, Event, Export, DayTotal, Job, ImportConnection]
_bound: tuple | None = None


def bind() -> None:
    """Point every model at the table and endpoint the settings name now, through one shared
    connection: one botocore client per process, not one per item type (cold start)."""
    global _bound
    wanted = (settings.table_name(), settings.aws_endpoint_url(), settings.region())
    if wanted == _bound:
        return
    for model in ITEM_TYPES:
        model.Meta.table_name, model.Meta.host, model.Meta.region = wanted
        model._connection = None
    shared = BillingItem._get_connection()
    for model in ITEM_TYPES:
        model._connection = shared
    _bound = wanted


def reset() -> None:
    """Forget every binding and connection (a test's new mock, the local stack's new endpoint)."""
    global _bound
    _bound = None
    for model in ITEM_TYPES:
        model._connection = None


def connection() -> Connection:
    """The connection for transactions: the models' own, so it shares their client."""
    bind()
    return BillingItem._get_connection().connection
