"""The database a benchmark runs on: DATABASE_URL if set (its tables emptied, reference
data kept), else a fresh SQLite file; migrated to head either way."""
from __future__ import annotations

import os
import tempfile

from ocopkit.db import Base, make_engine
from ocopkit.migrate import upgrade
from ocopkit.models import load_all

KEEP = ("ethnic_group", "alembic_version")


def empty_database(name: str = "bench.sqlite3") -> str:
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='ocopkit-bench-')}/{name}")
    load_all()
    upgrade(url)
    with make_engine(url).begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEEP:
                conn.execute(table.delete())
    return url
