"""The web console in a real browser: Debian's headless Chromium, driven by Selenium, against the
local stack started as a child process (its demo data, as `make run` shows it).

Each flow runs on a phone (390 px) and a desktop (1,280 px), in French and English, and checks
that the page never scrolls sideways, that every action of the flow is on screen and works, and
that every error is said in the page's language (and changes language with it). A technician
searches, sorts, adjusts, locks and reads a session's price and history; finance runs the month of
every client (lock all, export); an admin manages clients, computers, contracts (carry over or
close a balance), the ledger, a profile's new version (warned of what it re-prices) and tokens.
`make browser` installs chromium and chromium-driver (a dependency of `make test`)."""
import json
import re
from datetime import datetime, timedelta, timezone
import urllib.error
import urllib.request

import pytest

from console_stack import ROOT, browser_fixture, stack_fixture

SCREENSHOTS = ROOT / "docs"
CSV_HEADER = ("session_id", "group_id", "technician", "computer_id", "started_at", "ended_at",
              "connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "cost", "currency",
              "status", "locked_at", "profile_id", "profile_version", "notes")
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}  # the console's dates (to included)
OCTOBER_API = "from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z"  # the browser runs in UTC (TZ below)
GREEN, YELLOW, RED = "rgba(46, 157, 79, 1)", "rgba(242, 194, 0, 1)", "rgba(198, 40, 40, 1)"
WAIT = 10

pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: make venv")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


# ---------------------------------------------------------------- the stack, the API, the browser


stack = stack_fixture()  # as `make run` starts it: indexes 200 ms behind (lists and searches are exact under it)
browser = browser_fixture("UTC", "fr-FR,fr")  # dates in the console are local: make local time UTC


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


def wait(driver, condition, message="", timeout=WAIT):
    def check(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(check, message)


def css(driver, selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def visible(driver, selector):
    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return bool(found) and found[0].is_displayed()


def text_of(driver, selector):
    return css(driver, selector).text.strip()


def at_width(driver, width):
    driver.set_window_size(width, 900)
    wait(driver, lambda d: d.execute_script("return window.innerWidth") == width, f"the window is not {width} px wide")


def fits(driver, where=""):
    """No sideways scroll of the page, and every visible dialog inside the viewport."""
    scroll, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{where}: the page is {scroll} px wide in a {inner} px window"
    for dialog in driver.find_elements(By.CSS_SELECTOR, "dialog[open]"):
        box = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, r.top, r.bottom, innerWidth, innerHeight]", dialog)
        assert box[0] >= 0 and box[1] <= box[4] and box[2] >= 0 and box[3] <= box[5], f"{where}: a dialog is cut off {box}"


def reachable(driver, element):
    """An action a person can see and press without scrolling sideways: displayed, inside the viewport's width."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})", element)
    left, right, inner = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right, innerWidth]", element)
    assert element.is_displayed() and left >= 0 and right <= inner, (element.get_attribute("outerHTML")[:200], left, right, inner)
    return element


def click(driver, target):
    if isinstance(target, str):
        idle(driver)  # what the last action re-renders is in place
    element = css(driver, target) if isinstance(target, str) else target
    reachable(driver, element).click()


def language(driver, lang):
    Select(css(driver, "#lang")).select_by_value(lang)


def confirm(driver, button="#confirm-ok"):
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#confirm").get_attribute("open") is not None, "no confirmation")
    fits(driver, "the confirmation")
    question = text_of(driver, "#confirm-text")
    click(driver, button)
    return question


def lock(driver, session_id, confirm_word="Confirmer"):
    """A padlock's two taps: the first only asks (the session stays to account), the second locks."""
    padlock = row(driver, session_id).find_element(By.CSS_SELECTOR, "button.lock")
    click(driver, padlock)
    wait(driver, lambda d: confirm_word in row(d, session_id).find_element(By.CSS_SELECTOR, "button.lock").text, "the padlock did not ask")
    assert row(driver, session_id).get_attribute("data-status") == "to_account", "one tap locked the session"
    click(driver, row(driver, session_id).find_element(By.CSS_SELECTOR, "button.lock"))


def row(driver, session_id):
    return css(driver, f'#sessions tbody tr[data-session-id="{session_id}"]')


def hours(minutes: int) -> str:
    """The console's words for a duration: "10 h 00", never a clock time."""
    sign, minutes = ("-" if minutes < 0 else ""), abs(minutes)
    return f"{sign}{minutes // 60} h {minutes % 60:02d}"


def sign_in(driver, stack, token, role_word):
    if driver.current_url.startswith(stack["api_url"]):
        driver.execute_script("sessionStorage.clear()")  # the previous user signs out
    driver.get(f"{stack['api_url']}/?page_size=3")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    field = css(driver, "#token")
    field.clear()
    field.send_keys(token)
    css(driver, "#signin").click()
    wait(driver, lambda d: role_word in text_of(d, "#whoami"), f"not signed in as {role_word}")
    idle(driver)  # the client groups are loaded


def show_group(driver, group_id, start="01/10/2026", end="31/10/2026"):
    """Types the dates as a person does, in the page's day/month/year order."""
    Select(css(driver, "#group")).select_by_value(group_id)
    for selector, value in (("#from", start), ("#to", end)):
        field = css(driver, selector)
        field.clear()
        field.send_keys(value)
    click(driver, "#search")
    idle(driver)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]"), f"no sessions of {group_id}")


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


def no_script_errors(driver):
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
    assert not errors, errors


# ---------------------------------------------------------------- the technician: sessions, on a phone in French


