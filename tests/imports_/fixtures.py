"""Exports of each tool, as their public documents describe them (the sources are cited at the top
of each reader in billing_core/imports/). Where a document shows the fields but no sample file,
the comment above the fixture says so: the layout is then this project's reading of the
document, not a file captured from the tool."""
import json

# TeamViewer web API, GET /api/v1/reports/connections: the record fields and the page envelope
# (records, records_remaining, next_offset) are those the API manual lists; the values are made up.
TEAMVIEWER = json.dumps({
    "records": [
        {"id": "8f4b3c2a-0d1e-4f5a-9b6c-7d8e9f0a1b2c", "userid": "u1234567", "username": "Ann Tech",
         "deviceid": "d987654321", "devicename": "RECEPTION-PC", "groupid": "g111", "groupname": "Acme Ltd",
         "start_date": "2026-03-02T09:00:00Z", "end_date": "2026-03-02T09:22:00Z", "fee": 0, "currency": "EUR",
         "billing_state": "Bill", "notes": "printer driver", "contact_id": "c42"},
        {"id": "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9", "userid": "u7654321", "username": "Bob Tech",
         "deviceid": "d123", "devicename": "ACCOUNTS-LAPTOP", "groupid": "g222", "groupname": "Globex",
         "start_date": "2026-03-02T10:00:00Z", "end_date": "2026-03-02T10:45:30Z", "billing_state": "Bill",
         "notes": ""},
    ],
    "records_remaining": 0,
})

# AnyDesk REST API, GET /sessions: the shape {"list": [{sid, from, to, active, start-time, end-time,
# duration, comment}]} is the one AnyDesk's own Python module reads; the values are made up.
ANYDESK = json.dumps({
    "count": 2,
    "list": [
        {"sid": 5039827661, "from": {"cid": 123456789, "alias": "ann@acme-msp"}, "to": {"cid": 987654321, "alias": "pc-1"},
         "active": False, "start-time": 1772442000, "end-time": 1772443320, "duration": 1320, "comment": "VPN reset"},
        {"sid": 5039827662, "from": {"cid": 123456789, "alias": "ann@acme-msp"}, "to": {"cid": 555000111, "alias": None},
         "active": True, "start-time": 1772450000, "end-time": None, "duration": 0, "comment": None},
    ],
})

# ScreenConnect session report: no public sample file was found. The headers are ScreenConnect's
# report field names for a session connection, written as its CSV download writes headers; the
# times are UTC without an offset; the values are made up.
SCREENCONNECT = (
    "SessionID,ConnectionID,Host,GuestMachineName,CustomProperty1,ConnectedTime,DisconnectedTime\r\n"
    "6c0f5e8a-1111-4c2b-9a55-0e1f2a3b4c5d,c-1,Ann Tech,RECEPTION-PC,Acme Ltd,2026-03-02 09:00:00,2026-03-02 09:22:00\r\n"
    "6c0f5e8a-1111-4c2b-9a55-0e1f2a3b4c5d,c-2,Ann Tech,RECEPTION-PC,Acme Ltd,2026-03-03 14:00:00,2026-03-03 14:31:00\r\n"
)

# RustDesk: the fields of the client's connection audit posts ("new" and "close", with id, uuid,
# conn_id, session_id, ip, peer, type); the client sends no time, the API server stamps each
# record when it receives it: `created_at` here stands for that stamp (no public sample of the
# server's listing was found); the values are made up.
RUSTDESK = json.dumps({"data": [
    {"action": "new", "id": "123456789", "uuid": "dXVpZA==", "conn_id": 7, "session_id": 4242, "ip": "203.0.113.9",
     "peer": ["987654321", "Ann Tech"], "type": 0, "created_at": "2026-03-02T09:00:00Z"},
    {"action": "close", "id": "123456789", "uuid": "dXVpZA==", "conn_id": 7, "session_id": 4242,
     "created_at": "2026-03-02T09:22:00Z"},
]})

# Splashtop session log "Export as CSV": its help page names the contents (the two devices, time,
# user, duration) but shows no header row and no sample: these headers are this project's reading
# of it. Times are the account's local time (Europe/Paris here); the values are made up.
SPLASHTOP = (
    "\ufeffUser;Computer;Group;Start Time;End Time;Duration;Note\r\n"
    "ann@acme-msp;RECEPTION-PC;Acme Ltd;2026-03-02 10:00:00;2026-03-02 10:22:00;00:22:00;printer\r\n"
)

# Supremo Console report export: the help page names the groupings (group, computer, Supremo ID,
# user, dates) but shows no header row and no sample: these headers are this project's reading
# of it; the values are made up.
SUPREMO = (
    "Group,Computer,Supremo ID,User,Start,End,Notes\r\n"
    "Acme Ltd,RECEPTION-PC,123 456 789,Ann Tech,2026-03-02 10:00,2026-03-02 10:22,\r\n"
)

# A CSV from any other tool, its headers named by the request's `columns`.
GENERIC = (
    "Ticket,Begin,Finish,Machine,Who,Customer,Comment\n"
    "T-1,2026-03-02T09:00:00+01:00,2026-03-02T09:22:00+01:00,RECEPTION-PC,Ann Tech,Acme Ltd,\n"
)
GENERIC_COLUMNS = {"session_id": "Ticket", "started_at": "Begin", "ended_at": "Finish", "computer_id": "Machine",
                   "technician": "Who", "group": "Customer", "notes": "Comment"}
