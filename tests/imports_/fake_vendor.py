"""A fake TeamViewer web API for the pull tests: `GET /reports/connections` in the documented shape
({records, records_remaining, next_offset}, paged by `offset_id`, filtered by `from_date`), with
scripted answers first (a 429 with Retry-After, a 500, a 401, garbage) and a log of the requests."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeTeamViewer:
    def __init__(self, records: list[dict], page_size: int = 2, token: str = "script-token"):
        self.records, self.page_size, self.token = records, page_size, token
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
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        url = urlparse(handler.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append({"path": url.path, "query": query, "authorization": handler.headers.get("Authorization")})
        if self.script:
            status, headers, body = self.script.pop(0)
        elif handler.headers.get("Authorization") != f"Bearer {self.token}":
            status, headers, body = 401, {}, json.dumps({"error": "invalid_token"})
        elif url.path != "/api/v1/reports/connections":
            status, headers, body = 404, {}, "{}"
        else:
            status, headers, body = 200, {}, json.dumps(self.page(query))
        handler.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body.encode())

    def page(self, query: dict) -> dict:
        since = query.get("from_date", "")
        matching = [r for r in self.records if r["start_date"] >= since]
        start = int(query.get("offset_id") or 0)
        chunk = matching[start:start + self.page_size]
        remaining = max(0, len(matching) - start - len(chunk))
        return {"records": chunk, "records_remaining": remaining,
                **({"next_offset": str(start + len(chunk))} if remaining else {})}
