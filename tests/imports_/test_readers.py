"""Each tool's export read into connections: its documented fields, its time convention, and a
bad row rejected by line and field while the good rows are kept."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from billing_core import imports
from billing_core.errors import InvalidInput
from billing_core.imports.reading import Options

from . import fixtures

PARIS = Options(time_zone=ZoneInfo("Europe/Paris"), zone_name="Europe/Paris")


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def read(source: str, content: str, options: Options = Options()):
    return imports.reader(source).parse(content, options)


def test_teamviewer_connection_report_records_become_connections():
    parsed = read("teamviewer", fixtures.TEAMVIEWER)
    assert parsed.rejected == []
    first, second = parsed.connections
    assert (first.vendor_id, first.computer, first.technician, first.group, first.notes) == (
        "8f4b3c2a-0d1e-4f5a-9b6c-7d8e9f0a1b2c", "RECEPTION-PC", "Ann Tech", "Acme Ltd", "printer driver")
    assert (first.started_at, first.ended_at) == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 22))
    assert second.ended_at == utc(2026, 3, 2, 10, 45, 30)


def test_anydesk_sessions_use_the_aliases_and_an_active_session_waits():
    parsed = read("anydesk", fixtures.ANYDESK)
    (session,) = parsed.connections
    assert (session.vendor_id, session.technician, session.computer, session.notes) == ("5039827661", "ann@acme-msp", "pc-1", "VPN reset")
    assert (session.started_at, session.ended_at) == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 22))
    assert [(r.line, r.field) for r in parsed.rejected] == [(2, "end-time")]


def test_screenconnect_keys_each_connection_of_a_session():
    parsed = read("screenconnect", fixtures.SCREENCONNECT)
    assert [c.vendor_id for c in parsed.connections] == ["c-1", "c-2"]
    assert parsed.connections[0].started_at == utc(2026, 3, 2, 9)  # its report writes UTC
    assert parsed.connections[0].group == "Acme Ltd"


def test_rustdesk_pairs_the_new_and_close_records():
    (connection,) = read("rustdesk", fixtures.RUSTDESK).connections
    assert (connection.vendor_id, connection.computer, connection.technician) == ("123456789:7:4242", "123456789", "Ann Tech")
    assert connection.ended_at - connection.started_at == utc(2026, 1, 1, 0, 22) - utc(2026, 1, 1)


def test_rustdesk_connection_not_closed_yet_is_a_rejected_line():
    parsed = read("rustdesk", '[{"action": "new", "id": "1", "conn_id": 3, "peer": ["9", "Ann"], "created_at": "2026-03-02T09:00:00Z"}]')
    assert parsed.connections == [] and [(r.line, r.field) for r in parsed.rejected] == [(1, "action")]


def test_splashtop_local_times_with_a_bom_and_semicolons():
    (connection,) = read("splashtop", fixtures.SPLASHTOP, PARIS).connections
    assert (connection.started_at, connection.ended_at) == (utc(2026, 3, 2, 9), utc(2026, 3, 2, 9, 22))  # UTC+1 in March
    assert connection.vendor_id == read("splashtop", fixtures.SPLASHTOP, PARIS).connections[0].vendor_id  # stable key


def test_supremo_and_generic_read_their_columns():
    (supremo,) = read("supremo", fixtures.SUPREMO, PARIS).connections
    assert (supremo.computer, supremo.technician, supremo.group, supremo.started_at) == ("RECEPTION-PC", "Ann Tech", "Acme Ltd", utc(2026, 3, 2, 9))
    (generic,) = read("generic", fixtures.GENERIC, Options(columns=fixtures.GENERIC_COLUMNS)).connections
    assert (generic.vendor_id, generic.started_at, generic.group) == ("T-1", utc(2026, 3, 2, 8), "Acme Ltd")


@pytest.mark.parametrize("wall, why", [("2026-03-29 02:30:00", "does not exist"), ("2026-10-25 02:30:00", "is ambiguous")])
def test_a_local_time_the_clocks_skip_or_repeat_is_rejected_naming_the_field(wall, why):
    content = f"User,Computer,Start Time,End Time\nann,pc-1,{wall},2026-10-25 04:00:00\nann,pc-1,2026-10-25 04:00:00,2026-10-25 04:30:00\n"
    parsed = read("splashtop", content, PARIS)
    (rejected,) = parsed.rejected
    assert (rejected.line, rejected.field) == (2, "Start Time") and why in rejected.reason
    assert [c.started_at for c in parsed.connections] == [utc(2026, 10, 25, 3)]  # the good row kept (UTC+1 after the change)


def test_rows_without_an_id_or_ending_before_they_start_are_rejected_by_line_and_field():
    content = ("Ticket;Begin;Finish;Machine;Who\n"
               ";2026-03-02T09:00:00Z;2026-03-02T09:10:00Z;pc-1;ann\n"
               "T-2;2026-03-02T09:00:00Z;2026-03-02T08:10:00Z;pc-1;ann\n"
               "T-3;2026-03-02T09:00:00Z;2026-03-02T09:10:00Z;pc-1;ann\n")
    columns = {**fixtures.GENERIC_COLUMNS}
    del columns["group"], columns["notes"]
    parsed = read("generic", content, Options(columns=columns))
    assert [(r.line, r.field) for r in parsed.rejected] == [(2, "Ticket"), (3, "Finish")]
    assert [c.vendor_id for c in parsed.connections] == ["T-3"]


def test_a_quoted_cell_over_two_lines_keeps_the_line_numbers_of_the_file():
    content = 'Ticket,Begin,Finish,Machine,Who,Comment\nT-1,2026-03-02T09:00Z,2026-03-02T09:10Z,pc-1,ann,"two\nlines"\nT-2,,2026-03-02T09:10Z,pc-1,ann,\n'
    columns = {name: header for name, header in fixtures.GENERIC_COLUMNS.items() if name != "group"}
    parsed = read("generic", content, Options(columns=columns))
    assert parsed.connections[0].notes == "two\nlines"
    assert [(r.line, r.field) for r in parsed.rejected] == [(4, "Begin")]


@pytest.mark.parametrize("source, content", [
    ("teamviewer", fixtures.ANYDESK), ("anydesk", fixtures.TEAMVIEWER), ("teamviewer", "SessionID,Host\n1,ann\n"),
    ("screenconnect", fixtures.SPLASHTOP), ("splashtop", fixtures.TEAMVIEWER), ("rustdesk", fixtures.ANYDESK),
    ("supremo", fixtures.SCREENCONNECT)])
def test_content_that_is_not_the_tools_format_is_refused_as_a_whole(source, content):
    with pytest.raises(InvalidInput) as refused:
        read(source, content, PARIS)
    assert refused.value.field == "content"
