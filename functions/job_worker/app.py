"""The job worker: SQS messages of JobsQueue (one job id each) carried on from the job's last
committed step until done or shortly before this function's timeout. Not reachable over HTTP."""
from billing_core import jobs, observability


@observability.entry_point
def lambda_handler(event: dict, context=None) -> dict:
    return jobs.worker_handler(event, context)
