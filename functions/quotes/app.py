"""POST /v1/quotes — price sessions without recording them (SPEC §10)."""
from billing_core import api, quotes
from billing_core.api import STAFF


@api.route(*STAFF)
def quote(request: api.Request) -> dict:
    return quotes.quote(request.tenant_id, request.body(quotes.QUOTE_FIELDS))


lambda_handler = api.handler(quote)
