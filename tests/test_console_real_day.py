"""The console on a real day, in a real browser (Debian's headless Chromium through Selenium): a
tenant seeded through the API with 200 clients, long accented names and notes, sessions across
midnight and across the autumn DST change, three currencies and an amount over a thousand. At
360, 390 and 1,280 px, in English, French and Italian, every screen stays inside the window with
every action on it, no raw field name shows, a lock takes a second step and numbers are written
the language's way, times in the tenant's zone (Paris) though the browser runs in New York's. One
stack and one browser for the module."""
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from console_stack import ROOT, browser_fixture, console_stack
from test_console import By, Select, call, css, fits, idle, language, row, text_of, visible, wait

CLIENTS = 200
TECHNICIAN = "Marie-Thérèse Dupont-Aignan de La Rochefoucauld-Montbel"
NOTES = ("Réinstallation du pilote d'imprimante à l'accueil, mise à jour de sécurité du poste « comptabilité », "
         "vérification des sauvegardes nocturnes et explication à Mme Lefèvre-Dubœuf de la procédure de "
         "récupération des fichiers supprimés — ça marche, à revoir jeudi si l'écran clignote encore.")
LONG_NAME = "Boulangerie-Pâtisserie Élodie & Fils, Société à responsabilité limitée des Hauts-de-Seine"
# The raw names the API uses: a person never reads them on the page.
RAW = re.compile(r"\b(?:connection_seconds|total_seconds|billed_minutes|extra_minutes|to_account|profile_id|profile_version|"
                 r"group_id|computer_id|started_at|ended_at|locked_at|pay_per_use|undefined|NaN|null)\b")
PROFILES = [  # three currencies, an amount over a thousand
    {"profile_id": "std-eur", "name": "Assistance standard — heures ouvrées", "type": "pay_per_use", "currency": "EUR",
     "min_duration_minutes": 0, "initial_step_minutes": 60, "initial_step_cost": "1095.08", "step_minutes": 15, "step_cost": "25.50"},
    {"profile_id": "premium-usd", "name": "Premium support after hours", "type": "pay_per_use", "currency": "USD",
     "min_duration_minutes": 0, "initial_step_minutes": 15, "initial_step_cost": "45.00", "step_minutes": 15, "step_cost": "45.00"},
    {"profile_id": "forfait-chf", "name": "Forfait Genève", "type": "pay_per_use", "currency": "CHF",
     "min_duration_minutes": 0, "initial_step_minutes": 30, "initial_step_cost": "60.00", "step_minutes": 30, "step_cost": "60.00"},
]
WIDTHS = (360, 390, 1280)
LANGS = ("en", "fr", "it")


def group_id(n):
    return f"c-{n:03d}"


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """The stack, its tokens and the seeded day (through the API only)."""
    with console_stack(tmp_path_factory) as stack:
        tokens = stack["tenants"][0]["tokens"]
        admin, agent = tokens["admin"], tokens["agent"]
        assert call(stack, admin, "PUT", "/v1/settings/invoicing", {"time_zone": "Europe/Paris"})[0] == 200
        for profile in PROFILES:
            assert call(stack, admin, "POST", "/v1/profiles", profile)[0] == 201, profile

        def client(n):
            gid = group_id(n)
            name = LONG_NAME if n == 1 else f"Client {n:03d} — Établissements Économiques Müller & Cie"
            assert call(stack, admin, "PUT", f"/v1/groups/{gid}", {"name": name})[0] in (200, 201)
            assert call(stack, admin, "PUT", f"/v1/groups/{gid}/computers/pc-{n:03d}",
                        {"name": f"Poste de réception — Dr Müller-Lüdenscheidt {n}"})[0] in (200, 201)
            assert call(stack, admin, "PUT", f"/v1/groups/{gid}/contract", {"profile_id": PROFILES[n % 3]["profile_id"]})[0] == 200

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(client, range(1, CLIENTS + 1)))
        uploads = [{"session_id": f"day-{n:03d}", "group_id": group_id(n), "technician": TECHNICIAN if n % 2 else f"Tech {n % 7}",
                    "computer_id": f"pc-{n:03d}", "started_at": f"2026-10-{1 + n % 28:02d}T08:00:00Z",
                    "ended_at": f"2026-10-{1 + n % 28:02d}T{9 + n % 3:02d}:05:00Z", "notes": NOTES if n % 5 == 0 else "Mise à jour"}
                   for n in range(1, CLIENTS + 1)]
        # Client 3 (EUR): across midnight (Paris), across the DST change, and two more to lock.
        uploads += [
            {"session_id": "midnight", "group_id": "c-003", "technician": TECHNICIAN, "computer_id": "pc-003",
             "started_at": "2026-10-30T22:30:00Z", "ended_at": "2026-10-30T23:40:00Z", "notes": NOTES},
            {"session_id": "dst", "group_id": "c-003", "technician": TECHNICIAN, "computer_id": "pc-003",
             "started_at": "2026-10-25T00:30:00Z", "ended_at": "2026-10-25T01:30:00Z", "notes": "Changement d'heure : 2 h 30 → 2 h 30"},
            {"session_id": "bulk-1", "group_id": "c-003", "technician": "Zoë", "computer_id": "pc-003",
             "started_at": "2026-10-20T09:00:00Z", "ended_at": "2026-10-20T09:10:00Z"},
            {"session_id": "bulk-2", "group_id": "c-003", "technician": "Zoë", "computer_id": "pc-003",
             "started_at": "2026-10-21T09:00:00Z", "ended_at": "2026-10-21T09:10:00Z"},
        ]
        for start in range(0, len(uploads), 100):
            status, answer = call(stack, agent, "POST", "/v1/sessions/batch", {"sessions": uploads[start:start + 100]})
            assert status == 200 and not answer.get("rejected"), answer
        yield stack, tokens


