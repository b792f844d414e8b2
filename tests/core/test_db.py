"""The database fails fast and friendly: with PostgreSQL cut off or hung (a fault-injecting
proxy between a real gunicorn and the server), pages answer a Vietnamese 503 within 5 s,
/healthz within 2 s, and the site comes back by itself once the database does."""
from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy.engine import make_url

from tests import appserver
from tests.faultproxy import FaultProxy

SORRY = "Cơ sở dữ liệu đang không trả lời"


@pytest.fixture
def proxied_site(engine, database_url):
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the fault proxy sits on a TCP connection; SQLite is a local file")
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    config = {"ENV": "testing", "TESTING": True, "DATABASE_URL": proxied,
              "SECRET_KEY": "fault-secret"}
    try:
        with appserver.gunicorn(config, workers=2, threads=2) as base:
            for _ in range(6):  # pooled connections in both workers before the fault
                assert requests.get(f"{base}/", timeout=5).status_code == 200
            yield base, proxy
    finally:
        proxy.close()


def _timed(url: str, limit: float):
    started = time.monotonic()
    response = requests.get(url, timeout=limit + 10)
    return response, time.monotonic() - started


def _check_down(base: str) -> None:
    for _ in range(2):  # each worker at least once, in all likelihood
        page, took = _timed(f"{base}/", 5)
        assert page.status_code == 503, page.text[:500]
        assert SORRY in page.text and page.headers["Retry-After"]
        assert took < 5, f"the page took {took:.1f} s"
        health, took = _timed(f"{base}/healthz", 2)
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        assert took < 2, f"/healthz took {took:.1f} s"


def _check_recovers(base: str, proxy: FaultProxy) -> None:
    proxy.restore()
    deadline = time.monotonic() + 10
    while True:
        try:
            home = requests.get(f"{base}/", timeout=5)
            health = requests.get(f"{base}/healthz", timeout=5)
            if home.status_code == 200 and health.status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the site did not recover within 10 s"
        time.sleep(0.2)
    for _ in range(4):
        assert requests.get(f"{base}/", timeout=5).status_code == 200


def test_cut_database_gives_a_vietnamese_503_fast_and_recovers(proxied_site):
    base, proxy = proxied_site
    proxy.cut()
    _check_down(base)
    _check_recovers(base, proxy)


def test_hung_database_gives_a_vietnamese_503_fast_and_recovers(proxied_site):
    base, proxy = proxied_site
    proxy.hang()
    _check_down(base)
    _check_recovers(base, proxy)