def test_a_technician_searches_sorts_adjusts_locks_and_explains_a_session(stack, browser):
    tokens = stack["tenants"][0]["tokens"]
    driver = browser
    uploads = [{"session_id": f"ui-{n}", "technician": tech, "computer_id": "bakery-office",
                "started_at": f"2026-10-{10 + n:02d}T09:00:00Z", "ended_at": f"2026-10-{10 + n:02d}T09:{17 + 4 * n:02d}:00Z",
                "notes": notes} for n, tech, notes in ((1, "Hélène", "=HYPERLINK(\"x\")"), (2, "ann", "Réseau câblé"), (3, "ann", "visit 3"), (4, "bob", "visit 4"))]
    status, batch = call(stack, tokens["agent"], "POST", "/v1/sessions/batch", {"sessions": uploads})
    assert status == 200 and all(r["recorded"] for r in batch["results"]), batch
    october = call(stack, tokens["technician"], "GET", "/v1/groups/bakery/sessions", query=OCTOBER_API)[1]["sessions"]

    at_width(driver, 390)
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    assert text_of(driver, "#signin-view h2") == "Connexion"  # the browser's language
    css(driver, "#token").send_keys("not-a-token")
    click(driver, "#signin")
    wait(driver, lambda d: text_of(d, "#signin-error") == "Non connecté : ce jeton est inconnu ou révoqué.", "no French error for a wrong token")
    language(driver, "en")  # a message already shown changes language
    assert text_of(driver, "#signin-error") == "Not signed in: this token is unknown or revoked."
    language(driver, "fr")
    fits(driver, "sign-in")

    sign_in(driver, stack, tokens["technician"], "technicien")
    assert text_of(driver, "#tenant") == "Acme IT Services" and text_of(driver, "#whoami") == "technician (demo) · technicien"
    assert not visible(driver, "#tab-month") and not visible(driver, "#tab-clients") and not visible(driver, "#export")
    assert css(driver, "#from").get_attribute("placeholder") == "jj/mm/aaaa"

    # "From" after "To": one message, in French, and no "no session" beside it.
    show_group(driver, "bakery")
    for selector, value in (("#from", "31/10/2026"), ("#to", "01/10/2026")):
        css(driver, selector).clear()
        css(driver, selector).send_keys(value)
    click(driver, "#search")
    wait(driver, lambda d: visible(d, "#filter-error"), "no error for from after to")
    assert [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[role=alert]") if e.is_displayed()] == [
        "La date « Du » est après la date « Au » : rien à afficher."]
    assert not visible(driver, "#sessions-empty")

    show_group(driver, "bakery")
    load_every_page(driver)
    assert sorted(shown_ids(driver)) == sorted(s["session_id"] for s in october)
    fits(driver, "sessions on a phone")

    # Partial, case- and accent-insensitive search over the loaded sessions; sorting by a column.
    search = css(driver, "#text")
    search.send_keys("HELENE")
    wait(driver, lambda d: shown_ids(d) == ["ui-1"], "the search did not find Hélène")
    retype(search, "reseau cab")
    wait(driver, lambda d: shown_ids(d) == ["ui-2"], "the search did not find the notes")
    retype(search, "OFFICE")
    wait(driver, lambda d: set(shown_ids(d)) == {s["session_id"] for s in october if s["computer_id"] == "bakery-office"}, "no partial computer match")
    search.send_keys(Keys.CONTROL, "a")
    search.send_keys(Keys.BACKSPACE)
    wait(driver, lambda d: len(shown_ids(d)) == len(october), "the search did not clear")
    click(driver, '#sessions button.sort[data-sort="total_seconds"]')
    by_time = sorted(october, key=lambda s: (s["total_seconds"], s["started_at"]))
    wait(driver, lambda d: shown_ids(d) == [s["session_id"] for s in by_time], "not sorted by total time")
    at_width(driver, 1280)
    click(driver, '#sessions button.sort[data-sort="total_seconds"]')
    wait(driver, lambda d: shown_ids(d)[0] == by_time[-1]["session_id"], "not sorted in reverse")
    for session_id in ("ui-2", "ui-3"):
        reachable(driver, row(driver, session_id).find_element(By.CSS_SELECTOR, "button.lock"))
    fits(driver, "sessions on a desktop")

    at_width(driver, 390)
    line = row(driver, "ui-2")
    assert line.find_element(By.CSS_SELECTOR, ".connection").text == hours(25)
    assert line.find_element(By.CSS_SELECTOR, ".cost").text == money_text("30.00", "fr", "EUR")

    # Out of range: the API's reason, in French, under the row; it turns English with the page.
    retype(reachable(driver, line.find_element(By.CSS_SELECTOR, "input.extra")), "20000")
    error_line = 'tr.row-error[data-error-for="ui-2"] td'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, error_line), "no error shown for extra minutes")
    assert text_of(driver, error_line) == "Minutes supplémentaires : doit être compris entre -10080 et 10080."
    fits(driver, "a row's error on a phone")
    language(driver, "en")
    assert text_of(driver, error_line) == "Extra minutes: must be between -10080 and 10080."
    language(driver, "it")
    assert text_of(driver, error_line) == "Minuti extra: deve essere tra -10080 e 10080."
    language(driver, "fr")
    assert row(driver, "ui-2").find_element(By.CSS_SELECTOR, ".cost").text == money_text("30.00", "fr", "EUR")

    retype(reachable(driver, row(driver, "ui-2").find_element(By.CSS_SELECTOR, "input.extra")), "17")
    wait(driver, lambda d: row(d, "ui-2").find_element(By.CSS_SELECTOR, ".cost").text == money_text("50.00", "fr", "EUR"), "the cost did not change")
    assert row(driver, "ui-2").find_element(By.CSS_SELECTOR, ".total").text == hours(42)
    lock(driver, "ui-2")
    wait(driver, lambda d: row(d, "ui-2").get_attribute("data-status") == "accounted", "the session did not lock")
    assert marker_colour(driver, "ui-2") == GREEN and not row(driver, "ui-2").find_elements(By.CSS_SELECTOR, "input")
    assert call(stack, tokens["technician"], "GET", "/v1/sessions/ui-2")[1]["status"] == "accounted"

    # The drawer: the price and the history, naming the token's label, not its id.
    click(driver, row(driver, "ui-2").find_element(By.CSS_SELECTOR, "button.details"))
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#drawer-history > li")) == 3, "no history in the drawer")
    fits(driver, "the session drawer on a phone")
    history = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#drawer-history > li")]
    # In words: who did what, before → after, values as the page writes them; no field name, no ISO stamp.
    assert "a envoyé la session" in history[0] and f"Connexion : {hours(25)}" in history[0], history
    assert "technician (demo) (technicien) a modifié la session" in history[1], history
    assert "Minutes supplémentaires : 0 min → 17 min" in history[1], history
    assert "a verrouillé (comptabilisé) la session" in history[2], history
    assert "Statut : à comptabiliser → comptabilisée" in history[2] and money_text("50.00", "fr", "EUR") in history[2], history
    words = " ".join(history)
    assert "tok_" not in words and not re.search(r"\b[a-z]+_[a-z_]+\b|\d{4}-\d\d-\d\dT", words), words
    pricing = text_of(driver, "#drawer-pricing")
    assert money_text("50.00", "fr", "EUR") in pricing and "standard" in pricing, pricing  # `pricing.lines` when the API gives them, else the summary

    # A lock undone where it may be (its month open, on no issued invoice): one confirmation that
    # says what comes back, then the session is to account again, in the table and its history.
    click(driver, "#drawer-unlock")
    question = confirm(driver)
    assert "ui-2" in question and "redevient à comptabiliser" in question, question
    wait(driver, lambda d: text_of(d, "#drawer-notice") == "La session ui-2 est de nouveau à comptabiliser.", "no word of the unlock")
    assert not visible(driver, "#drawer-unlock") and not visible(driver, "#drawer-error")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#drawer-history > li")) == 4,
         f"the unlock is not in the history: {[e.text for e in driver.find_elements(By.CSS_SELECTOR, '#drawer-history > li')]}")
    undone = driver.find_elements(By.CSS_SELECTOR, "#drawer-history > li")
    assert "a verrouillé (comptabilisé) la session" in undone[2].text  # the lock undone stays in the audit
    assert "a déverrouillé la session" in undone[3].text and "Verrouillée le" in undone[3].text, undone[3].text
    assert call(stack, tokens["technician"], "GET", "/v1/sessions/ui-2")[1]["status"] == "to_account"
    click(driver, "#drawer-close")
    wait(driver, lambda d: row(d, "ui-2").get_attribute("data-status") == "to_account", "the row still says accounted")
    lock(driver, "ui-2")  # and locked again, for the totals below
    wait(driver, lambda d: row(d, "ui-2").get_attribute("data-status") == "accounted", "the session did not lock again")

    # Totals in words: hours as "h", never a clock.
    accounted = call(stack, tokens["technician"], "GET", "/v1/groups/bakery/totals", query=OCTOBER_API)[1]["accounted"]
    billed_cell = css(driver, '[data-total="accounted.billed_minutes"]')
    wait(driver, lambda d: billed_cell.get_attribute("textContent") == hours(accounted["billed_minutes"]),
         f"no totals: {billed_cell.get_attribute('textContent')!r}")
    driver.execute_script("window.scrollTo(0, 0)")
    wait(driver, lambda d: d.execute_script("return document.getAnimations().length") == 0, "still animating")
    assert driver.save_screenshot(str(SCREENSHOTS / "console-phone-fr.png"))
    no_script_errors(driver)