# A browser away from its tenant: the page writes the tenant's time (Paris, from /v1/me), never New York's.
driver = browser_fixture("America/New_York")


def sign_in(driver, stack, token):
    driver.get(f"{stack['api_url']}/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    wait(driver, lambda d: css(d, "#token").is_displayed() and css(d, "#token").is_enabled(), "no token field to type in")
    css(driver, "#token").send_keys(token)
    css(driver, "#signin").click()
    wait(driver, lambda d: visible(d, "#nav"), "not signed in")
    idle(driver)


def at(driver, width):
    driver.set_window_size(width, 800)
    wait(driver, lambda d: d.execute_script("return window.innerWidth") == width, f"not {width} px")


def page_holds(driver, where):
    """No sideways page (scrollingElement), every visible control of the screen inside the window,
    no raw field name in what the page says."""
    scroll, inner = driver.execute_script("return [document.scrollingElement.scrollWidth, innerWidth]")
    if scroll > inner:
        wide = driver.execute_script("""return [...document.querySelectorAll('body *')].filter(e => e.getClientRects().length
            && e.getBoundingClientRect().right > innerWidth + 1).slice(-6).map(e => e.tagName + '#' + e.id + '.' + e.className + ' '
            + Math.round(e.getBoundingClientRect().right))""")
        raise AssertionError(f"{where}: the page is {scroll} px wide in {inner} px: {wide}")
    fits(driver, where)
    outside = driver.execute_script("""
        const out = [];
        for (const el of document.querySelectorAll('main button, main select, main input, main a[href], dialog[open] button')) {
          if (el.closest('[hidden]') || !el.getClientRects().length) continue;
          const r = el.getBoundingClientRect();
          if (r.width && (r.left < -1 || r.right > innerWidth + 1)) out.push((el.id || el.className || el.textContent).slice(0, 40) + ' ' + Math.round(r.left) + '-' + Math.round(r.right));
        }
        return out;""")
    assert not outside, f"{where}: controls off screen: {outside[:5]}"
    text = driver.execute_script("return document.body.innerText")
    assert not RAW.search(text), f"{where}: raw words {RAW.findall(text)[:5]}"


def show_client(driver, gid, start="01/10/2026", end="31/10/2026"):
    Select(css(driver, "#group")).select_by_value(gid)
    for selector, value in (("#from", start), ("#to", end)):
        field = css(driver, selector)
        field.clear()
        field.send_keys(value)
    css(driver, "#search").click()
    idle(driver)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]"), f"no sessions of {gid}")


def tab(driver, view):
    driver.execute_script("window.scrollTo(0, 0)")
    css(driver, f"#tab-{view}").click()
    wait(driver, lambda d: d.execute_script("return document.body.dataset.busy") == "false", f"{view} stays busy", timeout=120)


