"""The imports screen in a real browser (Debian's headless Chromium, as tests/test_console.py): an
admin pastes 300 TeamViewer connections for a client with a long accented name (two bad rows are
rejected lines naming their line and field, the others imported; pasted again, all duplicates),
drops a ScreenConnect CSV, chooses a Splashtop file that needs its time zone (refused by name, then
imported with a rejected DST line), and chooses a file over the API's 1 MB body that goes through
the upload link and a job the screen follows to its end. The scheduled pulls: added with
credentials sent once and never shown again, a run's rows taken and last error listed, a wrong
field named, one deleted after a confirmation; technicians and finance see no imports screen."""
import importlib.util
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from console_stack import ROOT, browser_fixture, stack_fixture
from imports_.fake_vendor import FakeTeamViewer
from test_console import By, Select, at_width, call, click, confirm, css, fits, idle, language, no_script_errors, sign_in, text_of, visible, wait
from test_console_real_day import LONG_NAME

TECHNICIAN = "Marie-Thérèse Dupont-Aignan de la Tour d'Auvergne"
stack = stack_fixture()
browser = browser_fixture("UTC", "fr-FR,fr")


@pytest.fixture(scope="module")
def admin(stack):
    tokens = stack["tenants"][0]["tokens"]
    assert call(stack, tokens["admin"], "PUT", "/v1/groups/long-client", {"name": LONG_NAME})[0] in (200, 201)
    return tokens


def teamviewer(count: int, first: int = 0, notes: str = "", bad: bool = False) -> str:
    records = [{"id": f"tv-{n:05d}", "username": TECHNICIAN, "devicename": f"POSTE-ACCUEIL-{n:03d}", "groupname": LONG_NAME,
                "start_date": f"2026-10-{1 + n % 28:02d}T{8 + n % 9:02d}:{n % 60:02d}:00Z",
                "end_date": f"2026-10-{1 + n % 28:02d}T{9 + n % 9:02d}:{n % 60:02d}:00Z", "notes": notes} for n in range(first, first + count)]
    if bad:
        records[40]["end_date"] = "2026-09-30T00:00:00Z"  # ends before it starts
        del records[199]["id"]
    return json.dumps({"records": records, "records_remaining": 0})


def open_imports(driver, stack, admin):
    sign_in(driver, stack, admin["admin"], "admin")
    language(driver, "en")
    click(driver, "#tab-imports")
    wait(driver, lambda d: visible(d, "#import-form"), "no import screen")
    idle(driver)


def paste(driver, text):
    box = css(driver, "#import-content")
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", box, text)


def run_import(driver):
    """Presses Import and waits for its answer: an error, or the figures drawn again (emptied first)."""
    driver.execute_script("document.querySelector('#import-summary').replaceChildren()")
    click(driver, "#import-run")
    wait(driver, lambda d: visible(d, "#import-error") or d.find_elements(By.CSS_SELECTOR, "#import-summary dd"),
         "the import did not finish", timeout=120)
    idle(driver)


def figures(driver) -> dict:
    return {e.get_attribute("data-figure"): int(e.text.replace("\u202f", "").replace(",", "").replace(" ", ""))
            for e in driver.find_elements(By.CSS_SELECTOR, "#import-summary dd")}


def rejected(driver) -> list[tuple]:
    return [tuple(c.text for c in row.find_elements(By.CSS_SELECTOR, "td")) for row in driver.find_elements(By.CSS_SELECTOR, "#import-rejected tbody tr")]


