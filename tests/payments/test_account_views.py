from __future__ import annotations

from sqlalchemy import select

from ocopkit.users import Role
from onboarding.models import ConsentPurpose
from onboarding.producers import record_consent
from payments.models import AccountStatus, LinkedAccount
from tests.factories import make_commune, make_producer, make_user


def _world(session):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune, name="Hộ Giàng A Dế")
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    session.commit()
    return officer, producer


def test_officer_links_and_verifies_a_bank_account(client, session, login):
    officer, producer = _world(session)
    login(officer.username)
    response = client.post(f"/payments/producers/{producer.id}/accounts", data={
        "kind": "bank", "bank_bin": "970405", "account_number": "7300 2050 12345",
        "holder_name": "GIÀNG A DẾ"})
    assert response.status_code == 302
    account = session.scalar(select(LinkedAccount))
    page = client.get(response.location).get_data(as_text=True)
    assert "Agribank" in page and "730020501234" in page
    client.post(f"/payments/accounts/{account.id}/verify", data={"method": "in_person"})
    session.refresh(account)
    assert account.status == AccountStatus.verified
    history = client.get(f"/producers/{producer.id}").get_data(as_text=True)
    assert "•••• 2345" in history


def test_bad_account_shows_the_error_and_writes_nothing(client, session, login):
    officer, producer = _world(session)
    login(officer.username)
    response = client.post(f"/payments/producers/{producer.id}/accounts", data={
        "kind": "bank", "bank_bin": "", "account_number": "12345678", "holder_name": "A"})
    assert response.status_code == 422
    assert session.scalar(select(LinkedAccount)) is None


def test_producer_sees_its_account_but_cannot_verify_it(client, session, login):
    officer, producer = _world(session)
    own = make_user(session, Role.producer, producer=producer)
    session.commit()
    login(own.username)
    client.post(f"/payments/producers/{producer.id}/accounts", data={
        "kind": "ewallet", "provider": "MoMo", "account_number": "0912000003",
        "holder_name": "Giàng A Dế"})
    account = session.scalar(select(LinkedAccount))
    page = client.get(f"/payments/producers/{producer.id}/accounts").get_data(as_text=True)
    assert "MoMo" in page and "/verify" not in page
    client.post(f"/payments/accounts/{account.id}/verify", data={"method": "statement"})
    session.refresh(account)
    assert account.status == AccountStatus.pending


def test_other_communes_officer_gets_404_and_nothing_changes(client, session, login):
    officer, producer = _world(session)
    stranger = make_user(session, Role.officer)
    session.add(LinkedAccount(producer_id=producer.id, kind="bank", bank_bin="970415",
                              provider="VietinBank", account_number="0011001932418",
                              holder_name="X"))
    session.commit()
    account = session.scalar(select(LinkedAccount))
    login(stranger.username)
    assert client.get(f"/payments/producers/{producer.id}/accounts").status_code == 404
    assert client.get(f"/payments/accounts/{account.id}/edit").status_code == 404
    assert client.post(f"/payments/accounts/{account.id}/verify",
                       data={"method": "statement"}).status_code == 404
    session.refresh(account)
    assert account.status == AccountStatus.pending


def test_verified_bank_account_gives_a_static_vietqr_that_decodes(client, session, login):
    import io

    import zxingcpp
    from PIL import Image

    from payments.accounts import AccountDetails, link_account, verify_account
    from payments.models import AccountKind
    from payments.vietqr import parse_tlv

    from shop.models import BoothStatus
    from tests.factories import make_booth

    officer, producer = _world(session)
    make_booth(session, producer=producer, status=BoothStatus.published)  # shown on its booth
    assert client.get(f"/payments/producers/{producer.id}/vietqr.png").status_code == 404
    account = link_account(session, officer, producer, AccountDetails(
        AccountKind.bank, "0011001932418", "GIANG A DE", bank_bin="970415"))
    verify_account(session, officer, account, "statement")
    session.commit()
    response = client.get(f"/payments/producers/{producer.id}/vietqr.png")
    assert response.mimetype == "image/png"
    text = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)).convert("L"))[0].text
    fields = parse_tlv(text)
    assert fields["01"] == "11" and "970415" in fields["38"] and "0011001932418" in fields["38"]


def test_the_officer_who_changed_a_number_is_told_another_must_verify_it(client, session, login):
    from payments.accounts import AccountDetails, change_account, link_account, verify_account
    from payments.models import AccountKind

    officer, producer = _world(session)
    account = link_account(session, officer, producer, AccountDetails(
        AccountKind.bank, "0011001932418", "GIANG A DE", bank_bin="970415"))
    verify_account(session, officer, account, "in_person")
    change_account(session, officer, account, AccountDetails(
        AccountKind.bank, "9999888877776666", "GIANG A DE", bank_bin="970415"))
    session.commit()
    login(officer.username)
    page = client.post(f"/payments/accounts/{account.id}/verify?lang=en",
                       data={"method": "in_person"}, follow_redirects=True)
    assert "another officer must verify it" in page.get_data(as_text=True)
    session.refresh(account)
    assert account.status == AccountStatus.pending

    client.post(f"/payments/accounts/{account.id}/verify",
                data={"method": "test_transfer", "reference": "FT26113300042"})
    session.refresh(account)
    assert account.status == AccountStatus.verified
    assert account.verifications[-1].reference == "FT26113300042"
