"""The web console in a real browser: Debian's headless Chromium, driven by Selenium, against the
local stack started as a child process (its demo data, as `make run` shows it).

A technician filters a client, adds extra minutes and sees the cost change, locks a session and
sees it turn green; finance locks all, reads totals that match the API's and downloads the CSV;
an admin versions a profile, assigns it, sees an overrun balance in red and recharges it.
`make browser` installs chromium and chromium-driver (a dependency of `make test`)."""
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from billing_local.stack import StackProcess

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "docs" / "console.png"
CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1500,1000", "--lang=fr-FR",
)
CSV_HEADER = ("session_id", "group_id", "technician", "computer_id", "started_at", "ended_at",
              "connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "cost", "currency",
              "status", "locked_at", "profile_id", "profile_version", "notes")
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}  # the console's dates (to included)
OCTOBER_API = "from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z"  # the browser runs in UTC (TZ below)
GREEN, YELLOW, RED = "rgba(46, 157, 79, 1)", "rgba(242, 194, 0, 1)", "rgba(198, 40, 40, 1)"
WAIT = 10

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: make venv")
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


# ---------------------------------------------------------------- the stack, the API, the browser


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with StackProcess(tmp_path_factory.mktemp("stack") / "stack.json") as process:
        yield process.description


def call(stack, token, method, path, body=None, query=""):
    """The API as any HTTP client sees it (urllib): (status, JSON)."""
    url = f"{stack['api_url']}{path}" + (f"?{query}" if query else "")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, monkeypatch_module):
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `make browser` installs Debian's chromium and chromium-driver")
    monkeypatch_module.setenv("TZ", "UTC")  # dates in the console are local: make local time UTC
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def wait(driver, condition, message="", timeout=WAIT):
    def check(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check, message)


def _alert_text(driver) -> str | None:
    try:
        return driver.switch_to.alert.text
    except NoAlertPresentException:
        return None


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def visible(driver, selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return bool(found) and found[0].is_displayed()


def text_of(driver, selector):
    return css(driver, selector).text.strip()


def row(driver, session_id):
    return css(driver, f'#sessions tbody tr[data-session-id="{session_id}"]')


def hmm(seconds: int) -> str:
    sign, minutes = ("-" if seconds < 0 else ""), abs(seconds) // 60
    return f"{sign}{minutes // 60}:{minutes % 60:02d}"


def sign_in(driver, stack, token, role_word):
    if driver.current_url.startswith(stack["api_url"]):
        driver.execute_script("sessionStorage.clear()")  # the previous user signs out
    driver.get(f"{stack['api_url']}/?page_size=3")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    field = css(driver, "#token")
    field.clear()
    field.send_keys(token)
    css(driver, "#signin").click()
    wait(driver, lambda d: text_of(d, "#whoami") == f"Signed in as {role_word}", f"not signed in as {role_word}")
    idle(driver)  # the client groups are loaded


def show_group(driver, group_id):
    Select(css(driver, "#group")).select_by_value(group_id)
    driver.execute_script(
        "document.querySelector('#from').value = arguments[0]; document.querySelector('#to').value = arguments[1];",
        OCTOBER["from"], OCTOBER["to"])
    css(driver, "#search").click()
    idle(driver)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")
         and re.search(r"\d+ sessions? shown", text_of(d, "#sessions-count")), f"no sessions of {group_id}")


