"""Hostile input over real HTTP, against the local stack started as `make run` starts it (a child
process on free ports): what a black-box run found answering a 5xx, an unreadable answer or a
wrong answer. Keys no store can hold, bytes that are not UTF-8 in a path, time-zone names that
are files of the system rather than IANA zones, values of the wrong JSON type, and the HTTP
server's own edges (conflicting lengths, a body that never arrives, unknown methods, log lines
under concurrency)."""
import json
import socket
import threading
import time
from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from billing_local import template
from billing_local.stack import BODY_TIMEOUT_SECONDS, StackProcess


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")  # the "refused" lines name their function
        running = StackProcess(tmp_path_factory.mktemp("hostile") / "stack.json")
    yield running
    running.stop()


def _address(stack) -> tuple[str, int]:
    url = urlsplit(stack.description["api_url"])
    return url.hostname, url.port


def _token(stack, role: str = "admin") -> str:
    return stack.description["tenants"][0]["tokens"][role]


def call(stack, method: str, path: str, raw: bytes | None = None, token: str | None = None) -> tuple[int, dict, bytes]:
    """(status, JSON body, the answer's bytes) of one request on its own connection."""
    connection = HTTPConnection(*_address(stack), timeout=30)
    headers = {"Authorization": f"Bearer {token or _token(stack)}"}
    if raw is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=raw, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data.decode("utf-8")), data  # strict UTF-8: no lone surrogate


def assert_refused(status: int, body: dict, field: str) -> str:
    assert status == 400, (status, body)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == "invalid_input", body
    named, colon, _ = body["error"]["message"].partition(": ")
    assert colon and named == field, (field, body)
    return body["error"]["message"]


WRITE_ROUTES = [  # the demo tenant's ids: every write route that reads a JSON body
    ("POST", "/v1/profiles"), ("PUT", "/v1/profiles/standard"), ("PUT", "/v1/groups/bakery"),
    ("PUT", "/v1/groups/bakery/computers/bakery-till"), ("PUT", "/v1/groups/bakery/contract"),
    ("POST", "/v1/sessions"), ("POST", "/v1/sessions/batch"), ("POST", "/v1/quotes"),
    ("PATCH", "/v1/sessions/s-1002"), ("POST", "/v1/sessions/s-1002/lock"), ("POST", "/v1/groups/bakery/lock-all"),
    ("POST", "/v1/groups/bakery/simulate"), ("POST", "/v1/tokens"), ("POST", "/v1/groups/law-firm/recharges"),
    ("POST", "/v1/groups/bakery/exports"), ("POST", "/v1/exports"),
    ("PUT", "/v1/settings/invoicing"), ("POST", "/v1/invoice-runs"), ("POST", "/v1/invoice-runs/run-1/exports"),
    ("POST", "/v1/invoices/inv-1/issue"), ("POST", "/v1/invoices/inv-1/void"), ("POST", "/v1/periods/2026-10/close"),
    ("POST", "/v1/periods/2026-10/reopen"), ("POST", "/v1/sessions/s-1002/unlock"),
    ("POST", "/v1/users"), ("PATCH", "/v1/users/0b5d5e4e-0000-4000-8000-000000000000"),
    ("POST", "/v1/imports"), ("POST", "/v1/imports/uploads"), ("PUT", "/v1/imports/connections/main"),
]


def test_the_write_routes_are_all_here():
    writes = {r.key for r in template.routes() if r.method in ("POST", "PUT", "PATCH")}
    assert len(writes) == len(WRITE_ROUTES) == 29


@pytest.mark.parametrize("method,path", WRITE_ROUTES)
def test_a_lone_surrogate_as_a_key_is_named_escaped_never_echoed(stack, method, path):
    """`{"\\ud800": 1}` is valid JSON whose key no UTF-8 answer can carry: the 400 names it escaped."""
    for raw, shown in ((b'{"\\ud800": 1}', '"\\ud800"'), (b'{"a\\udfffb": 1, "a\\udfffb": 2}', '"a\\udfffb"')):
        status, body, _ = call(stack, method, path, raw)
        assert_refused(status, body, shown)


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/groups/{}/totals", None), ("PUT", "/v1/groups/{}", b'{"name": "Invalid bytes"}'),
    ("PUT", "/v1/groups/bakery/computers/{}", b'{"name": "Invalid bytes"}'), ("GET", "/v1/sessions/{}", None),
])
def test_a_path_id_that_is_not_utf8_is_refused_not_read_as_u_fffd(stack, method, path, body):
    name = {"/v1/groups/bakery/computers/{}": "computer_id", "/v1/sessions/{}": "session_id"}.get(path, "group_id")
    for bad in ("%ff", "%fe", "a%c3", "%ed%a0%80"):  # invalid bytes, a cut sequence, an encoded surrogate
        status, answer, _ = call(stack, method, path.format(bad), body)
        assert_refused(status, answer, name)
    status, groups, _ = call(stack, "GET", "/v1/groups")
    assert status == 200 and not [g for g in groups["groups"] if "\ufffd" in json.dumps(g, ensure_ascii=False)]
    status, answer, _ = call(stack, "GET", "/v1/sessions/caf%C3%A9")  # valid UTF-8 is read as such
    assert status == 404 and answer["error"]["code"] == "not_found", answer


