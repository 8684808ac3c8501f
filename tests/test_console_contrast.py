"""WCAG 2.x contrast of what the console actually renders, read from a real browser (Debian's
headless Chromium through Selenium) over every screen and the states that change colours (an
error, a notice, a padlock waiting for its second tap, a closed month, the drawers and dialogs).

For every visible element that holds text, the text's computed colour is composed over the
element's effective background (its own and its ancestors' background colours, alpha-blended down
to the page) and their contrast ratio, (L1 + 0.05) / (L2 + 0.05) from the sRGB relative luminance,
must reach 4.5:1, or 3:1 for large text (24 px, or 18.66 px bold). Every enabled control (button,
input, select) whose boundary is drawn (a fill or a border different from what is behind it) must
reach 3:1 against what is behind it with its fill or its border. Disabled controls are exempt, as
WCAG exempts inactive components."""
import pytest

from console_stack import browser_fixture, stack_fixture
from test_console import By, at_width, call, click, css, idle, language, show_group, sign_in, wait

stack = stack_fixture()  # as `make run` starts it
browser = browser_fixture("UTC", "en-GB,en")

# Runs in the page: every failing pair of the screen as it is now.
CONTRAST = r"""
const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
function parse(text) {
  const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(text);
  if (!m) throw new Error('a colour the check cannot read: ' + text);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
}
const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3]));
/** What is painted behind `element`: the page's white, then each ancestor's background from the root down. */
function behind(element) {
  const chain = [];
  for (let e = element; e && e.nodeType === 1; e = e.parentElement) chain.push(e);
  let colour = [255, 255, 255];
  for (const e of chain.reverse()) colour = over(parse(getComputedStyle(e).backgroundColor), colour);
  return colour;
}
const shown = (e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && e.getBoundingClientRect().width > 1
  && !e.closest('[hidden]');
const name = (e) => (e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : ''));
const failures = [];
let texts = 0;
for (const e of document.querySelectorAll('body *')) {
  if (['SCRIPT', 'STYLE', 'OPTION', 'svg'].includes(e.tagName) || e.closest('svg') || !shown(e)) continue;
  if (e.closest('button:disabled, input:disabled, select:disabled')) continue; // inactive: exempt
  const style = getComputedStyle(e);
  const text = [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('').trim()
    || (['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) && e.value ? String(e.value).trim() : '');
  const ground = behind(e);
  if (text) {
    texts += 1;
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    const got = ratio(over(parse(style.color), ground), ground);
    if (got < need) failures.push(`text ${name(e)} "${text.slice(0, 30)}": ${style.color} on rgb(${ground.map(Math.round)}) ${got.toFixed(2)} < ${need}`);
  }
  if (['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) && !(e.type === 'checkbox' || e.type === 'radio')) {
    const parent = behind(e.parentElement);
    const fill = over(parse(style.backgroundColor), parent);
    const border = parseFloat(style.borderTopWidth) > 0 && style.borderTopStyle !== 'none' ? over(parse(style.borderTopColor), fill) : fill;
    const drawn = ratio(fill, parent) > 1.01 || ratio(border, parent) > 1.01;
    const best = Math.max(ratio(fill, parent), ratio(border, parent));
    if (drawn && best < 3) failures.push(`control ${name(e)}: fill ${style.backgroundColor}, border ${style.borderTopColor} on rgb(${parent.map(Math.round)}) ${best.toFixed(2)} < 3`);
  }
}
return [failures, texts];
"""


def contrast_failures(driver, least=1):
    """The screen's failing pairs, having read at least `least` elements with text."""
    failures, texts = driver.execute_script(CONTRAST)
    assert texts >= least, f"only {texts} texts read"
    return failures


def test_the_contrast_check_fails_a_pale_text_and_a_faint_control(stack, browser):
    """The check itself: light grey text on white and an input with a hairline border fail it."""
    driver = browser
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    driver.execute_script("""
        const probe = document.createElement('div');  // styled through the CSSOM (the page's CSP refuses style attributes)
        probe.id = 'probe';
        for (const [tag, text, style] of [['p', 'pale', {color: '#aaaaaa'}], ['input', '', {border: '1px solid #e0e0e0'}],
                                         ['p', 'just enough', {color: '#767676'}], ['p', 'large', {color: '#949494', fontSize: '24px'}]]) {
          const element = document.createElement(tag);
          element.textContent = text;
          Object.assign(element.style, {background: '#ffffff', ...style});
          probe.append(element);
        }
        document.querySelector('main').prepend(probe);""")
    found = contrast_failures(driver)
    assert any('"pale"' in f for f in found), found  # 2.32:1
    assert any(f.startswith("control input:") and "224, 224, 224" in f for f in found), found  # 1.3:1
    assert not any("just enough" in f or '"large"' in f for f in found), found  # 4.54:1, and 3.03:1 large
    driver.execute_script("document.querySelector('#probe').remove()")


