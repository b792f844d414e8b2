"""Adoption report time against one hand-written SQL aggregate, in the same run.

    python bench/report.py [PRODUCERS] [LEDGER_ENTRIES]      (defaults 100000 1000000)

Builds a synthetic province in a fresh database (a temp SQLite file, or the empty database
named by DATABASE_URL, e.g. PostgreSQL): 130 communes (half in ethnic-minority areas),
12 ethnic groups, PRODUCERS producers (80 % households, 70 % with OCOP stars), 40 % with a
published booth and one product, 35 % with a verified account, LEDGER_ENTRIES ledger entries
over 24 months; all inserted with executemany. Then times onboarding.reporting.adoption()
(the full report: province, commune, ethnic group and kind), one raw SQL aggregate (sellers
per commune in the 365-day window), and the 24-month trend (one query); prints the times, the ratio of
report to raw aggregate, and peak memory (ru_maxrss). On PostgreSQL, `SET jit = off`.
"""
from __future__ import annotations

import os
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from ocopkit.db import make_engine  # noqa: E402
from ocopkit.migrate import upgrade  # noqa: E402
from ocopkit.models import load_all  # noqa: E402

AS_OF = date(2026, 11, 28)
COMMUNES = 130
GROUPS = 12
CHUNK = 50_000
RUNS = 5

RAW = """
SELECT p.commune_id, COUNT(*) AS subjects,
       SUM(CASE WHEN EXISTS (SELECT 1 FROM ledger_entry l
                             WHERE l.producer_id = p.id AND l.kind = 'sale'
                               AND l.status = 'completed'
                               AND l.occurred_at >= :start AND l.occurred_at < :end)
                THEN 1 ELSE 0 END) AS sellers
FROM producer p JOIN commune c ON c.id = p.commune_id
WHERE p.ocop_stars BETWEEN 3 AND 5 AND c.is_ethnic_minority_area
GROUP BY p.commune_id
"""


def _insert(conn, table, rows):
    for i in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[i:i + CHUNK])


