"""GET /v1/jobs/{job_id} — a long job's progress and, once it succeeded, its result."""
from billing_core import api, jobs
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def get_job(request: api.Request) -> dict:
    return jobs.get_job(request.tenant_id, request.path.get("job_id"))


lambda_handler = api.handler(get_job)
