"""POST /v1/imports: a remote-support tool's export recorded as sessions through the recording
path, each connection once. A re-import writes nothing, a changed row is a conflict line, a bad
row is a rejected line naming its line and field while the good ones are recorded, and bad
requests are clear 4xx answers."""
import json
import time
import urllib.request

import pytest

from billing_local.bench import call_counted
from imports_ import fixtures

from .conftest import assert_error, assert_invalid, create_group, create_profile

WRITES = {"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"}
TV_FIRST = "teamviewer:8f4b3c2a-0d1e-4f5a-9b6c-7d8e9f0a1b2c"
TV_SECOND = "teamviewer:1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9"


@pytest.fixture
def clients(msp):
    """Groups `acme` ("Acme Ltd", computer RECEPTION-PC) and `globex` on the Standard profile."""
    profile = create_profile(msp, profile_id="standard")
    create_group(msp, "acme", profile["profile_id"], computers=["RECEPTION-PC"])
    create_group(msp, "globex", profile["profile_id"])
    return msp


def imported(tenant, body: dict, role: str = "admin") -> dict:
    status, answer = getattr(tenant, role).post("/v1/imports", body)
    assert status == 200, answer
    return answer


def test_a_teamviewer_report_is_recorded_with_its_groups_technicians_and_notes(clients):
    answer = imported(clients, {"source": "teamviewer", "content": fixtures.TEAMVIEWER, "group_mapping": {"Globex": "globex"},
                                "technician_mapping": {"Bob Tech": "bob"}})
    assert answer == {"rows": 2, "imported": 2, "duplicates": 0, "conflicts": [], "below_minimum": 0, "rejected": [],
                      "conflict_count": 0, "rejected_count": 0}
    status, first = clients.admin.get(f"/v1/sessions/{TV_FIRST}")
    assert status == 200, first
    assert (first["group_id"], first["computer_id"], first["technician"], first["notes"]) == ("acme", "RECEPTION-PC", "Ann Tech", "printer driver")
    assert (first["started_at"], first["ended_at"], first["cost"]) == ("2026-03-02T09:00:00Z", "2026-03-02T09:22:00Z", "30.00")
    status, second = clients.admin.get(f"/v1/sessions/{TV_SECOND}")
    assert (second["group_id"], second["technician"], second["connection_seconds"]) == ("globex", "bob", 2730)


def test_importing_the_same_report_again_writes_nothing(clients, gateway):
    body = {"source": "teamviewer", "content": fixtures.TEAMVIEWER, "group_mapping": {"Globex": "globex"}}
    imported(clients, body)
    status, answer, trips = call_counted(gateway, clients.tokens["admin"], "POST", "/v1/imports", body)
    assert status == 200, answer
    assert (answer["imported"], answer["duplicates"], answer["conflicts"]) == (0, 2, [])
    assert [c.operation for c in trips.calls if c.operation in WRITES] == []
    assert len(trips.calls) <= 3  # the groups by name (the list's stamp, an index Query) and one consistent BatchGetItem


def test_a_changed_row_is_a_conflict_line_and_changes_nothing(clients):
    body = {"source": "teamviewer", "content": fixtures.TEAMVIEWER, "group_mapping": {"Globex": "globex"}}
    imported(clients, body)
    changed = json.loads(fixtures.TEAMVIEWER)
    changed["records"][1]["end_date"] = "2026-03-02T11:45:30Z"
    answer = imported(clients, {**body, "content": json.dumps(changed)})
    assert (answer["imported"], answer["duplicates"]) == (0, 1)
    assert answer["conflicts"] == [{"line": 2, "session_id": TV_SECOND, "reason": "was imported before with different content"}]
    assert clients.admin.get(f"/v1/sessions/{TV_SECOND}")[1]["ended_at"] == "2026-03-02T10:45:30Z"


def test_a_bad_row_is_a_rejected_line_and_the_good_rows_are_kept(clients):
    records = json.loads(fixtures.TEAMVIEWER)
    records["records"][0]["id"] = None
    records["records"].append({**records["records"][1], "id": "late", "end_date": "2026-03-02T09:00:00Z"})
    answer = imported(clients, {"source": "teamviewer", "content": json.dumps(records), "group_mapping": {"Globex": "globex"}})
    assert answer["imported"] == 1 and answer["rows"] == 3
    assert [(r["line"], r["field"]) for r in answer["rejected"]] == [(1, "id"), (3, "end_date")]


