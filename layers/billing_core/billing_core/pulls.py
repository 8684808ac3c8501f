"""Scheduled pulls from the tools with a web API (TeamViewer, AnyDesk): one pull reads the
connections since the connection's cursor, page after page, and records each page through the
import path (importing.Importer) before it moves the cursor past it, so a vendor outage, a rate
limit or a bad row never loses the rows already taken: the next pull starts where this one
stopped (a page read twice is all duplicates: nothing written twice).

Vendor answers: a 429 is waited out when its Retry-After fits the time left, else the pull stops
`rate_limited` (the cursor saved); a 5xx or a network failure is retried twice with backoff, then
the pull stops `vendor_error`; a 401/403 stops it `credentials_refused`; a page that is not the
tool's format stops it `bad_answer`. Every stop names its reason; none raises.

What calls it: import_connections.run_pull, from the pull function a connection's EventBridge
Scheduler schedule invokes (the credentials read from AWS Secrets Manager, the cursor kept in the
connection's item).

Sources: TeamViewer's web API manual ("Reporting": GET /api/v1/reports/connections with
`from_date`, `to_date` and `offset_id`; the answer's `records_remaining` and `next_offset`);
AnyDesk's REST API and its open-source Python module (`GET /sessions` with `from`, `to`,
`offset`, `limit`, `sort`; the "AD <license>:<timestamp>:<HMAC-SHA1>" authorization; read until
a page comes back empty, since `limit` is only a maximum)."""
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from . import importing
from .errors import InvalidInput

DEFAULT_URLS = {"teamviewer": "https://webapi.teamviewer.com/api/v1", "anydesk": "https://v1.api.anydesk.com:8081"}
PAGE_SIZE = 1000
RETRIES = 2
TIMEOUT_SECONDS = 20
BACKOFF_SECONDS = 1.0
OVERLAP = timedelta(days=1)  # what each pull reads again before the last start it saw


def vendor_url(source: str) -> str:
    """The vendor's API: fixed per tool (a pull never calls a host an admin typed); the local stack
    and the tests point it at a fake with IMPORT_VENDOR_URLS (JSON {source: url})."""
    override = json.loads(os.environ.get("IMPORT_VENDOR_URLS") or "{}")
    return override.get(source) or DEFAULT_URLS[source]


@dataclass
class PullResult:
    status: str  # done | rate_limited | vendor_error | credentials_refused | bad_answer | out_of_time | removed
    cursor: dict
    pages: int = 0
    summary: dict = field(default_factory=dict)
    reason: str = ""


