"""What every console test starts: the local stack as a child process (as `make run` starts it) and
Debian's headless Chromium driven by Selenium, in a time zone and with the languages the test asks.
One place for both, so the console's test files differ only in the data they seed."""
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from billing_local.stack import StackProcess

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=fr-FR", "--hide-scrollbars",
)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra: make venv")
from selenium.webdriver.chrome.service import Service  # noqa: E402


@contextmanager
def console_stack(tmp_path_factory, *extra: str):
    """The local stack on free ports with its demo tenants; `extra` are its command-line options."""
    with StackProcess(tmp_path_factory.mktemp("stack") / "stack.json", *extra) as process:
        yield process.description


@contextmanager
def chromium(tmp_path_factory, time_zone: str, languages: str | None = None):
    """Headless Chromium in `time_zone` (the console writes dates in the browser's zone while /v1/me
    names none), its pages asked in `languages` ("fr-FR,fr") when given."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: `make browser` installs Debian's chromium and chromium-driver")
    before = os.environ.get("TZ")
    os.environ["TZ"] = time_zone  # the browser, a child process, takes its local time from TZ
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    if languages:
        options.add_experimental_option("prefs", {"intl.accept_languages": languages})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before


def stack_fixture(*extra: str):
    """A module's stack, started as `make run` starts it (plus `extra` flags): `stack = stack_fixture()`."""
    @pytest.fixture(scope="module")
    def stack(tmp_path_factory):
        with console_stack(tmp_path_factory, *extra) as description:
            yield description
    return stack


def browser_fixture(time_zone: str, languages: str | None = None):
    """A module's browser: `browser = browser_fixture("UTC", "fr-FR,fr")` in a test file."""
    @pytest.fixture(scope="module")
    def browser(tmp_path_factory):
        with chromium(tmp_path_factory, time_zone, languages) as driver:
            yield driver
    return browser
