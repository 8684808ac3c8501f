"""Fakes of the two web APIs the scheduled pulls read, for the pull tests: each serves its
documented answer shape, pages it as the vendor does, checks the credentials as the vendor does,
answers scripted failures first (a 429 with Retry-After, a 5xx, garbage) and logs the requests.

- TeamViewer's web API manual, "Reporting" (https://webapi.teamviewer.com/api/v1/docs): `GET
  /api/v1/reports/connections` with `from_date` and `offset_id`, answering `{records,
  records_remaining, next_offset}`; a script token as `Authorization: Bearer <token>`.
- AnyDesk's REST API (https://support.anydesk.com/docs/rest-api) as its own open-source Python
  module calls it (https://github.com/anydeskgitofficial/rest-api, `anydesk/api.py`): `GET
  /sessions` with `from` / `to` (Unix seconds), `sort`, `offset`, `limit` ("maximum number of
  items listed": a page may hold fewer), answering `{"list": [{sid, from: {cid, alias}, to: {cid,
  alias}, active, start-time, end-time, duration, comment}]}`; each request signed
  `AD <license>:<timestamp>:<base64 HMAC-SHA1 of "GET\\n<resource>\\n<timestamp>\\n<base64 SHA-1 of
  the body>" keyed by the API password>` (a wrong signature: 401)."""
import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeVendor:
    """The HTTP server, the scripted answers and the request log; a subclass says what one GET answers."""

    prefix = ""

    def __init__(self):
        self.script: list[tuple[int, dict, str]] = []  # (status, headers, body) answered before the real pages
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                fake.answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.prefix}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlparse(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append({"path": url.path, "query": query, "authorization": handler.headers.get("Authorization")})
        scripted = self.scripted(handler)
        status, headers, body = scripted if scripted else self.served(handler, url, query)
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body.encode())

    def scripted(self, handler) -> tuple[int, dict, str] | None:
        return self.script.pop(0) if self.script else None

    def served(self, handler, url, query: dict) -> tuple[int, dict, str]:
        raise NotImplementedError


class FakeTeamViewer(FakeVendor):
    prefix = "/api/v1"

    def __init__(self, records: list[dict], page_size: int = 2, token: str = "script-token"):
        self.records, self.page_size, self.token = records, page_size, token
        super().__init__()

    def served(self, handler, url, query):
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}, json.dumps({"error": "invalid_token"})
        if url.path != "/api/v1/reports/connections":
            return 404, {}, "{}"
        return 200, {}, json.dumps(self.page(query))

    def page(self, query: dict) -> dict:
        since = query.get("from_date", "")
        matching = [r for r in self.records if r["start_date"] >= since]
        start = int(query.get("offset_id") or 0)
        chunk = matching[start:start + self.page_size]
        remaining = max(0, len(matching) - start - len(chunk))
        return {"records": chunk, "records_remaining": remaining,
                **({"next_offset": str(start + len(chunk))} if remaining else {})}


def anydesk_session(sid: int, start: int, minutes: int, technician: str = "ann@acme-msp", computer: str | None = "pc-1",
                    comment: str | None = None) -> dict:
    """One session as the API lists it (`to.alias` may be null: the computer is then its client id)."""
    return {"sid": sid, "from": {"cid": 123456789, "alias": technician}, "to": {"cid": 900000000 + sid % 1000, "alias": computer},
            "active": False, "start-time": start, "end-time": start + 60 * minutes, "duration": 60 * minutes, "comment": comment}


class FakeAnyDesk(FakeVendor):
    """One fake for several licenses (one per tenant's connection): {license_id: (api password,
    sessions)}; `scripts` holds scripted answers per license (one license's outage, not another's)."""

    def __init__(self, accounts: dict[str, tuple[str, list[dict]]], page_size: int = 2):
        self.accounts, self.page_size = accounts, page_size
        self.scripts: dict[str, list[tuple[int, dict, str]]] = {}
        super().__init__()

    def license_of(self, handler) -> str | None:
        header = handler.headers.get("Authorization") or ""
        return header[3:].split(":")[0] if header.startswith("AD ") else None

    def scripted(self, handler):
        waiting = self.scripts.get(self.license_of(handler))
        return waiting.pop(0) if waiting else super().scripted(handler)

    def signed(self, handler) -> bool:
        parts = (handler.headers.get("Authorization") or "").removeprefix("AD ").split(":")
        if len(parts) != 3 or parts[0] not in self.accounts:
            return False
        license_id, timestamp, token = parts
        content_hash = base64.b64encode(hashlib.sha1(b"").digest()).decode()
        signed = f"GET\n{handler.path}\n{timestamp}\n{content_hash}"
        expected = base64.b64encode(hmac.new(self.accounts[license_id][0].encode(), signed.encode(), hashlib.sha1).digest()).decode()
        return hmac.compare_digest(expected, token)

    def served(self, handler, url, query):
        if not self.signed(handler):
            return 401, {}, json.dumps({"error": "authentication failed"})
        if url.path != "/sessions":
            return 404, {}, "{}"
        return 200, {}, json.dumps(self.page(self.license_of(handler), query))

    def page(self, license_id: str, query: dict) -> dict:
        since, until = int(query.get("from") or 0), int(query.get("to") or 2 ** 40)
        matching = sorted((s for s in self.accounts[license_id][1] if since < s["start-time"] < until), key=lambda s: s["start-time"])
        start = int(query.get("offset") or 0)
        return {"list": matching[start:start + min(self.page_size, int(query.get("limit") or self.page_size))]}
