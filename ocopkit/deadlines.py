"""Client-side deadlines for PostgreSQL connections.

`statement_timeout` makes a slow server give up, but a server or network that stops
answering never sends that error, and the worker would wait as long as it hangs. One
watcher thread per process shuts down the socket of a connection whose statement (or
ping, commit, rollback) outlives its deadline: psycopg then raises OperationalError,
SQLAlchemy discards the connection and the request answers 503. Arming is a dict
write, so a watched statement costs next to nothing.
"""
from __future__ import annotations

import os
import socket
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

TICK = 0.05  # seconds between the watcher's looks


class Watcher:
    def __init__(self):
        self._deadlines: dict[int, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._pid = None

    def arm(self, dbapi_connection, seconds: float) -> None:
        self._ensure_thread()
        with self._lock:
            self._deadlines[id(dbapi_connection)] = (time.monotonic() + seconds, dbapi_connection)

    def disarm(self, dbapi_connection) -> None:
        with self._lock:
            self._deadlines.pop(id(dbapi_connection), None)

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():  # first use, or a forked child that lost the thread
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="db-deadlines", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            now = time.monotonic()
            with self._lock:
                late = [key for key, (deadline, _) in self._deadlines.items() if deadline <= now]
                expired = [self._deadlines.pop(key)[1] for key in late]
            for dbapi_connection in expired:
                sever(dbapi_connection)


def sever(dbapi_connection) -> None:
    """Shut the connection's socket down under the blocked call, which then fails."""
    try:
        fd = dbapi_connection.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # already closed: nothing is waiting on it
        pass


WATCHER = Watcher()


def watch(engine: Engine, *, statement_seconds: float, ping_seconds: float) -> None:
    """Give every statement of `engine` a deadline (`execution_options(deadline=...)`
    overrides it per connection), and its pings, commits and rollbacks (the pool's reset
    included) one of `ping_seconds`."""

    def arm(conn, _cursor, _statement, _params, _context, _many):
        seconds = conn.get_execution_options().get("deadline", statement_seconds)
        WATCHER.arm(conn.connection.dbapi_connection, seconds)

    def disarm(conn, *_args):
        WATCHER.disarm(conn.connection.dbapi_connection)

    def disarm_error(context):
        try:
            raw = context.connection.connection.dbapi_connection
        except Exception:  # invalidated: nothing left to watch
            return
        if raw is not None:
            WATCHER.disarm(raw)

    event.listen(engine, "before_cursor_execute", arm)
    event.listen(engine, "after_cursor_execute", disarm)
    event.listen(engine, "handle_error", disarm_error)
    dialect = engine.dialect
    for name in ("do_ping", "do_commit", "do_rollback"):
        setattr(dialect, name, _watched(getattr(dialect, name), ping_seconds))


def _watched(method, seconds: float):
    def call(dbapi_connection):
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)  # pool fairy
        WATCHER.arm(raw, seconds)
        try:
            return method(dbapi_connection)
        finally:
            WATCHER.disarm(raw)
    return call