def test_an_admin_imports_several_tools_and_reads_each_rejected_line(stack, browser, admin, tmp_path):
    driver = browser
    open_imports(driver, stack, admin)
    Select(css(driver, "#import-source")).select_by_value("teamviewer")
    paste(driver, teamviewer(300, bad=True))
    run_import(driver)
    assert figures(driver) == {"rows": 300, "imported": 298, "duplicates": 0, "conflicts": 0, "below_minimum": 0, "rejected": 2}
    assert rejected(driver) == [("41", "end_date", "is before the connection's start"), ("200", "id", "is required")]
    assert text_of(driver, "#import-rejected-title") == "2 rejected lines (the others are imported)"
    session = call(stack, admin["admin"], "GET", "/v1/sessions/teamviewer:tv-00299")[1]
    assert (session["group_id"], session["technician"]) == ("long-client", TECHNICIAN)
    at_width(driver, 390)
    fits(driver, "rejected lines on a phone")
    at_width(driver, 1280)
    run_import(driver)  # the same paste again: nothing new
    assert figures(driver)["duplicates"] == 298 and figures(driver)["imported"] == 0
    changed = json.loads(teamviewer(300, bad=True))
    changed["records"][7]["end_date"] = "2026-10-08T23:59:00Z"  # the tool's row changed since: a conflict, nothing changed
    paste(driver, json.dumps(changed))
    run_import(driver)
    assert (figures(driver)["conflicts"], figures(driver)["duplicates"]) == (1, 297)
    (conflict,) = driver.find_elements(By.CSS_SELECTOR, "#import-conflicts tbody tr")
    assert [c.text for c in conflict.find_elements(By.CSS_SELECTOR, "td")][:2] == ["8", "teamviewer:tv-00007"]
    assert call(stack, admin["admin"], "GET", "/v1/sessions/teamviewer:tv-00007")[1]["ended_at"] == "2026-10-08T16:07:00Z"

    # A CSV dropped on the screen (ScreenConnect), for a client chosen on the screen.
    Select(css(driver, "#import-source")).select_by_value("screenconnect")
    Select(css(driver, "#import-group")).select_by_value("bakery")
    paste(driver, "")
    csv = ("SessionID,ConnectionID,Host,GuestMachineName,ConnectedTime,DisconnectedTime\r\n"
           + "".join(f"sc-{n},c-{n},{TECHNICIAN},bakery-till,2026-10-{n + 1:02d} 09:00:00,2026-10-{n + 1:02d} 09:40:00\r\n" for n in range(12)))
    driver.execute_script("""const file = new File([arguments[1]], 'screenconnect.csv', {type: 'text/csv'});
        const data = new DataTransfer(); data.items.add(file);
        arguments[0].dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));""",
                          css(driver, "#import-drop"), csv)
    wait(driver, lambda d: "screenconnect.csv" in text_of(d, "#import-chosen"), "the dropped file is not named")
    run_import(driver)
    assert figures(driver)["imported"] == 12 and not visible(driver, "#import-rejected")

    # A Splashtop file chosen with the file picker: its local times need a time zone.
    Select(css(driver, "#import-source")).select_by_value("splashtop")
    Select(css(driver, "#import-group")).select_by_value("dental")
    splashtop = tmp_path / "splashtop.csv"
    splashtop.write_text("\ufeffUser;Computer;Start Time;End Time\r\n"
                         f"{TECHNICIAN};dental-reception;2026-10-25 02:30:00;2026-10-25 03:10:00\r\n"
                         f"{TECHNICIAN};dental-reception;2026-10-26 10:00:00;2026-10-26 10:45:00\r\n", encoding="utf-8")
    css(driver, "#import-file").send_keys(str(splashtop))
    click(driver, "#import-run")
    wait(driver, lambda d: visible(d, "#import-error"), "a missing time zone is not said")
    assert "Time zone" in text_of(driver, "#import-error")
    css(driver, "#import-zone").send_keys("Europe/Rome")
    run_import(driver)
    assert figures(driver)["imported"] == 1
    assert rejected(driver)[0][:2] == ("2", "Start Time") and "ambiguous" in rejected(driver)[0][2]
    no_script_errors(driver)


