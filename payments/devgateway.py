"""localstripe, the Stripe-compatible test server, started for tests and the demo.

Its own command listens on every interface and pickles its state to /tmp; here it runs bound
to 127.0.0.1 on a free port with no saved state, in a process of its own that is stopped by
its pid. localstripe (GPL) is only in the `test` and `demo` extras and is imported only in
that child process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import requests


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen
    owner_pid: int = field(default_factory=os.getpid)

    def register_webhook(self, endpoint_url: str, secret: str, name: str = "ocopkit") -> None:
        response = requests.post(f"{self.url}/_config/webhooks/{name}",
                                 data={"url": endpoint_url, "secret": secret}, timeout=5)
        response.raise_for_status()

    def flush(self) -> None:
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()

    def stop(self) -> None:
        """Stop it by its pid; a no-op in forked children (gunicorn's workers)."""
        if os.getpid() == self.owner_pid and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_localstripe(port: int | None = None, timeout: float = 15) -> LocalStripe:
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "payments.devgateway", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = LocalStripe(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("localstripe exited; is it installed (pip install -e '.[demo]')?")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("localstripe did not start")


def _serve(port: int) -> None:
    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    resources.Store.dump_to_disk = lambda self: None
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
