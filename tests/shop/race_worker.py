"""Run in worker processes by test_stock_race: buyers of one process, each with its own
session on the process's own engine, start together and each try to buy one unit."""
from __future__ import annotations

import threading
import time

BUYER = {"buyer_name": "Người mua", "buyer_phone": "0912345678",
         "delivery_address": "1 Đường Thử", "note": "", "payment_method": "cash"}


def buy(database_url: str, product_id: int, buyers: int, start_at: float) -> list[str]:
    from sqlalchemy.orm import Session

    from ocopkit.db import make_engine
    from ocopkit.models import load_all
    from shop.orders import SoldOut, place_order

    load_all()
    engine = make_engine(database_url)
    outcomes: list[str] = []
    barrier = threading.Barrier(buyers)

    def one_buyer():
        with Session(engine) as session:
            barrier.wait()
            try:
                place_order(session, lines=[(product_id, 1)], **BUYER)
                session.commit()
                outcomes.append("ok")
            except SoldOut:
                session.rollback()
                outcomes.append("sold_out")
            except Exception as error:  # reported, so the test fails with the cause
                session.rollback()
                outcomes.append(f"error: {error!r}")

    time.sleep(max(0.0, start_at - time.time()))
    threads = [threading.Thread(target=one_buyer) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    return outcomes


def edit_product(database_url: str, product_id: int, officer_id: int, version: int,
                 description: str) -> str:
    """One editor's save of a form opened at `version`: "ok" or "stale"."""
    from sqlalchemy.orm import Session

    from ocopkit.db import make_engine
    from ocopkit.errors import Stale
    from ocopkit.models import load_all
    from ocopkit.users import User
    from shop import booths
    from shop.booths import ProductData
    from shop.models import Product

    load_all()
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            product = session.get(Product, product_id)
            officer = session.get(User, officer_id)
            data = ProductData(name=product.name, unit=product.unit,
                               price_vnd=product.price_vnd, description=description,
                               category=product.category, status=product.status)
            try:
                booths.update_product(session, officer, product, data, version=version)
                session.commit()
                return "ok"
            except Stale:
                session.rollback()
                return "stale"
    finally:
        engine.dispose()


def receive(database_url: str, product_id: int, officer_id: int, quantity: int) -> int:
    """Record units received; the stock this process saw after its own UPDATE."""
    from sqlalchemy.orm import Session

    from ocopkit.db import make_engine
    from ocopkit.models import load_all
    from ocopkit.users import User
    from shop import booths
    from shop.models import Product

    load_all()
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            new = booths.receive_stock(session, session.get(User, officer_id),
                                       session.get(Product, product_id), quantity)
            session.commit()
            return new
    finally:
        engine.dispose()