def test_a_file_over_the_request_limit_goes_through_the_upload_and_its_job(stack, browser, admin, tmp_path):
    driver = browser
    open_imports(driver, stack, admin)
    Select(css(driver, "#import-source")).select_by_value("teamviewer")
    big = tmp_path / "teamviewer-october.json"
    big.write_text(teamviewer(520, first=1000, notes="Réinstallation du pilote, sauvegardes vérifiées. " * 40), encoding="utf-8")
    assert big.stat().st_size > 1_100_000
    css(driver, "#import-file").send_keys(str(big))
    run_import(driver)
    assert figures(driver) == {"rows": 520, "imported": 520, "duplicates": 0, "conflicts": 0, "below_minimum": 0, "rejected": 0}
    sent = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert any("/_s3/" in name for name in sent) and any(name.endswith("/v1/imports/uploads") for name in sent)
    assert any("/v1/jobs/import-u-" in name for name in sent)  # the screen followed the job
    assert call(stack, admin["admin"], "GET", "/v1/sessions/teamviewer:tv-01519")[0] == 200
    paste(driver, teamviewer(520, first=3000, notes="Mise à jour du poste et vérification des sauvegardes. " * 36))
    run_import(driver)  # pasted text past the request's 1 MB goes the same way
    assert figures(driver)["imported"] == 520 and not visible(driver, "#import-chosen")
    sent = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert len([name for name in sent if "/_s3/" in name]) == 2
    no_script_errors(driver)


def connection_rows(driver) -> dict:
    return {row.get_attribute("data-connection-id"): row for row in driver.find_elements(By.CSS_SELECTOR, "#connections tbody tr")}


def pull_once(stack, tenant_id: str, connection_id: str, vendor_url: str) -> None:
    """What the connection's schedule does, against the stack's own AWS: the pull function's domain
    call in a child process configured as the stack's functions are (the vendor a fake)."""
    env = {**os.environ, "AWS_ENDPOINT_URL": stack["aws_endpoint_url"], "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
           "TABLE_NAME": stack["table"], "EXPORTS_BUCKET": stack["bucket"], "IMPORT_VENDOR_URLS": json.dumps({"teamviewer": vendor_url}),
           "PYTHONPATH": f"{ROOT / 'layers' / 'billing_core'}{os.pathsep}{ROOT / 'local'}"}
    code = ("import sys; from billing_core import import_connections as c; "
            "print(c.run_pull(sys.argv[1], sys.argv[2], lambda: 600.0))")
    subprocess.run([sys.executable, "-c", code, tenant_id, connection_id], env=env, check=True, timeout=120, capture_output=True)


