"""The web console's sign-in for people (a real browser against the local stack, as in
tests/test_console.py): email and password against the user pool of the embedded AWS, the person's
name in the header, a reload that signs in again with the refresh token, a sign-out that revokes
it, a disabled person refused, and API tokens still signing in beside them."""
import json
import urllib.error
import urllib.request

import pytest

from console_stack import browser_fixture, stack_fixture
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from test_console import css, idle, language, no_script_errors, text_of, visible, wait

stack = stack_fixture()  # as `make run` starts it
sso_stack = stack_fixture("--sso", "Workplace")  # `make run ARGS="--sso Workplace"`: single sign-on through a demo provider
browser = browser_fixture("UTC", "fr-FR,fr")


@pytest.fixture(scope="module")
def driver(browser):
    return browser


def start(driver, stack):
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    language(driver, "en")


def person_signs_in(driver, email, password):
    wait(driver, lambda d: visible(d, "#people-form"), "no sign-in form for people")
    for selector, value in (("#email", email), ("#password", password)):
        css(driver, selector).clear()
        css(driver, selector).send_keys(value)
    css(driver, "#people-signin").click()


def test_a_person_signs_in_with_email_and_password_and_stays_signed_in_across_a_reload(stack, driver):
    finance = stack["tenants"][0]["users"]["finance"]
    start(driver, stack)
    person_signs_in(driver, finance["email"], "Wrong-password-1")
    wait(driver, lambda d: "Not signed in" in text_of(d, "#people-error"), "a wrong password is not said")
    person_signs_in(driver, finance["email"], finance["password"])
    wait(driver, lambda d: text_of(d, "#whoami") == "Fran Finance · finance", "not signed in as Fran Finance")
    assert visible(driver, "#tab-month") and not visible(driver, "#tab-tokens")  # finance's screens
    assert driver.execute_script("return sessionStorage.getItem('rsa.console.refresh')")
    driver.refresh()  # the access token is renewed from the refresh token
    wait(driver, lambda d: text_of(d, "#whoami") == "Fran Finance · finance", "not signed in again after a reload")
    refresh = driver.execute_script("return sessionStorage.getItem('rsa.console.refresh')")
    css(driver, "#signout").click()
    wait(driver, lambda d: visible(d, "#signin-view"), "not signed out")
    assert driver.execute_script("return sessionStorage.getItem('rsa.console.refresh')") is None
    # the pool revoked it: the refresh token of the signed-out session gives no new access token
    request = urllib.request.Request(f"{stack['api_url']}/_cognito/", method="POST", data=json.dumps({
        "AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": stack["cognito"]["client_id"], "AuthParameters": {"REFRESH_TOKEN": refresh}}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400


def test_api_tokens_still_sign_in_beside_people(stack, driver):
    start(driver, stack)
    css(driver, "#token").send_keys(stack["tenants"][0]["tokens"]["technician"])
    assert visible(driver, "#people-form") and not visible(driver, "#sso-signin")  # no identity provider in this stack
    css(driver, "#signin").click()
    wait(driver, lambda d: text_of(d, "#whoami") == "technician (demo) · technician", "the token did not sign in")
    css(driver, "#signout").click()
    wait(driver, lambda d: visible(d, "#signin-view"), "not signed out")


def rows(driver) -> dict:
    """The staff table: email → its row."""
    found = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#users tbody tr"):
        email = row.find_elements(By.CSS_SELECTOR, "td")[1].text.strip()
        found[email] = row
    return found


def test_an_admin_invites_changes_and_disables_staff(stack, driver):
    tenant = stack["tenants"][1]
    admin = tenant["users"]["admin"]
    start(driver, stack)
    person_signs_in(driver, admin["email"], admin["password"])
    wait(driver, lambda d: text_of(d, "#whoami") == "Alex Admin · admin", "not signed in as Alex Admin")
    css(driver, "#tab-tokens").click()
    wait(driver, lambda d: len(rows(d)) == 3, "the staff are not listed")
    assert "active (you)" in rows(driver)[admin["email"]].text
    css(driver, "#user-email").send_keys("not an email")
    css(driver, "#user-invite").click()
    wait(driver, lambda d: visible(d, "#user-error"), "a bad email is not refused")
    css(driver, "#user-email").clear()
    css(driver, "#user-email").send_keys("gina@northwind.example")
    css(driver, "#user-name").send_keys("Gina")
    css(driver, "#user-invite").click()
    wait(driver, lambda d: "gina@northwind.example" in rows(d), "the invited person is not listed")
    idle(driver)
    assert "invited" in rows(driver)["gina@northwind.example"].text
    Select(rows(driver)["gina@northwind.example"].find_element(By.CSS_SELECTOR, ".user-role")).select_by_value("finance")
    wait(driver, lambda d: "is changed" in text_of(d, "#users-result"), "the role change is not said")
    idle(driver)
    rows(driver)["gina@northwind.example"].find_element(By.CSS_SELECTOR, "button.disable").click()
    wait(driver, lambda d: "disabled" in rows(d).get("gina@northwind.example", d.find_element(By.TAG_NAME, "body")).text, "not disabled")
    request = urllib.request.Request(f"{stack['api_url']}/v1/users", headers={"Authorization": f"Bearer {tenant['tokens']['admin']}"})
    listed = {u["email"]: u for u in json.loads(urllib.request.urlopen(request, timeout=10).read())["users"]}
    assert (listed["gina@northwind.example"]["role"], listed["gina@northwind.example"]["enabled"]) == ("finance", False)


# ---------------------------------------------------------------- single sign-on


def kept(driver) -> tuple:
    return driver.execute_script("return [sessionStorage.getItem('rsa.console.refresh'), sessionStorage.getItem('rsa.console.token')]")


def through_provider(driver, email):
    """Sign in with Workplace, then the demo provider's page vouches for `email`."""
    wait(driver, lambda d: visible(d, "#sso-signin"), "no single sign-on button")
    assert text_of(driver, "#sso-signin") == "Sign in with Workplace"
    css(driver, "#sso-signin").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#continue"), "the provider's page did not open")
    css(driver, "#email").send_keys(email)
    css(driver, "#continue").click()
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "not back on the console")


def test_an_invited_person_signs_in_with_the_provider_and_lands_signed_in_as_their_invitation(sso_stack, driver):
    tenant = sso_stack["tenants"][0]
    request = urllib.request.Request(f"{sso_stack['api_url']}/v1/users", method="POST", data=json.dumps(
        {"email": "sam@acme-sso.example", "role": "technician", "name": "Sam Sso"}).encode(),
        headers={"Authorization": f"Bearer {tenant['tokens']['admin']}", "Content-Type": "application/json"})
    assert urllib.request.urlopen(request, timeout=10).status == 201
    start(driver, sso_stack)
    through_provider(driver, "sam@acme-sso.example")  # the first time links the provider's identity to the invitation
    wait(driver, lambda d: "now linked to your invitation" in text_of(d, "#sso-error"), "the link is not said")
    assert kept(driver) == [None, None] and "code=" not in driver.current_url
    through_provider(driver, "sam@acme-sso.example")
    wait(driver, lambda d: text_of(d, "#whoami") == "Sam Sso · technician", "not signed in as the invited Sam")
    assert text_of(driver, "#tenant") == tenant["name"] and not visible(driver, "#tab-tokens")  # a technician of that tenant
    assert kept(driver)[0] and "code=" not in driver.current_url and "state=" not in driver.current_url
    driver.refresh()  # renewed from the refresh token, as a password sign-in is
    wait(driver, lambda d: text_of(d, "#whoami") == "Sam Sso · technician", "not signed in again after a reload")
    css(driver, "#signout").click()
    wait(driver, lambda d: visible(d, "#sso-signin"), "not signed out")
    no_script_errors(driver)  # the CSP let every request of the flow through


def test_someone_nobody_invited_is_told_in_their_language_and_nothing_is_kept(sso_stack, driver):
    start(driver, sso_stack)
    through_provider(driver, "mallory@acme-sso.example")
    wait(driver, lambda d: "Nobody has invited your email address" in text_of(d, "#sso-error"), "the refusal is not said")
    language(driver, "fr")
    wait(driver, lambda d: "Personne n'a encore invité votre adresse e-mail" in text_of(d, "#sso-error"), "not said in French")
    assert text_of(driver, "#sso-signin") == "Se connecter avec Workplace"
    assert kept(driver) == [None, None] and not visible(driver, "#whoami")
    language(driver, "en")


def test_an_answer_this_tab_did_not_ask_for_is_ignored(sso_stack, driver):
    start(driver, sso_stack)
    driver.get(f"{sso_stack['api_url']}/?code=forged-code&state=someone-elses")  # a link sent to the person (CSRF)
    wait(driver, lambda d: "was not started from this tab" in text_of(d, "#sso-error"), "a foreign answer is not refused")
    assert kept(driver) == [None, None] and not visible(driver, "#whoami") and "code=" not in driver.current_url