def test_a_row_without_a_known_group_names_the_group_field(clients):
    content = fixtures.TEAMVIEWER.replace("ACCOUNTS-LAPTOP", "UNKNOWN-PC")
    answer = imported(clients, {"source": "teamviewer", "content": content})  # "Globex" is no group's name
    assert answer["imported"] == 1
    (rejected,) = answer["rejected"]
    assert (rejected["line"], rejected["field"]) == (2, "groupname") and "UNKNOWN-PC" in rejected["reason"]


def test_without_a_group_the_session_goes_to_the_requests_group_or_the_computers(clients):
    answer = imported(clients, {"source": "anydesk", "content": fixtures.ANYDESK.replace('"pc-1"', '"RECEPTION-PC"')})
    assert answer["imported"] == 1 and [r["field"] for r in answer["rejected"]] == ["end-time"]
    assert clients.admin.get("/v1/sessions/anydesk:5039827661")[1]["group_id"] == "acme"  # the computer's group
    imported(clients, {"source": "rustdesk", "content": fixtures.RUSTDESK, "group_id": "globex"})
    assert clients.admin.get("/v1/sessions/rustdesk:123456789:7:4242")[1]["group_id"] == "globex"


@pytest.mark.parametrize("source, content, extra", [
    ("screenconnect", fixtures.SCREENCONNECT, {}),
    ("splashtop", fixtures.SPLASHTOP, {"time_zone": "Europe/Paris"}),
    ("supremo", fixtures.SUPREMO, {"time_zone": "Europe/Paris"}),
    ("generic", fixtures.GENERIC, {"columns": fixtures.GENERIC_COLUMNS}),
])
def test_every_csv_source_records_its_rows(clients, source, content, extra):
    answer = imported(clients, {"source": source, "content": content, **extra})
    assert answer["imported"] == content.count("\n") - 1 and answer["rejected"] == [], answer
    assert imported(clients, {"source": source, "content": content, **extra})["duplicates"] == answer["imported"]


def test_a_connection_below_the_minimum_is_counted_not_recorded(clients):
    short = fixtures.TEAMVIEWER.replace("2026-03-02T09:22:00Z", "2026-03-02T09:01:00Z")
    answer = imported(clients, {"source": "teamviewer", "content": short, "group_mapping": {"Globex": "globex"}})
    assert (answer["imported"], answer["below_minimum"]) == (1, 1)


def test_an_agent_may_import_and_a_technician_may_not(clients):
    assert imported(clients, {"source": "teamviewer", "content": fixtures.TEAMVIEWER, "group_id": "acme"}, role="agent")["imported"] == 2
    assert_error(clients.technician.post("/v1/imports", {"source": "teamviewer", "content": fixtures.TEAMVIEWER}), 403)


@pytest.mark.parametrize("body, field", [
    ({"source": "logmein", "content": "x"}, "source"),
    ({"source": "teamviewer", "content": "SessionID,Host\n1,ann\n"}, "content"),
    ({"source": "teamviewer", "content": "{\"records\": 3}"}, "content"),
    ({"source": "teamviewer"}, "content"),
    ({"source": "teamviewer", "content": "{}", "upload_id": "u-1"}, "upload_id"),
    ({"source": "splashtop", "content": fixtures.SPLASHTOP}, "time_zone"),
    ({"source": "splashtop", "content": fixtures.SPLASHTOP, "time_zone": "Mars/Olympus"}, "time_zone"),
    ({"source": "generic", "content": fixtures.GENERIC}, "columns"),
    ({"source": "generic", "content": fixtures.GENERIC, "columns": {**fixtures.GENERIC_COLUMNS, "technician": "Tech"}}, "columns.technician"),
    ({"source": "teamviewer", "content": fixtures.TEAMVIEWER, "group_mapping": {"Globex": "a/b"}}, "group_mapping"),
    ({"source": "teamviewer", "content": fixtures.TEAMVIEWER, "format": "csv"}, "format"),
])
def test_a_bad_request_is_a_400_naming_the_field(clients, body, field):
    assert_invalid(clients.admin.post("/v1/imports", body), field)


