"""Files finance can use (SPEC §11), opened the way their users open them: the xlsx with a reader
library (numbers are numbers, dates are dates, durations are durations), each spreadsheet CSV
locale with LibreOffice headless as a double click in that locale imports it, the QuickBooks and
Xero files against their import columns; local time zones and local-date periods; every client in
one file; names beside ids; the link saves the file under a name that says client and period.

`make test` installs Debian's LibreOffice Calc (`make office`) when it is missing."""
import csv
import io
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import boto3
import pytest

from .conftest import create_group, create_profile, record

openpyxl = pytest.importorskip("openpyxl", reason="openpyxl is in the dev extra: make venv")

PARIS = timezone(timedelta(hours=1))  # Paris in November (CET)
OCT_31_2330Z = datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)  # 1 November, 00:30 in Paris
QUICKBOOKS = ["InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Item(Product/Service)", "ItemDescription",
              "ItemQuantity", "ItemRate", "ItemAmount", "ServiceDate"]
XERO = ["*ContactName", "*InvoiceNumber", "*InvoiceDate", "*DueDate", "*Description", "*Quantity", "*UnitAmount",
        "*AccountCode", "*TaxType", "Currency"]
SOFFICE = shutil.which("soffice") or "/usr/bin/soffice"
# LibreOffice's CSV import as a double click in each locale: the locale's list separator, the
# character set detected (empty: the BOM decides, as the import dialog does), the locale's language.
LANGUAGES = {"en": 1033, "fr": 1036, "it": 1040, "de": 1031}


def download(key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=os.environ["EXPORTS_BUCKET"], Key=key)["Body"].read()


def export(tenant, body, path="/v1/groups/bakery/exports"):
    status, answer = tenant.finance.post(path, body)
    assert status == 201, answer
    return answer


def saved_as(answer) -> str:
    disposition = parse_qs(urlparse(answer["url"]).query)["response-content-disposition"][0]
    return unquote(disposition)


def workbook(answer, data_only=False):
    return openpyxl.load_workbook(io.BytesIO(download(answer["key"])), data_only=data_only)


@pytest.fixture
def bakery(msp):
    """Boulangerie Zoë (group `bakery`, computer "Caisse née") on the Standard tariff, three sessions
    around the end of October in Paris, one of them accounted."""
    profile = create_profile(msp, profile_id="standard", name="Tarif Standard €")
    assert msp.admin.put("/v1/groups/bakery", {"name": "Boulangerie Zoë & Fils"})[0] == 201
    assert msp.admin.put("/v1/groups/bakery/computers/pc-1", {"name": "Caisse née"})[0] == 200
    assert msp.admin.put("/v1/groups/bakery/contract", {"profile_id": profile["profile_id"]})[0] == 200
    record(msp, "oct-1", 1320, start=datetime(2026, 10, 12, 8, 0, tzinfo=timezone.utc), group_id="bakery",
           technician="Zoë Müller", notes="réparé l'imprimante")
    record(msp, "oct-2", 3660, start=datetime(2026, 10, 31, 22, 0, tzinfo=timezone.utc), group_id="bakery",
           technician="Zoë Müller", notes="=SUM(1)")
    record(msp, "nov-1", 1800, start=OCT_31_2330Z, group_id="bakery", technician="Jörg", computer_id="pc-unlisted")
    assert msp.finance.post("/v1/sessions/oct-1/lock")[0] == 200
    return msp


# ---------------------------------------------------------------- time zones and periods


def test_a_paris_session_at_half_past_midnight_on_1_november_is_in_the_november_file(bakery):
    november = {"from": "2026-11-01", "to": "2026-12-01", "time_zone": "Europe/Paris"}
    answer = export(bakery, november)
    rows = list(csv.DictReader(io.StringIO(download(answer["key"]).decode())))
    assert [row["session_id"] for row in rows] == ["nov-1"]
    assert rows[0]["started_at"] == "2026-11-01T00:30:00+01:00"  # the machine file in the zone, offset and all
    assert answer["file_name"] == "boulangerie-zoe-fils_2026-11.csv"
    october = export(bakery, {"from": "2026-10-01", "to": "2026-11-01", "time_zone": "Europe/Paris"})
    assert october["rows"] == 2 and october["file_name"] == "boulangerie-zoe-fils_2026-10.csv"
    # The same dates in UTC put the session in October (the old behaviour, still the default).
    assert export(bakery, {"from": "2026-11-01", "to": "2026-12-01"})["rows"] == 0
    assert export(bakery, {"from": "2026-10-01", "to": "2026-11-01"})["rows"] == 3


