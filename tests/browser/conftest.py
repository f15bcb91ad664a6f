"""Real-browser tests: Debian's chromium driven by Selenium through /usr/bin/chromedriver, headless.

Nothing is downloaded at run time: the driver and the browser are given by path (so Selenium Manager is
never needed) and SE_OFFLINE keeps it from reaching out if anything did call it. The browser's own
background traffic (component updates, sync, field trials) is switched off, so every request it makes is
one the page asked for — which the offline test checks.

`.ci/run` installs chromium and chromium-driver when absent. Set IPAM_SCREENSHOTS=docs/images to have the
tests save the screenshots of docs/admin.md (CI leaves it unset, so it never rewrites them).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("IPAM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("IPAM_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--window-size=1400,1000",
)


def _available() -> bool:
    return bool(shutil.which(CHROMIUM) or Path(CHROMIUM).exists()) and Path(CHROMEDRIVER).exists()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not _available():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} / {CHROMEDRIVER} missing: .ci/run installs chromium and chromium-driver")
        pytest.skip("chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, if ever called, must not download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshot(browser: Any) -> Any:
    """screenshot("name"): saves <IPAM_SCREENSHOTS>/<name>.png when that variable is set, else does nothing."""
    folder = os.environ.get("IPAM_SCREENSHOTS", "")

    def take(name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(Path(folder) / f"{name}.png"))

    return take
