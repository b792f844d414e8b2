"""Time a 5,000-row register import against a bare INSERT of the same rows, in one run.

    python bench/import_register.py [ROWS]

Uses a fresh SQLite file, or the database DATABASE_URL names (its tables are emptied).
Prints seconds for: the full import (every rule checked, history written), a re-import of the
same file (nothing changes), and a raw executemany INSERT of the same rows; then the ratios.
The issue's budget: 5,000 rows in under 30 seconds.
"""
from __future__ import annotations

import sys
import time

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from benchdb import empty_database
from ocopkit.access import SYSTEM
from ocopkit.db import make_engine
from ocopkit.text import fold
from onboarding.imports import import_communes, import_register
from onboarding.models import ChangeRecord, Commune, Producer
from onboarding.reference import ETHNIC_GROUPS

GROUPS = [name for code, name, _ in ETHNIC_GROUPS[:12]]


def register_csv(rows: int) -> bytes:
    lines = ["code,kind,name,representative,phone,ethnic_group,commune_code,village,"
             "ocop_stars,ocop_certified_on"]
    for i in range(rows):
        lines.append(f"B{i:06d},household,Hộ Thử {i},Người {i},09{i:08d},{GROUPS[i % 12]},"
                     f"C{i % 130:03d},Bản {i % 40},{3 + i % 3},{1 + i % 28:02d}/0{1 + i % 9}/2025")
    return "\n".join(lines).encode()


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    engine = make_engine(empty_database())
    communes = "code,name,ethnic_minority_area\n" + "\n".join(
        f"C{i:03d},Xã {i},có" for i in range(130))
    data = register_csv(rows)
    with Session(engine) as session:
        import_communes(session, SYSTEM, communes.encode())
        session.commit()

        start = time.perf_counter()
        summary = import_register(session, SYSTEM, data)
        session.commit()
        full = time.perf_counter() - start
        assert summary.created == rows

        start = time.perf_counter()
        again = import_register(session, SYSTEM, data)
        session.commit()
        reimport = time.perf_counter() - start
        assert again.unchanged == rows

        commune_ids = dict(session.execute(select(Commune.code, Commune.id)).all())
        raw_rows = [{"code": f"B{i:06d}", "kind": "household", "name": f"Hộ Thử {i}",
                     "representative": f"Người {i}", "phone": f"09{i:08d}",
                     "ethnic_group_id": 1 + i % 12, "commune_id": commune_ids[f"C{i % 130:03d}"],
                     "village": f"Bản {i % 40}", "ocop_stars": 3 + i % 3,
                     "search_text": fold(f"Hộ Thử {i}")} for i in range(rows)]
        session.execute(delete(ChangeRecord))
        session.execute(delete(Producer))
        session.commit()
        start = time.perf_counter()
        session.execute(insert(Producer), raw_rows)
        session.commit()
        raw = time.perf_counter() - start

    print(f"backend: {engine.dialect.name}, rows: {rows}")
    print(f"import_register (checked, with history): {full:.2f} s  (budget 30 s)")
    print(f"re-import, nothing changes:              {reimport:.2f} s")
    print(f"raw executemany INSERT:                  {raw:.2f} s")
    print(f"ratio import / raw insert:               {full / raw:.1f}x")
    print(f"ratio budget / import:                   {30 / full:.1f}x headroom")


if __name__ == "__main__":
    main()
