"""The producer register without HTTP: rules, access per commune, consent, logins, search."""
from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import PIN, ethnic_group, make_commune, make_producer, make_user
from ocopkit.access import SYSTEM, can_manage_producer, producer_scope
from ocopkit.db import utcnow
from ocopkit.errors import Conflict, Invalid, NotAllowed, NotFound, Stale
from ocopkit.users import Role, User
from onboarding import producers as register
from onboarding.models import ChangeRecord, Consent, ConsentPurpose, Producer, ProducerKind
from onboarding.producers import (
    ProducerData, certificate_expires_on, check_producer_data, find_duplicates, get_producer,
    give_login, has_consent, history, list_producers, normalise_phone, onboarding_progress,
    record_consent, record_training, register_producer, update_producer, withdraw_consent,
)

TODAY = date(2025, 6, 1)


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def _data(commune, **overrides) -> ProducerData:
    values = {"code": "PA-NEW", "kind": ProducerKind.household, "name": "Hộ Vàng A Dính",
              "commune": commune, "representative": "Vàng A Dính", "phone": "0911222333",
              "ethnic_group": None, "village": "Bản Sáng Nhè"}
    values.update(overrides)
    return ProducerData(**values)


def _data_of(producer: Producer, **overrides) -> ProducerData:
    """The producer's current register fields, with some changed."""
    values = {"code": producer.code, "kind": producer.kind, "name": producer.name,
              "commune": producer.commune, "representative": producer.representative,
              "phone": producer.phone, "ethnic_group": producer.ethnic_group,
              "village": producer.village, "ocop_stars": producer.ocop_stars,
              "ocop_certified_on": producer.ocop_certified_on}
    values.update(overrides)
    return ProducerData(**values)


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _actions(session, producer) -> list[tuple[str, str, int | None]]:
    """(action, detail, actor id) of the producer's history, oldest first."""
    return [(r.action, r.detail, r.actor_id) for r in reversed(history(session, producer.id))]


@pytest.fixture
def place(session):
    """Two communes, an officer for each, an admin, and a household in each commune."""
    a = make_commune(session, code="A01", name="Xã Pá Tần")
    b = make_commune(session, code="B01", name="Xã Tủa Thàng")

    class Place:
        ban_a, ban_b = a, b
        officer_a = make_user(session, Role.officer, username="officer_a", communes=[a])
        officer_b = make_user(session, Role.officer, username="officer_b", communes=[b])
        admin = make_user(session, Role.admin, username="admin")
        pa = make_producer(session, commune=a, code="PA-001", name="Hộ Lò Văn Pánh",
                           phone="0912345678", village="Bản Nậm Chim")
        pb = make_producer(session, commune=b, code="PB-001", name="HTX Chè Shan Tuyết",
                           kind=ProducerKind.cooperative, ethnic_group=None,
                           phone="0987654321", village="Bản Huổi Só")
    session.commit()
    return Place