# ---------------------------------------------------------------- finance: the month of every client, on a desktop in English


def test_finance_runs_the_month_of_every_client(stack, browser):
    tokens = stack["tenants"][0]["tokens"]
    driver = browser
    at_width(driver, 1280)
    sign_in(driver, stack, tokens["finance"], "finance")
    language(driver, "en")
    assert visible(driver, "#tab-month") and not visible(driver, "#tab-clients")
    click(driver, "#tab-month")
    month = css(driver, "#month")
    month.clear()
    month.send_keys("13/2026")
    click(driver, "#month-show")
    wait(driver, lambda d: text_of(d, "#month-error") == "Write the month as mm/yyyy.", "no error for a bad month")
    month.clear()
    month.send_keys("10/2026")
    click(driver, "#month-show")
    wait(driver, lambda d: text_of(d, "#month-title") == "Every client, October 2026", "no month overview")
    idle(driver)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#month-table tbody tr")) == 3 and not visible(driver, "#month-error")
    fits(driver, "the month on a desktop")

    status, totals = call(stack, tokens["finance"], "GET", "/v1/groups/bakery/totals", query=OCTOBER_API)
    pending = totals["to_account"]
    bakery = css(driver, '#month-table tr[data-group-id="bakery"]')
    assert bakery.find_element(By.CSS_SELECTOR, ".to-account").text == f"{pending['sessions']} · {money_text(pending['cost'], 'en', 'EUR')}"
    dental = css(driver, '#month-table tr[data-group-id="law-firm"]')
    balance = call(stack, tokens["finance"], "GET", "/v1/groups/law-firm/totals", query=OCTOBER_API)[1]["balance"]
    assert dental.find_element(By.CSS_SELECTOR, ".balance").text == hours(balance["available_minutes"])

    at_width(driver, 390)  # the same run on a phone: every action still on screen
    fits(driver, "the month on a phone")
    click(driver, bakery.find_element(By.CSS_SELECTOR, "button.lock-all"))
    question = confirm(driver)
    assert question.startswith(f"Lock {pending['sessions']} sessions of Bakery Miller (1 Oct 2026 to 31 Oct 2026): "
                               f"{hours(pending['billed_minutes'])} billed, {money_text(pending['cost'], 'en', 'EUR')}?"), question
    wait(driver, lambda d: text_of(d, "#month-result").startswith(f"{pending['sessions']} sessions locked"), "lock all did not report")
    idle(driver)
    assert call(stack, tokens["finance"], "GET", "/v1/groups/bakery/totals", query=OCTOBER_API)[1]["to_account"]["sessions"] == 0
    wait(driver, lambda d: not css(d, '#month-table tr[data-group-id="bakery"] button.lock-all').is_enabled(), "lock all still offered")

    at_width(driver, 1280)
    Select(css(driver, "#month-format")).select_by_value("csv")  # the machine file (the workbook comes first)
    click(driver, '#month-table tr[data-group-id="bakery"] button.export')
    wait(driver, lambda d: visible(d, "#month-export-link"), "no export link")
    rows = totals['accounted']['sessions'] + pending['sessions']
    assert text_of(driver, "#month-export-link") == f"Download bakery-miller_{OCTOBER['from'][:7]}.csv ({rows} rows)"
    with urllib.request.urlopen(css(driver, "#month-export-link").get_attribute("href"), timeout=10) as response:
        lines = response.read().decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(CSV_HEADER) and any(line.startswith("ui-1,") and "'=HYPERLINK" in line for line in lines)

    # From the month into the client's sessions of that month.
    click(driver, '#month-table tr[data-group-id="bakery"] button.open')
    wait(driver, lambda d: visible(d, "#sessions-view") and d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]"), "no sessions")
    assert css(driver, "#from").get_attribute("value") == "01/10/2026" and css(driver, "#to").get_attribute("value") == "31/10/2026"
    idle(driver)
    assert {r.get_attribute("data-status") for r in driver.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")} == {"accounted"}
    wait(driver, lambda d: text_of(d, '[data-total="to_account.sessions"]') == "0", "totals not shown")
    driver.execute_script("window.scrollTo(0, 0)")
    assert driver.save_screenshot(str(SCREENSHOTS / "console-desktop-en.png"))
    fits(driver, "sessions of the month")
    no_script_errors(driver)


# ---------------------------------------------------------------- the admin: clients, contracts, profiles, tokens


def test_an_admin_manages_clients_contracts_profiles_and_tokens(stack, browser):
    tokens = stack["tenants"][0]["tokens"]
    driver = browser
    at_width(driver, 1280)
    sign_in(driver, stack, tokens["admin"], "admin")
    language(driver, "fr")
    click(driver, "#tab-clients")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#clients tr[data-group-id="bakery"]'), "no clients")
    fits(driver, "clients on a desktop")

    css(driver, "#client-id").send_keys("garage")
    click(driver, "#client-create")  # no name: said in French, naming the field
    wait(driver, lambda d: text_of(d, "#client-form-error") == "Nom : ne doit pas être vide.", "no error for a missing name")
    css(driver, "#client-name").send_keys("Garage Dupont")
    click(driver, "#client-create")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#clients tr[data-group-id="garage"]'), "client not created")
    assert text_of(driver, "#clients-result") == "Client Garage Dupont ajouté."
    name = css(driver, '#clients tr[data-group-id="garage"] input.name')
    name.clear()
    name.send_keys("Garage Dupont & fils")
    click(driver, '#clients tr[data-group-id="garage"] button.rename')
    wait(driver, lambda d: text_of(d, "#clients-result") == "Client renommé Garage Dupont & fils.", "not renamed")
    idle(driver)

    at_width(driver, 390)
    click(driver, '#clients tr[data-group-id="garage"] button.open')
    wait(driver, lambda d: visible(d, "#client-detail") and text_of(d, "#client-title").startswith("Garage Dupont & fils"), "no client detail")
    css(driver, "#computer-id").send_keys("garage-pc")
    css(driver, "#computer-name").send_keys("Atelier")
    click(driver, "#computer-add")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#computers tr[data-computer-id="garage-pc"]'), "computer not added")
    fits(driver, "a client's computers on a phone")
    move = css(driver, '#computers tr[data-computer-id="garage-pc"]')
    Select(move.find_element(By.CSS_SELECTOR, "select.move-to")).select_by_value("bakery")
    click(driver, move.find_element(By.CSS_SELECTOR, "button.move"))
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, '#computers tr[data-computer-id="garage-pc"]'), "computer not moved")
    assert "déplacé chez Bakery Miller" in text_of(driver, "#computers-result")
    assert "garage-pc" in str(call(stack, tokens["admin"], "GET", "/v1/groups/bakery/computers")[1])

    # Re-assigning a client whose subscription still holds hours: the console asks, carry over or close.
    click(driver, "#tab-clients")
    idle(driver)
    click(driver, '#clients tr[data-group-id="law-firm"] button.open')
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#contracts-list tbody tr")) == 1, "no contract")
    before = call(stack, tokens["admin"], "GET", "/v1/groups/law-firm/totals")[1]["balance"]["available_minutes"]
    Select(css(driver, "#assign-profile")).select_by_value("standard")
    click(driver, "#assign")
    question = confirm(driver, "#confirm-alt")  # close it: a pay-per-use contract cannot take hours
    assert question.startswith(f"Le contrat en cours a encore un solde de {hours(before)}."), question
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#contracts-list tbody tr")) == 2, "not re-assigned")
    assert "est désormais comptabilisé par Standard support" in text_of(driver, "#contracts-result")
    click(driver, "#contracts-list button.ledger")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#ledger tr[data-kind="closing"]'), "no ledger")
    ledger = call(stack, tokens["admin"], "GET", "/v1/groups/law-firm/ledger",
                  query="contract_id=" + css(driver, "#contracts-list tbody tr:last-child").get_attribute("data-contract-id"))[1]
    running = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#ledger td.running")]
    assert running == [hours(e["running_balance"]) for e in ledger["entries"]] and running[-1] == hours(0)
    fits(driver, "the ledger on a phone")

    # A new profile version: the console first says what it re-prices (from the API's own totals).
    click(driver, "#tab-profiles")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#profiles tr[data-profile-id="standard"]'), "no profiles")
    open_sessions = sum(call(stack, tokens["admin"], "GET", f"/v1/groups/{g}/totals")[1]["to_account"]["sessions"] for g in ("bakery", "law-firm"))
    assert open_sessions > 0
    click(driver, '#profiles tr[data-profile-id="standard"] button.edit')
    step = css(driver, "#profile-form").find_element(By.NAME, "step_cost")
    step.clear()
    step.send_keys("6,00")
    click(driver, "#profile-save")
    question = confirm(driver)
    word = "session" if open_sessions == 1 else "sessions"
    assert question.startswith(f"La version 2 revalorise {open_sessions} {word} ouverte(s) de 2 client(s), aujourd'hui "), question
    wait(driver, lambda d: text_of(d, "#profiles-result") == "standard enregistré en version 2.", "no new version")
    fits(driver, "profiles on a phone")

    # A subscription overrun in red, in hours and minutes; a recharge settles it.
    at_width(driver, 1280)
    assert call(stack, tokens["admin"], "PATCH", "/v1/sessions/s-3001", {"extra_minutes": 600})[0] == 200  # 20 min + 10 h on site
    billed = call(stack, tokens["admin"], "GET", "/v1/sessions/s-3001")[1]["billed_minutes"]
    left = call(stack, tokens["admin"], "GET", "/v1/groups/dental/totals")[1]["balance"]["available_minutes"]
    assert billed > left
    click(driver, "#tab-sessions")
    show_group(driver, "dental")
    lock(driver, "s-3001")
    available = '[data-balance="available_minutes"]'
    wait(driver, lambda d: text_of(d, available) == hours(left - billed), "balance not updated")
    assert css(driver, available).value_of_css_property("color") == RED
    assert text_of(driver, "#balance-words") == f"Dépassement : {hours(billed - left)} utilisées au-delà des heures achetées. Une recharge le solde."
    css(driver, "#recharge-hours").send_keys("1")
    css(driver, "#recharge-amount").send_keys("36,00")
    click(driver, "#recharge button[type=submit]")
    wait(driver, lambda d: text_of(d, available) == hours(left - billed + 60), "recharge not shown")
    assert text_of(driver, "#recharge-result") == f"Rechargé de 1 h 00 pour {money_text('36.00', 'fr', 'EUR')}."
    fits(driver, "a subscription balance on a desktop")

    # Tokens: issued with a label, shown once, revoked.
    at_width(driver, 390)
    language(driver, "en")
    click(driver, "#tab-tokens")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#tokens tbody tr")) == 4, "no tokens")
    assert "technician (demo)" in text_of(driver, "#tokens") and "tok_" not in text_of(driver, "#tokens")
    click(driver, "#token-issue")
    wait(driver, lambda d: text_of(d, "#token-error") == "Label: must not be empty.", "no error for an empty label")
    language(driver, "fr")
    assert text_of(driver, "#token-error") == "Libellé : ne doit pas être vide."
    language(driver, "en")
    css(driver, "#token-label").send_keys("Ann's laptop")
    click(driver, "#token-issue")
    wait(driver, lambda d: visible(d, "#token-new"), "the new token is not shown")
    secret = text_of(driver, "#token-new-value")
    assert call(stack, secret, "GET", "/v1/me")[1]["label"] == "Ann's laptop"
    fits(driver, "tokens on a phone")
    ann_row = f'#tokens tr[data-token-id="{call(stack, secret, "GET", "/v1/me")[1]["token_id"]}"]'
    wait(driver, lambda d: visible(d, ann_row), "the new token is not listed")  # the list reloads after the secret is shown
    ann = css(driver, ann_row)
    click(driver, ann.find_element(By.CSS_SELECTOR, "button.revoke"))
    assert confirm(driver).startswith("Revoke the token of Ann's laptop (technician)?")
    wait(driver, lambda d: text_of(d, "#tokens-result") == "The token of Ann's laptop is revoked.", "not revoked")
    assert not visible(driver, "#token-new")  # shown once: gone
    assert call(stack, secret, "GET", "/v1/me")[0] == 401
    at_width(driver, 1280)
    fits(driver, "tokens on a desktop")
    no_script_errors(driver)


