"""Real-browser smoke test: Playwright drives Debian's chromium against the live test server."""
from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} 不存在:请安装 Debian 的 chromium 软件包"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser_page(monkeypatch):
    sync_api = pytest.importorskip("playwright.sync_api", reason="未安装 playwright(pip install playwright)")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # Playwright's own browser download is never used: the system chromium is launched directly.
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page.set_default_timeout(15000)
        yield page
        browser.close()


def test_dispatcher_logs_in_and_opens_an_enterprise_page(live_server, register, browser_page, tmp_path):
    page = browser_page
    ent = register.fugou_ents[-1]  # the newest: first row of the list
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", register.users["dispatcher"].username)
    page.fill("#id_password", "pass-1234")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    assert "首页" in page.title()
    page.click("nav >> text=企业档案")
    page.wait_for_selector("#enterprise-table")
    # HTMX (served from /static/vendor) swaps the results in place and keeps the URL shareable.
    page.select_option("#f-county", register.fugou.code)
    page.wait_for_function("document.querySelector('#result-total').textContent.includes('共 7 家')")
    assert f"county={register.fugou.code}" in page.url
    page.click(f"text={ent.name}")
    page.wait_for_selector("#ent-uscc")
    assert page.inner_text("#ent-name") == ent.name
    assert page.inner_text("#ent-uscc") == ent.uscc
    shot = tmp_path / "enterprise-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