def test_every_screen_holds_at_every_width_in_every_language(day, driver):
    stack, tokens = day
    sign_in(driver, stack, tokens["admin"])
    started = time.monotonic()
    for lang in LANGS:
        language(driver, lang)
        tab(driver, "sessions")
        show_client(driver, "c-001")  # the longest name, the longest notes
        for width in WIDTHS + ((768, 1920) if lang == "en" else ()):  # the tablet and the wide screen, once
            at(driver, width)
            where = f"{lang} {width}px"
            tab(driver, "sessions")
            page_holds(driver, f"sessions {where}")
            if (lang, width) == ("en", 1280):
                driver.execute_script("window.scrollTo(0, 0)")
                assert driver.save_screenshot(str(ROOT / "docs" / "console-real-day-desktop-en.png"))
            first = driver.find_element(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")
            for name in ("button.details", "button.lock"):  # every action of a row, on screen
                button = first.find_element(By.CSS_SELECTOR, name)
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
                left, right = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", button)
                assert 0 <= left and right <= width, (where, name, left, right)
            first.find_element(By.CSS_SELECTOR, "button.details").click()
            wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#drawer-history > li"), "no history")
            page_holds(driver, f"drawer {where}")
            css(driver, "#drawer-close").click()
            for view in ("month", "invoices", "clients", "profiles", "tokens", "quote"):
                first_month = view == "month" and not driver.find_elements(By.CSS_SELECTOR, "#month-table tbody tr")
                if first_month:  # October typed as on a keypad without separators; read once (the tab reads it)
                    driver.execute_script("document.querySelector('#month').value = '102026'; performance.clearResourceTimings()")
                    clock = time.monotonic()
                tab(driver, view)
                if first_month:
                    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#month-table tbody tr")) >= CLIENTS, "no month", timeout=120)
                    trips = driver.execute_script("return performance.getEntriesByType('resource').filter(e => e.name.includes('/v1/')).length")
                    print(f"\nmonth of {CLIENTS} clients: {trips} round trips, {time.monotonic() - clock:.2f} s")
                    assert css(driver, "#month").get_attribute("value") == "10/2026"
                if view == "clients" and not visible(driver, "#client-detail"):
                    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '#clients tr[data-group-id="c-001"] button.open'), "no clients")
                    css(driver, '#clients tr[data-group-id="c-001"] button.open').click()
                    idle(driver)
                page_holds(driver, f"{view} {where}")
    assert time.monotonic() - started < 150


def test_the_month_of_200_clients_totals_chart_technicians_and_exports(day, driver):
    """On the admin's page the layout test left (October already read: the month is read once)."""
    at(driver, 390)
    language(driver, "fr")
    tab(driver, "month")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#month-table tbody tr")) >= CLIENTS
    grand = text_of(driver, "#month-summary .grand-totals")
    assert "€" in grand and "$US" in grand and "CHF" in grand, grand  # one total per currency, never added up
    assert len(driver.find_elements(By.CSS_SELECTOR, "#month-summary svg.chart-bar")) == 13  # 12 clients and the others
    page_holds(driver, "month 390px fr")
    driver.execute_script("document.querySelector('#month-summary').scrollIntoView()")
    assert driver.save_screenshot(str(ROOT / "docs" / "console-month-phone-fr.png"))
    css(driver, "#month-technicians").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#month-tech-table tbody tr"), "no technicians", timeout=60)
    assert TECHNICIAN in text_of(driver, "#month-tech-table")
    # Every client in one workbook, named for the month.
    Select(css(driver, "#month-format")).select_by_value("xlsx")
    css(driver, "#month-export-all").click()
    wait(driver, lambda d: visible(d, "#month-export-link"), "no file", timeout=60)
    assert text_of(driver, "#month-export-link").startswith("Télécharger all-clients_2026-10.xlsx")
    with urllib.request.urlopen(css(driver, "#month-export-link").get_attribute("href"), timeout=20) as response:
        assert response.read(2) == b"PK"  # a zip: the workbook
    # The spreadsheet CSV in the page's language (a BOM, French headers).
    Select(css(driver, "#month-format")).select_by_value("sheet")
    css(driver, '#month-table tr[data-group-id="c-001"] button.export').click()
    wait(driver, lambda d: "boulangerie-patisserie-elodie" in text_of(d, "#month-export-link"), "no client file")
    with urllib.request.urlopen(css(driver, "#month-export-link").get_attribute("href"), timeout=20) as response:
        head = response.read(400).decode("utf-8")
    assert head.startswith("\ufeff") and ";" in head.splitlines()[0], head[:120]