# ---------------------------------------------------------------- tariffs: rules, quotes, simulations, alerts (SPEC §10)


def money_text(amount, lang, currency=None):
    """A decimal as Intl writes it in the page's language: "1 095,08 €" in French, "€1,095.08" in English,
    "1095,08 €" in Italian (which groups thousands from five digits on), "1,50" without a currency."""
    sign, (whole, _, fraction) = ("-" if amount.startswith("-") else ""), amount.lstrip("-").partition(".")
    group, point = {"en": (",", "."), "fr": ("\u202f", ","), "it": (".", ",")}[lang]
    whole = f"{int(whole):,}".replace(",", group) if lang != "it" or int(whole) >= 10000 else whole
    figure = f"{whole}{point}{fraction}" if fraction else whole
    if not currency:
        return sign + figure
    symbol = {"EUR": "€", "USD": {"en": "US$", "fr": "$US", "it": "USD"}[lang]}.get(currency, currency)
    symbol = symbol[lang] if isinstance(symbol, dict) else symbol
    return f"{sign}{symbol}{figure}" if lang == "en" else f"{sign}{figure} {symbol}"


def field_error(driver, name):
    """The error shown under the input (or day boxes) the API named."""
    target = css(driver, f'[name="{name}"]')
    place = driver.execute_script("return arguments[0].closest('fieldset.days, label')", target)
    return place.find_element(By.CSS_SELECTOR, ".field-error").text


