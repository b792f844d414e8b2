"""The Quickstart's first command: `ocopkit serve --demo` builds a fresh demo and serves it
through gunicorn; the officer logs in with the credentials it prints."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from sqlalchemy import func, select

from ocopkit.demo import build_demo
from onboarding.models import Consent, Producer

CREDENTIAL = re.compile(r"^\s+(admin|officer|producer): (\S+) / (\S+)\s*$")


def test_demo_data_covers_several_ethnic_groups_and_kinds(session, tmp_path):
    credentials = build_demo(session, tmp_path)
    session.commit()
    producers = list(session.scalars(select(Producer)).unique())
    assert len({p.ethnic_group.name for p in producers}) >= 5
    assert {p.kind.value for p in producers} == {"household", "cooperative", "enterprise"}
    assert session.scalar(select(func.count()).select_from(Consent)) > 0
    assert [role for role, _, _ in credentials] == ["admin", "officer", "producer"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo_server():
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ocopkit.cli", "serve", "--demo", "--port", str(port),
         "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        start_new_session=True)
    credentials = {}
    deadline = time.monotonic() + 60
    try:
        while len(credentials) < 3 and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = CREDENTIAL.match(line)
            if match:
                credentials[match.group(1)] = (match.group(2), match.group(3))
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        yield base, credentials
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_serve_demo_lets_the_printed_officer_log_in(demo_server):
    base, credentials = demo_server
    assert set(credentials) == {"admin", "officer", "producer"}
    username, password = credentials["officer"]
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = browser.post(f"{base}/login", timeout=10, data={
        "csrf_token": token, "username": username, "password": password})
    assert response.url.rstrip("/") == base
    producers = browser.get(f"{base}/producers", timeout=10).text
    assert "Hộ Lò Văn Pánh" in producers and "HTX Chè Shan Tuyết Tủa Chùa" in producers


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_in_the_served_demo_a_buyer_pays_by_card_and_the_webhook_arrives(demo_server):
    import sqlite3

    from ocopkit.demo import demo_file

    base, _credentials = demo_server
    buyer = requests.Session()
    booth = re.search(r'href="(/booths/[^"]+)"', buyer.get(base, timeout=10).text).group(1)
    product_id = re.search(r'href="/products/(\d+)', buyer.get(base + booth, timeout=10).text
                           ).group(1)
    token = _csrf(buyer.get(f"{base}/products/{product_id}", timeout=10).text)
    buyer.post(f"{base}/cart/add", timeout=10,
               data={"csrf_token": token, "product_id": product_id, "quantity": 1})
    pay = buyer.post(f"{base}/checkout", timeout=10, data={
        "csrf_token": token, "buyer_name": "Nguyễn Thị Hoa", "buyer_phone": "0987654321",
        "delivery_address": "12 Hàng Bài, Hà Nội", "payment_method": "card"})
    assert pay.url.endswith("/pay") and "/js.stripe.com/v3/" in pay.text
    paid = buyer.post(f"{pay.url}/card", timeout=20,
                      data={"csrf_token": token, "test_card": "pm_card_visa"})
    assert "Đã thanh toán" in paid.text

    def succeeded_events() -> int:
        with sqlite3.connect(f"file:{demo_file('demo.sqlite3')}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM webhook_event "
                              "WHERE type = 'payment_intent.succeeded'").fetchone()[0]
    deadline = time.monotonic() + 10
    while succeeded_events() == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert succeeded_events() == 1