def test_full_timestamps_are_still_accepted_and_the_default_file_is_unchanged(bakery):
    answer = export(bakery, {"from": "2026-10-31T23:00:00Z", "to": "2026-11-01T00:00:00+00:00"})
    text = download(answer["key"]).decode()
    assert not text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["session_id", "group_id", "technician"] and [r[0] for r in rows[1:]] == ["nov-1"]
    assert rows[1][4] == "2026-10-31T23:30:00Z"
    assert answer["file_name"] == "boulangerie-zoe-fils_2026-10-31_2026-10-31.csv"


# ---------------------------------------------------------------- xlsx


def test_the_xlsx_has_typed_cells_local_dates_names_and_a_totals_row(bakery):
    answer = export(bakery, {"format": "xlsx", "time_zone": "Europe/Paris", "from": "2026-10-01", "to": "2026-12-01"})
    assert answer["rows"] == 3 and answer["key"].endswith(".xlsx")
    assert answer["file_name"] == "boulangerie-zoe-fils_2026-10-01_2026-11-30.xlsx"
    assert saved_as(answer) == 'attachment; filename="boulangerie-zoe-fils_2026-10-01_2026-11-30.xlsx"'
    book = workbook(answer)
    assert book.sheetnames == ["Boulangerie Zoë & Fils"]
    sheet = book.active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = rows[0]
    assert header[:8] == ["Client", "Client id", "Session", "Technician", "Computer", "Computer id", "Start", "End"]
    first = dict(zip(header, rows[1]))
    assert first["Client"] == "Boulangerie Zoë & Fils" and first["Technician"] == "Zoë Müller"
    assert first["Computer"] == "Caisse née" and first["Profile"] == "Tarif Standard €" and first["Profile id"] == "standard"
    assert first["Start"] == datetime(2026, 10, 12, 10, 0)  # a real date, Paris summer time
    assert first["Connection"] == timedelta(minutes=22) and first["Billed time"] == timedelta(minutes=25)
    assert first["Cost"] == 30 and isinstance(first["Cost"], (int, float)) and first["Currency"] == "EUR"
    assert first["Status"] == "accounted" and isinstance(first["Locked at"], datetime)
    assert first["Notes"] == "réparé l'imprimante"
    second = dict(zip(header, rows[2]))
    assert second["Notes"] == "=SUM(1)" and sheet.cell(3, header.index("Notes") + 1).data_type == "s"  # text, never a formula
    third = dict(zip(header, rows[3]))
    assert third["Start"] == datetime(2026, 11, 1, 0, 30) and third["Computer"] is None and third["Computer id"] == "pc-unlisted"
    assert third["Extra minutes"] == 0 and third["Profile version"] == 1
    totals = dict(zip(header, rows[4]))
    assert totals["Client"] == "Total" and totals["Cost"] == "=SUBTOTAL(109,M2:M4)"
    cached = dict(zip(header, [c.value for c in next(workbook(answer, data_only=True).active.iter_rows(min_row=5))]))
    assert Decimal(str(cached["Cost"])) == Decimal("30.00") + Decimal("70.00") + Decimal("35.00")
    assert cached["Currency"] == "EUR"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:T4"


def test_every_client_in_one_workbook_one_sheet_each_and_a_summary(bakery):
    create_group(bakery, "cafe", "standard", computers=["pc-2"])
    record(bakery, "cafe-1", 900, start=datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc), group_id="cafe", computer_id="pc-2")
    create_group(bakery, "idle", "standard")  # no session: no sheet
    answer = export(bakery, {"format": "xlsx", "locale": "fr", "from": "2026-10-01", "to": "2026-11-01",
                             "time_zone": "Europe/Paris"}, path="/v1/exports")
    assert answer["rows"] == 3 and answer["file_name"] == "all-clients_2026-10.xlsx"
    book = workbook(answer, data_only=True)
    assert book.sheetnames == ["Récapitulatif", "Boulangerie Zoë & Fils", "cafe Ltd"]
    summary = [[c.value for c in row] for row in book["Récapitulatif"].iter_rows()]
    assert summary[0] == ["Client", "Id client", "Sessions", "Durée totale", "Durée facturée", "Coût", "Devise"]
    assert summary[1][:3] == ["Boulangerie Zoë & Fils", "bakery", 2] and summary[1][5] == 100 and summary[1][6] == "EUR"
    assert summary[2][:3] == ["cafe Ltd", "cafe", 1] and summary[2][4] == timedelta(minutes=15) and summary[2][5] == 20
    assert summary[3][0] == "Total EUR" and summary[3][5] == 120
    cafe = [[c.value for c in row] for row in book["cafe Ltd"].iter_rows()]
    assert cafe[0][0] == "Client" and cafe[0][8] == "Connexion" and cafe[1][2] == "cafe-1" and cafe[1][14] == "à comptabiliser"