# --- phone numbers --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, stored", [
    ("0912345678", "0912345678"),
    ("+84 912 345 678", "0912345678"),
    ("+84912345678", "0912345678"),
    ("84912345678", "0912345678"),
    ("0912.345.678", "0912345678"),
    ("(+84) 912-345-678", "0912345678"),
    ("0912\u00a0345\u00a0678", "0912345678"),   # no-break spaces pasted from a spreadsheet
    ("0214 3812 345", "02143812345"),           # 11-digit landline
    ("+84 0912 345 678", "0912345678"),         # country code written with the trunk 0
    ("840912345678", "0912345678"),
    ("+84 214 3812 345", "02143812345"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_phone_numbers_are_normalised(raw, stored):
    assert normalise_phone(raw) == stored


@pytest.mark.parametrize("raw", [
    "12345", "912345678", "091234567a", "+1 650 253 0000", "091234567890", "00912345678",
    "0９１２３４５６７８",  # full-width digits would never match the same number typed normally
])
def test_bad_phone_numbers_are_invalid_and_named(raw):
    with pytest.raises(Invalid) as caught:
        normalise_phone(raw)
    assert caught.value.field == "phone"
    assert caught.value.params["value"] == raw.strip()


# --- OCOP certificate -----------------------------------------------------------------------

@pytest.mark.parametrize("certified_on, expires_on", [
    (date(2024, 3, 15), date(2027, 3, 15)),
    (date(2023, 12, 31), date(2026, 12, 31)),   # December does not roll into a 13th month
    (date(2024, 1, 31), date(2027, 1, 31)),
    # A leap day has no twin 36 months later: the certificate ends on the last day of
    # February instead of spilling into March (the same rule as dateutil's relativedelta).
    (date(2024, 2, 29), date(2027, 2, 28)),
    (date(2025, 2, 28), date(2028, 2, 28)),
])
def test_certificate_is_valid_for_36_months(certified_on, expires_on):
    assert certificate_expires_on(certified_on) == expires_on


@pytest.mark.parametrize("certified_on, expires_on", [
    (date(2024, 1, 31), date(2024, 2, 29)),
    (date(2023, 1, 31), date(2023, 2, 28)),
    (date(2024, 3, 31), date(2024, 4, 30)),
    (date(2024, 12, 31), date(2025, 1, 31)),
])
def test_certificate_end_is_clamped_to_the_end_of_a_shorter_month(monkeypatch, certified_on,
                                                                  expires_on):
    monkeypatch.setattr(register, "CERTIFICATE_VALID_MONTHS", 1)
    assert certificate_expires_on(certified_on) == expires_on


# --- rules on one producer's fields ---------------------------------------------------------

def _fields(errors) -> list[str]:
    return [e.field for e in errors]


def test_valid_data_has_no_errors_and_is_normalised(session):
    commune = make_commune(session)
    data = _data(commune, name=_nfd("  Hộ  Lò Thị Ún "), phone="+84 912 000 001",
                 ethnic_group=ethnic_group(session, "Thái"), ocop_stars=4,
                 ocop_certified_on=TODAY)
    assert check_producer_data(data, TODAY) == []
    assert data.name == "Hộ Lò Thị Ún" == unicodedata.normalize("NFC", data.name)
    assert data.phone == "0912000001"


def test_household_needs_an_ethnic_group_but_a_cooperative_does_not(session):
    commune = make_commune(session)
    assert _fields(check_producer_data(_data(commune), TODAY)) == ["ethnic_group"]
    cooperative = _data(commune, kind=ProducerKind.cooperative)
    assert check_producer_data(cooperative, TODAY) == []


@pytest.mark.parametrize("stars", [0, 1, 2, 6])
def test_stars_outside_3_to_5_are_refused(session, stars):
    data = _data(make_commune(session), ethnic_group=ethnic_group(session, "Mông"),
                 ocop_stars=stars)
    assert _fields(check_producer_data(data, TODAY)) == ["ocop_stars"]


def test_certification_date_needs_stars_and_cannot_be_in_the_future(session):
    commune, mong = make_commune(session), ethnic_group(session, "Mông")
    no_stars = _data(commune, ethnic_group=mong, ocop_certified_on=TODAY)
    future = _data(commune, ethnic_group=mong, ocop_stars=3,
                   ocop_certified_on=TODAY + timedelta(days=1))
    assert _fields(check_producer_data(no_stars, TODAY)) == ["ocop_certified_on"]
    assert _fields(check_producer_data(future, TODAY)) == ["ocop_certified_on"]


def test_every_broken_rule_is_listed(session):
    data = _data(make_commune(session), code=" ", name="", phone="12", ocop_stars=7)
    assert sorted(_fields(check_producer_data(data, TODAY))) == [
        "code", "ethnic_group", "name", "ocop_stars", "phone"]


def test_code_longer_than_40_characters_is_refused(session):
    data = _data(make_commune(session), code="X" * 41, kind=ProducerKind.enterprise)
    assert _fields(check_producer_data(data, TODAY)) == ["code"]


# --- registering ----------------------------------------------------------------------------

def test_register_stores_nfc_text_search_text_and_history(session, place):
    data = _data(place.ban_a, name=_nfd("Hộ Vàng Thị Dợ"), representative=_nfd("Vàng Thị Dợ"),
                 village=_nfd("Bản Sáng Nhè"), phone="+84 911 222 333",
                 ethnic_group=ethnic_group(session, "Mông"))
    producer = register_producer(session, place.officer_a, data)
    session.commit()
    session.expire_all()
    stored = session.get(Producer, producer.id)
    assert stored.name == "Hộ Vàng Thị Dợ"
    assert stored.name == unicodedata.normalize("NFC", stored.name) != _nfd(stored.name)
    assert stored.representative == "Vàng Thị Dợ" and stored.village == "Bản Sáng Nhè"
    assert stored.phone == "0911222333"
    assert "ho vang thi do" in stored.search_text
    assert _actions(session, stored) == [("registered", "", place.officer_a.id)]


def test_register_refuses_a_household_without_ethnic_group(session, place):
    with pytest.raises(Invalid) as caught:
        register_producer(session, place.officer_a, _data(place.ban_a))
    assert caught.value.field == "ethnic_group"
    assert _count(session, Producer) == 2


@pytest.mark.parametrize("stars", [2, 6])
def test_register_refuses_stars_outside_3_to_5(session, place, stars):
    data = _data(place.ban_a, kind=ProducerKind.enterprise, ocop_stars=stars)
    with pytest.raises(Invalid) as caught:
        register_producer(session, place.officer_a, data)
    assert caught.value.field == "ocop_stars"


def test_duplicate_code_is_a_conflict_naming_the_code(session, place):
    data = _data(place.ban_a, code="PB-001", kind=ProducerKind.enterprise)
    with pytest.raises(Conflict) as caught:
        register_producer(session, place.officer_a, data)
    assert caught.value.field == "code"
    assert "PB-001" in str(caught.value)


@pytest.mark.parametrize("phone", ["0987654321", "+84 987 654 321", "0987.654.321"])
def test_duplicate_phone_in_any_format_is_a_conflict_naming_the_owner_only_in_scope(
        session, place, phone):
    data = _data(place.ban_a, kind=ProducerKind.enterprise, phone=phone)
    with pytest.raises(Conflict) as caught:
        register_producer(session, place.officer_a, data)
    assert caught.value.field == "phone"
    # PB-001 is of another commune: officer A learns the phone is taken, not by whom.
    assert caught.value.params == {"phone": "0987654321"}
    with pytest.raises(Conflict) as caught:
        register_producer(session, SYSTEM, data)
    assert caught.value.params == {"phone": "0987654321", "code": "PB-001"}
    assert _count(session, Producer) == 2


def test_producers_without_phone_do_not_clash(session, place):
    one = register_producer(session, place.officer_a,
                            _data(place.ban_a, code="E-1", kind=ProducerKind.enterprise, phone=""))
    two = register_producer(session, place.officer_a,
                            _data(place.ban_a, code="E-2", kind=ProducerKind.enterprise,
                                  phone=None))
    session.commit()
    assert one.phone is None and two.phone is None


def test_officer_cannot_register_in_another_commune(session, place):
    with pytest.raises(NotFound):
        register_producer(session, place.officer_a,
                          _data(place.ban_b, kind=ProducerKind.enterprise))
    assert _count(session, Producer) == 2


def test_producer_login_cannot_register_anyone(session, place):
    login = give_login(session, place.officer_a, place.pa, password=PIN)
    with pytest.raises(NotAllowed):
        register_producer(session, login, _data(place.ban_a, kind=ProducerKind.enterprise))


def test_system_actor_is_an_admin_for_command_line_work(session, place):
    assert can_manage_producer(SYSTEM, place.pa) and can_manage_producer(SYSTEM, place.pb)
    producer = register_producer(session, SYSTEM, _data(place.ban_b, kind=ProducerKind.enterprise))
    assert _actions(session, producer) == [("registered", "", None)]


# --- updating -------------------------------------------------------------------------------

def test_update_returns_changed_fields_and_records_them(session, place):
    changed = update_producer(session, place.officer_a, place.pa,
                              _data_of(place.pa, name="Hộ Lò Văn Pánh (Bản Công)",
                                       village="Bản Công"))
    session.commit()
    assert sorted(changed) == ["name", "village"]
    assert place.pa.name == "Hộ Lò Văn Pánh (Bản Công)"
    assert "ban cong" in place.pa.search_text
    assert _actions(session, place.pa)[-1] == ("updated", ", ".join(changed), place.officer_a.id)


def test_producer_login_cannot_certify_itself(session, place):
    own = make_user(session, Role.producer, producer=place.pa)
    with pytest.raises(NotAllowed) as error:
        update_producer(session, own, place.pa, _data_of(
            place.pa, ocop_stars=5, ocop_certificate_no="GIẢ-1",
            ocop_certified_on=date(2026, 1, 1)))
    assert "Only officers" in error.value.message
    session.rollback()
    session.expire_all()
    stored = session.get(Producer, place.pa.id)
    assert (stored.ocop_stars, stored.ocop_certificate_no, stored.version) == (None, None, 1)


def test_a_save_from_an_old_version_is_refused(session, place):
    update_producer(session, place.officer_a, place.pa, _data_of(place.pa, village="Bản Công"),
                    version=1)
    with pytest.raises(Stale):
        update_producer(session, place.officer_a, place.pa,
                        _data_of(place.pa, representative="Lò Văn Pánh"), version=1)
    assert (place.pa.version, place.pa.representative) == (2, "")


def test_update_without_changes_writes_no_history(session, place):
    before = _count(session, ChangeRecord)
    assert update_producer(session, place.officer_a, place.pa, _data_of(place.pa)) == []
    assert _count(session, ChangeRecord) == before


def test_update_to_another_producers_phone_or_code_is_a_conflict(session, place):
    with pytest.raises(Conflict) as phone:
        update_producer(session, place.officer_a, place.pa,
                        _data_of(place.pa, phone="0987 654 321"))
    assert phone.value.field == "phone" and "code" not in phone.value.params
    with pytest.raises(Conflict) as code:
        update_producer(session, place.officer_a, place.pa, _data_of(place.pa, code="PB-001"))
    assert code.value.field == "code"


def test_update_keeping_its_own_phone_and_code_is_not_a_conflict(session, place):
    changed = update_producer(session, place.officer_a, place.pa,
                              _data_of(place.pa, phone="+84 912 345 678",
                                       representative="Lò Văn Pánh"))
    assert changed == ["representative"]


def test_officer_cannot_move_a_producer_to_a_commune_not_theirs(session, place):
    with pytest.raises(NotFound):
        update_producer(session, place.officer_a, place.pa, _data_of(place.pa, commune=place.ban_b))
    session.rollback()
    assert session.get(Producer, place.pa.id).commune_id == place.ban_a.id


# --- another commune's officer sees nothing -------------------------------------------------

def test_other_commune_officer_gets_not_found_and_changes_nothing(session, place):
    pa_id, records = place.pa.id, _count(session, ChangeRecord)
    with pytest.raises(NotFound):
        get_producer(session, place.officer_b, pa_id)
    with pytest.raises(NotFound):
        update_producer(session, place.officer_b, place.pa, _data_of(place.pa, name="Đổi tên"))
    with pytest.raises(NotFound):
        record_consent(session, place.officer_b, place.pa, ConsentPurpose.publish_booth)
    with pytest.raises(NotFound):
        withdraw_consent(session, place.officer_b, place.pa, ConsentPurpose.publish_booth)
    with pytest.raises(NotFound):
        record_training(session, place.officer_b, place.pa, held_on=TODAY, topic="Bán hàng",
                        trainer="Sở Công Thương")
    with pytest.raises(NotFound):
        give_login(session, place.officer_b, place.pa, password=PIN)
    session.rollback()
    session.expire_all()
    assert session.get(Producer, pa_id).name == "Hộ Lò Văn Pánh"
    assert _count(session, ChangeRecord) == records
    assert _count(session, Consent) == 0


def test_get_producer_answers_the_same_for_missing_and_hidden_producers(session, place):
    with pytest.raises(NotFound) as hidden:
        get_producer(session, place.officer_b, place.pa.id)
    with pytest.raises(NotFound) as missing:
        get_producer(session, place.officer_b, 999_999)
    assert str(hidden.value) == str(missing.value)
    assert get_producer(session, place.officer_a, place.pa.id) is place.pa
    assert get_producer(session, place.admin, place.pb.id) is place.pb


# --- consent --------------------------------------------------------------------------------

def test_consent_is_recorded_with_its_witness_and_in_history(session, place):
    consent = record_consent(session, place.officer_a, place.pa, "publish_booth")
    session.commit()
    assert consent.witness_id == place.officer_a.id and consent.withdrawn_at is None
    assert has_consent(session, place.pa.id, ConsentPurpose.publish_booth)
    assert not has_consent(session, place.pa.id, ConsentPurpose.show_phone)
    assert not has_consent(session, place.pb.id, ConsentPurpose.publish_booth)
    assert _actions(session, place.pa)[-1] == ("consent_given", "publish_booth",
                                               place.officer_a.id)
    assert history(session, place.pa.id)[0].actor.username == "officer_a"


def test_recording_the_same_consent_twice_keeps_one(session, place):
    first = record_consent(session, place.officer_a, place.pa, ConsentPurpose.show_phone)
    again = record_consent(session, place.admin, place.pa, ConsentPurpose.show_phone)
    assert again.id == first.id
    assert _count(session, Consent) == 1
    assert [a for a, _, _ in _actions(session, place.pa)].count("consent_given") == 1


def test_withdrawal_is_recorded_with_who_withdrew_and_ends_the_consent(session, place):
    record_consent(session, place.officer_a, place.pa, ConsentPurpose.publish_booth)
    session.commit()
    consent = withdraw_consent(session, place.admin, place.pa, ConsentPurpose.publish_booth)
    session.commit()
    assert consent.withdrawn_by_id == place.admin.id and consent.withdrawn_at is not None
    assert not has_consent(session, place.pa.id, ConsentPurpose.publish_booth)
    assert register.active_consents(session, place.pa.id) == {}
    assert _actions(session, place.pa)[-2:] == [
        ("consent_given", "publish_booth", place.officer_a.id),
        ("consent_withdrawn", "publish_booth", place.admin.id)]
    renewed = record_consent(session, place.officer_a, place.pa, ConsentPurpose.publish_booth)
    assert renewed.id != consent.id
    assert has_consent(session, place.pa.id, "publish_booth")


def test_withdrawing_a_consent_that_was_never_given_is_invalid(session, place):
    with pytest.raises(Invalid) as caught:
        withdraw_consent(session, place.officer_a, place.pa, ConsentPurpose.publish_booth)
    assert caught.value.field == "purpose"


def test_unknown_consent_purpose_is_refused(session, place):
    with pytest.raises(ValueError):
        record_consent(session, place.officer_a, place.pa, "sell_my_data")
    assert _count(session, Consent) == 0


# --- producer logins ------------------------------------------------------------------------

def test_producer_login_uses_the_phone_and_sees_only_itself(session, place):
    login = give_login(session, place.officer_a, place.pa, password=PIN)
    session.commit()
    assert (login.username, login.role, login.producer_id) == ("0912345678", Role.producer,
                                                               place.pa.id)
    assert _actions(session, place.pa)[-1] == ("login_given", "0912345678", place.officer_a.id)
    page = list_producers(session, login)
    assert [p.code for p in page.items] == ["PA-001"] and page.total == 1
    assert list_producers(session, login, query="Chè").total == 0
    scoped = session.scalars(select(Producer.code).where(producer_scope(login, Producer))).all()
    assert scoped == ["PA-001"]
    with pytest.raises(NotFound):
        get_producer(session, login, place.pb.id)
    assert get_producer(session, login, place.pa.id) is place.pa


def test_a_producer_gets_one_login_only(session, place):
    give_login(session, place.officer_a, place.pa, password=PIN)
    with pytest.raises(Conflict):
        give_login(session, place.officer_a, place.pa, password="593817", username="pa2")
    assert _count(session, User) == 4


def test_producer_without_phone_needs_a_chosen_user_name(session, place):
    producer = make_producer(session, commune=place.ban_a, phone=None)
    with pytest.raises(Invalid) as caught:
        give_login(session, place.officer_a, producer, password=PIN)
    assert caught.value.field == "username"
    login = give_login(session, place.officer_a, producer, password=PIN,
                       username="  Ho.Lo.Un ")
    assert login.username == "ho.lo.un"


def test_producer_login_cannot_act_as_staff(session, place):
    login = give_login(session, place.officer_a, place.pa, password=PIN)
    with pytest.raises(NotAllowed):
        record_consent(session, login, place.pa, ConsentPurpose.publish_booth)
    with pytest.raises(NotAllowed):
        give_login(session, login, place.pa, password=PIN, username="again")


@pytest.mark.parametrize("actor", ["anonymous", "officer_without_communes"])
def test_scope_of_actors_without_rights_is_empty(session, place, actor):
    class Anonymous:
        is_authenticated = False

    class Stranded:
        is_authenticated, role, commune_ids, producer_id = True, Role.officer, set(), None

    who = Anonymous() if actor == "anonymous" else Stranded()
    assert list_producers(session, who).total == 0
    assert not can_manage_producer(who, place.pa)


# --- listing and search ---------------------------------------------------------------------

def test_officer_lists_own_communes_and_admin_lists_all(session, place):
    assert [p.code for p in list_producers(session, place.officer_a).items] == ["PA-001"]
    assert [p.code for p in list_producers(session, place.officer_b).items] == ["PB-001"]
    assert {p.code for p in list_producers(session, place.admin).items} == {"PA-001", "PB-001"}
    assert list_producers(session, place.officer_a, commune_id=place.ban_b.id).total == 0
    assert list_producers(session, place.admin, commune_id=place.ban_b.id).total == 1


@pytest.mark.parametrize("query", ["lo van panh", "LÒ VĂN PÁNH", "Pánh", "nam chim",
                                   "0912345678", "pa-001", _nfd("Lò Văn")])
def test_search_ignores_case_and_diacritics(session, place, query):
    assert [p.code for p in list_producers(session, place.admin, query=query).items] == ["PA-001"]


def test_search_with_capital_d_stroke_finds_lowercase_d_stroke(session, place):
    make_producer(session, commune=place.ban_a, code="PA-002", name="Hộ sửa đồ điện Lò Văn Ẻn")
    assert [p.code for p in list_producers(session, place.admin, query="ĐIỆN").items] == ["PA-002"]
    assert [p.code for p in list_producers(session, place.admin, query="dien").items] == ["PA-002"]


def test_search_needs_every_word_and_treats_wildcards_literally(session, place):
    make_producer(session, commune=place.ban_a, code="PA_9", name="Hộ Lò 100%")
    assert list_producers(session, place.admin, query="lo chè").total == 0
    assert [p.code for p in list_producers(session, place.admin, query="100%").items] == ["PA_9"]
    assert [p.code for p in list_producers(session, place.admin, query="pa_").items] == ["PA_9"]
    assert list_producers(session, place.admin, query="_").total == 1
    assert list_producers(session, place.admin, query="%").total == 1


def test_search_follows_an_update(session, place):
    update_producer(session, place.admin, place.pa, _data_of(place.pa, name="Hộ Quàng Thị Hoa"))
    assert list_producers(session, place.admin, query="quang thi hoa").total == 1
    assert list_producers(session, place.admin, query="panh").total == 0


def test_list_is_paginated_by_name(session, place):
    for i in range(5):
        make_producer(session, commune=place.ban_a, code=f"PG-{i}", name=f"Hộ Giàng {i}")
    first = list_producers(session, place.officer_a, query="giang", per_page=2)
    last = list_producers(session, place.officer_a, query="giang", per_page=2, page=99)
    assert (first.total, first.pages, first.page) == (5, 3, 1)
    assert [p.code for p in first.items] == ["PG-0", "PG-1"]
    assert (last.page, [p.code for p in last.items]) == (3, ["PG-4"])


def test_find_duplicates_by_code_or_any_phone_format_within_scope(session, place):
    assert [p.code for p in find_duplicates(session, place.admin, code="PB-001")] == ["PB-001"]
    assert [p.code for p in find_duplicates(session, place.admin, phone="+84 987.654.321")] == [
        "PB-001"]
    both = find_duplicates(session, place.admin, code="PA-001", phone="0987654321")
    assert sorted(p.code for p in both) == ["PA-001", "PB-001"]
    assert find_duplicates(session, place.officer_a, phone="0987654321") == []
    assert find_duplicates(session, place.admin, phone="not a phone") == []
    assert find_duplicates(session, place.admin) == []


# --- training, history and progress ---------------------------------------------------------

def test_training_is_recorded_in_history(session, place):
    training = record_training(session, place.officer_a, place.pa, held_on=TODAY,
                               topic=_nfd("Bán hàng trên mạng"), trainer="Sở Công Thương")
    assert training.topic == "Bán hàng trên mạng"
    assert training.recorded_by_id == place.officer_a.id
    assert _actions(session, place.pa)[-1] == ("training_recorded", "Bán hàng trên mạng",
                                               place.officer_a.id)
    assert register.trainings(session, place.pa.id) == [training]


@pytest.mark.parametrize("overrides, field", [
    ({"topic": " "}, "topic"),
    ({"trainer": ""}, "trainer"),
    ({"held_on": utcnow().date() + timedelta(days=2)}, "held_on"),
])
def test_training_needs_topic_trainer_and_a_past_date(session, place, overrides, field):
    values = {"held_on": TODAY, "topic": "Đóng gói", "trainer": "Sở Công Thương", **overrides}
    with pytest.raises(Invalid) as caught:
        record_training(session, place.officer_a, place.pa, **values)
    assert caught.value.field == field


def test_history_is_newest_first_and_limited(session, place):
    for i in range(3):
        record_training(session, place.officer_a, place.pa, held_on=TODAY, topic=f"Buổi {i}",
                        trainer="Sở Công Thương")
    actions = [(r.action, r.detail) for r in history(session, place.pa.id)]
    assert actions == [("training_recorded", "Buổi 2"), ("training_recorded", "Buổi 1"),
                       ("training_recorded", "Buổi 0"), ("registered", "")]
    assert len(history(session, place.pa.id, limit=2)) == 2


def test_progress_steps_follow_what_was_recorded(session, place):
    def done():
        return {s.key for s in onboarding_progress(session, place.pa) if s.done}

    assert done() == {"registered"}
    record_consent(session, place.officer_a, place.pa, ConsentPurpose.publish_booth)
    record_training(session, place.officer_a, place.pa, held_on=TODAY, topic="Đóng gói",
                    trainer="Sở Công Thương")
    give_login(session, place.officer_a, place.pa, password=PIN)
    update_producer(session, place.officer_a, place.pa,
                    _data_of(place.pa, ocop_stars=4, ocop_certified_on=TODAY))
    assert done() == {"registered", "consent", "training", "login", "ocop"}
    record_consent(session, place.officer_b, place.pb, ConsentPurpose.show_phone)
    assert {s.key for s in onboarding_progress(session, place.pb) if s.done} == {"registered"}
