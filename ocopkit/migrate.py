"""Alembic driven from Python, so the CLI, the demo and the tests share one way to migrate."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from ocopkit.db import ensure_sqlite_folder, make_engine
from ocopkit.resources import package_folder


def alembic_config(url: str) -> Config:
    scripts = package_folder("migrations")
    config = Config(str(scripts / "alembic.ini"))
    config.set_main_option("script_location", str(scripts))
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def is_up_to_date(engine: Engine) -> bool:
    """True when the database is at the newest revision."""
    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def database_is_current(url: str) -> bool:
    return is_up_to_date(make_engine(url))
