"""The public booth shows the static VietQR of the producer's verified bank account (buyers
pay the producer directly with a banking app), and stays within the booth page budgets."""
from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import event

from onboarding.models import ConsentPurpose
from onboarding.producers import record_consent
from payments.accounts import AccountDetails, disable_account, link_account, verify_account
from payments.models import AccountKind
from payments.vietqr import vietqr_payload

from .booth_data import published_shop
from .test_page_weight import MAX_QUERIES, PAGE_BYTES

QR_SRC = re.compile(r'<img src="(/payments/producers/\d+/vietqr\.png)"[^>]*>')


def _link(session, shop, kind=AccountKind.bank, number="0011001932418", verify=True):
    record_consent(session, shop.officer, shop.producer, ConsentPurpose.link_payment_account)
    details = (AccountDetails(kind, number, "GIANG A DE", bank_bin="970415")
               if kind == AccountKind.bank else
               AccountDetails(kind, number, "GIANG A DE", provider="MoMo"))
    account = link_account(session, shop.officer, shop.producer, details)
    if verify:
        verify_account(session, shop.officer, account, "in_person")
    return account


def _booth_url(shop) -> str:
    return f"/booths/{shop.booth.id}-{shop.booth.slug}"


def test_verified_bank_account_shows_a_vietqr_that_decodes_to_its_payload(client, session):
    shop = published_shop(session)
    _link(session, shop)
    session.commit()
    html = client.get(_booth_url(shop)).get_data(as_text=True)
    tags = QR_SRC.findall(html)
    assert tags == [f"/payments/producers/{shop.producer.id}/vietqr.png"]
    tag = QR_SRC.search(html).group(0)
    for attribute in ('width="240"', 'height="240"', 'loading="lazy"', 'alt="'):
        assert attribute in tag, tag
    assert re.search(r"<figcaption>[^<]+</figcaption>", html)
    english = client.get(_booth_url(shop) + "?lang=en").get_data(as_text=True)
    assert "directly: scan this code with your banking app" in english
    png = client.get(tags[0])
    assert png.status_code == 200 and png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)).convert("L"))
    assert [d.text for d in decoded] == [vietqr_payload(bin_code="970415",
                                                        account="0011001932418")]


@pytest.mark.parametrize("setup", ["none", "pending_bank", "verified_ewallet", "disabled_bank"])
def test_no_verified_bank_account_means_no_vietqr(client, session, setup):
    shop = published_shop(session)
    if setup == "pending_bank":
        _link(session, shop, verify=False)
    elif setup == "verified_ewallet":
        _link(session, shop, AccountKind.ewallet, "0912000003")
    elif setup == "disabled_bank":
        disable_account(session, shop.officer, _link(session, shop))
    session.commit()
    html = client.get(_booth_url(shop)).get_data(as_text=True)
    assert "vietqr.png" not in html and "<figure" not in html


def test_booth_with_24_products_and_a_vietqr_stays_within_budget(client, session, engine):
    shop = published_shop(session, products=24)
    _link(session, shop)
    session.commit()
    url = _booth_url(shop)
    client.get(url)  # warm up
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
    event.listen(engine, "before_cursor_execute", count)
    try:
        body = client.get(url).get_data()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(body) < PAGE_BYTES and b"<script" not in body.lower()
    assert len(statements) <= MAX_QUERIES, statements
    # the VietQR check rides on the booth's own query: the page makes two, as without it
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 2
    assert len(re.findall(rb"<img\b", body)) == 25
    assert b"vietqr.png" in body