def retype(field, text):
    """Replaces what a field holds as a person does (select all, type, Tab): one change event."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text + Keys.TAB)


def idle(driver):
    wait(driver, lambda d: d.execute_script("return document.body.dataset.busy") == "false", "the console stays busy")


def load_every_page(driver):
    while visible(driver, "#more"):
        count = len(driver.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]"))
        css(driver, "#more").click()
        wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")) > count, "load more did nothing")


def shown_ids(driver):
    return [r.get_attribute("data-session-id") for r in driver.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")]


def marker_colour(driver, session_id):
    return row(driver, session_id).find_element(By.CSS_SELECTOR, ".marker").value_of_css_property("background-color")


# ---------------------------------------------------------------- the journey


def test_technician_finance_and_admin_work_through_the_console(stack, browser):
    tenant = stack["tenants"][0]
    tokens = tenant["tokens"]
    driver = browser

    # More October sessions at the bakery, as the agent uploads them: the table then has pages.
    seeded = call(stack, tokens["finance"], "GET", "/v1/groups/bakery/sessions", query=OCTOBER_API)[1]["sessions"]
    assert seeded, "the demo data has October sessions at the bakery"
    uploads = [{"session_id": f"ui-{n}", "technician": "ann", "computer_id": "bakery-office",
                "started_at": f"2026-10-{10 + n:02d}T09:00:00Z", "ended_at": f"2026-10-{10 + n:02d}T09:{17 + 4 * n:02d}:00Z",
                "notes": "=HYPERLINK(\"x\")" if n == 1 else f"visit {n}"} for n in range(1, 5)]
    status, batch = call(stack, tokens["agent"], "POST", "/v1/sessions/batch", {"sessions": uploads})
    assert status == 200 and all(r["recorded"] for r in batch["results"]), batch
    status, searched = call(stack, tokens["finance"], "GET", "/v1/groups/bakery/sessions", query=OCTOBER_API)
    assert status == 200
    october = searched["sessions"]
    assert len(october) == len(seeded) + 4 > 3  # more than one page of 3

    # The browser's language (French) is the default; the switch turns it to English.
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    assert text_of(driver, "#signin-view h2") == "Connexion"
    Select(css(driver, "#lang")).select_by_value("en")
    assert text_of(driver, "#signin-view h2") == "Sign in"

    # A wrong token is refused in words, next to the token field.
    css(driver, "#token").send_keys("not-a-token")
    css(driver, "#signin").click()
    wait(driver, lambda d: "Not signed in" in text_of(d, "#signin-error"), "no error for a wrong token")

    # ---- technician: filter a client, adjust, lock
    sign_in(driver, stack, tokens["technician"], "technician")
    driver.refresh()  # the token is kept for the tab (sessionStorage): a reload stays signed in
    wait(driver, lambda d: d.execute_script("return document.body.dataset.role") == "technician", "a reload signed out")
    idle(driver)
    assert not visible(driver, "#tab-profiles") and not visible(driver, "#export")
    show_group(driver, "bakery")
    assert len(shown_ids(driver)) == 3 and visible(driver, "#more")  # ?page_size=3: next_cursor pages
    assert not visible(driver, "#lock-all")
    load_every_page(driver)
    assert shown_ids(driver) == [s["session_id"] for s in october]
    assert text_of(driver, "#sessions-count") == f"{len(october)} sessions shown" and not visible(driver, "#more")

    target = next(s for s in october if s["session_id"] == "ui-2")  # 25 min: 20.00 + 2 steps of 5.00
    assert (target["total_seconds"], target["billed_minutes"], target["cost"], target["status"]) == (1500, 25, "30.00", "to_account")
    line = row(driver, "ui-2")
    assert line.find_element(By.CSS_SELECTOR, ".connection").text == "0:25"
    assert line.find_element(By.CSS_SELECTOR, ".cost").text == "30.00 EUR"
    assert marker_colour(driver, "ui-2") == YELLOW

    # Out of range: the API's reason shows under the row, nothing changes.
    extra = line.find_element(By.CSS_SELECTOR, "input.extra")
    retype(extra, "20000")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'tr.row-error[data-error-for="ui-2"]'), "no error shown for extra minutes")
    assert "extra_minutes: must be between -10080 and 10080" in text_of(driver, 'tr.row-error[data-error-for="ui-2"]')
    assert row(driver, "ui-2").find_element(By.CSS_SELECTOR, ".cost").text == "30.00 EUR"

    # +17 extra minutes: 42 min → 20.00 + ceil(27/5) × 5.00 = 50.00, from the API's answer.
    extra = row(driver, "ui-2").find_element(By.CSS_SELECTOR, "input.extra")
    retype(extra, "17")
    wait(driver, lambda d: row(d, "ui-2").find_element(By.CSS_SELECTOR, ".cost").text == "50.00 EUR", "the cost did not change")
    assert not driver.find_elements(By.CSS_SELECTOR, 'tr.row-error[data-error-for="ui-2"]')
    assert row(driver, "ui-2").find_element(By.CSS_SELECTOR, ".total").text == "0:42"
    assert row(driver, "ui-2").find_element(By.CSS_SELECTOR, ".billed").text == "45"
    notes = row(driver, "ui-2").find_element(By.CSS_SELECTOR, "input.notes")
    retype(notes, "reinstalled the driver")
    wait(driver, lambda d: call(stack, tokens["technician"], "GET", "/v1/sessions/ui-2")[1]["notes"] == "reinstalled the driver", "notes not saved")
    status, stored = call(stack, tokens["technician"], "GET", "/v1/sessions/ui-2")
    assert (stored["extra_minutes"], stored["cost"], stored["billed_minutes"]) == (17, "50.00", 45)

    # A negative adjustment is allowed: 29 min - 14 = 15 min → the initial step alone, 20.00.
    extra = row(driver, "ui-3").find_element(By.CSS_SELECTOR, "input.extra")
    retype(extra, "-14")
    wait(driver, lambda d: row(d, "ui-3").find_element(By.CSS_SELECTOR, ".cost").text == "20.00 EUR", "negative extra minutes not applied")

    # The padlock: the row turns green and can no longer be edited.
    row(driver, "ui-2").find_element(By.CSS_SELECTOR, "button.lock").click()
    wait(driver, lambda d: row(d, "ui-2").get_attribute("data-status") == "accounted", "the session did not lock")
    assert marker_colour(driver, "ui-2") == GREEN
    assert not row(driver, "ui-2").find_elements(By.CSS_SELECTOR, "input")
    assert call(stack, tokens["technician"], "GET", "/v1/sessions/ui-2")[1]["status"] == "accounted"
    accounted = sum(s["status"] == "accounted" for s in seeded) + 1
    wait(driver, lambda d: text_of(d, '[data-total="accounted.sessions"]') == str(accounted), "totals not refreshed after the lock")

    # The picture of the sessions view for the README.
    wait(driver, lambda d: d.execute_script("return document.getAnimations().length") == 0, "still animating")
    driver.set_window_size(1500, 680)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(SCREENSHOT))
    driver.set_window_size(1500, 1000)

    # ---- finance: lock all, totals, export
    sign_in(driver, stack, tokens["finance"], "finance")
    assert visible(driver, "#export") and not visible(driver, "#tab-profiles") and not visible(driver, "#recharge")
    show_group(driver, "bakery")
    load_every_page(driver)
    assert not driver.find_elements(By.CSS_SELECTOR, "#sessions input.extra")  # finance does not adjust
    status, searched = call(stack, tokens["finance"], "GET", "/v1/groups/bakery/sessions", query=OCTOBER_API + "&status=to_account")
    pending = searched["sessions"]
    assert len(pending) == len(october) - accounted >= 4
    pending_cost = sum(int(s["cost"].replace(".", "")) for s in pending)
    pending_minutes = sum(s["billed_minutes"] for s in pending)
    css(driver, "#lock-all").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#confirm").get_attribute("open") is not None, "no confirmation")
    question = text_of(driver, "#confirm-text")
    assert question.startswith(f"Lock {len(pending)} sessions of Bakery Miller (1 Oct 2026 to 31 Oct 2026): {pending_minutes} billed minutes, "
                               f"{pending_cost // 100}.{pending_cost % 100:02d} EUR?"), question
    css(driver, "#confirm-ok").click()
    wait(driver, lambda d: f"{len(pending)} sessions locked" in text_of(d, "#lock-all-result"), "lock all did not report")
    load_every_page(driver)
    wait(driver, lambda d: all(r.get_attribute("data-status") == "accounted"
                               for r in d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")), "rows not green")
    assert {marker_colour(driver, sid) for sid in shown_ids(driver)} == {GREEN}

    status, totals = call(stack, tokens["finance"], "GET", "/v1/groups/bakery/totals", query=OCTOBER_API)
    assert status == 200 and totals["to_account"]["sessions"] == 0 and totals["accounted"]["sessions"] == len(october)
    for line_name in ("accounted", "to_account"):
        figures = totals[line_name]
        assert text_of(driver, f'[data-total="{line_name}.sessions"]') == str(figures["sessions"])
        assert text_of(driver, f'[data-total="{line_name}.total_seconds"]') == hmm(figures["total_seconds"])
        assert text_of(driver, f'[data-total="{line_name}.billed_minutes"]') == str(figures["billed_minutes"])
        assert text_of(driver, f'[data-total="{line_name}.cost"]') == f"{figures['cost']} EUR"
    assert text_of(driver, "#totals-contract") == "Contract: Standard support (version 1, pay per use, EUR)"

    Select(css(driver, "#delimiter")).select_by_value(";")
    css(driver, "#export-submit").click()
    wait(driver, lambda d: visible(d, "#export-link"), "no export link")
    assert text_of(driver, "#export-link") == f"Download CSV ({len(october)} rows)"
    with urllib.request.urlopen(css(driver, "#export-link").get_attribute("href"), timeout=10) as response:
        lines = response.read().decode("utf-8-sig").splitlines()
    assert lines[0] == ";".join(CSV_HEADER)
    assert len(lines) == len(october) + 1 and any(line.startswith("ui-1;") and "'=HYPERLINK" in line for line in lines)

    # ---- admin: profiles (versions), contracts, an overrun balance in red, a recharge
    sign_in(driver, stack, tokens["admin"], "admin")
    css(driver, "#tab-profiles").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#profiles tr[data-profile-id="standard"]'), "no profiles")
    css(driver, "#profile-new").click()
    form = css(driver, "#profile-form")
    Select(form.find_element(By.NAME, "type")).select_by_value("subscription")
    for name, value in (("profile_id", "quarter"), ("name", "Quarter hour"), ("min_duration_minutes", "0"),
                        ("total_hours", "0.25"), ("amount", "9"), ("step_minutes", "")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    css(driver, "#profile-save").click()  # step_minutes missing: said next to that field
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#profile-form .field-error"), "no field error")
    assert "step_minutes: is required" in text_of(driver, "#profile-form .field-error")
    form.find_element(By.NAME, "step_minutes").send_keys("15")
    css(driver, "#profile-save").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#profiles tr[data-profile-id="quarter"]'), "profile not created")
    assert text_of(driver, "#profiles-result") == "Saved quarter version 1."

    css(driver, '#profiles tr[data-profile-id="quarter"] button.edit').click()
    name = css(driver, "#profile-form").find_element(By.NAME, "name")
    name.clear()
    name.send_keys("Quarter hour (2027)")
    css(driver, "#profile-save").click()
    wait(driver, lambda d: text_of(d, "#profiles-result") == "Saved quarter version 2.", "no new version")
    css(driver, '#profiles tr[data-profile-id="quarter"] button.history').click()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 2, "no version history")
    assert [r.text.split(" ")[0] for r in driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")] == ["2", "1"]

    assign = css(driver, '#contracts tr[data-group-id="dental"]')
    Select(assign.find_element(By.CSS_SELECTOR, "select")).select_by_value("quarter")
    assign.find_element(By.CSS_SELECTOR, "button").click()
    # Dental's subscription still holds minutes: the console asks what becomes of them, explicitly.
    wait(driver, lambda d: _alert_text(d) is not None, "no question about the open balance")
    assert "open balance" in _alert_text(driver) and "Carry it over" in _alert_text(driver)
    driver.switch_to.alert.accept()
    wait(driver, lambda d: "Dental practice Lee is now accounted by Quarter hour (2027) (version 2)" in text_of(d, "#contracts-result"), "not assigned")

    css(driver, "#tab-sessions").click()
    dental = call(stack, tokens["admin"], "GET", "/v1/groups/dental/sessions", query=OCTOBER_API + "&status=to_account")[1]["sessions"]
    longest = max(dental, key=lambda s: s["total_seconds"])  # the demo's 20 minutes: 2 steps of 15 against 15 included
    # The old contract's minutes were carried over; a long on-site follow-up (extra minutes) overruns them.
    carried = call(stack, tokens["admin"], "GET", "/v1/groups/dental/totals")[1]["balance"]["carried_over_minutes"]
    extra = carried + 15
    assert call(stack, tokens["admin"], "PATCH", f"/v1/sessions/{longest['session_id']}", {"extra_minutes": extra})[0] == 200
    billed = 15 * -(-(longest["total_seconds"] + 60 * (extra - longest["extra_minutes"])) // 900)
    assert billed > 15 + carried
    show_group(driver, "dental")
    row(driver, longest["session_id"]).find_element(By.CSS_SELECTOR, "button.lock").click()
    overrun = hmm((15 + carried - billed) * 60)
    wait(driver, lambda d: text_of(d, '[data-balance="available_minutes"]') == overrun, "balance not updated")
    available = css(driver, '[data-balance="available_minutes"]')
    assert "negative" in available.get_attribute("class") and available.value_of_css_property("color") == RED
    status, totals = call(stack, tokens["admin"], "GET", "/v1/groups/dental/totals")
    assert totals["balance"]["available_minutes"] == 15 + carried - billed and totals["balance"]["used_minutes"] == billed

    css(driver, "#recharge-hours").send_keys("1")
    css(driver, "#recharge-amount").send_keys("36.00")
    css(driver, "#recharge button[type=submit]").click()
    wait(driver, lambda d: text_of(d, '[data-balance="available_minutes"]') == hmm((75 + carried - billed) * 60), "recharge not shown")
    assert "negative" not in css(driver, '[data-balance="available_minutes"]').get_attribute("class")
    assert text_of(driver, '[data-balance="amount"]') == "45.00 EUR"

    # French all the way, down to the decimal comma.
    Select(css(driver, "#lang")).select_by_value("fr")
    assert text_of(driver, "#tab-sessions") == "Sessions" and text_of(driver, "#search") == "Afficher les sessions"
    assert text_of(driver, '[data-balance="amount"]') == "45,00 EUR"
    # No script error on the way (the refused requests above are the only failures logged).
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert not errors, errors


def test_console_is_plain_files_in_both_languages_without_remote_resources():
    """No build step, nothing fetched from the internet at run time, every word in English and French."""
    for name in ("index.html", "app.js", "i18n.js", "style.css"):
        text = (ROOT / "console" / name).read_text()
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", text), name
        assert "@import" not in text and "url(http" not in text and "fetch(\"http" not in text, name
    strings = (ROOT / "console" / "i18n.js").read_text()
    english = strings[strings.index("  en: {"):strings.index("  fr: {")]
    french = strings[strings.index("  fr: {"):]
    keys = lambda block: set(re.findall(r'^\s+"([a-zA-Z0-9_.]+)": ', block, re.M))  # noqa: E731
    assert keys(english) == keys(french) and len(keys(english)) > 100
    used = set(re.findall(r'data-i18n="([^"]+)"', (ROOT / "console" / "index.html").read_text()))
    used |= set(re.findall(r'\bt\("([a-zA-Z0-9_.]+)"', (ROOT / "console" / "app.js").read_text()))
    assert used <= keys(english), sorted(used - keys(english))