def test_an_empty_export_is_still_a_workbook_with_headers(bakery):
    answer = export(bakery, {"format": "xlsx", "from": "2020-01-01", "to": "2020-02-01"})
    assert answer["rows"] == 0 and answer["file_name"] == "boulangerie-zoe-fils_2020-01.xlsx"
    sheet = workbook(answer).active
    assert sheet.max_row == 1 and sheet.cell(1, 1).value == "Client"


# ---------------------------------------------------------------- spreadsheet CSV, opened by LibreOffice


@pytest.fixture(scope="module")
def soffice():
    if not Path(SOFFICE).exists():
        pytest.fail("LibreOffice is missing: `make office` installs Debian's libreoffice-calc-nogui")
    return SOFFICE


def libreoffice_opens(soffice, data: bytes, locale: str, tmp_path) -> list[list]:
    """What a double click on the CSV shows in LibreOffice set to `locale`: the cells as typed values."""
    source = tmp_path / f"sessions-{locale}.csv"
    source.write_bytes(data)
    separator = 44 if locale == "en" else 59
    done = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless",
         f"--infilter=CSV:{separator},34,,1,,{LANGUAGES[locale]}", "--convert-to", "xlsx", "--outdir", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=120,
    )
    converted = tmp_path / f"sessions-{locale}.xlsx"
    assert converted.exists(), (done.stdout, done.stderr)
    return [[cell.value for cell in row] for row in openpyxl.load_workbook(converted).active.iter_rows()]


EXPECTED_HEADERS = {
    "en": ("Client", "Technician", "Start", "Billed time (min)", "Billed time (h:mm)", "Cost", "Status"),
    "fr": ("Client", "Technicien", "Début", "Durée facturée (min)", "Durée facturée (h:mm)", "Coût", "Statut"),
    "it": ("Cliente", "Tecnico", "Inizio", "Durata fatturata (min)", "Durata fatturata (h:mm)", "Costo", "Stato"),
    "de": ("Kunde", "Techniker", "Beginn", "Abgerechnete Dauer (Min.)", "Abgerechnete Dauer (h:mm)", "Kosten", "Status"),
}


@pytest.mark.parametrize("locale", ["en", "fr", "it", "de"])
def test_each_locale_csv_opens_in_libreoffice_with_accents_numbers_and_dates(bakery, soffice, tmp_path, locale):
    answer = export(bakery, {"locale": locale, "time_zone": "Europe/Paris", "from": "2026-10-01", "to": "2026-12-01"})
    data = download(answer["key"])
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark
    delimiter = "," if locale == "en" else ";"
    assert data.decode("utf-8-sig").splitlines()[0].count(delimiter) == 22  # 20 columns, 3 durations twice: 23
    rows = libreoffice_opens(soffice, data, locale, tmp_path)
    header, lines = rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]
    client, technician, start, billed, clock, cost, status = EXPECTED_HEADERS[locale]
    assert {client, technician, start, billed, clock, cost, status} <= set(header), header
    assert len(lines) == 3
    assert lines[0][client] == "Boulangerie Zoë & Fils" and lines[0][technician] == "Zoë Müller"
    assert lines[2][technician] == "Jörg"
    assert [line[start] for line in lines] == [datetime(2026, 10, 12, 10, 0), datetime(2026, 10, 31, 23, 0), datetime(2026, 11, 1, 0, 30)]
    costs = [line[cost] for line in lines]
    assert all(isinstance(c, (int, float)) for c in costs), costs  # numbers, not text
    assert sum(Decimal(str(c)) for c in costs) == Decimal("135.00")
    assert [line[billed] for line in lines] == [25, 65, 30]
    assert lines[1][clock] in (timedelta(hours=1, minutes=5), datetime(1899, 12, 30, 1, 5).time())  # 1:05, a time
    connection_minutes = [line[header[header.index(billed) - 5]] for line in lines]  # Connection (min): 22, 61, 30
    assert connection_minutes == [22, 61, 30]
    assert lines[1][header[-1]] == "'=SUM(1)"  # a note that looks like a formula stays text


