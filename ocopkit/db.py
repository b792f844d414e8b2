"""SQLAlchemy plumbing: declarative base, engines, the per-request session, UTC times."""
from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import DateTime, Enum, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC and returns them aware, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC time is stored")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


def version_column():
    """An edit counter for `__mapper_args__ = {"version_id_col": version}`: SQLAlchemy bumps
    it on every UPDATE through the ORM and adds `AND version = <as loaded>`, so of two saves
    racing from the same version one matches no row. Counters changed by SQL UPDATEs (stock)
    do not bump it, so a sale never makes an open form stale."""
    return mapped_column(Integer, default=1, server_default="1", nullable=False)


def check_version(obj, version: int | None) -> None:
    """Refuse a save from a form opened at `version` if the row has moved on since (None:
    the caller is not a form, e.g. the CLI, and has just read the row)."""
    from ocopkit.errors import Stale

    if version is not None and version != obj.version:
        raise Stale()


def flush_versioned(session: Session) -> None:
    """Flush, turning the ORM's "0 rows matched the version" into the domain's Stale."""
    from ocopkit.errors import Stale

    try:
        session.flush()
    except StaleDataError:
        raise Stale() from None


def str_enum(cls, length: int = 20) -> Enum:
    """A Python str enum stored by name in a VARCHAR (no native ENUM type to migrate)."""
    return Enum(cls, native_enum=False, length=length, validate_strings=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# A database that is down or hung gives a 503 within 5 s (pages) and 2 s (/healthz).
CONNECT_TIMEOUT = 2  # seconds; libpq's minimum
STATEMENT_TIMEOUT_MS = 3000  # PostgreSQL; 0 turns it off (long command-line jobs)
POOL_TIMEOUT = 2  # seconds waiting for a free pooled connection


def make_engine(url: str, *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
                connect_timeout: int = CONNECT_TIMEOUT, pool_timeout: float = POOL_TIMEOUT
                ) -> Engine:
    """One engine per database URL and timeouts per process (pooling lives in the engine).

    On PostgreSQL a non-zero `statement_timeout_ms` is both the server's statement_timeout
    and, half a second later, a client-side deadline (`ocopkit.deadlines`) for a server
    that no longer answers at all; pings, commits and rollbacks get one second."""
    if url.startswith("sqlite"):
        return _engine(url, 0, 0, 0.0)
    return _engine(url, int(statement_timeout_ms), int(connect_timeout), float(pool_timeout))


@lru_cache(maxsize=None)
def _engine(url: str, statement_timeout_ms: int, connect_timeout: int,
            pool_timeout: float) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = {"connect_timeout": connect_timeout}
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    engine = create_engine(url, pool_pre_ping=True, pool_timeout=pool_timeout,
                           connect_args=connect_args)
    if statement_timeout_ms:
        from ocopkit.deadlines import watch

        watch(engine, statement_seconds=statement_timeout_ms / 1000 + 0.5, ping_seconds=1.0)
    return engine


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file database (instance/ on a fresh checkout)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextlib.contextmanager
def transaction(session: Session):
    """Commit what the block did, or roll all of it back if it raised."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def begin_write(session: Session) -> None:
    """Hold the database's write lock from here to the end of the session's transaction,
    for a short read-check-write (a cap checked and reserved at once).

    SQLite: pysqlite opens its transaction only before the first INSERT/UPDATE, so reads
    before it take no lock and a cap read there is stale by the time of the write. Issued
    before this transaction's first write, `BEGIN IMMEDIATE` takes the write lock now (other
    writers wait, up to busy_timeout); after a write the lock is already held. Across
    processes this is the one lock SQLite has. PostgreSQL: nothing; lock rows with
    SELECT ... FOR UPDATE."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app) -> None:
    """Bind an engine and a session factory to the app; close the request session at teardown."""
    from flask import g

    url = app.config["DATABASE_URL"]
    ensure_sqlite_folder(url)
    engine = make_engine(url, statement_timeout_ms=app.config["DATABASE_STATEMENT_TIMEOUT_MS"],
                         connect_timeout=app.config["DATABASE_CONNECT_TIMEOUT"],
                         pool_timeout=app.config["DATABASE_POOL_TIMEOUT"])
    app.extensions["ocopkit.engine"] = engine
    app.extensions["ocopkit.sessionmaker"] = make_sessionmaker(engine)

    @app.teardown_appcontext
    def _close_session(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_session() -> Session:
    """The session of the current request or command, made on first use."""
    from flask import current_app, g

    if "db_session" not in g:
        g.db_session = current_app.extensions["ocopkit.sessionmaker"]()
    return g.db_session