def check(driver, where, seen):
    failures = contrast_failures(driver, least=5)
    seen.append(where)
    assert not failures, f"{where}: {failures[:8]}"


def test_every_screen_reaches_wcag_aa_contrast(stack, browser):
    driver, tokens = browser, stack["tenants"][0]["tokens"]
    seen = []
    at_width(driver, 1280)
    driver.get(f"{stack['api_url']}/")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready") == "true", "the console did not start")
    language(driver, "en")
    css(driver, "#token").send_keys("not-a-token")
    css(driver, "#signin").click()
    wait(driver, lambda d: css(d, "#signin-error").text.startswith("Not signed in"), "no sign-in error")
    check(driver, "sign-in with an error", seen)

    sign_in(driver, stack, tokens["admin"], "admin")
    show_group(driver, "bakery")
    check(driver, "sessions", seen)
    padlock = driver.find_element(By.CSS_SELECTOR, "#sessions tbody tr[data-status=to_account] button.lock")
    click(driver, padlock)
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#sessions button.lock.armed"), "the padlock did not ask")
    check(driver, "a padlock waiting for its second tap", seen)
    click(driver, driver.find_element(By.CSS_SELECTOR, "#sessions tbody tr button.details"))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#drawer-history > li"), "no drawer")
    check(driver, "the session drawer", seen)
    click(driver, "#drawer-close")
    row = driver.find_element(By.CSS_SELECTOR, "#sessions tbody tr[data-status=to_account] input.extra")
    row.clear()
    row.send_keys("20000\t")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "tr.row-error"), "no row error")
    check(driver, "a row's error", seen)

    for view in ("month", "quote", "clients", "profiles", "tokens", "imports"):
        click(driver, f"#tab-{view}")
        idle(driver)
        if view == "month":
            css(driver, "#month").clear()
            css(driver, "#month").send_keys("10/2026")
            click(driver, "#month-show")
            wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#month-table tbody tr"), "no month")
            idle(driver)
        if view == "clients":
            click(driver, '#clients tr[data-group-id="bakery"] button.open')
            idle(driver)
        if view == "profiles":
            click(driver, "#profile-new")
        check(driver, view, seen)

    for group in ("bakery", "law-firm", "dental"):
        call(stack, tokens["admin"], "POST", f"/v1/groups/{group}/lock-all", {})
    click(driver, "#tab-invoices")
    month = css(driver, "#invoices-month")
    month.clear()
    month.send_keys("10/2026")
    click(driver, "#invoices-show")
    click(driver, "#invoice-run")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#invoices tbody tr"), "no drafts", timeout=30)
    idle(driver)
    check(driver, "invoices with drafts", seen)
    click(driver, "#period-close")
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, "#confirm").get_attribute("open") is not None, "no confirmation")
    check(driver, "a confirmation", seen)
    click(driver, "#confirm-ok")
    wait(driver, lambda d: css(d, "#period-state").get_attribute("data-closed") == "true", "not closed")
    check(driver, "a closed month", seen)
    click(driver, driver.find_element(By.CSS_SELECTOR, "#invoices tbody tr button.details"))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#invoice-lines tbody tr"), "no lines")
    check(driver, "an invoice's lines", seen)
    click(driver, "#invoice-drawer-close")
    at_width(driver, 390)
    check(driver, "invoices on a phone", seen)
    assert len(seen) == 16


@pytest.mark.parametrize("foreground, background, expected", [
    ("#ffffff", "#000000", 21.0), ("#767676", "#ffffff", 4.54), ("#1f5fa8", "#ffffff", 6.44)])
def test_the_ratio_is_wcag_s(stack, browser, foreground, background, expected):
    """The formula against WCAG's own figures (21:1 black on white; #767676 is the lightest grey at 4.5:1)."""
    driver = browser
    if not driver.current_url.startswith(stack["api_url"]):
        driver.get(f"{stack['api_url']}/")
    got = driver.execute_script(CONTRAST.split("function parse")[0] + "return ratio(arguments[0], arguments[1]);",
                                [int(foreground[i:i + 2], 16) for i in (1, 3, 5)], [int(background[i:i + 2], 16) for i in (1, 3, 5)])
    assert round(got, 2) == expected
