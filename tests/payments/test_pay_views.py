"""The buyer pays an order through the pages, against a real localstripe: card by test card
and by a Stripe.js token, a declined card, a gateway that is down or slow, VietQR with the
producer confirming, cash at delivery, refunds from the order page."""
from __future__ import annotations

import io
import re
import socket
import threading
import time

import pytest
import requests
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from ocopkit.users import Role
from onboarding.models import ConsentPurpose
from onboarding.reporting import local_today
from onboarding.producers import record_consent
from payments.accounts import (
    AccountDetails, change_account, disable_account, link_account, verify_account,
)
from payments.models import (
    AccountKind, AttemptStatus, BankTransfer, Channel, EntryKind, LedgerEntry, PaymentAttempt,
    TransferStatus,
)
from payments.vietqr import parse_tlv
from shop.models import BoothStatus, Order, Product
from tests.factories import make_booth, make_commune, make_producer, make_product, make_user

BUYER = {"buyer_name": "Trần Thị Bình", "buyer_phone": "0987654321",
         "delivery_address": "5 Trần Phú, Đà Lạt"}


@pytest.fixture
def paying(app, client, localstripe):
    localstripe.flush()
    app.config.update(GATEWAY_URL=localstripe.url, GATEWAY_TEST_CARDS=True)
    client.set_cookie("lang", "en")
    return app


@pytest.fixture
def shop(session):
    commune = make_commune(session, name="Mường Phăng")
    producer = make_producer(session, commune=commune, name="Hộ Lò Văn Pánh")
    booth = make_booth(session, producer=producer, status=BoothStatus.published)
    product = make_product(session, booth=booth, name="Chè Shan Tuyết", price_vnd=120000,
                           stock=5)
    make_user(session, Role.producer, username="pank", producer=producer)
    make_user(session, Role.producer, username="stranger",
              producer=make_producer(session, commune=commune))
    session.commit()
    return product


def _verified_bank(session, producer_id):
    from onboarding.models import Producer

    producer = session.get(Producer, producer_id)
    officer = make_user(session, Role.officer, communes=[producer.commune])
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    account = link_account(session, officer, producer, AccountDetails(
        AccountKind.bank, "0011001932418", "LO VAN PANH", bank_bin="970415"))
    verify_account(session, officer, account, "in_person")
    session.commit()
    return account


def _checkout(client, product, method, quantity=2):
    client.post("/cart/add", data={"product_id": product.id, "quantity": quantity})
    return client.post("/checkout", data={**BUYER, "payment_method": method})


def _order(session) -> Order:
    session.expire_all()
    return session.scalars(select(Order)).one()


def _sales(session, order_id):
    return session.scalars(select(LedgerEntry).where(LedgerEntry.order_id == order_id,
                                                     LedgerEntry.kind == EntryKind.sale)).all()


def test_card_order_goes_to_the_card_page_and_a_test_card_pays_it(paying, client, session,
                                                                  shop, localstripe):
    response = _checkout(client, shop, "card")
    order = _order(session)
    assert response.headers["Location"].endswith(f"/orders/{order.reference}/pay")
    page = client.get(f"/orders/{order.reference}/pay")
    html = page.get_data(as_text=True)
    assert f'<script src="{localstripe.url}/js.stripe.com/v3/">' in html
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' {localstripe.url}" in policy
    assert f"connect-src 'self' {localstripe.url}" in policy
    assert "240.000 ₫" in html and 'value="pm_card_visa"' in html

    paid = client.post(f"/orders/{order.reference}/pay/card",
                       data={"test_card": "pm_card_visa"}, follow_redirects=True)
    text = paid.get_data(as_text=True)
    assert "Paid. Thank you!" in text and "Pay by card now" not in text
    [sale] = _sales(session, order.id)
    assert (sale.amount_vnd, sale.channel, sale.platform) == (240000, Channel.card, "ocopkit")
    # the gateway holds exactly that many đồng: VND is not multiplied by 100
    intent = requests.get(f"{localstripe.url}/v1/payment_intents/{sale.reference}",
                          headers={"Authorization": "Bearer sk_test_x"}, timeout=5).json()
    assert (intent["amount"], intent["currency"], intent["status"]) == (240000, "vnd",
                                                                         "succeeded")
    # a paid order's pay page sends the buyer back to the order
    again = client.get(f"/orders/{order.reference}/pay")
    assert again.status_code == 302 and again.headers["Location"].endswith(order.reference)