def test_a_lock_takes_a_second_step_alone_or_in_a_selection(day, driver):
    stack, tokens = day
    sign_in(driver, stack, tokens["technician"])
    at(driver, 390)
    language(driver, "fr")
    show_client(driver, "c-003")
    padlock = row(driver, "midnight").find_element(By.CSS_SELECTOR, "button.lock")
    padlock.click()
    assert "Confirmer" in row(driver, "midnight").find_element(By.CSS_SELECTOR, "button.lock").text
    time.sleep(5.5)  # left alone, the padlock falls back: nothing locked
    assert "Confirmer" not in row(driver, "midnight").find_element(By.CSS_SELECTOR, "button.lock").text
    assert call(stack, tokens["technician"], "GET", "/v1/sessions/midnight")[1]["status"] == "to_account"
    # The keyboard: j moves, l asks, l again locks.
    at(driver, 1280)
    driver.find_element(By.TAG_NAME, "body").click()
    ids = [r.get_attribute("data-session-id") for r in driver.find_elements(By.CSS_SELECTOR, "#sessions tbody tr[data-session-id]")]
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys("j")
    target = ids[0]
    body.send_keys("l")
    assert call(stack, tokens["technician"], "GET", f"/v1/sessions/{target}")[1]["status"] == "to_account"
    driver.switch_to.active_element.send_keys("l")
    wait(driver, lambda d: row(d, target).get_attribute("data-status") == "accounted", "l then l did not lock")
    # Two ticked sessions: one question naming both, then both locked.
    for session_id in ("bulk-1", "bulk-2"):
        row(driver, session_id).find_element(By.CSS_SELECTOR, "input.pick").click()
    assert text_of(driver, "#lock-selected") == "Verrouiller la sélection (2)"
    css(driver, "#lock-selected").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#confirm").get_attribute("open") is not None, "no confirmation")
    assert text_of(driver, "#confirm-text").startswith("Verrouiller les 2 sessions sélectionnées")
    assert call(stack, tokens["technician"], "GET", "/v1/sessions/bulk-1")[1]["status"] == "to_account"
    css(driver, "#confirm-ok").click()
    wait(driver, lambda d: all(row(d, s).get_attribute("data-status") == "accounted" for s in ("bulk-1", "bulk-2")), "not locked")
    # Keyboard search; Esc leaves it.
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys("/")
    assert driver.switch_to.active_element.get_attribute("id") == "text"


@pytest.mark.parametrize("lang, cost, when_text, history_words", [
    # 70 minutes: the first hour at 1,095.08, a quarter at 25.50
    ("fr", "1\u202f120,58\u00a0€", "30/10/2026 23:30", "a envoyé la session"),
    ("en", "€1,120.58", "30/10/2026, 23:30", "uploaded the session"),
    ("it", "1120,58\u00a0€", "30/10/2026, 23:30", "ha caricato la sessione"),
])
def test_numbers_money_dates_and_history_in_the_language(day, driver, lang, cost, when_text, history_words):
    stack, tokens = day
    if not visible(driver, "#nav"):
        sign_in(driver, stack, tokens["admin"])
    at(driver, 1280)
    language(driver, lang)
    tab(driver, "sessions")
    show_client(driver, "c-003", "01102026", "31102026")  # a keypad without separators
    line = row(driver, "midnight")
    shown = driver.execute_script("return arguments[0].querySelector('.cost').textContent", line)
    assert shown == cost, (shown, cost)  # exact: the language's thousands separator, decimal mark and sign
    start = driver.execute_script("return arguments[0].querySelector('.start').textContent", line)
    assert start.startswith(f"{when_text}") and "2026" in start, start  # local (Paris) time, four-digit year, across midnight
    assert "Poste de réception" in line.find_element(By.CSS_SELECTOR, ".computer").text  # the name beside the id
    line.find_element(By.CSS_SELECTOR, "button.details").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#drawer-history > li"), "no history")
    history = text_of(driver, "#drawer-history")
    assert history_words in history and not re.search(r"\d{4}-\d\d-\d\dT|connection_seconds", history), history
    css(driver, "#drawer-close").click()


def test_a_slow_answer_about_one_client_never_shows_under_another(day, driver):
    stack, tokens = day
    sign_in(driver, stack, tokens["admin"])
    at(driver, 1280)
    language(driver, "en")
    tab(driver, "sessions")
    # The first client's totals take 1.5 s to come back (a slow network); the second answers at once.
    driver.execute_script("""
        const real = window.fetch;
        window.fetch = (url, options) => String(url).includes('/groups/c-001/totals')
          ? new Promise((resolve) => setTimeout(() => resolve(real(url, options)), 1500)) : real(url, options);""")
    Select(css(driver, "#group")).select_by_value("c-001")
    time.sleep(0.2)
    Select(css(driver, "#group")).select_by_value("c-002")
    wait(driver, lambda d: "Forfait Genève" in text_of(d, "#totals-contract"), "no contract of the second client")
    time.sleep(1.8)  # the first client's (Premium support) answer has arrived meanwhile, and is dropped
    assert "Forfait Genève" in text_of(driver, "#totals-contract") and "Premium" not in text_of(driver, "#totals-contract")


def test_the_console_ships_plain_modules_and_starts_fast(day, driver):
    stack, tokens = day
    at(driver, 1280)
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    paint, ready, kb = driver.execute_script("""
        const p = performance.getEntriesByName('first-contentful-paint')[0];
        const js = performance.getEntriesByType('resource').filter(e => e.name.endsWith('.js'));
        const ready = performance.getEntriesByName('console-ready')[0];
        return [p ? p.startTime : null, ready.startTime, js.reduce((s, e) => s + e.encodedBodySize, 0) / 1024];""")
    print(f"\nfirst paint {paint:.0f} ms, interactive {ready:.0f} ms, JS {kb:.0f} KB")
    assert kb < 400
