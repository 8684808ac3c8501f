"""The invoices screen in a real browser (Debian's headless Chromium through Selenium), on a tenant
seeded through the API: 36 clients with long accented names, EUR, USD and CHF, an amount over a
thousand, a client at 20 % VAT. An admin sets the seller and the numbering (a wrong prefix is said
at its field, in the page's language); finance runs October (keyboard only), reads a draft's lines,
issues it after a second step under the number the settings promised, opens its PDF, downloads
the run's Xero file and closes the month; the admin voids the invoice with a credit note and
reopens the month. At 360, 390, 1,280 and 1,920 px in English, French and Italian the screen holds;
a slow answer about one month never shows under another."""
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from console_stack import ROOT, browser_fixture, stack_fixture
from test_console import (By, Keys, Select, at_width, call, click, confirm, css, fits, idle, language, money_text,
                          no_script_errors, sign_in, text_of, visible, wait)
from test_console_real_day import LONG_NAME, PROFILES, page_holds

CLIENTS = 36
NOTES = ("Réinstallation du pilote d'imprimante à l'accueil, vérification des sauvegardes nocturnes et explication "
         "à Mme Lefèvre-Dubœuf de la procédure de récupération des fichiers supprimés.")

stack = stack_fixture()  # make run's index lag: the month's invoices and its state are read from the table itself
browser = browser_fixture("UTC", "fr-FR,fr")


def gid(n):
    return f"inv-{n:03d}"


@pytest.fixture(scope="module")
def tenant(stack):
    """36 clients (the first with the longest name, at 20 % VAT in French), a locked session or three each."""
    tokens = stack["tenants"][0]["tokens"]
    admin = tokens["admin"]
    for profile in PROFILES:
        assert call(stack, admin, "POST", "/v1/profiles", profile)[0] == 201

    def client(n):
        name = LONG_NAME if n == 1 else f"Client {n:03d} — Établissements Économiques Müller & Cie"
        body = {"name": name}
        if n == 1:
            body["billing"] = {"tax_rate": "20.00", "locale": "fr", "legal_name": LONG_NAME, "detail": "sessions"}
        assert call(stack, admin, "PUT", f"/v1/groups/{gid(n)}", body)[0] in (200, 201)
        assert call(stack, admin, "PUT", f"/v1/groups/{gid(n)}/computers/pc-{n:03d}", {"name": f"Poste {n}"})[0] in (200, 201)
        assert call(stack, admin, "PUT", f"/v1/groups/{gid(n)}/contract", {"profile_id": PROFILES[(n - 1) % 3]["profile_id"]})[0] == 200

    def lock_all(n):  # each waits out the index's settle time: the clients' waits overlap
        assert call(stack, admin, "POST", f"/v1/groups/{gid(n)}/lock-all", {})[0] == 200

    with ThreadPoolExecutor(4) as pool:  # as several people would, one client each
        list(pool.map(client, range(1, CLIENTS + 1)))
    uploads = [{"session_id": f"iv-{n:03d}-{k}", "group_id": gid(n), "technician": "Marie-Thérèse Dupont-Aignan",
                "computer_id": f"pc-{n:03d}", "started_at": f"2026-10-{2 + k + n % 20:02d}T08:00:00Z",
                "ended_at": f"2026-10-{2 + k + n % 20:02d}T09:10:00Z", "notes": NOTES}
               for n in range(1, CLIENTS + 1) for k in range(3 if n == 1 else 1)]
    status, answer = call(stack, tokens["agent"], "POST", "/v1/sessions/batch", {"sessions": uploads})
    assert status == 200 and not answer.get("rejected"), answer
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lock_all, range(1, CLIENTS + 1)))
    return tokens


def invoices_of(stack, token, month="2026-10"):
    status, answer = call(stack, token, "GET", "/v1/invoices", query=f"month={month}")
    assert status == 200, answer
    return answer["invoices"]


