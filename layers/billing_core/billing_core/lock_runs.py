"""The keyed run of a lock-all: a lock-all sent with an Idempotency-Key is carried by a job from
its first transaction, its id derived from the key and the request, so a retry after a crash (the
key released, or taken over once abandoned) finds the run, goes on from its last committed step
and answers the whole run, as the first request would have; never `locked: 0` for work already
done. A run whose job finished answers its result again."""
import hashlib
from datetime import datetime

from . import fields, idempotency, jobs, jsonio
from .dal import locks as dal_locks
from .errors import BillingError, Conflict
from .idempotency import Claim
from .reporting import Period

MAX_GENERATIONS = 50  # the same key and body used again, each a day apart after the key expired


def keyed_run(tenant_id: str, claim: Claim, group_id: str, period: Period, technician: str | None,
              recorded_before: datetime | None, actor: str | None):
    """(job, run, None) to go on with, or (None, None, (status, answer)) when the run is over."""
    from .locking import FINISHED, LockAllRun, _cutoff

    seed = hashlib.sha256(f"{claim.claimed.record.PK}\n{claim.claimed.record.fingerprint}".encode()).hexdigest()[:20]
    now = fields.utc_now()
    for generation in range(MAX_GENERATIONS):
        job_id = f"k-{seed}-{generation}"
        job = dal_locks.keyed_job(tenant_id, job_id)
        if job is not None and now - job.created_at > idempotency.KEEP:
            continue  # the key expired since that run: this is a new request
        if job is None:
            run = LockAllRun(tenant_id, group_id, period, technician, _cutoff(recorded_before))
            return jobs.create(tenant_id, jobs.LOCK_ALL, run.state(), actor, job_id=job_id), run, None
        if job.status == jobs.SUCCEEDED:
            return None, None, (FINISHED, jsonio.parse_object(job.result, "result"))
        if job.status == jobs.FAILED:
            error = jsonio.parse_object(job.result, "result").get("error") or {}
            raise Conflict(error.get("message") or "the lock-all failed", error.get("code") or BillingError.code)
        return job, LockAllRun.from_state(tenant_id, jsonio.parse_object(job.state, "state")), None
    raise Conflict("Idempotency-Key: this key was used too often; use a new key", "idempotency_key_reused")
