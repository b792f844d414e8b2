"""Every form of the site answers bad input in the page's language: WTForms' own messages
("This field is required.", "Not a valid integer value.") come from our catalogue."""
from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session

from ocopkit.forms import Form
from ocopkit.i18n import TRANSLATIONS
from ocopkit.users import Role
from onboarding.models import ConsentPurpose
from onboarding.producers import record_consent
from shop import traceability
from shop.models import BoothStatus
from shop.orders import place_order
from tests.factories import log_in, make_booth, make_product, make_producer, make_user

# Logging out or posting a webhook is not a form a person fills in.
NOT_FORMS = {"auth.logout", "payments.webhook"}
PLACEHOLDER = re.compile(r"%\\\(\w+\\\)[sd]|%s|\\\{\w+\\\}")


class _Errors(HTMLParser):
    """The text of every element whose class names `error` (field and form errors, error
    flashes)."""

    def __init__(self):
        super().__init__()
        self.texts, self._open = [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "input", "meta", "link"):
            return
        self._open.append(["error" in (dict(attrs).get("class") or "").split(), ""])

    def handle_endtag(self, tag):
        if self._open:
            is_error, text = self._open.pop()
            if is_error and text.strip():
                self.texts.append(" ".join(text.split()))

    def handle_data(self, data):
        for element in self._open:
            element[1] += data


def error_texts(page: str) -> list[str]:
    parser = _Errors()
    parser.feed(page)
    return parser.texts


def _patterns(lang: str) -> list[re.Pattern]:
    """A pattern per message the language shows: vi's translations, en's msgids."""
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    texts = set()
    for message in catalog:
        if not message.id:
            continue
        shown = message.string if lang == "vi" else message.id
        texts.update([shown] if isinstance(shown, str) else shown)
    patterns = [PLACEHOLDER.sub(".+", re.escape(text)) for text in texts if text]
    return [re.compile(p) for p in patterns if p.strip(".+ ")]


def _field_names() -> set[str]:
    """The field names of every form class of the project."""
    names, classes = set(), list(Form.__subclasses__())
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        names.update(n for n in dir(cls) if hasattr(getattr(cls, n, None), "_formfield"))
    return names - {"csrf_token"}


@pytest.fixture
def site(session):
    """One of each object the POST routes name, and a login per kind of user."""
    officer = make_user(session, Role.officer, username="officer")
    producer = make_producer(session, commune=officer.communes[0])
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    booth = make_booth(session, producer=producer, status=BoothStatus.published)
    product = make_product(session, booth=booth, stock=50)
    lot = traceability.create_lot(session, officer, product, lot_code="L1",
                                  produced_on=date(2026, 10, 1))
    [order] = place_order(session, lines=[(product.id, 1)], buyer_name="Trần Thị Bình",
                          buyer_phone="0987 654 321", delivery_address="5 Trần Phú",
                          payment_method="cash")
    make_user(session, Role.admin, username="admin")
    target = make_user(session, Role.officer, username="target", communes=officer.communes)
    make_user(session, Role.producer, username="maker", producer=producer)
    session.commit()
    return {"producer_id": producer.id, "booth_id": booth.id, "product_id": product.id,
            "lot_id": lot.id, "order_id": order.id, "user_id": target.id,
            "reference": order.reference, "references": order.reference,
            "image_id": 0, "account_id": 0, "action": "confirm"}


def _submit_every_form(app, engine, site, username, lang):
    """Post each form empty, with letters everywhere (numbers, dates, choices) and with
    over-long text; returns (url, error text) for every error shown."""
    client = app.test_client()
    if username:
        with Session(engine) as db:
            log_in(client, db, username)
    names = _field_names()
    payloads = ({}, dict.fromkeys(names, "abc"), dict.fromkeys(names, "x" * 3000))
    shown = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in NOT_FORMS:
            continue
        if username and rule.endpoint in ("auth.login", "auth.login_code"):
            continue  # a logged-in session posting the login forms starts a new login
        url = rule.build({name: site[name] for name in rule.arguments},
                         append_unknown=False)[1] + f"?lang={lang}"
        for data in payloads:
            if rule.endpoint == "orders.checkout":
                client.post("/cart/add", data={"product_id": site["product_id"], "quantity": 1})
            page = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
            shown += [(url, text) for text in error_texts(page)]
    return shown


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_form_shows_its_errors_in_the_pages_language(app, engine, site, lang):
    shown = []
    for username in ("maker", "officer", "admin", None):  # staff reset the maker's PIN
        shown += _submit_every_form(app, engine, site, username, lang)
    patterns = _patterns(lang)
    foreign = sorted({(url, text) for url, text in shown
                      if not any(p.fullmatch(text) for p in patterns)})
    assert foreign == []
    seen = {text for _, text in shown}
    expected = {
        "vi": ["Cần điền ô này.", "Hãy gõ một số, ví dụ 5.", "Ngày chưa đúng.",
               "Hãy chọn một mục trong danh sách.", "Không được dài quá 160 ký tự."],
        "en": ["This field is required.", "Not a valid integer value.",
               "Not a valid date value.", "Not a valid choice.",
               "Field cannot be longer than 160 characters."],
    }[lang]
    assert [text for text in expected if text not in seen] == []
    if lang == "vi":
        english = {p.pattern for p in _patterns("en")} - {p.pattern for p in patterns}
        assert not [t for t in seen if any(re.fullmatch(p, t) for p in english)]


@pytest.mark.parametrize("lang, expected", [
    ("vi", "Biểu mẫu thiếu mã bảo vệ. Hãy tải lại trang rồi gửi lại."),
    ("en", "The CSRF token is missing.")])
def test_a_forms_own_csrf_check_speaks_the_pages_language(engine, database_url, lang, expected):
    from ocopkit import create_app
    from ocopkit.auth import LoginForm

    app = create_app({"TESTING": True, "ENV": "testing", "DATABASE_URL": database_url,
                      "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True})
    with app.test_request_context(f"/login?lang={lang}", method="POST",
                                  data={"username": "a", "password": "b"}):
        form = LoginForm()
        assert not form.validate()
        assert form.csrf_token.errors == [expected]