def test_a_stripe_js_token_pays_without_the_card_number_reaching_us(paying, client, session,
                                                                    shop, localstripe):
    _checkout(client, shop, "card", quantity=1)
    order = _order(session)
    # what Stripe.js does in the buyer's browser: the card goes to the gateway only
    token = requests.post(f"{localstripe.url}/v1/tokens", timeout=5, data={
        "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030",
        "card[cvc]": "123", "key": "pk_test_ocopkit"}).json()["id"]
    client.post(f"/orders/{order.reference}/pay/card", data={"token": token})
    [sale] = _sales(session, order.id)
    assert sale.amount_vnd == 120000


def test_declined_card_says_so_and_the_order_stays_payable(paying, client, session, shop):
    _checkout(client, shop, "card")
    order = _order(session)
    response = client.post(f"/orders/{order.reference}/pay/card",
                           data={"test_card": "pm_card_chargeCustomerFail"},
                           follow_redirects=True)
    assert "The card was declined" in response.get_data(as_text=True)
    assert _sales(session, order.id) == []
    attempt = session.scalars(select(PaymentAttempt)).one()
    assert (attempt.status, attempt.error_code) == (AttemptStatus.failed, "card_declined")
    client.post(f"/orders/{order.reference}/pay/card", data={"test_card": "pm_card_visa"})
    assert len(_sales(session, order.id)) == 1


def test_test_cards_are_refused_outside_the_demo(paying, client, session, shop):
    paying.config["GATEWAY_TEST_CARDS"] = False
    _checkout(client, shop, "card")
    order = _order(session)
    assert 'name="test_card"' not in client.get(f"/orders/{order.reference}/pay").get_data(
        as_text=True)
    response = client.post(f"/orders/{order.reference}/pay/card",
                           data={"test_card": "pm_card_visa"}, follow_redirects=True)
    assert "The card details did not arrive" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(PaymentAttempt)) == 0


