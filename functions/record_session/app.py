"""POST /v1/sessions and POST /v1/sessions/batch — agents upload finished sessions, exactly once."""
from billing_core import api, observability, recording
from billing_core.api import ADMIN, AGENT


@api.route(AGENT, ADMIN)
def record_session(request: api.Request) -> api.Response:
    outcome = recording.record_sessions(request.tenant_id, [request.body(recording.UPLOAD_FIELDS)], request.actor)[0]
    observability.sessions_uploaded([outcome.body])
    if "error" in outcome.body:
        return api.Response(outcome.status, {"error": outcome.body["error"]})
    return api.Response(outcome.status, outcome.body)


def _answer_again(request: api.Request, kept: dict) -> dict:
    return recording.batch_answer_again(request.tenant_id, kept)


@api.route(AGENT, ADMIN, idempotent=True, kept=(recording.batch_kept, _answer_again))
def record_batch(request: api.Request) -> dict:
    results = recording.record_batch(request.tenant_id, request.body({"sessions"}), request.actor)
    observability.sessions_uploaded(results)
    return {"results": results}


lambda_handler = api.handler(routes={
    "POST /v1/sessions": record_session,
    "POST /v1/sessions/batch": record_batch,
})
