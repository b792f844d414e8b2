"""Officer pages through HTTP: what each role may see and do, and what the pages show."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import ethnic_group, make_commune, make_producer, make_user
from ocopkit.users import Role, User
from onboarding.models import ChangeRecord, Commune, Consent, Producer, Training

REGISTER_HEADER = ("code,kind,name,representative,phone,ethnic_group,commune_code,village,"
                   "ocop_stars,ocop_certified_on\n")


@pytest.fixture
def english(client):
    """Show pages in English so assertions do not depend on the Vietnamese wording."""
    client.set_cookie("lang", "en")


@pytest.fixture
def place(session):
    """Two communes, an officer for each, an admin and a producer in each commune."""
    ban_a = make_commune(session, code="A01", name="Xã Pá Tần")
    ban_b = make_commune(session, code="B01", name="Xã Tủa Thàng")
    officer_a = make_user(session, Role.officer, username="officer_a",
                          display_name="Cán bộ Lan", communes=[ban_a])
    officer_b = make_user(session, Role.officer, username="officer_b",
                          display_name="Cán bộ Tùng", communes=[ban_b])
    admin = make_user(session, Role.admin, username="admin", display_name="Quản trị Minh")
    pa = make_producer(session, commune=ban_a, code="PA-001", name="Hộ Lò Văn Pánh",
                       village="Bản Nậm Chim", phone="0912345678")
    pb = make_producer(session, commune=ban_b, code="PB-001", name="HTX Chè Shan Tuyết",
                       village="Bản Huổi Só", phone="0987654321")
    session.commit()

    class Place:
        pass

    p = Place()
    p.ban_a, p.ban_b, p.officer_a, p.officer_b, p.admin, p.pa, p.pb = (
        ban_a, ban_b, officer_a, officer_b, admin, pa, pb)
    return p


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _history(session, producer_id):
    session.expire_all()
    return session.scalars(select(ChangeRecord).where(ChangeRecord.producer_id == producer_id)
                           .order_by(ChangeRecord.id)).unique().all()


def _form(commune, **overrides):
    data = {"code": "PA-NEW", "kind": "household", "name": "Hộ Vàng A Dính",
            "representative": "Vàng A Dính", "phone": "0911222333",
            "ethnic_group": "",
            "commune": str(commune.id), "village": "Bản Sáng Nhè", "ocop_stars": "",
            "version": "1"}
    data.update(overrides)
    return data


@pytest.fixture
def mong(session):
    return ethnic_group(session, "Mông").id


# --- producer list and search -------------------------------------------------------------

def test_officer_list_shows_own_communes_producers_only(client, place, login, english):
    login("officer_a")
    body = client.get("/producers").get_data(as_text=True)
    assert "Hộ Lò Văn Pánh" in body and "Bản Nậm Chim" in body and "PA-001" in body
    assert "HTX Chè Shan Tuyết" not in body
    assert "1 producer(s) found." in body
    # the commune filter offers only the officer's communes
    assert "Xã Pá Tần" in body and "Xã Tủa Thàng" not in body


def test_admin_list_shows_every_commune(client, place, login):
    login("admin")
    body = client.get("/producers").get_data(as_text=True)
    assert "Hộ Lò Văn Pánh" in body and "HTX Chè Shan Tuyết" in body


def test_search_ignores_case_and_diacritics(client, place, login, english):
    login("admin")
    body = client.get("/producers", query_string={"q": "lo van panh"}).get_data(as_text=True)
    assert "Hộ Lò Văn Pánh" in body and "HTX Chè Shan Tuyết" not in body
    body = client.get("/producers", query_string={"q": "huoi so"}).get_data(as_text=True)
    assert "HTX Chè Shan Tuyết" in body and "Hộ Lò Văn Pánh" not in body
    body = client.get("/producers", query_string={"q": "0987654321"}).get_data(as_text=True)
    assert "HTX Chè Shan Tuyết" in body
    body = client.get("/producers", query_string={"q": "nobody here"}).get_data(as_text=True)
    assert "0 producer(s) found." in body


def test_commune_filter(client, place, login):
    login("admin")
    body = client.get("/producers", query_string={"commune": place.ban_b.id}).get_data(
        as_text=True)
    assert "HTX Chè Shan Tuyết" in body and "Hộ Lò Văn Pánh" not in body


def test_officer_cannot_list_another_communes_producers_by_filter(client, place, login):
    login("officer_a")
    body = client.get("/producers", query_string={"commune": place.ban_b.id}).get_data(
        as_text=True)
    assert "HTX Chè Shan Tuyết" not in body


def test_list_is_paginated(client, session, login, english):
    commune = make_commune(session)
    make_user(session, Role.officer, username="busy", communes=[commune])
    for n in range(30):
        make_producer(session, commune=commune, name=f"Hộ Số {n:02d}")
    session.commit()
    login("busy")
    first = client.get("/producers").get_data(as_text=True)
    assert "30 producer(s) found." in first and "Page 1 of 2" in first
    assert "Hộ Số 00" in first and "Hộ Số 29" not in first
    second = client.get("/producers?page=2").get_data(as_text=True)
    assert "Hộ Số 29" in second and "Hộ Số 00" not in second


# --- producer page ------------------------------------------------------------------------

def test_producer_page_shows_details_steps_and_history(client, place, login, english):
    login("officer_a")
    response = client.get(f"/producers/{place.pa.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Hộ Lò Văn Pánh" in body
    assert "PA-001" in body and "0912345678" in body
    assert "Bản Nậm Chim, Xã Pá Tần" in body
    assert "Thái" in body
    for step in ("On the register", "OCOP certificate recorded", "Consent to publish a booth",
                 "Attended a training", "Own login (optional)", "Published booth",
                 "Verified payment account", "First sale"):
        assert step in body
    assert '<li class="done">✅ On the register</li>' in body
    assert '<li class="todo">⬜ Consent to publish a booth</li>' in body
    # registered by the command line (factories act as SYSTEM)
    assert "registered" in body and "command line" in body


def test_missing_producer_is_404(client, place, login):
    login("admin")
    assert client.get("/producers/999999").status_code == 404


# --- scope: officers of another commune ---------------------------------------------------

def test_other_commune_officer_gets_404_everywhere_and_changes_nothing(
        client, session, place, login, mong):
    login("officer_b")
    pid = place.pa.id
    before = {m: _count(session, m) for m in (Consent, Training, User, ChangeRecord, Producer)}
    assert client.get(f"/producers/{pid}").status_code == 404
    assert client.get(f"/producers/{pid}/edit").status_code == 404
    posts = {
        f"/producers/{pid}/edit": _form(place.ban_b, code="PA-001", name="Đổi tên",
                                        ethnic_group=str(mong)),
        f"/producers/{pid}/consents": {"purpose": "publish_booth", "confirmed": "y"},
        f"/producers/{pid}/consents/withdraw": {"purpose": "publish_booth"},
        f"/producers/{pid}/trainings": {"held_on": "2024-05-01", "topic": "Đóng gói",
                                        "trainer": "Anh Hải"},
        f"/producers/{pid}/login": {"username": "stolen", "password": "123456"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 404, url
    after = {m: _count(session, m) for m in before}
    assert after == before
    producer = session.get(Producer, pid)
    assert producer.name == "Hộ Lò Văn Pánh" and producer.commune_id == place.ban_a.id


def test_404_page_does_not_reveal_the_producer(client, place, login):
    login("officer_b")
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "Hộ Lò Văn Pánh" not in body and "PA-001" not in body


def test_withdrawal_by_other_commune_officer_is_refused(client, session, place, login):
    login("officer_a")
    client.post(f"/producers/{place.pa.id}/consents",
                data={"purpose": "publish_booth", "confirmed": "y"})
    client.post("/logout")
    login("officer_b")
    response = client.post(f"/producers/{place.pa.id}/consents/withdraw",
                           data={"purpose": "publish_booth"})
    assert response.status_code == 404
    session.expire_all()
    assert session.scalar(select(Consent.withdrawn_at)) is None


def test_officer_cannot_register_a_producer_in_another_commune(client, session, place, login,
                                                               mong):
    login("officer_a")
    form = client.get("/producers/new").get_data(as_text=True)
    assert "Xã Pá Tần" in form and "Xã Tủa Thàng" not in form
    before = _count(session, Producer)
    response = client.post("/producers/new", data=_form(place.ban_b, ethnic_group=str(mong)))
    assert response.status_code == 422
    assert _count(session, Producer) == before


def test_officer_cannot_move_a_producer_to_another_commune(client, session, place, login, mong):
    login("officer_a")
    response = client.post(f"/producers/{place.pa.id}/edit", data=_form(
        place.ban_b, code="PA-001", name="Hộ Lò Văn Pánh", ethnic_group=str(mong)))
    assert response.status_code == 422
    session.expire_all()
    assert session.get(Producer, place.pa.id).commune_id == place.ban_a.id


# --- scope: producer logins ---------------------------------------------------------------

@pytest.fixture
def producer_login(session, place):
    make_user(session, Role.producer, username="0912345678", password="246810",
              producer=place.pa, display_name="Lò Văn Pánh")
    session.commit()
    return "0912345678", "246810"


def test_producer_sees_its_own_page_without_officer_actions(client, place, login,
                                                            producer_login, english):
    login(*producer_login)
    response = client.get(f"/producers/{place.pa.id}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Hộ Lò Văn Pánh" in body and "Bản Nậm Chim" in body
    assert "Record consent" not in body and "/edit" not in body
    assert "My page" in body
    # the list sends a producer to its own page
    response = client.get("/producers")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/producers/{place.pa.id}"


def test_producer_gets_404_on_other_producers_and_officer_pages(client, session, place, login,
                                                                producer_login):
    login(*producer_login)
    before = {m: _count(session, m) for m in (Consent, Training, User, ChangeRecord)}
    for path in (f"/producers/{place.pb.id}", "/producers/new", f"/producers/{place.pa.id}/edit",
                 "/imports/register", "/imports/communes"):
        assert client.get(path).status_code == 404, path
    for action, data in (("consents", {"purpose": "show_phone", "confirmed": "y"}),
                         ("consents/withdraw", {"purpose": "show_phone"}),
                         ("trainings", {"held_on": "2024-05-01", "topic": "t", "trainer": "x"}),
                         ("login", {"username": "again", "password": "123456"})):
        for pid in (place.pa.id, place.pb.id):
            assert client.post(f"/producers/{pid}/{action}", data=data).status_code == 404
    assert {m: _count(session, m) for m in before} == before


# --- register -----------------------------------------------------------------------------

def test_register_creates_producer_and_redirects_to_its_page(client, session, place, login,
                                                             mong, english):
    login("officer_a")
    response = client.post("/producers/new", data=_form(
        place.ban_a, ethnic_group=str(mong), phone="+84 911 222 333", ocop_stars="4",
        ocop_certificate_no="OCOP-2024-17", ocop_certified_on="2024-03-01"))
    assert response.status_code == 302
    producer = session.scalar(select(Producer).where(Producer.code == "PA-NEW"))
    assert response.headers["Location"] == f"/producers/{producer.id}"
    assert producer.phone == "0911222333" and producer.ocop_stars == 4
    body = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Hộ Vàng A Dính is on the register." in body
    assert "Hộ Vàng A Dính" in body and "Bản Sáng Nhè, Xã Pá Tần" in body
    assert "Mông" in body and "OCOP-2024-17" in body and "★★★★" in body
    assert '<li class="done">✅ OCOP certificate recorded</li>' in body
    (record,) = _history(session, producer.id)
    assert record.action == "registered" and record.actor_id == place.officer_a.id
    assert "Cán bộ Lan" in body


def test_register_form_shows_field_errors(client, session, place, login, mong, english):
    login("officer_a")
    before = _count(session, Producer)
    response = client.post("/producers/new", data=_form(place.ban_a, ethnic_group=str(mong),
                                                        phone="12345"))
    assert response.status_code == 422
    assert "12345 is not a Vietnamese phone number" in response.get_data(as_text=True)
    response = client.post("/producers/new", data=_form(place.ban_a, ethnic_group=str(mong),
                                                        name=""))
    assert response.status_code == 422
    assert _count(session, Producer) == before


def test_register_form_picks_no_ethnic_group_by_default(client, place, login):
    login("officer_a")
    body = client.get("/producers/new").get_data(as_text=True)
    assert '<select id="ethnic_group" name="ethnic_group"><option selected value="">' in body


def test_household_needs_an_ethnic_group(client, session, place, login, english):
    login("officer_a")
    response = client.post("/producers/new", data=_form(place.ban_a))
    assert response.status_code == 422
    assert "A household needs the ethnic group of its head." in response.get_data(as_text=True)
    assert _count(session, Producer) == 2


def test_cooperative_registers_without_an_ethnic_group_and_keeps_none_when_edited(
        client, session, place, login):
    login("officer_a")
    response = client.post("/producers/new", data=_form(
        place.ban_a, kind="cooperative", code="HTX-1", name="HTX Mận Hậu"))
    assert response.status_code == 302
    producer = session.scalar(select(Producer).where(Producer.code == "HTX-1"))
    assert producer.ethnic_group_id is None
    edit = client.get(f"/producers/{producer.id}/edit").get_data(as_text=True)
    assert '<select id="ethnic_group" name="ethnic_group"><option selected value="">' in edit
    response = client.post(f"/producers/{producer.id}/edit", data=_form(
        place.ban_a, kind="cooperative", code="HTX-1", name="HTX Mận Hậu", village="Bản Mới"))
    assert response.status_code == 302
    session.expire_all()
    producer = session.get(Producer, producer.id)
    assert producer.ethnic_group_id is None and producer.village == "Bản Mới"


def test_user_text_is_escaped(client, session, place, login, english):
    login("officer_a")
    client.post("/producers/new", data=_form(
        place.ban_a, kind="cooperative", code="X-1", name="<script>alert(1)</script>"))
    producer = session.scalar(select(Producer).where(Producer.code == "X-1"))
    for path in (f"/producers/{producer.id}", "/producers"):
        body = client.get(path).get_data(as_text=True)
        assert "<script>" not in body and "&lt;script&gt;" in body
    csv = REGISTER_HEADER + "PA-9,household,Hộ,,,<b>bold</b>,A01,,,\n"
    body = _upload(client, "/imports/register", csv).get_data(as_text=True)
    assert "<b>bold</b>" not in body and "&lt;b&gt;bold&lt;/b&gt;" in body


@pytest.mark.parametrize("field, value, message", [
    ("code", "PA-001", "Another producer already has the code PA-001."),
    ("phone", "091 234 5678", "The phone 0912345678 is already registered to producer PA-001."),
])
def test_duplicate_is_caught_with_a_link_to_the_existing_producer(
        client, session, place, login, mong, english, field, value, message):
    login("officer_a")
    before = {m: _count(session, m) for m in (Producer, ChangeRecord)}
    response = client.post("/producers/new", data=_form(
        place.ban_a, ethnic_group=str(mong), **{field: value}))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert "Already on the register:" in body
    assert f'<a href="/producers/{place.pa.id}">Hộ Lò Văn Pánh (PA-001, 0912345678)</a>' in body
    assert {m: _count(session, m) for m in before} == before


def test_edit_page_is_filled_and_saves_changes_to_history(client, session, place, login, mong,
                                                          english):
    login("officer_a")
    form = client.get(f"/producers/{place.pa.id}/edit").get_data(as_text=True)
    assert 'value="Hộ Lò Văn Pánh"' in form and 'value="Bản Nậm Chim"' in form
    response = client.post(f"/producers/{place.pa.id}/edit", data=_form(
        place.ban_a, code="PA-001", name="Hộ Lò Văn Pánh", phone="0912345678",
        ethnic_group=str(mong), village="Bản Mới", representative="Lò Văn Pánh"))
    assert response.status_code == 302
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "Bản Mới, Xã Pá Tần" in body
    last = _history(session, place.pa.id)[-1]
    assert last.action == "updated" and last.actor_id == place.officer_a.id
    assert "village" in last.detail
    assert "details changed" in body and "Cán bộ Lan" in body


def test_edit_to_a_duplicate_code_is_refused(client, session, place, login, mong, english):
    login("admin")
    response = client.post(f"/producers/{place.pa.id}/edit", data=_form(
        place.ban_a, code="PB-001", name="Hộ Lò Văn Pánh", phone="0912345678",
        ethnic_group=str(mong)))
    assert response.status_code == 422
    assert "Another producer already has the code PB-001." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Producer, place.pa.id).code == "PA-001"


# --- consent ------------------------------------------------------------------------------

def test_consent_needs_the_agreed_in_my_presence_box(client, session, place, login, english):
    login("officer_a")
    response = client.post(f"/producers/{place.pa.id}/consents",
                           data={"purpose": "publish_booth"})
    assert response.status_code == 302
    assert _count(session, Consent) == 0
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert 'class="flash error"' in body
    assert "The household agreed to this in my presence" in body


def test_consent_recorded_then_withdrawn_shows_on_the_page_and_in_history(
        client, session, place, login, english):
    login("officer_a")
    pid = place.pa.id
    response = client.post(f"/producers/{pid}/consents",
                           data={"purpose": "publish_booth", "confirmed": "y"})
    assert response.status_code == 302
    body = client.get(f"/producers/{pid}").get_data(as_text=True)
    assert "Consent recorded." in body
    assert "witnessed by Cán bộ Lan" in body
    assert '<li class="done">✅ Consent to publish a booth</li>' in body
    consent = session.scalar(select(Consent))
    assert consent.witness_id == place.officer_a.id and consent.withdrawn_at is None

    response = client.post(f"/producers/{pid}/consents/withdraw",
                           data={"purpose": "publish_booth"})
    assert response.status_code == 302
    body = client.get(f"/producers/{pid}").get_data(as_text=True)
    assert "Consent withdrawn." in body
    assert "witnessed by" not in body
    assert '<li class="todo">⬜ Consent to publish a booth</li>' in body
    session.expire_all()
    consent = session.scalar(select(Consent))
    assert consent.withdrawn_at is not None and consent.withdrawn_by_id == place.officer_a.id
    actions = [(h.action, h.detail, h.actor_id) for h in _history(session, pid)][1:]
    assert actions == [("consent_given", "publish_booth", place.officer_a.id),
                       ("consent_withdrawn", "publish_booth", place.officer_a.id)]
    history = body.split("History", 1)[1]
    assert "consent recorded: Publish a booth" in history
    assert "consent withdrawn: Publish a booth" in history
    assert history.count("Cán bộ Lan") == 2


def test_withdrawing_without_a_consent_says_so(client, session, place, login, english):
    login("officer_a")
    client.post(f"/producers/{place.pa.id}/consents/withdraw", data={"purpose": "show_phone"})
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "There is no consent to withdraw for this purpose." in body
    assert _count(session, ChangeRecord) == 2


def test_unknown_consent_purpose_is_refused(client, session, place, login):
    login("officer_a")
    client.post(f"/producers/{place.pa.id}/consents",
                data={"purpose": "sell_data", "confirmed": "y"})
    assert _count(session, Consent) == 0


# --- training and login -------------------------------------------------------------------

def test_training_is_recorded_and_shown(client, session, place, login, english):
    login("officer_a")
    response = client.post(f"/producers/{place.pa.id}/trainings", data={
        "held_on": "2024-05-01", "topic": "Đóng gói sản phẩm", "trainer": "Anh Hải"})
    assert response.status_code == 302
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "Training recorded." in body
    assert "Đóng gói sản phẩm · Anh Hải" in body
    assert '<li class="done">✅ Attended a training</li>' in body
    last = _history(session, place.pa.id)[-1]
    assert (last.action, last.actor_id) == ("training_recorded", place.officer_a.id)


def test_training_in_the_future_is_refused(client, session, place, login, english):
    login("officer_a")
    future = (date.today() + timedelta(days=5)).isoformat()
    client.post(f"/producers/{place.pa.id}/trainings",
                data={"held_on": future, "topic": "Sau này", "trainer": "Ai đó"})
    assert _count(session, Training) == 0
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "The training date is in the future." in body


def test_given_login_lets_the_producer_log_in_with_its_phone(client, session, place, login,
                                                             english):
    login("officer_a")
    response = client.post(f"/producers/{place.pa.id}/login", data={"password": "135790"})
    assert response.status_code == 302
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "The producer can now log in." in body
    assert '<li class="done">✅ Own login (optional)</li>' in body
    assert "login given: 0912345678" in body
    user = session.scalar(select(User).where(User.producer_id == place.pa.id))
    assert user.role == Role.producer and "135790" not in user.password_hash
    client.post("/logout")
    login("0912345678", "135790")
    assert client.get(f"/producers/{place.pa.id}").status_code == 200
    assert client.get(f"/producers/{place.pb.id}").status_code == 404


def test_second_login_for_the_same_producer_is_refused(client, session, place, login, english):
    login("officer_a")
    client.post(f"/producers/{place.pa.id}/login", data={"password": "135790"})
    client.post(f"/producers/{place.pa.id}/login", data={"username": "pa2",
                                                         "password": "135790"})
    body = client.get(f"/producers/{place.pa.id}").get_data(as_text=True)
    assert "This producer already has a login." in body
    assert _count(session, User) == 4


def test_short_pin_is_refused(client, session, place, login):
    login("officer_a")
    client.post(f"/producers/{place.pa.id}/login", data={"password": "123"})
    assert _count(session, User) == 3


# --- imports ------------------------------------------------------------------------------

def _upload(client, path, content: str, dry_run=False):
    from io import BytesIO

    data = {"file": (BytesIO(content.encode()), "register.csv")}
    if dry_run:
        data["dry_run"] = "y"
    return client.post(path, data=data, content_type="multipart/form-data")


def test_import_page_lists_the_expected_columns(client, place, login, english):
    login("officer_a")
    body = client.get("/imports/register").get_data(as_text=True)
    assert "Import the producer register" in body
    assert "code,kind,name,representative,phone,ethnic_group,commune_code" in body


def test_bad_import_shows_row_and_line_errors_and_writes_nothing(client, session, place, login,
                                                                 english):
    login("officer_a")
    before = {m: _count(session, m) for m in (Producer, ChangeRecord)}
    csv = (REGISTER_HEADER
           + "PA-100,household,Hộ Một,,0911000001,Mông,A01,Bản Một,,\n"
           + "PA-101,household,Hộ Hai,,0911000002,Klingon,A01,Bản Hai,,\n"
           + "PA-102,household,Hộ Ba,,0911000003,Thái,B01,Bản Ba,,\n")
    response = _upload(client, "/imports/register", csv)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "2 problem(s) found; nothing was imported." in body
    assert "row 2 (line 3), column ethnic_group: Unknown ethnic group Klingon" in body
    assert "row 3 (line 4), column commune_code: Commune B01 is not one of yours." in body
    assert {m: _count(session, m) for m in before} == before


def test_good_import_creates_producers_with_history(client, session, place, login, english):
    login("officer_a")
    csv = (REGISTER_HEADER
           + "PA-100,household,Hộ Một,,0911000001,Mông,A01,Bản Một,,\n"
           + "PA-101,cooperative,HTX Hai,,,,A01,Bản Hai,4,2024-01-15\n")
    response = _upload(client, "/imports/register", csv)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Imported." in body
    assert "2 rows: 2 new, 0 changed, 0 unchanged." in body
    one = session.scalar(select(Producer).where(Producer.code == "PA-100"))
    assert (one.name, one.village, one.phone) == ("Hộ Một", "Bản Một", "0911000001")
    (record,) = _history(session, one.id)
    assert (record.action, record.actor_id) == ("imported", place.officer_a.id)
    page = client.get(f"/producers/{one.id}").get_data(as_text=True)
    assert "imported from a file" in page and "Cán bộ Lan" in page


def test_dry_run_import_writes_nothing(client, session, place, login, english):
    login("officer_a")
    before = {m: _count(session, m) for m in (Producer, ChangeRecord)}
    csv = REGISTER_HEADER + "PA-100,household,Hộ Một,,0911000001,Mông,A01,Bản Một,,\n"
    response = _upload(client, "/imports/register", csv, dry_run=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "The file is valid. Nothing was imported (check only)." in body
    assert "1 rows: 1 new, 0 changed, 0 unchanged." in body
    assert {m: _count(session, m) for m in before} == before


def test_import_without_a_file_is_refused(client, place, login):
    login("officer_a")
    response = client.post("/imports/register", data={}, content_type="multipart/form-data")
    assert response.status_code == 422


def test_import_of_a_non_utf8_file_explains(client, session, place, login, english):
    login("officer_a")
    from io import BytesIO

    data = {"file": (BytesIO(REGISTER_HEADER.encode() + b"PA-1,h\xf4,H\xe0\n"), "r.csv")}
    response = client.post("/imports/register", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "The file is not UTF-8 text." in response.get_data(as_text=True)


def test_oversized_import_is_refused(app, client, session, place, login):
    app.config["IMPORT_MAX_BYTES"] = 200
    login("officer_a")
    csv = REGISTER_HEADER + "".join(
        f"PA-{n},household,Hộ {n},,,Mông,A01,,,\n" for n in range(100, 120))
    assert len(csv.encode()) > 200
    response = _upload(client, "/imports/register", csv)
    assert response.status_code == 413
    assert _count(session, Producer) == 2


def test_commune_import_is_admin_only(client, session, place, login, english):
    csv = "code,name,ethnic_minority_area\nC900,Xã Mới,có\n"
    login("officer_a")
    assert client.get("/imports/communes").status_code == 404
    assert _upload(client, "/imports/communes", csv).status_code == 404
    assert _count(session, Commune) == 2
    client.post("/logout")
    login("admin")
    response = _upload(client, "/imports/communes", csv)
    assert response.status_code == 200
    assert "1 rows: 1 new, 0 changed, 0 unchanged." in response.get_data(as_text=True)
    commune = session.scalar(select(Commune).where(Commune.code == "C900"))
    assert commune.name == "Xã Mới" and commune.is_ethnic_minority_area


def test_bad_commune_import_shows_errors(client, session, place, login, english):
    login("admin")
    csv = "code,name,ethnic_minority_area\nC900,Xã Mới,maybe\n"
    response = _upload(client, "/imports/communes", csv)
    assert response.status_code == 422
    assert "row 1 (line 2), column ethnic_minority_area" in response.get_data(as_text=True)
    assert _count(session, Commune) == 2


def test_second_of_two_producer_edits_is_refused_and_writes_nothing(client, session, place,
                                                                   login, mong):
    login("officer_a")
    edit = client.get(f"/producers/{place.pa.id}/edit").get_data(as_text=True)
    assert 'name="version" type="hidden" value="1"' in edit
    first = _form(place.ban_a, code="PA-001", name="Hộ Lò Văn Pánh", phone="0912345678",
                  ethnic_group=str(mong), village="Bản Mới")
    second = {**first, "village": "Bản Nậm Chim", "representative": "Lò Thị Ơn"}
    assert client.post(f"/producers/{place.pa.id}/edit", data=first).status_code == 302
    response = client.post(f"/producers/{place.pa.id}/edit", data=second)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Có người đã sửa mục này sau khi bạn mở nó" in html
    assert 'value="Bản Mới"' in html and 'name="version" type="hidden" value="2"' in html
    session.expire_all()
    producer = session.get(Producer, place.pa.id)
    assert (producer.village, producer.representative) == ("Bản Mới", "Vàng A Dính")
    assert [r.action for r in _history(session, place.pa.id)].count("updated") == 1

# --- a phone of another commune's producer: taken, but not whose ---------------------------------

def test_duplicate_phone_to_another_communes_officer_names_no_producer(
        client, session, place, login, mong, english):
    login("officer_b")
    before = _count(session, Producer)
    response = client.post("/producers/new", data=_form(
        place.ban_b, code="PB-NEW", ethnic_group=str(mong), phone="091 234 5678"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "The phone 0912345678 is already registered to another producer." in body
    for secret in ("PA-001", "Hộ Lò Văn Pánh", "Bản Nậm Chim", "Xã Pá Tần", f"/producers/{place.pa.id}"):
        assert secret not in body
    assert "Already on the register:" not in body
    assert _count(session, Producer) == before

    upload = _upload(client, "/imports/register",
                     REGISTER_HEADER + "PB-9,household,Hộ Mới,,0912345678,Mông,B01,,,\n")
    assert upload.status_code == 422
    body = upload.get_data(as_text=True)
    assert "The phone 0912345678 is already registered to another producer." in body
    for secret in ("PA-001", "Hộ Lò Văn Pánh", "Xã Pá Tần"):
        assert secret not in body
    assert _count(session, Producer) == before


def test_duplicate_phone_on_an_officers_edit_names_no_producer_of_another_commune(
        client, session, place, login, mong, english):
    login("officer_b")
    response = client.post(f"/producers/{place.pb.id}/edit", data=_form(
        place.ban_b, code="PB-001", kind="cooperative", name="HTX Chè Shan Tuyết",
        phone="0912345678"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "already registered to another producer" in body and "PA-001" not in body
