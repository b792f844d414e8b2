"""Serving through gunicorn (a production WSGI server) from the `ocopkit serve` command, with
an access log that keeps personal data out (ocopkit.logs)."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from ocopkit.logs import redact_path, redact_query, redact_url

LOGGER_CLASS = "ocopkit.server.AccessLog"


class AccessLog(Logger):
    """gunicorn's logger with the request line, path, query and Referer redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO", "")
        query = redact_query(path, environ.get("QUERY_STRING", ""))
        target = redact_path(path) + (f"?{query}" if query else "")
        atoms.update({
            "r": f"{environ['REQUEST_METHOD']} {target} {environ['SERVER_PROTOCOL']}",
            "U": redact_path(path), "q": query,
            "f": redact_url(environ.get("HTTP_REFERER", "-")),
        })
        if "{referer}i" in atoms:
            atoms["{referer}i"] = atoms["f"]
        return atoms


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
                  "logger_class": LOGGER_CLASS, "timeout": 60}).run()
