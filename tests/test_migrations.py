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


def _insert_minimal(conn, table: str, given: dict, parents: dict) -> int:
    """A row with every required column filled (dummy values; foreign keys to `parents`)."""
    import datetime

    from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String

    info = inspect(conn)
    fks = {fk["constrained_columns"][0]: fk["referred_table"] for fk in info.get_foreign_keys(table)}
    values = dict(given)
    for column in info.get_columns(table):
        name, kind = column["name"], column["type"]
        if name in values or name == "id" or column["nullable"] or column.get("default"):
            continue
        if name in fks:
            values[name] = parents[fks[name]]
        elif isinstance(kind, Boolean):
            values[name] = False
        elif isinstance(kind, (Integer, Numeric)):
            values[name] = 1
        elif isinstance(kind, DateTime):
            values[name] = datetime.datetime(2026, 11, 30, 3)
        elif isinstance(kind, Date):
            values[name] = datetime.date(2026, 11, 30)
        elif isinstance(kind, String):
            values[name] = "x"[:kind.length or 1]
    names = ", ".join(f'"{n}"' for n in values)
    marks = ", ".join(f":{n}" for n in values)
    return conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({marks}) RETURNING id'),
                        values).scalar_one()


def test_0011_fills_open_transfers_with_the_destination_they_were_made_for(scratch_url):
    """Existing transfers get the bank, number and holder of their account at upgrade time."""
    from ocopkit.db import make_engine

    upgrade(scratch_url, "0007")
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        parents = {"ethnic_group": conn.execute(text("SELECT min(id) FROM ethnic_group"))
                   .scalar_one()}
        for table in ("commune", "producer", "booth", "shop_order"):
            parents[table] = _insert_minimal(conn, table, {}, parents)
        parents["linked_account"] = _insert_minimal(conn, "linked_account", {
            "kind": "bank", "bank_bin": "970415", "account_number": "0011001932418",
            "holder_name": "LO VAN PANH", "status": "verified"}, parents)
        _insert_minimal(conn, "bank_transfer", {"amount_vnd": 240000, "purpose": "OCOP X",
                                                "status": "expected"}, parents)
    upgrade(scratch_url, "0011")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT bank_bin, account_number, holder_name "
                                "FROM bank_transfer")).one()
    assert tuple(row) == ("970415", "0011001932418", "LO VAN PANH")
    downgrade(scratch_url, "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT amount_vnd FROM bank_transfer")).scalar_one() == 240000
