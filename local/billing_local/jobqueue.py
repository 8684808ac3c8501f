"""The local stack's jobs queue: what JobsQueue, its dead-letter queue and the worker's SQS event
source do on AWS, in this process, running the template's JobWorkerFunction handler with the
event and context Lambda would give it.

The SQS semantics the jobs rely on:
- one message per job hand-over (`send`); a receive makes it invisible for the queue's visibility
  timeout (template.yaml) and counts it (ApproximateReceiveCount); the handler answering deletes
  it; a handler that raises leaves it to reappear when its visibility ends, or sooner when the
  worker asked (`retry_later`, ChangeMessageVisibility);
- a message received more than maxReceiveCount times moves to the dead-letter queue, whose
  records reach the same handler (as the template's second event source does), which ends the
  job failed;
- IAM: a function sends to (and changes the visibility of) the queue with its own role: the call
  is checked against its policy in template.yaml as SQS would (AccessDenied), unless the store's
  rules switch IAM off;
- durability (with a data directory): the queue is journaled beside the data (written whole,
  fsync'd, before `send` returns), so a stack killed mid-job and started again delivers its
  messages again; a message that was in flight when the process died is visible at once (its
  worker died with it) and keeps its receive count.
"""
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path

from . import iam, identity, template

logger = logging.getLogger(__name__)
JOURNAL = "jobs-queue.json"
WORKER = "JobWorkerFunction"
REGION = "us-east-1"
ACCOUNT_ARN = f"arn:aws:sqs:{REGION}:{iam.ACCOUNT}"


def queue_settings() -> tuple[int, int]:
    """(VisibilityTimeout, maxReceiveCount) of JobsQueue in template.yaml."""
    props = template.load()["Resources"]["JobsQueue"]["Properties"]
    return int(props["VisibilityTimeout"]), int(props["RedrivePolicy"]["maxReceiveCount"])


class LocalQueue:
    def __init__(self, data: Path | None = None, workers: int = 2, handler=None, context=None, rules=None):
        """`rules`: the store's billing_local.strict.Rules, shared (None: IAM checked)."""
        from .gateway import LambdaContext, function_handler

        self.visibility, self.max_receives = queue_settings()
        # the worker runs as JobWorkerFunction: its own IAM policy and Timeout in the strict store
        self.handler = handler or identity.run_as(WORKER, LambdaContext.of(WORKER).timeout_seconds, function_handler(WORKER))
        self.context = context or (lambda: LambdaContext.of(WORKER))
        self.arn, self.dead_letter_arn = f"{ACCOUNT_ARN}:JobsQueue", f"{ACCOUNT_ARN}:JobsDeadLetterQueue"
        self.journal = Path(data) / JOURNAL if data is not None else None
        self.rules = rules
        self.messages: dict[str, dict] = {}  # id → {id, body, receives, visible_at (epoch), dead, receipt}
        self.changed = threading.Condition()
        self.busy = 0
        self.stopping = False
        self.threads = [threading.Thread(target=self._work, name=f"jobs-worker-{n}", daemon=True) for n in range(workers)]
        self._load()

    # ------------------------------------------------------------ what billing_core.jobs calls

    def _authorise(self, action: str) -> None:
        """SQS's verdict on a call made inside a function's invocation (its role's policy)."""
        caller = identity.current()
        if caller is None or (self.rules is not None and not self.rules.iam):
            return
        check = iam.Check(action, self.arn)
        if not iam.allowed(caller[0], check, REGION):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": iam.denial_message(caller[0], check)},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, action.split(":", 1)[1])

    def send(self, message: dict, delay: float = 0) -> None:
        self._authorise("sqs:SendMessage")
        with self.changed:
            ident = secrets.token_hex(8)
            self.messages[ident] = {"id": ident, "body": json.dumps(message), "receives": 0,
                                    "visible_at": time.time() + delay, "dead": False, "receipt": None}
            self._save()
            self.changed.notify()

    def retry_later(self, record: dict, seconds: float) -> None:
        """ChangeMessageVisibility: the message reappears `seconds` from now (a stale receipt: ignored)."""
        self._authorise("sqs:ChangeMessageVisibility")
        with self.changed:
            for message in self.messages.values():
                if message["receipt"] == record["receiptHandle"]:
                    message["visible_at"] = time.time() + seconds
                    self._save()
                    self.changed.notify()

    # ------------------------------------------------------------ the event source

    def start(self) -> "LocalQueue":
        os.environ["JOBS_MAX_RECEIVES"] = str(self.max_receives)  # the worker's Environment in template.yaml
        os.environ["JOBS_DEAD_LETTER_ARN"] = self.dead_letter_arn
        for thread in self.threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()
        for thread in self.threads:
            if thread.is_alive():
                thread.join(timeout)

    def idle(self, timeout: float = 30) -> bool:
        """Waits until no message is left, or in flight (the tests' way to let jobs finish)."""
        until = time.monotonic() + timeout
        with self.changed:
            while self.messages or self.busy:
                left = until - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.05))
        return True

    def pending(self) -> list[dict]:
        with self.changed:
            return [dict(m) for m in self.messages.values()]

    def _receive(self) -> dict | None:
        """The next visible message, made invisible and counted (moved to the dead letters past
        maxReceiveCount, as SQS does on the receive that would exceed it); waits for one."""
        with self.changed:
            while not self.stopping:
                now = time.time()
                visible = [m for m in self.messages.values() if m["visible_at"] <= now]
                if visible:
                    message = min(visible, key=lambda m: m["visible_at"])
                    if not message["dead"] and message["receives"] >= self.max_receives:
                        message.update(dead=True, receives=0)
                    message["receives"] += 1
                    message["receipt"] = secrets.token_hex(12)
                    message["visible_at"] = now + self.visibility
                    self._save()
                    self.busy += 1
                    return dict(message)
                soonest = min((m["visible_at"] for m in self.messages.values()), default=now + 1)
                self.changed.wait(max(0.01, min(1.0, soonest - now)))
        return None

    def _work(self) -> None:
        while True:
            message = self._receive()
            if message is None:
                return
            record = {
                "messageId": message["id"], "receiptHandle": message["receipt"], "body": message["body"],
                "attributes": {"ApproximateReceiveCount": str(message["receives"])}, "eventSource": "aws:sqs",
                "eventSourceARN": self.dead_letter_arn if message["dead"] else self.arn,
            }
            try:
                self.handler({"Records": [record]}, self.context())
                answered = True
            except Exception as error:  # noqa: BLE001 — as Lambda: the message stays, to be received again
                logger.warning("job worker failed on %s (receive %s): %s", message["id"], message["receives"], error)
                answered = False
            with self.changed:
                self.busy -= 1
                current = self.messages.get(message["id"])
                if answered and current is not None and current["receipt"] == message["receipt"]:
                    del self.messages[message["id"]]  # DeleteMessage with this receive's handle
                self._save()
                self.changed.notify_all()

    # ------------------------------------------------------------ durability

    def _load(self) -> None:
        if self.journal is None or not self.journal.exists():
            return
        for message in json.loads(self.journal.read_text()):
            message["visible_at"] = min(message["visible_at"], time.time())  # its worker died with the process
            message["receipt"] = None
            self.messages[message["id"]] = message

    def _save(self) -> None:
        if self.journal is None:
            return
        temporary = self.journal.with_name(f".{self.journal.name}.tmp")
        with open(temporary, "w") as out:
            json.dump(list(self.messages.values()), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.journal)