def test_a_6_mb_body_is_a_413_and_5_mb_of_content_is_refused_by_name(clients):
    assert_error(clients.admin.post("/v1/imports", {"source": "teamviewer", "content": "x" * 6_000_000}), 413)
    assert_invalid(clients.admin.post("/v1/imports", {"source": "teamviewer", "content": " " * (5 * 1024 * 1024 + 1)}), "content")


def poll(tenant, job_id: str, seconds: float = 60.0) -> dict:
    waited = time.monotonic() + seconds
    while True:
        status, job = tenant.admin.get(f"/v1/jobs/{job_id}")
        assert status == 200, job
        if job["status"] != "running" or time.monotonic() > waited:
            return job
        time.sleep(0.05)


def upload(tenant, content: bytes) -> str:
    status, link = tenant.admin.post("/v1/imports/uploads")
    assert status == 201, link
    assert link["method"] == "PUT" and link["upload_id"] in link["url"]
    # urllib would label the bytes a form (x-www-form-urlencoded) and the local S3 reads a form's
    # body as fields: say what they are, as `curl -T` does by sending none
    put = urllib.request.Request(link["url"], data=content, method="PUT", headers={"content-type": "application/octet-stream"})
    with urllib.request.urlopen(put) as answered:
        assert answered.status == 200
    return link["upload_id"]


def test_a_large_file_is_uploaded_then_read_by_a_job(clients):
    records = [{"id": f"conn-{n}", "username": "Ann Tech", "devicename": "RECEPTION-PC", "groupname": "Acme Ltd",
                "start_date": f"2026-03-{1 + n % 28:02d}T09:00:00Z", "end_date": f"2026-03-{1 + n % 28:02d}T09:20:{n % 60:02d}Z"}
               for n in range(1200)]
    records.append({"id": None})
    upload_id = upload(clients, json.dumps({"records": records}).encode())
    status, started = clients.admin.post("/v1/imports", {"source": "teamviewer", "upload_id": upload_id})
    assert status == 202 and started["status"] == "running", started
    assert clients.admin.post("/v1/imports", {"source": "teamviewer", "upload_id": upload_id})[1]["job_id"] == started["job_id"]
    job = poll(clients, started["job_id"])
    assert job["status"] == "succeeded", job.get("error")
    result = job["result"]
    assert (result["rows"], result["imported"], result["duplicates"], result["rejected_count"]) == (1201, 1200, 0, 1)
    assert result["rejected"] == [{"line": 1201, "field": "id", "reason": "is required"}]
    again = upload(clients, json.dumps({"records": records}).encode())
    clients.admin.post("/v1/imports", {"source": "teamviewer", "upload_id": again})
    assert poll(clients, f"import-{again}")["result"]["duplicates"] == 1200


def test_an_upload_not_put_yet_is_a_404(clients):
    status, link = clients.admin.post("/v1/imports/uploads")
    assert_error(clients.admin.post("/v1/imports", {"source": "teamviewer", "upload_id": link["upload_id"]}), 404)


def test_an_import_longer_than_its_request_may_take_goes_on_in_a_job(clients, monkeypatch):
    from billing_core import importing

    records = [{"id": f"long-{n}", "username": "Ann Tech", "devicename": "RECEPTION-PC", "groupname": "Acme Ltd",
                "start_date": "2026-03-02T09:00:00Z", "end_date": "2026-03-02T09:20:00Z"} for n in range(importing.CHUNK + 10)]
    monkeypatch.setattr(importing, "SYNC_SECONDS", 0.0)  # no time for one chunk inside the request
    status, started = clients.admin.post("/v1/imports", {"source": "teamviewer", "content": json.dumps({"records": records})})
    assert status == 202 and started["status"] == "running", started
    result = poll(clients, started["job_id"])["result"]
    assert (result["rows"], result["imported"], result["duplicates"]) == (len(records), len(records), 0)
