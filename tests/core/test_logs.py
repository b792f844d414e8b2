"""The access log, as gunicorn writes it for this project: no phone numbers, no order
references, no staff page's query string (ocopkit.logs, ocopkit.server.AccessLog)."""
from __future__ import annotations

import pytest
import requests

from ocopkit.logs import redact_url
from ocopkit.users import Role
from shop.models import BoothStatus
from shop.orders import place_order
from tests import appserver
from tests.factories import PASSWORD, make_booth, make_producer, make_product, make_user
from tests.shop.test_order_views import CHECKOUT

PHONE = "0912345678"


def test_access_log_of_a_staff_search_and_an_order_page_holds_neither(
        session, database_url, tmp_path):
    make_user(session, Role.admin, username="log-admin")
    booth = make_booth(session, producer=make_producer(session), status=BoothStatus.published)
    [order] = place_order(session, lines=[(make_product(session, booth=booth).id, 1)],
                          **CHECKOUT)
    session.commit()
    log = tmp_path / "access.log"
    config = {"ENV": "testing", "TESTING": True, "DATABASE_URL": database_url,
              "SECRET_KEY": "log-secret", "WTF_CSRF_ENABLED": False}
    with appserver.gunicorn(config, workers=1, args=("--access-logfile", str(log))) as base:
        http = requests.Session()
        assert http.post(f"{base}/login", data={"username": "log-admin", "password": PASSWORD},
                         allow_redirects=False, timeout=10).status_code == 302
        search = http.get(f"{base}/producers", params={"q": PHONE, "lang": "vi"}, timeout=10)
        assert search.status_code == 200
        staff_url = f"{base}/producers?q=0912+345+678"
        page = http.get(f"{base}/orders/{order.reference}?k=secret-token", timeout=10,
                        headers={"Referer": staff_url})
        assert page.status_code == 200
        http.get(f"{base}/orders/{order.reference}/pay", timeout=10)
    text = log.read_text()
    lines = text.splitlines()
    assert any("GET /producers " in line for line in lines), text
    assert any("GET /orders/*** " in line for line in lines), text
    assert any("GET /orders/***/pay " in line for line in lines), text
    for secret in (PHONE, "0912+345+678", "345+678", order.reference, "secret-token"):
        assert secret not in text, (secret, text)


@pytest.mark.parametrize("url, logged", [
    ("/producers?q=0912345678&page=2", "/producers"),
    ("/reports/adoption?commune=3", "/reports/adoption"),
    ("/orders/ABCDEFGHJK-MNPQRSTUVW?k=abc", "/orders/***"),
    ("/orders/ABCDEFGHJK/vietqr.png", "/orders/***/vietqr.png"),
    ("/search?q=%2B84+912+345+678&lang=en&page=2", "/search?lang=en&page=2"),
    ("/login?next=/producers%3Fq%3D0912345678", "/login"),
    ("/producers/0912345678", "/producers/***"),
    ("/t/7KQ2MX?lang=en", "/t/7KQ2MX?lang=en"),
    ("https://ocop.example.vn/producers?q=Lò+Văn", "https://ocop.example.vn/producers"),
    ("-", "-"),
])
def test_what_a_logged_url_keeps(url, logged):
    assert redact_url(url) == logged