def _silent_server():
    """Accepts connections and never answers: a gateway that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held = []

    def accept():
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return listener


@pytest.mark.parametrize("gateway", ["down", "hanging"])
def test_gateway_down_or_slow_gives_a_try_again_message_in_time(paying, client, session, shop,
                                                               gateway):
    listener = _silent_server()
    port = listener.getsockname()[1]
    if gateway == "down":
        listener.close()
    paying.config.update(GATEWAY_URL=f"http://127.0.0.1:{port}", GATEWAY_BUDGET_SECONDS=2)
    _checkout(client, shop, "card")
    order = _order(session)
    started = time.monotonic()
    response = client.post(f"/orders/{order.reference}/pay/card",
                           data={"test_card": "pm_card_visa"}, follow_redirects=True)
    elapsed = time.monotonic() - started
    listener.close()
    assert "try again in a few minutes" in response.get_data(as_text=True)
    assert elapsed < 15
    assert _sales(session, order.id) == []
    attempt = session.scalars(select(PaymentAttempt)).one()  # kept with its key for a retry
    assert attempt.status == AttemptStatus.created and attempt.idempotency_key


def test_vietqr_needs_a_verified_bank_account(paying, client, session, shop):
    response = _checkout(client, shop, "vietqr")
    assert response.status_code == 422
    assert "cannot take bank transfers yet" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert session.scalar(select(Product.stock).where(Product.id == shop.id)) == 5


def test_vietqr_order_claimed_by_the_buyer_and_confirmed_by_the_producer(
        paying, client, session, shop, login):
    _verified_bank(session, shop.booth.producer_id)
    response = _checkout(client, shop, "vietqr")
    order = _order(session)
    assert response.headers["Location"].endswith(f"/orders/{order.reference}/pay")
    page = client.get(f"/orders/{order.reference}/pay").get_data(as_text=True)
    assert f"OCOP {order.reference}" in page and "240.000 ₫" in page
    assert "0011001932418" not in page and "•••• 2418" in page

    png = client.get(f"/orders/{order.reference}/vietqr.png")
    assert "no-store" in png.headers["Cache-Control"]
    fields = parse_tlv(zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)).convert("L"))[0]
                       .text)
    assert fields["01"] == "12" and fields["54"] == "240000"
    assert "970415" in fields["38"] and "0011001932418" in fields["38"]
    assert parse_tlv(fields["62"])["08"] == f"OCOP {order.reference}"

    claimed = client.post(f"/orders/{order.reference}/pay/claim", follow_redirects=True)
    assert "The producer will confirm" in claimed.get_data(as_text=True)
    assert session.scalars(select(BankTransfer)).one().status == TransferStatus.claimed
    assert _sales(session, order.id) == []

    login("stranger")
    assert client.post(f"/manage/orders/{order.id}/confirm-transfer").status_code == 404
    client.post("/logout")
    login("pank")
    detail = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    assert f"OCOP {order.reference}" in detail and "confirm the transfer" in detail
    client.post(f"/manage/orders/{order.id}/confirm-transfer")
    again = client.post(f"/manage/orders/{order.id}/confirm-transfer", follow_redirects=True)
    assert "already confirmed" in again.get_data(as_text=True)
    [sale] = _sales(session, order.id)
    assert (sale.channel, sale.amount_vnd) == (Channel.vietqr, 240000)
    buyer_view = client.get(f"/orders/{order.reference}").get_data(as_text=True)
    assert "Paid" in buyer_view


def _decoded_png(client, order) -> str:
    png = client.get(f"/orders/{order.reference}/vietqr.png")
    assert png.status_code == 200
    [code] = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)).convert("L"))
    return code.text


def test_an_open_order_keeps_its_code_after_the_account_number_is_edited(
        paying, client, session, shop, login):
    account = _verified_bank(session, shop.booth.producer_id)
    _checkout(client, shop, "vietqr")
    order = _order(session)
    before = _decoded_png(client, order)
    change_account(session, account.verifications[0].verified_by, account, AccountDetails(
        AccountKind.bank, "9999888877776666", "NGUOI KHAC", bank_bin="970405"))
    session.commit()

    after = _decoded_png(client, order)
    assert after == before
    beneficiary = parse_tlv(parse_tlv(parse_tlv(after)["38"])["01"])
    assert beneficiary == {"00": "970415", "01": "0011001932418"}
    page = client.get(f"/orders/{order.reference}/pay").get_data(as_text=True)
    assert "•••• 2418" in page and "LO VAN PANH" in page and "VietinBank" in page
    assert "6666" not in page and "NGUOI KHAC" not in page and "Agribank" not in page
    login("pank")  # the producer is told which account to look in: the one the buyer saw
    detail = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    assert "VietinBank •••• 2418 · LO VAN PANH" in detail and "6666" not in detail


def test_an_order_into_a_disabled_account_asks_the_buyer_to_pay_another_way(
        paying, client, session, shop):
    account = _verified_bank(session, shop.booth.producer_id)
    _checkout(client, shop, "vietqr")
    order = _order(session)
    disable_account(session, account.verifications[0].verified_by, account)
    session.commit()

    page = client.get(f"/orders/{order.reference}/pay?lang=vi").get_data(as_text=True)
    assert "Đừng chuyển tiền" in page and "liên hệ" in page
    assert "vietqr.png" not in page and "•••• 2418" not in page
    assert "/pay/claim" not in page
    english = client.get(f"/orders/{order.reference}/pay?lang=en").get_data(as_text=True)
    assert "Do not send money" in english and "contact the producer" in english
    assert client.get(f"/orders/{order.reference}/vietqr.png").status_code == 404


def test_cash_is_a_sale_when_delivered_and_a_paid_order_cannot_be_cancelled(
        paying, client, session, shop, login):
    _checkout(client, shop, "cash")
    order = _order(session)
    login("pank")
    for action in ("confirm", "ship"):
        client.post(f"/manage/orders/{order.id}/{action}")
    assert _sales(session, order.id) == []
    client.post(f"/manage/orders/{order.id}/deliver")
    [sale] = _sales(session, order.id)
    assert (sale.channel, sale.amount_vnd) == (Channel.cash, 240000)


def test_refund_from_the_order_page_is_capped(paying, client, session, shop, login):
    _checkout(client, shop, "card")
    order = _order(session)
    client.post(f"/orders/{order.reference}/pay/card", data={"test_card": "pm_card_visa"})
    login("pank")
    detail = client.get(f"/manage/orders/{order.id}").get_data(as_text=True)
    assert re.search(r'name="amount_vnd"[^>]*max="240000"', detail)
    too_much = client.post(f"/manage/orders/{order.id}/refund", data={"amount_vnd": 240001},
                           follow_redirects=True)
    assert "At most 240000 đồng can be refunded" in too_much.get_data(as_text=True)
    client.post(f"/manage/orders/{order.id}/refund", data={"amount_vnd": 40000})
    refused = client.post(f"/manage/orders/{order.id}/cancel", follow_redirects=True)
    assert "before cancelling" in refused.get_data(as_text=True)
    session.expire_all()
    assert _order(session).status.value == "placed"
    refunds = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.refund))
    assert [r.amount_vnd for r in refunds] == [40000]


def test_the_producers_order_list_shows_each_orders_payment_in_three_queries(
        paying, client, session, shop, login, engine):
    from sqlalchemy import event

    from payments.settlement import payment_states

    _verified_bank(session, shop.booth.producer_id)
    expected = {}
    for method, action, label in (("card", "pay", "Paid"), ("card", None, "Not paid yet"),
                                  ("vietqr", "claim", "Transfer sent"),
                                  ("cash", None, "Pay in cash at delivery")):
        _checkout(client, shop, method, quantity=1)
        order = session.scalars(select(Order).order_by(Order.id.desc())).first()
        if action == "pay":
            client.post(f"/orders/{order.reference}/pay/card", data={"test_card": "pm_card_visa"})
        elif action == "claim":
            client.post(f"/orders/{order.reference}/pay/claim")
        expected[order.reference] = label
    login("pank")
    items = client.get("/manage/orders").get_data(as_text=True).split("<li>")
    for reference, label in expected.items():
        [item] = [i for i in items if reference in i]
        assert label in item, (label, item)

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)
    session.expire_all()
    orders = session.scalars(select(Order)).all()
    event.listen(engine, "before_cursor_execute", count)
    try:
        states = payment_states(session, orders)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(states) == 4 and len(statements) == 3


def test_officer_uploads_a_statement_that_confirms_only_their_communes_transfers(
        paying, client, session, shop, login):
    _verified_bank(session, shop.booth.producer_id)
    _checkout(client, shop, "vietqr", quantity=1)
    own = _order(session)
    far_commune = make_commune(session, name="Na Sang")
    far = make_producer(session, commune=far_commune)
    far_booth = make_booth(session, producer=far, status=BoothStatus.published)
    far_product = make_product(session, booth=far_booth, price_vnd=50000, stock=3)
    session.commit()
    _verified_bank(session, far.id)
    buyer = paying.test_client()
    _checkout(buyer, far_product, "vietqr", quantity=1)
    far_order = session.scalars(select(Order).where(Order.producer_id == far.id)).one()
    officer = make_user(session, Role.officer, username="mai", communes=[shop.booth.producer
                                                                          .commune])
    session.commit()

    day = local_today().strftime("%d/%m/%Y")  # a line is never dated before its order
    statement = ("date,amount,description\n"
                 f"{day},120.000,MBVCB.1.OCOP {own.reference}.CT tu TRAN THI BINH\n"
                 f"{day},50.000,OCOP {far_order.reference}\n"
                 f"{day},-30.000,Phi dich vu\n")
    login(officer.username)
    assert "Import a bank statement" in client.get("/manage/orders").get_data(as_text=True)
    page = client.post("/payments/imports/statement", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(statement.encode()), "statement.csv")})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"1 transfer(s) confirmed: {own.reference}" in html
    assert "1 credit(s) name no open order: rows 2" in html
    assert [s.order_id for s in session.scalars(select(LedgerEntry))] == [own.id]

    bad = client.post("/payments/imports/statement", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(b"date,amount,description\n31/02/2026,1,x\n"),
                                     "s.csv")})
    assert bad.status_code == 422 and "row 1 (line 2), column date" in bad.get_data(
        as_text=True)
    client.post("/logout")
    login("pank")
    assert client.get("/payments/imports/statement").status_code == 404


def test_a_refund_whose_answer_was_lost_is_found_before_refunding_again(
        paying, client, session, shop, login, localstripe):
    from payments.gateway import GatewayClient

    _checkout(client, shop, "card")
    order = _order(session)
    client.post(f"/orders/{order.reference}/pay/card", data={"test_card": "pm_card_visa"})
    [sale] = _sales(session, order.id)
    # the gateway refunded, but the answer never reached ocopkit
    GatewayClient(localstripe.url, "sk_test_x").create_refund(
        payment_intent=sale.reference, amount_vnd=240000, idempotency_key="lost-answer")
    login("pank")
    retry = client.post(f"/manage/orders/{order.id}/refund", data={"amount_vnd": 240000},
                        follow_redirects=True)
    assert "had already refunded 240.000 ₫" in retry.get_data(as_text=True)
    refunds = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.refund))
    assert [r.amount_vnd for r in refunds] == [240000]
    again = client.post(f"/manage/orders/{order.id}/refund", data={"amount_vnd": 1000},
                        follow_redirects=True)
    assert "At most 0 đồng can be refunded" in again.get_data(as_text=True)
    gateway_refunds = GatewayClient(localstripe.url, "sk_test_x").list_refunds(
        payment_intent=sale.reference)
    assert [r.amount for r in gateway_refunds] == [240000]
