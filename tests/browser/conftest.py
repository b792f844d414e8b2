"""A real browser (Debian's chromium driven by Playwright) against the app served on loopback.

The server runs in a thread of the test process, on the suite's database, with CSRF on."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from ocopkit import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def live_config() -> dict:
    """Extra settings of the served app; a test module overrides this fixture."""
    return {}


@pytest.fixture
def live_server(engine, database_url, tmp_path, live_config):
    app = create_app({"ENV": "testing", "DATABASE_URL": database_url,
                      "SECRET_KEY": "browser-test", "MEDIA_ROOT": str(tmp_path / "media"),
                      **live_config})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(java_script_enabled=False, locale="vi-VN",
                                  viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def check_out(page, method: str) -> None:
    """Fill the checkout form as a buyer would and place the order."""
    page.fill("#buyer_name", "Nguyễn Thị Hoa")
    page.fill("#buyer_phone", "0987654321")
    page.fill("#delivery_address", "12 Hàng Bài, Hà Nội")
    page.check(f"input[value={method}]")
    page.click("form.card button[type=submit]")
