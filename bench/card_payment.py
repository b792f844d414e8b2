"""Time a buyer's card payment through ocopkit against the bare gateway call, in one run.

    python bench/card_payment.py [PAYMENTS]

Starts localstripe on loopback and builds the demo province in a fresh SQLite file (or the
database DATABASE_URL names, emptied first). For each payment it places an order, then
times the buyer's POST of a test card to /orders/<code>/pay/card (attempt stored and
committed, PaymentIntent created and confirmed, the sale written, the redirect), and a bare
create-and-confirm PaymentIntent call with the same client. Prints the medians and ratio.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from benchdb import empty_database
from ocopkit import create_app
from ocopkit.db import make_engine
from ocopkit.demo import build_demo
from payments.devgateway import start_localstripe
from payments.gateway import GatewayClient
from shop.models import PaymentMethod, Product, ProductStatus
from shop.orders import place_order

BUYER = {"buyer_name": "Nguyễn Thị Hoa", "buyer_phone": "0987654321",
         "delivery_address": "12 Hàng Bài, Hà Nội"}


def main() -> None:
    payments = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    folder = tempfile.mkdtemp()
    url = empty_database()
    engine = make_engine(url)
    gateway = start_localstripe()
    try:
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "MEDIA_ROOT": f"{folder}/media",
                          "GATEWAY_URL": gateway.url, "GATEWAY_TEST_CARDS": True})
        with Session(engine) as session:
            build_demo(session, f"{folder}/media")
            product_id = session.scalars(select(Product.id).where(
                Product.status == ProductStatus.published)).first()
            session.execute(update(Product).where(Product.id == product_id)
                            .values(stock=10 * payments))
            session.commit()
            client = app.test_client()
            bare = GatewayClient(gateway.url, app.config["GATEWAY_KEY"])
            ours, direct = [], []
            for n in range(payments):
                [order] = place_order(session, lines=[(product_id, 1)],
                                      payment_method=PaymentMethod.card, **BUYER)
                session.commit()
                start = time.perf_counter()
                response = client.post(f"/orders/{order.reference}/pay/card",
                                       data={"test_card": "pm_card_visa"})
                ours.append(time.perf_counter() - start)
                assert response.status_code == 302, response.status_code
                start = time.perf_counter()
                bare.create_payment_intent(amount_vnd=order.total_vnd,
                                           idempotency_key=f"bench-{n}",
                                           payment_method="pm_card_visa", confirm=True)
                direct.append(time.perf_counter() - start)
    finally:
        gateway.stop()
    ours_ms, direct_ms = statistics.median(ours) * 1000, statistics.median(direct) * 1000
    print(f"{payments} card payments on {make_engine(url).dialect.name}")
    print(f"  through ocopkit's page: median {ours_ms:.1f} ms")
    print(f"  bare gateway call:      median {direct_ms:.1f} ms")
    print(f"  ratio: {ours_ms / direct_ms:.2f}")


if __name__ == "__main__":
    main()
