"""Trap 1 of security.md: the last unit is sold once, whatever the number of worker processes.

Counts orders in the database, not the stock figure (an oversell can leave stock at 0)."""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from shop.models import BoothStatus, Order, OrderLine, Product
from tests import appserver
from tests.factories import make_booth, make_product, make_producer
from tests.shop.race_worker import BUYER, buy

PROCESSES = 5
BUYERS = 50


@pytest.fixture
def last_jar(session):
    booth = make_booth(session, producer=make_producer(session), status=BoothStatus.published)
    product = make_product(session, booth=booth, name="Mật ong rừng", stock=1, price_vnd=300000)
    session.commit()
    return product


def _counts(session, product):
    session.expire_all()
    orders = session.scalar(select(func.count()).select_from(Order))
    units = session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                           .where(OrderLine.product_id == product.id))
    stock = session.scalar(select(Product.stock).where(Product.id == product.id))
    return orders, units, stock


def test_fifty_buyers_in_five_processes_buy_the_last_unit_once(session, database_url, last_jar):
    context = multiprocessing.get_context("spawn")
    per_process = BUYERS // PROCESSES
    start_at = time.time() + 4  # every process imported and waiting before anyone buys
    with concurrent.futures.ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(buy, database_url, last_jar.id, per_process, start_at)
                   for _ in range(PROCESSES)]
        outcomes = [o for f in futures for o in f.result(timeout=60)]
    assert sorted(outcomes) == ["ok"] + ["sold_out"] * (BUYERS - 1), outcomes
    assert _counts(session, last_jar) == (1, 1, 0)


@pytest.fixture
def gunicorn(database_url):
    config = {"ENV": "testing", "TESTING": True, "DATABASE_URL": database_url,
              "SECRET_KEY": "race-secret", "WTF_CSRF_ENABLED": False,
              "RATE_LIMITS": {"checkout": (BUYERS, 600)}}  # all buyers share one address
    with appserver.gunicorn(config, workers=PROCESSES, threads=4) as base:
        yield base


def test_fifty_checkouts_through_gunicorn_sell_the_last_unit_once(session, last_jar, gunicorn):
    buyers = []
    for _ in range(BUYERS):  # each buyer's cart is in its own cookie
        http = requests.Session()
        # a fresh connection per request: an idle keep-alive one may be closed by gunicorn
        # while the others fill their carts, and a POST is not retried
        http.headers["Connection"] = "close"
        response = http.post(f"{gunicorn}/cart/add", allow_redirects=False, timeout=10,
                             data={"product_id": last_jar.id, "quantity": 1})
        assert response.status_code == 302
        buyers.append(http)
    barrier = threading.Barrier(BUYERS)

    def checkout(http):
        barrier.wait()
        response = http.post(f"{gunicorn}/checkout?lang=en", data=BUYER, timeout=30,
                             allow_redirects=False)
        if response.status_code == 302 and "/orders/" in response.headers["Location"]:
            return "ok"
        if response.status_code == 302 and response.headers["Location"].endswith("/cart"):
            cart = http.get(f"{gunicorn}/cart?lang=en", timeout=10).text
            return "sold_out" if "Sold out" in cart and "Mật ong rừng" in cart else "cart?"
        return f"status {response.status_code}"

    with concurrent.futures.ThreadPoolExecutor(BUYERS) as pool:
        outcomes = list(pool.map(checkout, buyers))
    assert sorted(outcomes) == ["ok"] + ["sold_out"] * (BUYERS - 1), outcomes
    assert _counts(session, last_jar) == (1, 1, 0)