def open_invoices(driver, stack, token, role_word, lang, width, month="10/2026"):
    """Signed in, the invoices tab open on `month` typed as a person does."""
    at_width(driver, width)
    sign_in(driver, stack, token, role_word)
    language(driver, lang)
    click(driver, "#tab-invoices")
    idle(driver)
    field = css(driver, "#invoices-month")
    field.clear()
    field.send_keys(month)
    click(driver, "#invoices-show")
    idle(driver)
    return field


def shown_invoice(driver, invoice_id):
    return css(driver, f'#invoices tbody tr[data-invoice-id="{invoice_id}"]')


def download(url, size=400):
    with urllib.request.urlopen(url, timeout=20) as response:
        return response.read(size)


def test_the_seller_and_the_numbering_are_set_with_errors_at_their_field(stack, browser, tenant):
    driver = browser
    at_width(driver, 1280)
    sign_in(driver, stack, tenant["admin"], "admin")
    language(driver, "en")
    click(driver, "#tab-invoices")
    idle(driver)
    form = css(driver, "#invoice-settings")
    wait(driver, lambda d: form.find_element(By.NAME, "prefix").get_attribute("value") == "INV-", "the settings are not shown")
    assert text_of(driver, "#settings-next").startswith("The next invoice is INV-00001, the next credit note CN-00001")
    values = {"prefix": "FAC 2026", "next_number": "41", "issuer.legal_name": "Acme IT Services SAS — Infogérance",
              "issuer.address": "12 rue de l'Église\n75011 Paris", "issuer.tax_id": "FR40123456789",
              "issuer.iban": "fr76 3000 6000 0112 3456 7890 189", "issuer.country": "fr", "time_zone": "Europe/Paris"}
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    click(driver, "#settings-save")
    error = '#invoice-settings [name="prefix"] ~ .field-error'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, error), "no error at the prefix")
    assert text_of(driver, error) == "Invoice prefix: may hold up to 20 letters, digits or - _ / . # (no space)."
    language(driver, "fr")  # the error follows the page's language
    assert text_of(driver, error) == "Préfixe des factures : peut contenir jusqu'à 20 lettres, chiffres ou - _ / . # (sans espace)."
    assert call(stack, tenant["admin"], "GET", "/v1/settings/invoicing")[1]["prefix"] == "INV-"  # nothing changed
    prefix = form.find_element(By.NAME, "prefix")
    prefix.clear()
    prefix.send_keys("FAC-2026-")
    click(driver, "#settings-save")
    wait(driver, lambda d: text_of(d, "#settings-result") == "Paramètres enregistrés.", "not saved")
    stored = call(stack, tenant["admin"], "GET", "/v1/settings/invoicing")[1]
    assert stored["prefix"] == "FAC-2026-" and stored["next_number"] == 41 and stored["time_zone"] == "Europe/Paris"
    assert stored["issuer"]["iban"] == "FR7630006000011234567890189" and stored["issuer"]["country"] == "FR"
    assert stored["issuer"]["address"] == "12 rue de l'Église\n75011 Paris"
    wait(driver, lambda d: text_of(d, "#settings-next").startswith("La prochaine facture sera FAC-2026-00041"), "no next number")

    # Signed in again, the page takes the tenant's zone from /v1/me: its days start at Paris's midnight
    # though the browser runs in UTC (around the DST changes too).
    sign_in(driver, stack, tenant["admin"], "admin")
    instants = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        import('/console/js/format.js').then((f) => done([f.localMidnight('2026-10-25'), f.localMidnight('2026-10-25', 1),
          f.zonedInstant('2026-03-29', 180), f.zonedInstant('2026-10-30', 23 * 60 + 30)]));""")
    assert instants == ["2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-10-30T23:30:00+01:00"]
    click(driver, "#tab-invoices")

    # A client's billing details: read back (the first client's 20 % VAT), then changed on another
    # client, a wrong tax rate said at its field first (the page is French again after the sign-in).
    billing = css(driver, "#client-billing")
    Select(css(driver, "#billing-group")).select_by_value(gid(1))
    wait(driver, lambda d: billing.find_element(By.NAME, "billing.tax_rate").get_attribute("value") == "20.00", "no billing details")
    assert billing.find_element(By.NAME, "billing.legal_name").get_attribute("value") == LONG_NAME
    Select(css(driver, "#billing-group")).select_by_value(gid(2))
    wait(driver, lambda d: billing.find_element(By.NAME, "billing.tax_rate").get_attribute("value") == "0.00", "not the second client's")
    rate = billing.find_element(By.NAME, "billing.tax_rate")
    rate.clear()
    rate.send_keys("120")
    Select(billing.find_element(By.NAME, "billing.locale")).select_by_value("it")
    click(driver, "#billing-save")
    error = '#client-billing [name="billing.tax_rate"] ~ .field-error'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, error), "no error at the rate")
    assert text_of(driver, error) == "Taux de TVA (%) : doit être un pourcentage de 0 à 100."
    rate.clear()
    rate.send_keys("8,10")
    click(driver, "#billing-save")
    wait(driver, lambda d: text_of(d, "#billing-result").startswith("Informations de facturation de Client 002"), "not saved")
    stored = call(stack, tenant["admin"], "GET", f"/v1/groups/{gid(2)}/billing")[1]["billing"]
    assert (stored["tax_rate"], stored["locale"]) == ("8.10", "it")
    at_width(driver, 360)
    page_holds(driver, "invoice settings fr 360px")
    no_script_errors(driver)


def test_finance_runs_issues_documents_exports_and_closes_the_month(stack, browser, tenant):
    driver, finance = browser, tenant["finance"]
    month = open_invoices(driver, stack, finance, "finance", "fr", 390, "102026")  # a keypad without separators
    assert text_of(driver, "#invoices-title") == "Factures du mois : octobre 2026"
    assert text_of(driver, "#period-state") == "Le mois est ouvert : son travail peut encore changer."
    assert not visible(driver, "#period-reopen") and not visible(driver, "#settings-save")  # an admin's
    assert css(driver, '#invoice-settings [name="prefix"]').get_attribute("readonly") is not None

    # The run, from the keyboard alone: Tab from the month to the button, Enter.
    month.click()
    for _ in range(8):
        if driver.switch_to.active_element.get_attribute("id") == "invoice-run":
            break
        driver.switch_to.active_element.send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "invoice-run", "the run is not reachable by keyboard"
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait(driver, lambda d: text_of(d, "#invoices-result").endswith("préparée(s) pour octobre 2026."), "no run", timeout=60)
    idle(driver)
    drafts = [i for i in invoices_of(stack, finance) if i["status"] == "draft"]
    ours = {gid(n) for n in range(1, CLIENTS + 1)}
    assert ours <= {i["group_id"] for i in drafts}
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#invoices tbody tr")) == len(drafts), "not every draft listed")
    summary = text_of(driver, '#invoices-summary [data-status="draft"]')
    assert f"{len(drafts)} brouillon(s)" in summary and "€" in summary and "$US" in summary and "CHF" in summary, summary
    page_holds(driver, "invoices fr 390px")
    driver.execute_script("document.querySelector('#invoices-view').scrollIntoView()")
    assert driver.save_screenshot(str(ROOT / "docs" / "console-invoices-phone-fr.png"))

    # The long-named client's draft: its lines and its 20 % VAT, as the API has them, in French.
    draft = next(i for i in drafts if i["group_id"] == gid(1))
    assert draft["tax_rate"] == "20.00" and len(draft["lines"]) == 3
    row = shown_invoice(driver, draft["invoice_id"])
    assert LONG_NAME in row.text and row.find_element(By.CSS_SELECTOR, ".total").text == money_text(draft["total"], "fr", "EUR")
    assert "brouillon" in row.find_element(By.CSS_SELECTOR, ".status-cell").text
    click(driver, row.find_element(By.CSS_SELECTOR, "button.details"))
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#invoice-lines tbody tr")) == 3, "no lines")
    fits(driver, "an invoice's lines on a phone")
    amounts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#invoice-lines td.amount")]
    assert amounts == [money_text(line["amount"], "fr", "EUR") for line in draft["lines"]]
    assert money_text(draft["tax"], "fr", "EUR") in text_of(driver, "#invoice-figures")
    assert int(draft["total"].split(".")[0]) >= 1000  # thousands, written the French way (money_text groups them)
    assert money_text(draft["total"], "fr", "EUR") in text_of(driver, "#invoice-figures")
    click(driver, "#invoice-drawer-close")

    # Issue: a second step that names the number it takes; until confirmed, nothing is issued.
    click(driver, shown_invoice(driver, draft["invoice_id"]).find_element(By.CSS_SELECTOR, "button.issue"))
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#confirm").get_attribute("open") is not None, "no confirmation")
    question = text_of(driver, "#confirm-text")
    assert question.startswith(f"Émettre la facture de {LONG_NAME} pour {money_text(draft['total'], 'fr', 'EUR')} ?"), question
    assert "FAC-2026-00041" in question
    assert call(stack, finance, "GET", f"/v1/invoices/{draft['invoice_id']}")[1]["status"] == "draft"
    click(driver, "#confirm-cancel")
    assert call(stack, finance, "GET", f"/v1/invoices/{draft['invoice_id']}")[1]["status"] == "draft"
    click(driver, shown_invoice(driver, draft["invoice_id"]).find_element(By.CSS_SELECTOR, "button.issue"))
    confirm(driver)
    wait(driver, lambda d: text_of(d, "#invoices-result").startswith("Facture FAC-2026-00041 de "), "not issued")
    issued = call(stack, finance, "GET", f"/v1/invoices/{draft['invoice_id']}")[1]
    assert issued["status"] == "issued" and issued["number"] == "FAC-2026-00041"
    assert issued["issued_by"]["kind"] == "token" and issued["issued_by"]["name"]
    click(driver, shown_invoice(driver, draft["invoice_id"]).find_element(By.CSS_SELECTOR, "button.details"))
    wait(driver, lambda d: "Émise par" in text_of(d, "#invoice-figures"), "the drawer names nobody who issued it")
    assert f"Émise par\n{issued['issued_by']['name']}" in text_of(driver, "#invoice-figures")
    click(driver, "#invoice-drawer-close")
    wait(driver, lambda d: shown_invoice(d, draft["invoice_id"]).find_element(By.CSS_SELECTOR, ".number").text == "FAC-2026-00041", "no number")

    # Its document: the PDF link, a Factur-X PDF.
    click(driver, shown_invoice(driver, draft["invoice_id"]).find_element(By.CSS_SELECTOR, "button.pdf"))
    wait(driver, lambda d: visible(d, "#invoice-file a") or visible(d, "#invoices-error"), "no PDF link", timeout=30)
    assert not visible(driver, "#invoices-error"), text_of(driver, "#invoices-error")
    assert text_of(driver, "#invoice-file a") == "Télécharger FAC-2026-00041.pdf (facture électronique PDF)"
    assert download(css(driver, "#invoice-file a").get_attribute("href"), 5) == b"%PDF-"

    # The run's Xero file holds the issued invoice under its number.
    at_width(driver, 1280)
    Select(css(driver, "#run-format")).select_by_value("xero")
    click(driver, "#run-file-submit")
    wait(driver, lambda d: visible(d, "#run-file a"), "no run file", timeout=30)
    assert "FAC-2026-00041" in download(css(driver, "#run-file a").get_attribute("href"), 20000).decode("utf-8-sig")

    # Closing the month asks first, then October refuses changes.
    click(driver, "#period-close")
    assert confirm(driver).startswith("Clôturer octobre 2026 ?")
    wait(driver, lambda d: css(d, "#period-state").get_attribute("data-closed") == "true", "not closed")
    assert text_of(driver, "#period-state").startswith("Le mois est clôturé")
    assert not css(driver, "#invoice-run").is_enabled()
    status, refused = call(stack, finance, "POST", "/v1/sessions/iv-002-0/unlock")
    assert status == 409 and refused["error"]["code"] == "period_closed", refused
    fits(driver, "a closed month on a desktop")
    no_script_errors(driver)


def test_an_admin_voids_with_a_credit_note_and_reopens_the_month(stack, browser, tenant):
    driver, admin = browser, tenant["admin"]
    at_width(driver, 1280)
    sign_in(driver, stack, admin, "admin")
    language(driver, "en")
    click(driver, "#tab-month")  # from the month of every client to its invoices: one tap
    month = css(driver, "#month")
    month.clear()
    month.send_keys("10/2026")
    click(driver, "#month-show")
    wait(driver, lambda d: text_of(d, "#month-title") == "Every client, October 2026", "no month")
    click(driver, "#month-invoice")
    wait(driver, lambda d: text_of(d, "#invoices-title") == "Invoices of October 2026", "the month's invoices are not shown")
    issued = next(i for i in invoices_of(stack, admin) if i["status"] == "issued")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'#invoices tr[data-invoice-id="{issued["invoice_id"]}"] button.void'), "no void")
    click(driver, shown_invoice(driver, issued["invoice_id"]).find_element(By.CSS_SELECTOR, "button.void"))
    question = confirm(driver)
    assert question.startswith(f"Void invoice {issued['number']} of {LONG_NAME} ({money_text(issued['total'], 'en', 'EUR')})?"), question
    assert "credit note (now CN-00001)" in question
    wait(driver, lambda d: text_of(d, "#invoices-result") == f"Invoice {issued['number']} of {LONG_NAME} voided by credit note CN-00001.", "not voided")
    after = invoices_of(stack, admin)
    credit = next(i for i in after if i.get("credit_note_of") == issued["invoice_id"])
    assert credit["number"] == "CN-00001" and credit["total"] == f"-{issued['total']}"
    wait(driver, lambda d: shown_invoice(d, credit["invoice_id"]).find_element(By.CSS_SELECTOR, ".total").text
         == money_text(credit["total"], "en", "EUR"), "no credit note listed")
    assert "credit note" in shown_invoice(driver, credit["invoice_id"]).text
    assert shown_invoice(driver, issued["invoice_id"]).get_attribute("data-status") == "void"

    # Reopening is the admin's; it takes no second step (nothing is lost by it).
    click(driver, "#period-reopen")
    wait(driver, lambda d: css(d, "#period-state").get_attribute("data-closed") == "false", "not reopened")
    assert call(stack, admin, "POST", "/v1/sessions/iv-002-0/unlock")[0] == 200  # October takes changes again
    # A next_number at or below the last issued: the 409 is said at its field.
    field = css(driver, '#invoice-settings [name="next_number"]')
    field.clear()
    field.send_keys("3")
    click(driver, "#settings-save")
    error = '#invoice-settings [name="next_number"] ~ .field-error'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, error), "no error at the next number")
    assert text_of(driver, error).startswith("Next invoice number: must be above the last number issued")
    no_script_errors(driver)


def test_the_screen_holds_at_every_width_in_every_language(stack, browser, tenant):
    driver = browser
    open_invoices(driver, stack, tenant["admin"], "admin", "en", 1280)
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#invoices tbody tr")) >= CLIENTS, "no invoices")
    for lang in ("en", "fr", "it"):
        language(driver, lang)
        for width in (360, 390, 1280, 1920):
            at_width(driver, width)
            idle(driver)
            page_holds(driver, f"invoices {lang} {width}px")
            first = driver.find_element(By.CSS_SELECTOR, "#invoices tbody tr")
            click(driver, first.find_element(By.CSS_SELECTOR, "button.details"))
            wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#invoice-lines tbody tr"), "no lines")
            page_holds(driver, f"an invoice {lang} {width}px")
            click(driver, "#invoice-drawer-close")
    # Italian writes the money its own way, the status in words.
    row = driver.find_element(By.CSS_SELECTOR, '#invoices tbody tr[data-status="draft"]')
    assert "bozza" in row.text


def test_a_slow_answer_about_one_month_never_shows_under_another(stack, browser, tenant):
    driver = browser
    sign_in(driver, stack, tenant["finance"], "finance")
    at_width(driver, 1280)
    language(driver, "en")
    click(driver, "#tab-invoices")
    idle(driver)
    # October's invoices take 1.5 s to come back; September answers at once (it has none).
    driver.execute_script("""
        const real = window.fetch;
        window.fetch = (url, options) => String(url).includes('month=2026-10')
          ? new Promise((resolve) => setTimeout(() => resolve(real(url, options)), 1500)) : real(url, options);""")
    month = css(driver, "#invoices-month")
    month.clear()
    month.send_keys("10/2026")
    click(driver, "#invoices-show")
    time.sleep(0.2)
    css(driver, "#invoices-prev").click()  # at once: not waiting for October's answer
    wait(driver, lambda d: text_of(d, "#invoices-title") == "Invoices of September 2026", "no September")
    time.sleep(1.8)  # October's answer has arrived meanwhile, and is dropped
    assert text_of(driver, "#invoices-title") == "Invoices of September 2026"
    assert not driver.find_elements(By.CSS_SELECTOR, "#invoices tbody tr")
    assert text_of(driver, "#invoices-empty") == "No invoice for this month yet: run the month's invoices."


def test_finance_issues_every_draft_after_one_confirmation(stack, browser, tenant):
    driver, finance = browser, tenant["finance"]
    open_invoices(driver, stack, finance, "finance", "en", 1280)
    # A draft whose work changed since its run (a lock undone) is refused at its issue, said in words:
    click(driver, "#invoices-issue-all")
    confirm(driver)
    wait(driver, lambda d: "stopped at" in text_of(d, "#invoices-result"), "no word of the refused draft", timeout=180)
    assert "run the month again" in text_of(driver, "#invoices-error")
    # so the month is run again, and every draft it makes is issued after one confirmation.
    click(driver, "#invoice-run")
    wait(driver, lambda d: text_of(d, "#invoices-result").endswith("made for October 2026."), "no run", timeout=60)
    idle(driver)
    drafts = [i for i in invoices_of(stack, finance) if i["status"] == "draft"]
    assert len(drafts) > 30
    wait(driver, lambda d: visible(d, "#invoices-issue-all"), "no way to issue every draft")
    click(driver, "#invoices-issue-all")
    question = confirm(driver, "#confirm-cancel")
    assert question.startswith(f"Issue the {len(drafts)} draft invoices of October 2026?"), question
    assert all(i["status"] == "draft" for i in invoices_of(stack, finance) if i["invoice_id"] in {d["invoice_id"] for d in drafts})
    click(driver, "#invoices-issue-all")
    confirm(driver)
    wait(driver, lambda d: "issued (" in text_of(d, "#invoices-result") or "stopped" in text_of(d, "#invoices-result"),
         "no word of the issues", timeout=180)
    assert text_of(driver, "#invoices-result").startswith(f"{len(drafts)} invoices issued ("), (
        text_of(driver, "#invoices-result"), text_of(driver, "#invoices-error"))
    after = {i["invoice_id"]: i for i in invoices_of(stack, finance)}
    assert all(after[d["invoice_id"]]["status"] == "issued" for d in drafts)
    numbers = sorted(int(after[d["invoice_id"]]["number"].rsplit("-", 1)[1]) for d in drafts)
    assert numbers == list(range(numbers[0], numbers[0] + len(drafts)))  # one gapless range, in the order they were issued
    idle(driver)
    assert not visible(driver, "#invoices-issue-all") and not visible(driver, "#invoices-error")
    no_script_errors(driver)