NOT_IANA = ("localtime", "posixrules", "Factory", "right/UTC", "posix/Europe/Paris", "zone.tab", "Europe")


@pytest.mark.parametrize("zone", NOT_IANA)
def test_only_iana_zone_names_are_time_zones(stack, zone):
    profile = {"profile_id": "zoned", "name": "Zoned", "type": "pay_per_use", "currency": "EUR",
               "min_duration_minutes": 1, "initial_step_minutes": 15, "initial_step_cost": "20.00",
               "step_minutes": 5, "step_cost": "5.00", "time_zone": zone}
    status, body, _ = call(stack, "POST", "/v1/profiles", json.dumps(profile).encode())
    assert_refused(status, body, "time_zone")
    status, body, _ = call(stack, "POST", "/v1/groups/bakery/exports", json.dumps({"time_zone": zone}).encode())
    assert_refused(status, body, "time_zone")


def test_a_canonical_zone_is_still_a_time_zone(stack):
    status, body, _ = call(stack, "POST", "/v1/groups/bakery/exports", b'{"time_zone": "America/Argentina/Buenos_Aires"}')
    assert status in (201, 202), body


@pytest.mark.parametrize("method,path,body,field", [
    ("PUT", "/v1/groups/bakery", {"name": {}}, "name"),
    ("PUT", "/v1/groups/bakery/contract", {"profile_id": []}, "profile_id"),
    ("POST", "/v1/groups/bakery/lock-all", {"technician": ""}, "technician"),
    ("POST", "/v1/groups/bakery/lock-all", {"technician": {}}, "technician"),
    ("POST", "/v1/groups/bakery/lock-all", {"from": ""}, "from"),
    ("POST", "/v1/groups/bakery/lock-all", {"to": ""}, "to"),
    ("POST", "/v1/groups/bakery/exports", {"locale": {}}, "locale"),
    ("POST", "/v1/groups/bakery/exports", {"status": []}, "status"),
    ("POST", "/v1/groups/bakery/exports", {"format": "quickbooks", "date_format": []}, "date_format"),
    ("POST", "/v1/groups/bakery/exports", {"format": "quickbooks", "item": "a\ud800"}, "item"),
    ("POST", "/v1/groups/bakery/exports", {"format": "xero", "account_code": "\udc00"}, "account_code"),
    ("POST", "/v1/groups/bakery/exports", {"format": "xero", "tax_type": "\ud800x"}, "tax_type"),
    ("POST", "/v1/groups/bakery/exports", {"from": ""}, "from"),
    ("PATCH", "/v1/sessions/s-1002", {"notes": []}, "notes"),
    ("PATCH", "/v1/sessions/s-1002", {"notes": {}}, "notes"),
    ("PATCH", "/v1/sessions/s-1002", {"notes": False}, "notes"),
    ("PATCH", "/v1/sessions/s-1002", {"notes": 0}, "notes"),
    ("POST", "/v1/tokens", {"role": {}, "label": "x"}, "role"),
    ("POST", "/v1/tokens", {"role": "finance", "label": ["x"]}, "label"),
    ("POST", "/v1/groups/law-firm/recharges", {"hours": 1, "amount": "1e1"}, "amount"),
    ("POST", "/v1/groups/law-firm/recharges", {"hours": "1e1", "amount": "1.00"}, "hours"),
])
def test_a_value_of_the_wrong_type_or_empty_is_a_400_naming_the_field(stack, method, path, body, field):
    before = call(stack, "GET", "/v1/groups/bakery/sessions", token=_token(stack, "finance"))[1]
    status, answer, _ = call(stack, method, path, json.dumps(body).encode())
    assert_refused(status, answer, field)
    assert call(stack, "GET", "/v1/groups/bakery/sessions", token=_token(stack, "finance"))[1] == before