def test_tariff_rules_quotes_simulations_expiring_hours_and_alerts(stack, browser):
    tokens = stack["tenants"][0]["tokens"]
    admin, driver = tokens["admin"], browser
    # A bar on pay per use with a night surcharge from 22:00 (Paris), and a session from 21:40 to 22:40 there.
    late = {"profile_id": "late-nights", "name": "Late nights", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 0,
            "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00", "time_zone": "Europe/Paris",
            "surcharges": [{"name": "nuit", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "from": "22:00", "to": "24:00",
                            "multiplier": "1.50"}]}
    assert call(stack, admin, "POST", "/v1/profiles", late)[0] == 201
    assert call(stack, admin, "PUT", "/v1/groups/late-bar", {"name": "Late bar"})[0] == 201
    assert call(stack, admin, "PUT", "/v1/groups/late-bar/computers/bar-till", {"name": "Till"})[0] in (200, 201)
    assert call(stack, admin, "PUT", "/v1/groups/late-bar/contract", {"profile_id": "late-nights"})[0] == 200
    night = {"session_id": "bar-1", "technician": "ann", "computer_id": "bar-till",
             "started_at": "2026-10-06T19:40:00Z", "ended_at": "2026-10-06T20:40:00Z"}
    assert call(stack, tokens["agent"], "POST", "/v1/sessions/batch", {"sessions": [night]})[0] == 200
    explained = call(stack, admin, "GET", "/v1/sessions/bar-1")[1]["pricing"]["lines"]
    assert [line["code"] for line in explained] == ["initial_step", "steps", "surcharge_share", "multiplier"]

    at_width(driver, 1280)
    sign_in(driver, stack, admin, "admin")
    language(driver, "fr")

    # Its price explained in the drawer in French, from the lines' codes; in English, the API's own text.
    show_group(driver, "late-bar")
    click(driver, row(driver, "bar-1").find_element(By.CSS_SELECTOR, "button.details"))
    shown_lines = lambda d: [li.text for li in d.find_elements(By.CSS_SELECTOR, "#drawer-pricing li.pricing-line")]
    words = lambda d: [li.find_element(By.CSS_SELECTOR, ".words").text for li in d.find_elements(By.CSS_SELECTOR, "#drawer-pricing li.pricing-line")]
    wait(driver, lambda d: len(shown_lines(d)) == 4, "no price lines in the drawer")
    assert words(driver) == ["palier initial 15 min : 20,00", "9 × 5 min à 5,00 : 45,00", "nuit ×1,50 : 40 min sur 60", "65,00 × 1,3333 : 86,67"]
    amounts = [li.find_elements(By.CSS_SELECTOR, ".num") for li in driver.find_elements(By.CSS_SELECTOR, "#drawer-pricing li.pricing-line")]
    assert [a[0].text if a else None for a in amounts] == [money_text(a, "fr", "EUR") for a in ("20.00", "45.00")] + [None, money_text("86.67", "fr", "EUR")]
    fits(driver, "a price explained on a desktop")
    language(driver, "en")  # the open drawer follows the page
    assert words(driver) == [line["text"] for line in explained]
    assert [a[0].text if a else None for a in amounts] == ["€20.00", "€45.00", None, "€86.67"]
    language(driver, "it")
    assert words(driver)[0] == "scatto iniziale 15 min: 20,00" and words(driver)[2] == "nuit ×1,50: 40 min su 60"
    language(driver, "fr")
    assert words(driver)[3] == "65,00 × 1,3333 : 86,67"
    click(driver, "#drawer-close")

    # A profile with an evening surcharge and public holidays, typed as a person does; the API's
    # error lands under the rule's "to", in French, and turns English with the page.
    click(driver, "#tab-profiles")
    click(driver, "#profile-new")
    form = css(driver, "#profile-form")
    for name, value in (("profile_id", "evening"), ("name", "Soirées"), ("initial_step_minutes", "0"), ("initial_step_cost", "0"),
                        ("step_minutes", "60"), ("step_cost", "80,00"), ("time_zone", "Europe/Paris"), ("holidays.country", "FR"),
                        ("holidays.dates", "24/12/2026")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    for days, start, end, multiplier in ((("mon", "tue", "wed", "thu", "fri"), "18:00", "17h00", "1,50"), (("holiday",), "0", "24", "2")):
        click(driver, "#surcharge-add")
        rule = driver.find_elements(By.CSS_SELECTOR, "#surcharge-rules .rule")[-1]
        rule.find_element(By.CSS_SELECTOR, "[data-part=name]").send_keys("soir" if "mon" in days else "férié")
        for day in days:
            rule.find_element(By.CSS_SELECTOR, f'input[value="{day}"]').click()
        for part, value in (("from", start), ("to", end), ("multiplier", multiplier)):
            rule.find_element(By.CSS_SELECTOR, f"[data-part={part}]").send_keys(value)
    click(driver, "#profile-save")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#profile-form .field-error"), "no field error for a window ending before it starts")
    assert field_error(driver, "surcharges[0].to").startswith("Majoration 1 · à : doit être après le début de la plage")
    language(driver, "en")
    assert field_error(driver, "surcharges[0].to").startswith("Surcharge rule 1 · to: must be after the start of the window")
    language(driver, "fr")
    at_width(driver, 390)
    fits(driver, "surcharge rules on a phone")
    retype(css(driver, '[name="surcharges[0].to"]'), "24h00")
    click(driver, "#profile-save")
    wait(driver, lambda d: text_of(d, "#profiles-result") == "evening enregistré en version 1.", "the profile was not saved")
    stored = call(stack, admin, "GET", "/v1/profiles/evening")[1]
    assert stored["time_zone"] == "Europe/Paris" and stored["holidays"] == {"country": "FR", "subdivision": None, "dates": ["2026-12-24"]}
    assert [(r["name"], r["days"], r["from"], r["to"], r["multiplier"]) for r in stored["surcharges"]] == [
        ("soir", ["mon", "tue", "wed", "thu", "fri"], "18:00", "24:00", "1.50"), ("férié", ["holiday"], "00:00", "24:00", "2.00")]
    assert "majorations soir ×1,50, férié ×2,00 (Europe/Paris)" in css(driver, '#profiles tr[data-profile-id="evening"] td.terms').text

    # A quote by that profile: two sessions, an extra-minutes error from the API at its field, then the prices.
    click(driver, "#tab-quote")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#quote-profile option[value="evening"]'), "no profiles to quote")
    Select(css(driver, "#quote-profile")).select_by_value("evening")
    click(driver, "#quote-add")
    asked = (("03/11/2026 16:30", "19:00", "0"), ("25/12/2026 10:00", "25/12/2026 11:30", "20000"))
    for index, values in enumerate(asked):
        for part, value in zip(("started_at", "ended_at", "extra_minutes"), values):
            css(driver, f'[name="sessions[{index}].{part}"]').send_keys(value)
    click(driver, "#quote-run")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#quote-form .field-error"), "no field error for the extra minutes")
    assert field_error(driver, "sessions[1].extra_minutes") == "Session 2 · Minutes supplémentaires : doit être compris entre -10080 et 10080."
    retype(css(driver, '[name="sessions[1].extra_minutes"]'), "15")
    click(driver, "#quote-run")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#quote-lines > li")) == 2, "no prices")
    fits(driver, "a quote on a phone")
    status, quote = call(stack, tokens["technician"], "POST", "/v1/quotes", {"profile_id": "evening", "sessions": [
        {"started_at": "2026-11-03T16:30:00Z", "ended_at": "2026-11-03T19:00:00Z", "extra_minutes": 0},
        {"started_at": "2026-12-25T10:00:00Z", "ended_at": "2026-12-25T11:30:00Z", "extra_minutes": 15}]})
    assert status == 200, quote
    for shown, answer in zip(driver.find_elements(By.CSS_SELECTOR, "#quote-lines > li"), quote["sessions"]):
        assert shown.find_element(By.CSS_SELECTOR, ".cost").text == money_text(answer['cost'], 'fr', 'EUR')
        assert shown.find_element(By.CSS_SELECTOR, ".multiplier").text == f"×{money_text(answer['multiplier'], 'fr')}"
    quoted_lines = lambda d: [[li.find_element(By.CSS_SELECTOR, ".words").text for li in shown.find_elements(By.CSS_SELECTOR, ".pricing-line")]
                              for shown in d.find_elements(By.CSS_SELECTOR, "#quote-lines > li")]
    assert quoted_lines(driver) == [
        ["3 × 60 min à 80,00 : 240,00", "soir ×1,50 : 120 min sur 150", "240,00 × 1,4000 : 336,00"],
        ["connexion 90 min + 15 min de supplément : 105 min", "2 × 60 min à 80,00 : 160,00", "férié ×2,00 : 90 min sur 90",
         "160,00 × 2,0000 : 320,00"]]
    language(driver, "en")
    assert quoted_lines(driver) == [[line["text"] for line in answer["pricing"]["lines"]] for answer in quote["sessions"]]
    language(driver, "fr")
    assert quote["sessions"][0]["multiplier"] != "1.0000" and quote["sessions"][1]["multiplier"] == "2.0000"

    # A client on a subscription with a balance alert at 50 %: its hours usable until the end of the year.
    profile = {"profile_id": "prepaid-alerts", "name": "Prepaid with alerts", "type": "subscription", "currency": "EUR",
               "min_duration_minutes": 0, "total_hours": "2", "amount": "100.00", "step_minutes": 15, "alert_thresholds": [50]}
    assert call(stack, admin, "POST", "/v1/profiles", profile)[0] == 201
    assert call(stack, admin, "PUT", "/v1/groups/night-shop", {"name": "Night shop"})[0] == 201
    assert call(stack, admin, "PUT", "/v1/groups/night-shop/computers/night-pc", {"name": "Till"})[0] in (200, 201)
    at_width(driver, 1280)
    click(driver, "#tab-clients")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#clients tr[data-group-id="night-shop"]'), "no new client")
    click(driver, '#clients tr[data-group-id="night-shop"] button.open')
    wait(driver, lambda d: text_of(d, "#client-title").startswith("Night shop"), "no client detail")
    idle(driver)  # its computers and contracts are in
    Select(css(driver, "#assign-profile")).select_by_value("prepaid-alerts")
    css(driver, "#assign-valid-until").send_keys("31/12/2026")
    click(driver, "#assign")
    wait(driver, lambda d: "utilisables jusqu'au" in text_of(d, "#contracts-result"), "no contract until the end of the year")
    contract = call(stack, admin, "GET", "/v1/groups/night-shop/contracts")[1]["contracts"][0]
    assert contract["valid_until"] == "2027-01-01T00:00:00Z"

    uploads = [{"session_id": f"night-{n}", "technician": "ann", "computer_id": "night-pc", "started_at": f"2026-10-0{n}T20:00:00Z",
                "ended_at": f"2026-10-0{n}T20:40:00Z"} for n in (1, 2)]
    assert call(stack, tokens["agent"], "POST", "/v1/sessions/batch", {"sessions": uploads})[0] == 200
    for upload in uploads:  # 45 + 45 of 120 minutes: below the 50 % alert
        assert call(stack, admin, "POST", f"/v1/sessions/{upload['session_id']}/lock")[0] == 200

    # A recharge usable until a date typed in French; a date that does not exist is refused first.
    click(driver, "#tab-sessions")
    show_group(driver, "night-shop", "", "")  # every date: the contract in force now, a subscription
    # The contract was assigned a moment ago: the totals may still name the former one (the API's
    # index is eventually consistent), so the card is refreshed until the subscription's balance shows.
    wait(driver, lambda d: visible(d, "#recharge-hours") or (idle(d) or css(d, "#totals-refresh").click()), "no balance to recharge", timeout=30)
    css(driver, "#recharge-hours").send_keys("1")
    css(driver, "#recharge-amount").send_keys("50,00")
    css(driver, "#recharge-expires").send_keys("31/02/2026")
    click(driver, "#recharge button[type=submit]")
    wait(driver, lambda d: visible(d, "#recharge-error"), "no error for a day that does not exist")
    assert text_of(driver, "#recharge-error") == "Utilisable jusqu'au (inclus, facultatif) : écrivez la date sous la forme jj/mm/aaaa."
    retype(css(driver, "#recharge-expires"), "31/12/2026")
    click(driver, "#recharge button[type=submit]")
    wait(driver, lambda d: visible(d, "#recharge-result"), "not recharged")
    assert call(stack, admin, "GET", "/v1/groups/night-shop/ledger")[1]["entries"][-1]["expires_at"] == "2027-01-01T00:00:00Z"
    # Then half an hour that lapses unused two seconds after it is bought: its expiry is pending (no entry since).
    soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert call(stack, admin, "POST", "/v1/groups/night-shop/recharges", {"hours": "0.5", "amount": "20.00", "expires_at": soon})[0] == 201
    wait(driver, lambda d: call(stack, admin, "GET", "/v1/groups/night-shop/totals")[1]["balance"]["expired_minutes"] == 30, "the half hour did not lapse")
    balance = call(stack, admin, "GET", "/v1/groups/night-shop/totals")[1]["balance"]
    click(driver, "#totals-refresh")
    wait(driver, lambda d: text_of(d, '[data-balance="expired_minutes"]') == hours(30), "expired hours not shown")
    assert text_of(driver, '[data-balance="available_minutes"]') == hours(balance["available_minutes"])

    # The ledger: every entry as the API lists it, the lapsed block's expiry among them.
    click(driver, "#tab-clients")
    idle(driver)
    click(driver, '#clients tr[data-group-id="night-shop"] button.open')
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#contracts-list button.ledger"), "no ledger button")
    click(driver, "#contracts-list button.ledger")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#ledger tr[data-kind="expiry"]'), "no expiry in the ledger")
    ledger = call(stack, admin, "GET", "/v1/groups/night-shop/ledger")[1]["entries"]
    rows = driver.find_elements(By.CSS_SELECTOR, "#ledger tbody tr")
    assert [r.get_attribute("data-kind") for r in rows] == [e["kind"] for e in ledger]
    assert [r.find_element(By.CSS_SELECTOR, "td.running").text for r in rows] == [hours(e["running_balance"]) for e in ledger]
    expiry = [(r, e) for r, e in zip(rows, ledger) if e["kind"] == "expiry"]
    assert len(expiry) == 1 and expiry[0][1]["pending"] and "en attente" in expiry[0][0].text
    assert "utilisables jusqu'au" in rows[0].find_element(By.CSS_SELECTOR, "td.kind").text  # the allotment's end
    at_width(driver, 390)
    fits(driver, "the ledger with expiring hours on a phone")

    # Finance, in English: the alert the locks raised, and the month under another profile.
    sign_in(driver, stack, tokens["finance"], "finance")
    language(driver, "en")
    click(driver, "#tab-month")
    css(driver, "#month").clear()
    css(driver, "#month").send_keys("10/2026")
    click(driver, "#month-show")
    events = call(stack, tokens["finance"], "GET", "/v1/events")[1]["events"]
    alert = next(e for e in events if e["group_id"] == "night-shop")
    shown = f'#events tr[data-event-id="{alert["event_id"]}"]'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, shown), "no balance alert")
    assert css(driver, f"{shown} td.what").text == f"balance below {alert['detail']['threshold']} %"
    assert css(driver, f"{shown} td.left").text == f"{hours(alert['detail']['available_minutes'])} of {hours(alert['detail']['total_minutes'])}"
    fits(driver, "balance alerts on a phone")
    click(driver, '#month-table tr[data-group-id="night-shop"] button.simulate')
    Select(css(driver, "#simulate-profile")).select_by_value("prepaid-10h")
    click(driver, "#simulate-run")
    wait(driver, lambda d: visible(d, "#simulate-result"), "no simulation")
    simulated = call(stack, tokens["finance"], "POST", "/v1/groups/night-shop/simulate",
                     {"profile_id": "prepaid-10h", "from": "2026-10-01T00:00:00+00:00", "to": "2026-11-01T00:00:00+00:00"})[1]
    cells = lambda figure: [c.text for c in driver.find_elements(By.CSS_SELECTOR, f'#simulate tr[data-figure="{figure}"] td')]
    billed = lambda side: side["accounted"]["billed_minutes"] + side["to_account"]["billed_minutes"]
    assert cells("billed") == [hours(billed(simulated["current"])), hours(billed(simulated["simulated"]))]
    assert cells("available") == [hours(simulated["current"]["balance"]["available_minutes"]), hours(simulated["simulated"]["balance"]["available_minutes"])]
    fits(driver, "a simulation on a phone")
    at_width(driver, 1280)
    fits(driver, "a simulation on a desktop")
    assert call(stack, tokens["finance"], "GET", "/v1/groups/night-shop/totals")[1]["balance"] == balance  # changed nothing
    no_script_errors(driver)


