"""Serving through gunicorn (a production WSGI server) from the `ocopkit serve` command."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Server(BaseApplication):
    def __init__(self, app, options):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def run(app, *, host: str, port: int, workers: int) -> None:
    _Server(app, {"bind": f"{host}:{port}", "workers": workers, "accesslog": "-",
                  "timeout": 60}).run()
