"""POST /v1/imports — a remote-support tool's own export (its text in `content`, at most 5 MB)
recorded as sessions, each connection once: 200 {rows, imported, duplicates, conflicts,
below_minimum, rejected} (202 {job_id} when it needs longer than the request may take: a job goes
on); or a file uploaded first (`upload_id`) read by a job: 202 {job_id}.
POST /v1/imports/uploads — a presigned link to upload a larger file to (201)."""
from billing_core import api, importing
from billing_core.api import ADMIN, AGENT

MAX_BODY_BYTES = 6_000_000  # 5 MB of text and its JSON escapes, within Lambda's 6 MB request payload


@api.route(ADMIN, AGENT)
def import_sessions(request: api.Request) -> api.Response:
    values = request.body(importing.IMPORT_FIELDS, MAX_BODY_BYTES)
    importing.refuse_content_and_upload(values)
    if "upload_id" in values:
        from billing_core import import_uploads  # only a large import pays for S3 and the jobs queue

        return api.finished_or_running(False, import_uploads.start_import(request.tenant_id, values, request.actor))
    answer = importing.import_content(request.tenant_id, values, request.actor)
    return api.finished_or_running(answer.finished, answer.body)


@api.route(ADMIN, AGENT)
def new_upload(request: api.Request) -> api.Response:
    request.no_query()
    if request.raw_body and request.raw_body.strip():
        request.body(())
    from billing_core import import_uploads

    return api.Response(201, import_uploads.new_upload(request.tenant_id))


lambda_handler = api.handler(routes={
    "POST /v1/imports": import_sessions,
    "POST /v1/imports/uploads": new_upload,
})