def seed(engine, producers: int, entries: int) -> None:
    from onboarding.models import Commune, EthnicGroup, Producer
    from payments.models import AccountVerification, LedgerEntry, LinkedAccount
    from shop.models import Booth, Product

    rnd = random.Random(6)
    now = datetime(2026, 11, 28, 3, tzinfo=timezone.utc)
    with engine.begin() as conn:
        groups = [row[0] for row in conn.execute(
            select(EthnicGroup.id).order_by(EthnicGroup.code).limit(GROUPS))]
        _insert(conn, Commune.__table__, [
            {"code": f"C{i:03d}", "name": f"Xã {i}", "is_ethnic_minority_area": i % 2 == 0}
            for i in range(COMMUNES)])
        communes = [row[0] for row in conn.execute(select(Commune.id).order_by(Commune.id))]
        kinds = ["household"] * 8 + ["cooperative", "enterprise"]
        _insert(conn, Producer.__table__, [
            {"code": f"P{i:07d}", "kind": (k := rnd.choice(kinds)), "name": f"Hộ {i}",
             "representative": "", "phone": None, "village": f"Bản {i % 40}",
             "ethnic_group_id": rnd.choice(groups) if k == "household" else None,
             "commune_id": rnd.choice(communes), "search_text": "",
             "ocop_stars": rnd.choice([3, 4, 5]) if rnd.random() < 0.7 else None,
             "ocop_certified_on": AS_OF - timedelta(days=rnd.randrange(1500)),
             "created_at": now, "updated_at": now}
            for i in range(producers)])
        ids = [row[0] for row in conn.execute(select(Producer.id).order_by(Producer.id))]
        with_booth = rnd.sample(ids, int(len(ids) * 0.40))
        _insert(conn, Booth.__table__, [
            {"producer_id": pid, "title": f"Gian {pid}", "slug": f"gian-{pid}", "story": "",
             "story_own_language": "", "status": "published",
             "published_at": now - timedelta(days=rnd.randrange(900)),
             "created_at": now, "updated_at": now} for pid in with_booth])
        booths = [row[0] for row in conn.execute(select(Booth.id).order_by(Booth.id))]
        _insert(conn, Product.__table__, [
            {"booth_id": bid, "name": f"Chè {bid}", "slug": f"che-{bid}", "description": "",
             "category": "tea", "unit": "gói", "price_vnd": 120000, "stock": 5,
             "status": "published", "search_text": "",
             "created_at": now - timedelta(days=rnd.randrange(900)), "updated_at": now}
            for bid in booths])
        with_account = rnd.sample(ids, int(len(ids) * 0.35))
        _insert(conn, LinkedAccount.__table__, [
            {"producer_id": pid, "kind": "bank", "provider": "", "account_number": str(pid),
             "holder_name": f"Hộ {pid}", "status": "verified", "created_at": now,
             "updated_at": now} for pid in with_account])
        accounts = [row[0] for row in conn.execute(
            select(LinkedAccount.id).order_by(LinkedAccount.id))]
        _insert(conn, AccountVerification.__table__, [
            {"account_id": aid, "method": "in_person",
             "verified_at": now - timedelta(days=rnd.randrange(900)),
             "ended_at": None if rnd.random() < 0.9 else now - timedelta(days=rnd.randrange(30))}
            for aid in accounts])
        sellers = rnd.sample(ids, int(len(ids) * 0.5))
        for start in range(0, entries, CHUNK):
            _insert(conn, LedgerEntry.__table__, [
                {"producer_id": rnd.choice(sellers), "kind": "sale", "channel": "vietqr",
                 "platform": "ocopkit", "status": "completed" if rnd.random() < 0.95
                 else "refunded", "amount_vnd": 100000,
                 "occurred_at": now - timedelta(minutes=rnd.randrange(24 * 30 * 24 * 60)),
                 "reference": f"R{n}", "recorded_at": now}
                for n in range(start, min(entries, start + CHUNK))])
        conn.execute(text("ANALYZE"))


def timed(fn, runs=RUNS):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    producers = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    entries = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{tempfile.mkdtemp(prefix='ocopkit-bench-')}/report.sqlite3")
    load_all()
    upgrade(url)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _no_jit(dbapi_connection, _record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET jit = off")
        engine.dispose()
    t = time.perf_counter()
    seed(engine, producers, entries)
    print(f"{engine.dialect.name}: {producers:,} producers, {entries:,} ledger entries "
          f"seeded in {time.perf_counter() - t:.1f} s")

    from onboarding import reporting

    end = reporting.local_start_utc(AS_OF + timedelta(days=1)).replace(tzinfo=None)
    start = reporting.local_start_utc(AS_OF - timedelta(days=364)).replace(tzinfo=None)
    with Session(engine) as session:
        raw_time, raw = timed(lambda: session.execute(
            text(RAW), {"start": start, "end": end}).all())
        report_time, report = timed(lambda: reporting.adoption(session, as_of=AS_OF))
        trend_time, _ = timed(lambda: reporting.trend(session, months=24, as_of=AS_OF), runs=1)
    bp, ec = report.indicators
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"raw SQL aggregate (sellers per commune): {raw_time * 1000:8.1f} ms")
    print(f"full adoption report:                    {report_time * 1000:8.1f} ms"
          f"   ratio {report_time / raw_time:.2f}x")
    print(f"24-month trend:                          {trend_time * 1000:8.1f} ms")
    print(f"booth_and_payment {bp.numerator}/{bp.denominator} = {bp.rate}; "
          f"ecommerce_transacting {ec.numerator}/{ec.denominator} = {ec.rate}")
    print(f"peak memory (ru_maxrss): {peak:.0f} MiB")


if __name__ == "__main__":
    main()
