"""Migrations are the schema's source of truth: head must equal the models, and every
revision must go down and up again (SecureDrop style), on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from ocopkit.db import Base
from ocopkit.migrate import alembic_config, downgrade, upgrade


@pytest.fixture
def scratch_url(engine, tmp_path):
    """An empty database of the same backend as the suite's."""
    if engine.dialect.name == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"ocopkit_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(engine.url).set(database=name)
    yield url.render_as_string(hide_password=False)
    from ocopkit.db import make_engine

    make_engine(url.render_as_string(hide_password=False)).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _tables(url):
    from ocopkit.db import make_engine

    return set(inspect(make_engine(url)).get_table_names()) - {"alembic_version"}


def test_head_equals_models(scratch_url):
    from ocopkit.db import make_engine

    upgrade(scratch_url)
    with make_engine(scratch_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert _tables(scratch_url) == set(Base.metadata.tables)


def test_every_revision_goes_down_and_up(scratch_url):
    script = ScriptDirectory.from_config(alembic_config(scratch_url))
    revisions = list(reversed(list(script.walk_revisions())))
    assert revisions, "no migrations found"
    for revision in revisions:
        upgrade(scratch_url, revision.revision)
        downgrade(scratch_url, revision.down_revision or "base")
        upgrade(scratch_url, revision.revision)
    downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()


def test_reference_data_arrives_with_the_schema(scratch_url):
    from ocopkit.db import make_engine

    upgrade(scratch_url)
    with make_engine(scratch_url).connect() as conn:
        rows = dict(conn.execute(text("SELECT code, name FROM ethnic_group")).all())
    assert len(rows) == 54
    assert rows["01"] == "Kinh" and rows["03"] == "Thái" and rows["54"] == "Rơ-măm"