def test_console_is_plain_files_in_three_languages_without_remote_resources():
    """No build step, nothing fetched from the internet at run time, every word in English, French and Italian."""
    files = [ROOT / "console" / "index.html", ROOT / "console" / "style.css", *sorted((ROOT / "console").glob("*/*.js"))]
    assert not list((ROOT / "console").glob("*.js")), "the scripts live in js/ (screens) and i18n/ (one file per language)"
    for path in files:
        text = path.read_text()
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", text), path.name
        assert "@import" not in text and "url(http" not in text and "fetch(\"http" not in text, path.name
        assert not re.search(r"^import .* from \"(?!\.\.?/)", text, re.M), f"{path.name} imports something not in the console"
    for path in sorted((ROOT / "console" / "js").glob("*.js")):
        assert len(path.read_text().splitlines()) <= 450, f"{path.name}: a screen's module stays short"
    index = (ROOT / "console" / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/console/([^"]+)">', index))
    modules = {str(path.relative_to(ROOT / "console")) for path in (ROOT / "console").glob("*/*.js")} - {"js/main.js"}
    assert preloaded == modules, "index.html preloads every module (no import waterfall): " + str(sorted(preloaded ^ modules))
    keys = {lang: set(re.findall(r'^\s+"([a-zA-Z0-9_.]+)": ', (ROOT / "console" / "i18n" / f"{lang}.js").read_text(), re.M))
            for lang in ("en", "fr", "it")}
    assert keys["en"] == keys["fr"] == keys["it"] and len(keys["en"]) > 300
    used = set(re.findall(r'data-i18n="([^"]+)"', (ROOT / "console" / "index.html").read_text()))
    for path in (ROOT / "console" / "js").glob("*.js"):
        used |= set(re.findall(r'\bt\("([a-zA-Z0-9_.]+)"', path.read_text()))
    assert used <= keys["en"], sorted(used - keys["en"])
