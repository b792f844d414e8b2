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

CREDENTIAL = re.compile(r"^\s+(admin|officer): (\S+) / (\S+)\s*$")


def test_demo_data_covers_several_ethnic_groups_and_kinds(session, tmp_path):
    credentials = build_demo(session, tmp_path)
    session.commit()
    producers = list(session.scalars(select(Producer)).unique())
    assert len({p.ethnic_group.name for p in producers}) >= 5
    assert {p.kind.value for p in producers} == {"household", "cooperative", "enterprise"}
    assert session.scalar(select(func.count()).select_from(Consent)) > 0
    assert [role for role, _, _ in credentials] == ["admin", "officer"]


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
        while len(credentials) < 2 and time.monotonic() < deadline:
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
    assert set(credentials) == {"admin", "officer"}
    username, password = credentials["officer"]
    browser = requests.Session()
    page = browser.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = browser.post(f"{base}/login", timeout=10, data={
        "csrf_token": token, "username": username, "password": password})
    assert response.url.rstrip("/") == base
    producers = browser.get(f"{base}/producers", timeout=10).text
    assert "Hộ Lò Văn Pánh" in producers and "HTX Chè Shan Tuyết Tủa Chùa" in producers