class Stop(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _teamviewer_request(base: str, credentials: dict, cursor: dict) -> urllib.request.Request:
    query = {"from_date": cursor.get("from_date") or "2000-01-01T00:00:00Z"}
    if cursor.get("offset_id"):
        query["offset_id"] = cursor["offset_id"]
    return urllib.request.Request(f"{base}/reports/connections?{urllib.parse.urlencode(query)}",
                                  headers={"Authorization": f"Bearer {credentials['token']}"})


def _teamviewer_next(page: dict, cursor: dict) -> dict | None:
    """The cursor after this page: the next page's offset, or (the last page) the latest start seen
    less OVERLAP (a connection that started before it and ended after the pull is read next time;
    what is read again writes nothing)."""
    starts = [r["start_date"] for r in page.get("records", []) if isinstance(r, dict) and isinstance(r.get("start_date"), str)]
    latest = max([cursor.get("latest") or ""] + starts)
    if page.get("next_offset") and page.get("records_remaining"):
        return {"from_date": cursor.get("from_date"), "offset_id": page["next_offset"], "latest": latest}
    if not latest:
        return None
    try:
        since = datetime.fromisoformat(latest.replace("Z", "+00:00")) - OVERLAP
    except ValueError:
        return None
    return {"from_date": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "latest": latest}


def anydesk_authorization(license_id: str, password: str, resource: str, now: int, method: str = "GET", body: str = "") -> str:
    """AnyDesk's request signature: HMAC-SHA1 of method, resource, timestamp and the body's SHA-1."""
    content_hash = base64.b64encode(hashlib.sha1(body.encode()).digest()).decode()
    signed = f"{method}\n{resource}\n{now}\n{content_hash}"
    token = base64.b64encode(hmac.new(password.encode(), signed.encode(), hashlib.sha1).digest()).decode()
    return f"AD {license_id}:{now}:{token}"


def _anydesk_request(base: str, credentials: dict, cursor: dict) -> urllib.request.Request:
    """Every session (both directions: the API's `direction` left at its default) after `from`,
    oldest first, from `offset` on."""
    query = urllib.parse.urlencode({"from": cursor.get("from", 0), "sort": "start-time", "offset": cursor.get("offset", 0),
                                    "limit": PAGE_SIZE})
    resource = f"/sessions?{query}"
    return urllib.request.Request(base.rstrip("/") + resource, headers={
        "Authorization": anydesk_authorization(credentials["license_id"], credentials["api_password"], resource, int(time.time()))})


def _anydesk_next(page: dict, cursor: dict) -> dict | None:
    """The next page's offset while pages hold sessions (`limit` is a maximum: a page shorter than
    asked is not the last one); after the empty page, the latest start seen less OVERLAP."""
    sessions = page.get("list") or []
    starts = [s.get("start-time") for s in sessions if isinstance(s, dict) and isinstance(s.get("start-time"), int)]
    latest = max(starts + [cursor.get("latest") or 0])
    if sessions:
        return {"from": cursor.get("from", 0), "offset": cursor.get("offset", 0) + len(sessions), "latest": latest}
    return {"from": max(0, latest - int(OVERLAP.total_seconds())), "offset": 0, "latest": latest} if latest else None


VENDORS = {"teamviewer": (_teamviewer_request, _teamviewer_next), "anydesk": (_anydesk_request, _anydesk_next)}


def _fetch(request: urllib.request.Request, time_left: Callable[[], float], sleep: Callable[[float], None]) -> dict:
    """One page, waiting out a 429 that fits the time left and retrying a 5xx or a network failure."""
    failures = 0
    while True:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                text = answer.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            if error.code == 429:
                wait = _retry_after(error.headers.get("Retry-After"))
                if wait is None or wait > time_left() - TIMEOUT_SECONDS:
                    raise Stop("rate_limited", f"the vendor asked to wait {error.headers.get('Retry-After') or 'a while'} s") from None
                sleep(wait)
                continue
            if error.code in (401, 403):
                raise Stop("credentials_refused", f"the vendor refused the credentials ({error.code})") from None
            if error.code < 500 or failures >= RETRIES:
                raise Stop("vendor_error", f"the vendor answered {error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, UnicodeDecodeError) as error:
            if failures >= RETRIES:
                raise Stop("vendor_error", f"the vendor could not be reached ({type(error).__name__})") from None
        else:
            try:
                page = json.loads(text)
            except ValueError:
                raise Stop("bad_answer", "the vendor's answer is not JSON") from None
            if not isinstance(page, dict):
                raise Stop("bad_answer", "the vendor's answer is not a JSON object")
            return page
        failures += 1
        sleep(BACKOFF_SECONDS * 2 ** (failures - 1))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def pull(tenant_id: str, options: importing.ImportOptions, credentials: dict, cursor: dict | None, *,
         save: Callable[[dict, dict], None], time_left: Callable[[], float], actor: str | None = None,
         sleep: Callable[[float], None] = time.sleep) -> PullResult:
    """Reads and records pages from `cursor` on; after each page recorded, `save(cursor, summary)`
    (the caller stores it). Stops when the vendor has no more, when time runs short, or on a vendor
    failure — always with the cursor of the last page recorded."""
    request_of, next_of = VENDORS[options.source]
    base = vendor_url(options.source)
    cursor = dict(cursor or {})
    importer = importing.Importer(tenant_id, options, actor)
    pages = 0
    try:
        while True:
            if time_left() < 2 * TIMEOUT_SECONDS:
                return PullResult("out_of_time", cursor, pages, importer.summary.view(), "the next pull goes on from here")
            page = _fetch(request_of(base, credentials, cursor), time_left, sleep)
            try:
                parsed = importer.parse(json.dumps(page))
            except InvalidInput as refused:
                raise Stop("bad_answer", refused.message) from None
            importer.rejected(parsed.rejected)
            importer.summary.rows += len(parsed.rejected)
            importer.record(parsed.connections)
            pages += 1
            following = next_of(page, cursor)
            if following is None:  # nothing new since the cursor
                return PullResult("done", cursor, pages, importer.summary.view())
            cursor = following
            save(cursor, importer.summary.view())
            if not (cursor.get("offset_id") or cursor.get("offset")):  # the last page
                return PullResult("done", cursor, pages, importer.summary.view())
    except Stop as stopped:
        return PullResult(stopped.status, cursor, pages, importer.summary.view(), stopped.reason)