# ---------------------------------------------------------------- the HTTP server itself


def _raw(stack, request: bytes, timeout: float = 30, closing: bool = True) -> tuple[int, dict, bool | None]:
    """Sends raw bytes; answers (status, JSON body, whether the server then closed the connection:
    it is given 5 s to, so a caller that does not look at it says `closing=False`, and gets None)."""
    with socket.create_connection(_address(stack), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
        while len(rest) < length:
            rest += sock.recv(65536)
        if not closing:
            return int(lines[0].split()[1]), json.loads(rest[:length]), None
        sock.settimeout(5)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        return int(lines[0].split()[1]), json.loads(rest[:length]), closed


def _head(stack, method: str, path: str, *headers: str) -> bytes:
    host, port = _address(stack)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", f"Authorization: Bearer {_token(stack)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_conflicting_content_lengths_are_refused(stack):
    body = b'{"name": "Bakery Miller"}'
    for headers in ((f"Content-Length: {len(body)}", f"Content-Length: {len(body) + 1}"),
                    (f"Content-Length: {len(body)}, {len(body) + 1}",),
                    (f"Content-Length: {len(body)}", "Transfer-Encoding: chunked")):
        status, answer, closed = _raw(stack, _head(stack, "PUT", "/v1/groups/bakery", *headers) + body)
        assert status == 400 and answer["error"]["code"] == "invalid_input", (headers, answer)
        assert answer["error"]["message"].startswith("body:") and closed, (headers, answer)


def test_a_body_that_never_arrives_times_out_with_the_error_shape(stack):
    started = time.monotonic()
    status, answer, closed = _raw(stack, _head(stack, "PUT", "/v1/groups/bakery", "Content-Length: 100") + b'{"name"',
                                  timeout=BODY_TIMEOUT_SECONDS + 20)
    assert status == 408 and answer["error"]["code"] == "request_timeout", answer
    assert BODY_TIMEOUT_SECONDS - 1 <= time.monotonic() - started < BODY_TIMEOUT_SECONDS + 10
    assert closed


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW"])
def test_any_method_is_answered_as_api_gateway_does_in_the_error_shape(stack, method):
    for path, status, code in (("/v1/groups", 405, "method_not_allowed"), ("/v1/nowhere", 404, "not_found")):
        got, answer, _ = _raw(stack, _head(stack, method, path), closing=False)
        assert (got, set(answer), set(answer["error"]), answer["error"]["code"]) == (status, {"error"}, {"code", "message"}, code)


@pytest.mark.parametrize("request_line", [b"GET /v1/groups HTTP/9.9", b"GET /v1/groups HTTP/1.x", b"GET", b"GET /" + b"x" * 70_000])
def test_a_request_line_the_server_cannot_read_is_a_4xx_in_the_error_shape(stack, request_line):
    status, answer, closed = _raw(stack, request_line + b"\r\n\r\n")
    assert status in (400, 414) and set(answer["error"]) == {"code", "message"} and closed, answer


def test_concurrent_requests_log_the_function_that_answered_them(stack):
    """Each log line names its own function, whatever the other threads of the stack are doing."""
    functions = {r.key: r.function for r in template.routes()}
    requests = [("PUT", "/v1/groups/bakery", "PUT /v1/groups/{group_id}"),
                ("POST", "/v1/groups/law-firm/recharges", "POST /v1/groups/{group_id}/recharges"),
                ("PATCH", "/v1/sessions/s-1002", "PATCH /v1/sessions/{session_id}"),
                ("POST", "/v1/quotes", "POST /v1/quotes")]

    def refuse(method, path):
        for _ in range(15):
            assert call(stack, method, path, b'{"bogus": 1}')[0] == 400

    threads = [threading.Thread(target=refuse, args=(m, p)) for m, p, _ in requests for _copy in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = [json.loads(line) for line in stack.log.read_text().splitlines() if line.startswith("{")]
    refused = [line for line in lines if line.get("message") == "refused" and line.get("route") in {k for *_, k in requests}]
    assert len(refused) >= 15 * len(threads)
    wrong = [(line["route"], line.get("function_name")) for line in refused if line.get("function_name") != functions[line["route"]]]
    assert not wrong, wrong[:10]
