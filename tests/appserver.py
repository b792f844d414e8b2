"""A real gunicorn serving create_app(config) on a free loopback port, for tests that need
separate worker processes (races, shared limits, database faults)."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from ocopkit.config import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(config: dict, *, workers: int, threads: int = 1, env: dict | None = None,
             args: tuple = (), stderr=subprocess.PIPE):
    """Yield the base URL once /healthz answers 200; stop the server afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", *args,
         f"ocopkit:create_app({config!r})"],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": config["DATABASE_URL"], **(env or {})},
        stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60  # a loaded 2-core machine starts several workers slowly
    while True:
        try:
            if requests.get(f"{base}/healthz", timeout=3).status_code == 200:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            output = process.stderr.read().decode()[-2000:] if process.stderr else ""
            pytest.fail(f"gunicorn did not start: {output}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