def test_an_admin_adds_lists_and_deletes_scheduled_pulls(stack, browser, admin):
    driver = browser
    open_imports(driver, stack, admin)
    assert visible(driver, "#connections-none")
    css(driver, "#connection-id").send_keys("teamviewer-main")
    css(driver, "#connection-token").send_keys("script-token")
    Select(css(driver, "#connection-schedule")).select_by_value("rate(6 hours)")
    click(driver, "#connection-save")
    wait(driver, lambda d: "teamviewer-main" in connection_rows(d), "the connection is not listed")
    assert css(driver, "#connection-token").get_attribute("value") == ""  # sent once, not kept on the page
    assert "script-token" not in driver.page_source
    row = connection_rows(driver)["teamviewer-main"]
    assert "every 6 hours" in row.text and "not run yet" in row.text

    Select(css(driver, "#connection-source")).select_by_value("anydesk")
    css(driver, "#connection-id").send_keys("anydesk-main")
    css(driver, "#connection-license").send_keys("1438129266231705")
    click(driver, "#connection-save")
    wait(driver, lambda d: visible(d, "#connection-error"), "a missing API password is not said")
    assert "API password" in text_of(driver, "#connection-error")

    # A run that takes one page then meets an outage: listed with its rows taken and its error.
    tenant_id = stack["tenants"][0]["tenant_id"]
    vendor = FakeTeamViewer([json.loads(teamviewer(4, first=5000))["records"][n] for n in range(4)])
    try:
        vendor.script = [(200, {}, json.dumps(vendor.page({})))] + [(503, {}, "down")] * 3
        pull_once(stack, tenant_id, "teamviewer-main", vendor.url)
    finally:
        vendor.stop()
    click(driver, "#tab-sessions")
    click(driver, "#tab-imports")
    wait(driver, lambda d: connection_rows(d).get("teamviewer-main") is not None
         and connection_rows(d)["teamviewer-main"].get_attribute("data-status") == "vendor_error", "the last run is not listed")
    row = connection_rows(driver)["teamviewer-main"]
    assert row.find_element(By.CSS_SELECTOR, "td.taken").text == "2 imported of 2"
    assert row.find_element(By.CSS_SELECTOR, "td.last-error").text == "the vendor answered 503"
    assert "the tool's API failed" in row.find_element(By.CSS_SELECTOR, "td.last-run").text
    at_width(driver, 390)
    fits(driver, "the scheduled pulls on a phone")
    driver.execute_script("document.querySelector('#connections').scrollIntoView()")
    assert driver.save_screenshot(str(ROOT / "docs" / "console-imports-phone-en.png"))
    at_width(driver, 1280)

    click(driver, row.find_element(By.CSS_SELECTOR, "button.delete"))
    assert "teamviewer-main" in confirm(driver)
    wait(driver, lambda d: "teamviewer-main" not in connection_rows(d), "the deleted connection is still listed")
    assert call(stack, admin["admin"], "GET", "/v1/imports/connections")[1] == {"connections": []}
    no_script_errors(driver)


@pytest.mark.parametrize("role", ["technician", "finance"])
def test_only_admins_see_the_imports_screen(stack, browser, admin, role):
    sign_in(browser, stack, admin[role], role)
    assert not visible(browser, "#tab-imports") and not visible(browser, "#imports-view")


def test_the_stacks_upload_relay_takes_import_files_only(stack, admin):
    """The relay on the console's origin forwards a presigned PUT of an import file, nothing else."""
    status, upload = call(stack, admin["admin"], "POST", "/v1/imports/uploads")
    assert status == 201, upload
    link = urllib.parse.urlsplit(upload["url"])
    for path, expected in ((link.path, 200), (link.path.replace("/imports/", "/exports/"), 404)):
        request = urllib.request.Request(f"{stack['api_url']}/_s3{path}?{link.query}", data=b"{}", method="PUT")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == expected, path
        except urllib.error.HTTPError as error:
            assert error.code == expected, (path, error.code)


def test_over_http_an_import_takes_up_to_its_own_limit_not_the_1_mb_of_other_routes(stack, admin):
    """The stack reads a body as API Gateway hands it to the function: POST /v1/imports takes its
    function's 6 MB (5 MB of text), every other route 1 MB."""
    from billing_local.stack import LARGER_BODIES

    spec = importlib.util.spec_from_file_location("imports_app", ROOT / "functions" / "imports" / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    assert LARGER_BODIES == {("POST", "/v1/imports"): app.MAX_BODY_BYTES}
    content = teamviewer(1300, first=20000, notes="Contrôle des sauvegardes et mise à jour du pilote. " * 38)
    assert 2_500_000 < len(content.encode()) < 5_000_000
    request = urllib.request.Request(f"{stack['api_url']}/v1/imports", method="POST",
                                     data=json.dumps({"source": "teamviewer", "content": content}).encode(),
                                     headers={"Authorization": f"Bearer {admin['admin']}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:  # recorded, or a job that goes on (202)
        assert answer.status in (200, 202)
    assert call(stack, admin["admin"], "POST", "/v1/imports", {"source": "teamviewer", "content": "x" * 6_100_000})[0] == 413
    assert call(stack, admin["admin"], "PUT", "/v1/groups/long-client", {"name": "x" * 1_100_000})[0] == 413
