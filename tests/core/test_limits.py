"""Abuse limits beyond login (ocopkit.limits): counted in storage every worker process
shares, the database or Redis (db 9 here), and refused with a Vietnamese 429 page that
says when to come back."""
from __future__ import annotations

import concurrent.futures
import io
import re
from datetime import date

import pytest
import redis
import requests
from sqlalchemy import func, select

from ocopkit import create_app
from ocopkit.limits import Limiter, RateCounter, RedisCounter, make_limiter
from ocopkit.users import Role
from shop import traceability
from shop.models import BoothStatus, Order
from tests import appserver
from tests.concurrency import run_together
from tests.factories import log_in, make_booth, make_commune, make_producer, make_product, make_user
from tests.shop.booth_data import jpeg, make_shop, photo_modules
from tests.shop.test_order_views import CHECKOUT

REDIS_URL = "redis://127.0.0.1:6379/9"
TOO_MANY = "Quá nhiều yêu cầu"


@pytest.fixture(params=["database", "redis"])
def backend(request, database_url):
    """Config for one backend; Redis db 9 is emptied first."""
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        return {"REDIS_URL": REDIS_URL}
    return {"REDIS_URL": ""}


def _hits(database_url: str, config: dict, n: int) -> int:
    """In a separate process: n hits on one rule and subject; how many were allowed."""
    from ocopkit.db import make_engine
    from ocopkit.models import load_all

    load_all()
    limiter = make_limiter({**config, "RATE_LIMITS": {"probe": (10, 3600)}},
                           make_engine(database_url))
    return sum(limiter.hit("probe", "address:x").allowed for _ in range(n))


def test_limit_is_one_count_across_processes(engine, database_url, backend):
    allowed = run_together(_hits, [(database_url, backend, 6)] * 4)
    assert sum(allowed) == 10, allowed  # 24 tries, 10 allowed, whichever process tried
    if not backend["REDIS_URL"]:
        with engine.connect() as conn:
            assert conn.scalar(select(RateCounter.hits)) == 24


def test_windows_end_and_say_when():
    class Memory:
        def __init__(self):
            self.counts = {}

        def add(self, key, _expires):
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

        def get(self, key):
            return self.counts.get(key, 0)

    limiter = Limiter(Memory(), {"r": (2, 600)})
    assert [limiter.hit("r", "s", now=1200.0).allowed for _ in range(3)] == [True, True, False]
    assert limiter.check("r", "s", now=1500.0).retry_after == 300
    assert not limiter.check("r", "s", now=1799.0).allowed
    assert limiter.check("r", "s", now=1800.0).allowed  # a new window
    assert limiter.check("r", "other", now=1500.0).allowed


def test_redis_keys_expire_with_their_window():
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    Limiter(RedisCounter(REDIS_URL), {"r": (5, 60)}).hit("r", "s")
    [key] = client.keys("*")
    assert 0 < client.ttl(key) <= 62


# --- through gunicorn: two workers, one limit -------------------------------------------------

@pytest.fixture
def placed_order(session):
    booth = make_booth(session, producer=make_producer(session), status=BoothStatus.published)
    product = make_product(session, booth=booth, stock=5)
    from shop.orders import place_order
    [order] = place_order(session, lines=[(product.id, 1)], **CHECKOUT)
    session.commit()
    return order


def test_guessing_order_codes_is_stopped_across_gunicorn_workers(database_url, backend,
                                                                 placed_order):
    config = {"ENV": "testing", "TESTING": True, "DATABASE_URL": database_url,
              "SECRET_KEY": "limit-secret", "RATE_LIMITS": {"order_lookup": (5, 600)},
              **backend}
    with appserver.gunicorn(config, workers=2) as base:
        guesses = [f"{base}/orders/ABCDEFGH{n:02d}" for n in range(12)]
        with concurrent.futures.ThreadPoolExecutor(12) as pool:  # keeps both workers busy
            answers = list(pool.map(lambda url: requests.get(url, timeout=30), guesses))
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [404] * 5 + [429] * 7, statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert TOO_MANY in refused.text and 0 < int(refused.headers["Retry-After"]) <= 600
        assert re.search(r"Chờ \d+ phút", refused.text)
        # now even the right code waits: the limit is on the address, not on the code
        right = requests.get(f"{base}/orders/{placed_order.reference}", timeout=10)
        assert right.status_code == 429 and TOO_MANY in right.text


