"""Shared fixtures. The database is SQLite (a temp file) unless DATABASE_URL names another
(CI sets PostgreSQL). The schema is built once by the real migrations; each test starts from
empty tables (reference data kept), so code under test may commit like it does in production.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from ocopkit import create_app
from ocopkit.db import Base, make_engine
from ocopkit.migrate import upgrade
from ocopkit.models import load_all

KEEP_TABLES = {"ethnic_group", "alembic_version"}
_TMP = tempfile.mkdtemp(prefix="ocopkit-tests-")
# Every writable file of the run (and of the servers it starts) goes to a temporary folder.
os.environ["OCOPKIT_INSTANCE_PATH"] = os.path.join(_TMP, "instance")


def _database_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{_TMP}/test.sqlite3"


def _reset_postgres(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def database_url() -> str:
    return _database_url()


@pytest.fixture(scope="session")
def engine(database_url):
    load_all()
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        _reset_postgres(engine)
    upgrade(database_url)
    return engine


@pytest.fixture(autouse=True)
def _clean_tables(request, engine):
    yield
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP_TABLES]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def localstripe():
    """The real Stripe-compatible test server, on loopback, for the whole run."""
    from payments.devgateway import start_localstripe

    server = start_localstripe()
    yield server
    server.stop()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def app(engine, database_url):
    return create_app({
        "TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
    })


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def login(client, engine):
    """Log the test client in through the real login form (and the second factor's),
    and check that the session now belongs to that user."""
    from tests.factories import log_in

    def do_login(username: str, password: str | None = None):
        with Session(engine) as db:
            return log_in(client, db, username, password)
    return do_login


@pytest.fixture
def tmp_csv(tmp_path):
    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path
    return write