def test_a_locale_csv_writes_fractions_of_minutes_with_the_locales_decimal_separator(bakery):
    record(bakery, "odd", 1330, start=datetime(2026, 10, 20, 8, 0, tzinfo=timezone.utc), group_id="bakery")
    text = download(export(bakery, {"locale": "de", "from": "2026-10-20", "to": "2026-10-21"})["key"]).decode("utf-8-sig")
    (header, row) = list(csv.reader(io.StringIO(text), delimiter=";"))
    values = dict(zip(header, row))
    assert values["Verbindung (Min.)"] == "22,17" and values["Verbindung (h:mm)"] == "0:22"
    assert values["Beginn"] == "20.10.2026 08:00" and values["Kosten"] == "30,00" and values["Status"] == "abzurechnen"


# ---------------------------------------------------------------- invoice files


def test_the_quickbooks_file_has_its_import_columns_one_invoice_per_client_and_a_line_per_session(bakery):
    create_group(bakery, "cafe", "standard", computers=["pc-2"])
    record(bakery, "cafe-1", 900, start=datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc), group_id="cafe", computer_id="pc-2")
    for session in ("oct-2", "cafe-1"):
        assert bakery.finance.post(f"/v1/sessions/{session}/lock")[0] == 200
    answer = export(bakery, {"format": "quickbooks", "from": "2026-10-01", "to": "2026-11-01", "time_zone": "Europe/Paris",
                             "invoice_prefix": "RS-2026-", "invoice_start": 41, "invoice_date": "2026-11-02",
                             "due_days": 14, "item": "Remote support"}, path="/v1/exports")
    assert answer["file_name"] == "all-clients_2026-10.csv"
    text = download(answer["key"]).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == QUICKBOOKS
    assert [(r["InvoiceNo"], r["Customer"], r["ItemAmount"]) for r in rows] == [
        ("RS-2026-41", "Boulangerie Zoë & Fils", "30.00"), ("RS-2026-41", "Boulangerie Zoë & Fils", "70.00"),
        ("RS-2026-42", "cafe Ltd", "20.00"),
    ]
    first = rows[0]
    assert (first["InvoiceDate"], first["DueDate"], first["ServiceDate"]) == ("11/02/2026", "11/16/2026", "10/12/2026")
    assert first["Item(Product/Service)"] == "Remote support" and (first["ItemQuantity"], first["ItemRate"]) == ("1", "30.00")
    assert "Zoë Müller" in first["ItemDescription"] and "Caisse née" in first["ItemDescription"]
    assert "réparé l'imprimante" in first["ItemDescription"] and "25 min" in first["ItemDescription"]


def test_the_xero_file_has_its_import_columns_and_accounted_sessions_only_by_default(bakery):
    answer = export(bakery, {"format": "xero", "from": "2026-10-01", "to": "2026-12-01", "account_code": "4000",
                             "tax_type": "20% (VAT on Income)", "invoice_date": "2026-12-01"})
    assert answer["rows"] == 1 and answer["file_name"] == "boulangerie-zoe-fils_2026-10-01_2026-11-30.csv"
    rows = list(csv.reader(io.StringIO(download(answer["key"]).decode("utf-8-sig"))))
    assert rows == [XERO, ["Boulangerie Zoë & Fils", "INV-1", "01/12/2026", "31/12/2026", rows[1][4], "1", "30.00", "4000",
                           "20% (VAT on Income)", "EUR"]]
    assert rows[1][4].startswith("Remote support 2026-10-12 08:00, Zoë Müller, Caisse née, 25 min")
    drafts = export(bakery, {"format": "xero", "status": "to_account", "time_zone": "Europe/Paris"})
    lines = list(csv.DictReader(io.StringIO(download(drafts["key"]).decode("utf-8-sig"))))
    assert [(l["*InvoiceNumber"], l["*UnitAmount"]) for l in lines] == [("INV-1", "70.00"), ("INV-1", "35.00")]
    assert lines[0]["*Description"].endswith(", 65 min: =SUM(1)") and drafts["file_name"] == "boulangerie-zoe-fils_all.csv"
