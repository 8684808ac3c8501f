"""Idempotency-Key records in the table: one item per tenant and key
(`T#<tenant>#IK#<sha256 of the key>`, "IDEMPOTENCY"), kept 24 hours (TTL).

While its request runs, the record's `answer` holds the request's claim id; the answer replaces
it under the condition that the claim is still that request's. An answer that would make the item
large (a batch of 100 sessions with long notes passes DynamoDB's 400 KB item limit) is kept
compressed in part items beside the record (`IDEMPOTENCY#PART#<n>`), written in the same
transaction, and the record says how many: no record is ever refused for its size.

Outcomes of `claim_key`: `KeyClaimed` (this request holds the key), `KeyReplay` (the first
answer), `KeyInUse` (the first request still runs), `KeyReusedElsewhere` (another request's key)."""
import base64
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from .. import jsonio
from . import store
from .models import IdempotencyRecord, keys

RUNNING, RELEASED = 0, -1
IN_ITEM_BYTES = 64 * 1024  # an answer up to this (UTF-8) stays in the record itself
PART_CHARS = 300 * 1024  # compressed, base64: a part item stays well under 400 KB
PARTS_PREFIX = "parts:"
PART_SK = "IDEMPOTENCY#PART#"


@dataclass
class KeyClaimed:
    record: IdempotencyRecord
    claim_id: str


@dataclass(frozen=True)
class KeyReplay:
    status: int
    body: dict


@dataclass(frozen=True)
class KeyInUse:
    pass


@dataclass(frozen=True)
class KeyReusedElsewhere:
    pass


def _parts_of(text: str) -> list[str]:
    packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 6)).decode("ascii")
    return [packed[start:start + PART_CHARS] for start in range(0, len(packed), PART_CHARS)]


def _answer(record: IdempotencyRecord) -> dict:
    if not record.answer.startswith(PARTS_PREFIX):
        return jsonio.parse_object(record.answer, "answer")
    count = int(record.answer[len(PARTS_PREFIX):])
    parts = [store.get(IdempotencyRecord, record.PK, f"{PART_SK}{n}") for n in range(count)]
    packed = "".join(part.answer for part in parts)
    return jsonio.parse_object(zlib.decompress(base64.b64decode(packed)).decode("utf-8"), "answer")


def claim_key(tenant_id: str, key_hash: str, route: str, fingerprint: str, now: datetime, keep: timedelta,
              abandoned: timedelta) -> KeyClaimed | KeyReplay | KeyInUse | KeyReusedElsewhere:
    """Takes the key for this request: free, expired (TTL not run yet), released, or left by a
    request that died (older than any function runs); else says why not."""
    claim_id = f"running:{secrets.token_hex(12)}"
    record = IdempotencyRecord(keys.idempotency(tenant_id, key_hash), "IDEMPOTENCY", route=route, fingerprint=fingerprint,
                               status=RUNNING, answer=claim_id, created_at=now, expires_at=int((now + keep).timestamp()))
    for _ in range(3):
        existing = store.get(IdempotencyRecord, record.PK, record.SK)
        if existing is None:
            condition = IdempotencyRecord.PK.does_not_exist()
        elif existing.expires_at < now.timestamp() or existing.status == RELEASED:
            condition = IdempotencyRecord.answer == existing.answer
        elif existing.fingerprint != fingerprint:
            return KeyReusedElsewhere()
        elif existing.status != RUNNING:
            return KeyReplay(int(existing.status), _answer(existing))
        elif now - existing.created_at < abandoned:
            return KeyInUse()
        else:  # its request died before its effect: the key is ours (its effect can no longer commit)
            condition = IdempotencyRecord.answer == existing.answer
        try:
            store.transact(lambda t: t.save(record, condition=condition), "the Idempotency-Key")
            return KeyClaimed(record, claim_id)
        except store.ConditionFailed:
            continue  # another request took it meanwhile: look again
    return KeyInUse()


def answer_action(transaction, claimed: KeyClaimed, status: int, body: dict) -> None:
    """Adds the answer to a transaction (the effect's own, or its own in `finish_key`),
    conditioned on the claim still being this request's; a large answer goes in part items."""
    text = jsonio.dumps(body)
    record = claimed.record
    if len(text.encode("utf-8")) > IN_ITEM_BYTES:
        parts = _parts_of(text)
        for n, chunk in enumerate(parts):
            transaction.save(IdempotencyRecord(record.PK, f"{PART_SK}{n}", route=record.route, fingerprint=record.fingerprint,
                                               status=status, answer=chunk, created_at=record.created_at,
                                               expires_at=record.expires_at))
        text = f"{PARTS_PREFIX}{len(parts)}"
    transaction.update(record, actions=[IdempotencyRecord.status.set(status), IdempotencyRecord.answer.set(text)],
                       condition=IdempotencyRecord.answer == claimed.claim_id)


def finish_key(claimed: KeyClaimed, status: int, body: dict) -> bool:
    """The answer of an operation of several transactions, written after them. False: the key was
    taken over meanwhile (that request answers for it)."""
    try:
        store.transact(lambda t: answer_action(t, claimed, status, body), "the Idempotency-Key")
    except store.ConditionFailed:
        return False
    return True


def release_key(claimed: KeyClaimed) -> None:
    """The operation failed: the key is free for the next try (marked, not deleted: the
    functions may update items, never delete them)."""
    try:
        store.transact(lambda t: t.update(claimed.record, actions=[IdempotencyRecord.status.set(RELEASED)],
                                          condition=IdempotencyRecord.answer == claimed.claim_id), "the Idempotency-Key")
    except store.ConditionFailed:
        pass
