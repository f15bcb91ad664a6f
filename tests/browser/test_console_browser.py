"""The operator console in a real browser (headless chromium): log in, the dashboard's charts, the map,
allocating and commenting from the region page, exact IP search, and /docs rendering with no request leaving the app."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from ipam.models import AuditLog, Host
from tests.factories import UserFactory, make_host, make_region
from tests.ipam.console_support import console_operator

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "correct-horse-battery-staple"  # tests.factories.UserFactory's


def _wait(browser: Any, css: str, timeout: float = 15) -> Any:
    return WebDriverWait(browser, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _login(browser: Any, base: str, username: str = "operator") -> None:
    browser.delete_all_cookies()
    browser.get(f"{base}/admin/login/?next=/admin/")
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    _wait(browser, "#ipam-dashboard")


@pytest.fixture
def space(db: Any) -> dict[str, Any]:
    operator = console_operator()
    alice = UserFactory(username="alice")
    regions = [make_region(alice, "India", name) for name in ("web", "db", "cache")]
    for index in range(5):
        make_host(alice, regions[0], f"web-{index + 1}")
    make_host(alice, regions[1], "db-1")
    sweden = make_region(alice, "Sweden", "nordic")
    make_host(alice, sweden, "nordic-1")
    return {"operator": operator, "alice": alice, "regions": regions, "sweden": sweden}


def test_console_in_a_real_browser(browser: Any, live_server: Any, space: dict[str, Any], screenshot: Any) -> None:
    base = live_server.url
    alice, regions = space["alice"], space["regions"]

    # The front door and logging in.
    browser.get(f"{base}/")
    assert browser.find_element(By.ID, "front-links").find_element(By.LINK_TEXT, "Operator console")
    screenshot("front-door")
    _login(browser, base)

    # The dashboard draws its charts as SVG: 90 days, one bar per country in use.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#activity-chart g.chart-day")) == 90
    bars = browser.find_elements(By.CSS_SELECTOR, "#country-chart rect.country-bar")
    assert sorted(bar.get_attribute("data-country") for bar in bars) == ["IN", "SE"]
    allocated = sum(int(r.get_attribute("data-count")) for r in browser.find_elements(By.CSS_SELECTOR, "#activity-chart rect.alloc"))
    assert allocated == 4 + 7  # regions and hosts created today
    assert browser.find_element(By.ID, "total-hosts").text == "7"
    screenshot("dashboard")

    # The map: each seeded region in its (X, Y) cell; a click opens the region page.
    browser.get(f"{base}/admin/ipam/region/map/{alice.pk}/IN/")
    cells = browser.find_elements(By.CSS_SELECTOR, "#address-map a.cell")
    assert sorted(c.get_attribute("data-xy") for c in cells) == sorted(f"{r.x_octet}.{r.y_octet}" for r in regions)
    screenshot("map")
    browser.find_element(By.CSS_SELECTOR, f'#address-map a[data-xy="{regions[0].x_octet}.{regions[0].y_octet}"]').click()
    _wait(browser, "#address-grid")
    assert browser.current_url.endswith(f"/admin/ipam/region/{regions[0].pk}/change/")

    # Allocate the next host from the region page: it shows in the grid, the audit row names the staff user.
    assert len(browser.find_elements(By.CSS_SELECTOR, "#address-grid .cell-allocated")) == 5
    form = browser.find_element(By.CSS_SELECTOR, "#region-actions form")
    form.find_element(By.NAME, "hostname").send_keys("web-next")
    form.find_element(By.ID, "allocate-host").click()
    _wait(browser, "ul.messagelist li.success")
    cell = browser.find_element(By.CSS_SELECTOR, '#address-grid [data-z="6"]')
    assert "cell-allocated" in cell.get_attribute("class") and "web-next" in cell.get_attribute("title")
    actors = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#region-audit tr.audit-row td.actor")]
    assert actors[0] == "operator"
    assert AuditLog.objects.get(ip_address=f"10.{regions[0].x_octet}.{regions[0].y_octet}.6", action_type="create").actor == "operator"
    screenshot("region")

    # Add a comment under the region's comments: it appears with the staff user as author, and is audited.
    assert browser.find_elements(By.CSS_SELECTOR, "#region-comments tr.comment-row") == []
    form = browser.find_element(By.ID, "comment-form")
    form.find_element(By.NAME, "text").send_keys("patch panel moved to rack 4")
    form.find_element(By.ID, "add-comment").click()
    _wait(browser, "#region-comments tr.comment-row")
    assert f"Comment added to {regions[0].cidr}." in browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    row = browser.find_element(By.CSS_SELECTOR, "#region-comments tr.comment-row")
    assert row.find_element(By.CSS_SELECTOR, "td.author").text == "operator"
    assert row.find_element(By.CSS_SELECTOR, "td.text").text == "patch panel moved to rack 4"
    assert AuditLog.objects.get(action_type="comment", region_id=regions[0].pk).actor == "operator"
    browser.execute_script("arguments[0].scrollIntoView()", browser.find_element(By.ID, "region-reservations"))
    screenshot("region-comments")

    # Exact IP search: 10.X.Y.1 finds that host only (not .10-.19 nor other regions' .1).
    target = Host.objects.get(hostname="web-1")
    browser.get(f"{base}/admin/ipam/host/")
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys(target.ip_address)
    search.submit()
    _wait(browser, "#result_list")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1 and "web-1" in rows[0].text
    screenshot("host-search")

    browser.get(f"{base}/admin/ipam/region/")
    _wait(browser, "#result_list")
    screenshot("regions")


def test_swagger_ui_renders_with_no_request_leaving_the_app(browser: Any, live_server: Any, screenshot: Any) -> None:
    base = live_server.url
    app = urlsplit(base).netloc
    browser.execute_cdp_cmd("Network.enable", {})
    # Anything for another host would fail; the performance log below shows whether any was even tried.
    outside_hosts = [f"*://*.{tld}/*" for tld in ("com", "net", "io", "org", "dev", "app", "cloud")]
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": outside_hosts})
    browser.get_log("performance")  # drop what earlier pages logged
    browser.get(f"{base}/docs")
    title = _wait(browser, ".swagger-ui .info .title", timeout=30)
    assert "IPAM API" in title.text
    assert browser.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock")  # the operations rendered from /openapi.json
    screenshot("docs")
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    assert any(url.endswith("/openapi.json") for url in requested)
    outside = [url for url in requested if not url.startswith(("data:", "blob:")) and urlsplit(url).netloc != app]
    assert outside == []
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
