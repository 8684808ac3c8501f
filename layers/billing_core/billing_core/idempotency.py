"""Idempotency-Key (SPEC §8, after the IETF httpapi draft): the first answer to a request that
moves money or accounts sessions is kept 24 hours per tenant and key. The same key with the same
body answers it again and changes nothing; with another body it is a 422; while the first is
still running, a 409.

A claim is taken before the operation runs and the answer is written in the same transaction as
the effect (`Claim.save`), conditioned on the claim still being this request's: a crash or a lost
answer can never apply a recharge twice. A claim left by a request that died is taken over once
it is older than any function can run."""
import hashlib
import re
import secrets
import time
from datetime import timedelta

from . import deadline, fields, jsonio, settings
from .dal import store as storage
from .errors import BillingError, Conflict, InvalidInput, KeyReused
from .dal.models import IdempotencyRecord, keys

HEADER = "idempotency-key"
KEEP = timedelta(hours=24)
ABANDONED = timedelta(seconds=60)  # longer than the functions' 29 s timeout
RUNNING, RELEASED = 0, -1
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


class Replay(Exception):
    """The key's first answer, to be answered again as it was."""

    def __init__(self, status: int, body: dict):
        super().__init__("replay")
        self.status, self.body = status, body


def parse_key(value) -> str:
    if not isinstance(value, str) or not _KEY.fullmatch(value):
        raise InvalidInput("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
    return value


class Claim:
    """This request's hold on its key. `status` is what the operation will answer on success."""

    def __init__(self, record: IdempotencyRecord, claim_id: str):
        self.record, self.claim_id = record, claim_id
        self.status = 200
        self.saved = False

    def _answered(self, body: dict) -> dict:
        return {"status": self.status, "answer": jsonio.dumps(body)}

    def save(self, transaction, body: dict) -> None:
        """Adds the answer to the effect's transaction (conditioned on the claim still being ours)."""
        values = self._answered(body)
        transaction.update(
            self.record,
            actions=[IdempotencyRecord.status.set(values["status"]), IdempotencyRecord.answer.set(values["answer"])],
            condition=IdempotencyRecord.answer == self.claim_id,
        )
        self.saved = True

    def finish(self, body: dict) -> None:
        """For operations of several transactions (each safe to repeat): the answer, written after."""
        values = self._answered(body)
        try:
            storage.transact(lambda t: t.update(
                self.record,
                actions=[IdempotencyRecord.status.set(values["status"]), IdempotencyRecord.answer.set(values["answer"])],
                condition=IdempotencyRecord.answer == self.claim_id,
            ))
        except storage.ConditionFailed:
            pass  # taken over meanwhile: that request answers for the key

    def release(self) -> None:
        """The operation failed: the key is free for the client's next try (marked, not deleted:
        the functions may update items, never delete them)."""
        try:
            storage.transact(lambda t: t.update(
                self.record, actions=[IdempotencyRecord.status.set(RELEASED)], condition=IdempotencyRecord.answer == self.claim_id))
        except (storage.ConditionFailed, BillingError):
            pass


class _Waiting:
    """How long a request waits for the first request with its key to answer (then replays it)
    before it answers 409 in use: the retry budget, within the invocation's time."""

    def __init__(self):
        self.until = min(time.monotonic() + settings.retry_budget_seconds(), deadline.at())
        self.pause = 0.02

    def more(self) -> bool:
        if time.monotonic() + self.pause > self.until:
            return False
        time.sleep(self.pause)
        self.pause = min(self.pause * 2, 0.5)
        return True


def claim(tenant_id: str, key: str, route: str, raw_body: str | None) -> Claim:
    """Takes the key for this request, or raises Replay / 409 in use / 422 reused."""
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    fingerprint = hashlib.sha256(f"{route}\n{raw_body or ''}".encode()).hexdigest()
    now = fields.utc_now()
    claim_id = f"running:{secrets.token_hex(12)}"
    record = IdempotencyRecord(
        keys.idempotency(tenant_id, key_hash), "IDEMPOTENCY",
        route=route, fingerprint=fingerprint, status=RUNNING, answer=claim_id, created_at=now,
        expires_at=int((now + KEEP).timestamp()),
    )
    waiting = _Waiting()
    for _ in range(3):
        existing = storage.get(IdempotencyRecord, record.PK, record.SK)
        while existing is not None and existing.status == RUNNING and existing.fingerprint == fingerprint \
                and now - existing.created_at < ABANDONED and waiting.more():
            existing = storage.get(IdempotencyRecord, record.PK, record.SK)  # the first may answer meanwhile: replay it
            now = fields.utc_now()
        if existing is None:
            condition = IdempotencyRecord.PK.does_not_exist()
        elif existing.expires_at < now.timestamp() or existing.status == RELEASED:
            condition = IdempotencyRecord.answer == existing.answer  # expired (TTL not run yet) or freed: ours
        elif existing.fingerprint != fingerprint:
            raise KeyReused("Idempotency-Key: this key was used with another request; use a new key")
        elif existing.status != RUNNING:
            raise Replay(int(existing.status), jsonio.parse_object(existing.answer, "answer"))
        elif now - existing.created_at < ABANDONED:
            raise Conflict("Idempotency-Key: the first request with this key is still running", "idempotency_key_in_use")
        else:  # its request died before its effect: the key is ours (its effect can no longer commit)
            condition = IdempotencyRecord.answer == existing.answer
        try:
            storage.transact(lambda t: t.save(record, condition=condition))
            return Claim(record, claim_id)
        except storage.ConditionFailed:
            continue  # another request took it meanwhile: look again
    raise Conflict("Idempotency-Key: the first request with this key is still running", "idempotency_key_in_use")