# --- each limited action, through the test client ----------------------------------------------

def _app(database_url, **rules):
    return create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                       "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                       "RATE_LIMITS": rules})


def test_photo_uploads_are_limited_per_user(engine, database_url, session, tmp_path):
    photo_modules()
    app = _app(database_url, photo_upload=(2, 600))
    app.config["MEDIA_ROOT"] = str(tmp_path)
    shop = make_shop(session)
    other = make_shop(session)
    session.commit()

    def upload(client, booth):
        return client.post(f"/booths/{booth.id}/cover",
                           data={"cover-photo": (io.BytesIO(jpeg(800, 450)), "c.jpg")},
                           content_type="multipart/form-data")

    first = app.test_client()
    log_in(first, session, shop.officer.username)
    assert [upload(first, shop.booth).status_code for _ in range(3)] == [302, 302, 429]
    files = len(list(tmp_path.glob("*.webp")))
    refused = upload(first, shop.booth)
    assert TOO_MANY in refused.get_data(as_text=True) and refused.headers["Retry-After"]
    assert len(list(tmp_path.glob("*.webp"))) == files  # nothing processed or written
    second = app.test_client()  # another officer, same address: not counted together
    log_in(second, session, other.officer.username)
    assert upload(second, other.booth).status_code == 302


def test_checkouts_are_limited_per_address(engine, database_url, session):
    app = _app(database_url, checkout=(2, 600))
    booth = make_booth(session, producer=make_producer(session), status=BoothStatus.published)
    product = make_product(session, booth=booth, stock=50)
    session.commit()
    client = app.test_client()
    statuses = []
    for _ in range(3):
        client.post("/cart/add", data={"product_id": product.id, "quantity": 1})
        statuses.append(client.post("/checkout", data=CHECKOUT).status_code)
    assert statuses == [302, 302, 429]
    assert session.scalar(select(func.count()).select_from(Order)) == 2


def test_unknown_trace_codes_are_limited_but_real_scans_are_not(engine, database_url, session):
    app = _app(database_url, trace_lookup=(3, 600))
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    booth = make_booth(session, producer=make_producer(session, commune=commune),
                       status=BoothStatus.published)
    lot = traceability.create_lot(session, officer, make_product(session, booth=booth),
                                  lot_code="L1", produced_on=date(2026, 10, 1))
    session.commit()
    client = app.test_client()
    assert all(client.get(f"/t/{lot.trace_code}").status_code == 200 for _ in range(6))
    statuses = [client.get(f"/t/ZZZZZZ{n}").status_code for n in range(4)]
    assert statuses == [404, 404, 404, 429]
    refused = client.get(f"/t/{lot.trace_code}")
    assert refused.status_code == 429 and TOO_MANY in refused.get_data(as_text=True)
    assert client.get(f"/t/{lot.trace_code}/epcis.json").status_code == 429
    english = client.get("/t/ZZZZZZ9?lang=en").get_data(as_text=True)
    assert "Too many requests" in english


def test_wrong_phone_numbers_count_as_guesses(engine, database_url, session, placed_order):
    app = _app(database_url, order_lookup=(2, 600))
    client = app.test_client()
    url = f"/orders/{placed_order.reference}/details"
    statuses = [client.post(url, data={"phone": f"090000000{n}"}).status_code
                for n in range(3)]
    assert statuses == [303, 303, 429]
    assert client.post(url, data={"phone": CHECKOUT["buyer_phone"]}).status_code == 429
