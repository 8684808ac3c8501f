"""Idempotency-Key (SPEC §8, after the IETF httpapi draft): the first answer to a request that
moves money or accounts sessions is kept 24 hours per tenant and key. The same key with the same
body answers it again and changes nothing; with another body it is a 422; while the first is
still running, a 409.

A claim is taken before the operation runs and the answer is written in the same transaction as
the effect (`Claim.save`), conditioned on the claim still being this request's: a crash or a lost
answer can never apply a recharge twice. A claim left by a request that died is taken over once
it is older than any function can run. The body's fingerprint is taken over its JSON value, keys
in order: the same body sent with its keys in another order is the same request. The records
are kept by billing_core.dal.idempotency, whatever the answer's size."""
import hashlib
import json
import re
import time
from datetime import timedelta

from . import deadline, fields, settings
from .dal import idempotency as stored
from .errors import Conflict, InvalidInput, KeyReused

HEADER = "idempotency-key"
KEEP = timedelta(hours=24)
ABANDONED = timedelta(seconds=60)  # longer than the functions' 29 s timeout
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

    def __init__(self, claimed: stored.KeyClaimed):
        self.claimed = claimed
        self.status = 200
        self.saved = False

    def save(self, transaction, body: dict) -> None:
        """Adds the answer to the effect's transaction (conditioned on the claim still being ours)."""
        stored.answer_action(transaction, self.claimed, self.status, body)
        self.saved = True

    def finish(self, body: dict) -> None:
        """For operations of several transactions (each safe to repeat): the answer, written after."""
        stored.finish_key(self.claimed, self.status, body)  # False: taken over meanwhile, that request answers

    def release(self) -> None:
        """The operation failed: the key is free for the client's next try."""
        try:
            stored.release_key(self.claimed)
        except Exception:  # noqa: BLE001 — the operation's own error is the answer; the key frees itself after ABANDONED
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


def fingerprint(route: str, raw_body: str | None) -> str:
    """The request's identity: its route and its body as a JSON value (keys sorted), or as text
    when it is not JSON (the operation refuses it anyway)."""
    body = raw_body or ""
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    except (ValueError, RecursionError):
        pass
    return hashlib.sha256(f"{route}\n{body}".encode("utf-8", "surrogatepass")).hexdigest()


def claim(tenant_id: str, key: str, route: str, raw_body: str | None) -> Claim:
    """Takes the key for this request, or raises Replay / 409 in use / 422 reused."""
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    waiting = _Waiting()
    while True:  # the first request with this key may answer meanwhile: then replay it
        outcome = stored.claim_key(tenant_id, key_hash, route, fingerprint(route, raw_body), fields.utc_now(), KEEP, ABANDONED)
        if not isinstance(outcome, stored.KeyInUse) or not waiting.more():
            break
    if isinstance(outcome, stored.KeyReplay):
        raise Replay(outcome.status, outcome.body)
    if isinstance(outcome, stored.KeyReusedElsewhere):
        raise KeyReused("Idempotency-Key: this key was used with another request; use a new key")
    if isinstance(outcome, stored.KeyInUse):
        raise Conflict("Idempotency-Key: the first request with this key is still running", "idempotency_key_in_use")
    return Claim(outcome)
