"""Linked payment accounts: consent first, officers verify, changes go back to pending and
are written into the producer's history, withdrawn consent disables them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ocopkit.errors import Invalid, NotFound
from ocopkit.users import Role
from onboarding.models import ChangeRecord, ConsentPurpose
from onboarding.producers import onboarding_progress, record_consent, withdraw_consent
from payments import accounts
from payments.accounts import AccountDetails
from payments.models import AccountKind, AccountStatus
from tests.factories import make_commune, make_producer, make_user

BANK = AccountDetails(AccountKind.bank, "0011 0019 32418", "LÒ VĂN PÁNH", bank_bin="970415")


@pytest.fixture
def world(session):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune)
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    return officer, producer


def test_linking_needs_consent(session):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune)
    with pytest.raises(Invalid):
        accounts.link_account(session, officer, producer, BANK)
    assert accounts.accounts_of(session, producer.id) == []


def test_bank_account_is_linked_pending_then_verified_by_an_officer(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    assert (account.status, account.account_number, account.provider) == (
        AccountStatus.pending, "0011001932418", "VietinBank")
    accounts.verify_account(session, officer, account, "in_person")
    assert account.status == AccountStatus.verified
    assert account.verifications[0].verified_by_id == officer.id
    steps = {s.key: s.done for s in onboarding_progress(session, producer)}
    assert steps["payment_account"] is True


def test_a_producer_cannot_verify_its_own_account(session, world):
    officer, producer = world
    login = make_user(session, Role.producer, producer=producer)
    account = accounts.link_account(session, login, producer, BANK)
    with pytest.raises(Invalid):
        accounts.verify_account(session, login, account, "statement")
    assert account.status == AccountStatus.pending


def test_changing_a_verified_account_sends_it_back_to_pending_and_is_recorded(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    accounts.verify_account(session, officer, account, "test_transfer", reference="FT2611")
    changed = accounts.change_account(session, officer, account, AccountDetails(
        AccountKind.bank, "9999888877776666", "LÒ VĂN PÁNH", bank_bin="970405"))
    assert set(changed) == {"bank_bin", "provider", "account_number"}
    assert account.status == AccountStatus.pending
    assert account.verifications[0].ended_at is not None
    details = session.scalars(select(ChangeRecord.detail).where(
        ChangeRecord.producer_id == producer.id, ChangeRecord.action == "account_changed")).all()
    assert details == ["VietinBank •••• 2418 (LÒ VĂN PÁNH) → Agribank •••• 6666 (LÒ VĂN PÁNH)"]
    assert "9999888877776666" not in details[0]


def test_unchanged_details_change_nothing(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    accounts.verify_account(session, officer, account, "statement")
    assert accounts.change_account(session, officer, account, BANK) == []
    assert account.status == AccountStatus.verified


@pytest.mark.parametrize("details, field", [
    (AccountDetails(AccountKind.bank, "123", "A", bank_bin="970415"), "account_number"),
    (AccountDetails(AccountKind.bank, "12345678", "A", bank_bin="123456"), "bank_bin"),
    (AccountDetails(AccountKind.bank, "12345678", " ", bank_bin="970415"), "holder_name"),
    (AccountDetails(AccountKind.ewallet, "0912345678", "A", provider="PayPal"), "provider"),
    (AccountDetails(AccountKind.mobile_money, "12", "A", provider="Viettel Money"), "phone"),
])
def test_bad_details_are_refused(session, world, details, field):
    officer, producer = world
    with pytest.raises(Invalid) as error:
        accounts.link_account(session, officer, producer, details)
    assert error.value.field == field


def test_mobile_money_phone_is_normalised(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, AccountDetails(
        AccountKind.mobile_money, "+84 912 000 111", "Lò Thị Ún", provider="Viettel Money"))
    assert account.account_number == "0912000111"


def test_officer_of_another_commune_gets_not_found(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    stranger = make_user(session, Role.officer)
    for action in (lambda: accounts.get_account(session, stranger, account.id),
                   lambda: accounts.verify_account(session, stranger, account, "statement"),
                   lambda: accounts.change_account(session, stranger, account, BANK),
                   lambda: accounts.disable_account(session, stranger, account)):
        with pytest.raises(NotFound):
            action()
    assert account.status == AccountStatus.pending


def test_withdrawn_consent_disables_every_account(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    accounts.verify_account(session, officer, account, "statement")
    withdraw_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    assert account.status == AccountStatus.disabled
    assert account.verifications[0].ended_at is not None
    assert not accounts.has_verified_account(session, producer.id)


def test_mask_keeps_only_the_last_four():
    assert accounts.mask("0011001932418") == "•••• 2418"
    assert accounts.mask("12") == "••••"


# --- a changed number needs a second person ------------------------------------------------

NEW_NUMBER = AccountDetails(AccountKind.bank, "9999888877776666", "LÒ VĂN PÁNH", bank_bin="970405")


@pytest.fixture
def changed(session, world):
    """A verified account whose number the officer then changed: pending again."""
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    accounts.verify_account(session, officer, account, "in_person")
    accounts.change_account(session, officer, account, NEW_NUMBER)
    return officer, producer, account


@pytest.mark.parametrize("method", ["in_person", "statement"])
def test_the_officer_who_typed_a_new_number_cannot_verify_it(session, changed, method):
    officer, producer, account = changed
    with pytest.raises(Invalid) as error:
        accounts.verify_account(session, officer, account, method)
    assert "another officer" in error.value.message
    assert account.status == AccountStatus.pending
    assert [v.ended_at is not None for v in account.verifications] == [True]


def test_another_officer_verifies_a_changed_number(session, changed):
    officer, producer, account = changed
    colleague = make_user(session, Role.officer, communes=[producer.commune])
    accounts.verify_account(session, colleague, account, "in_person")
    assert account.status == AccountStatus.verified
    assert account.verifications[-1].verified_by_id == colleague.id
    assert account.number_changed_by_id is None  # verified: nobody is waiting for a second look


def test_a_new_account_replacing_a_verified_one_needs_a_second_person_too(session, world):
    officer, producer = world
    old = accounts.link_account(session, officer, producer, BANK)
    accounts.verify_account(session, officer, old, "in_person")
    accounts.disable_account(session, officer, old)
    new = accounts.link_account(session, officer, producer, NEW_NUMBER)
    with pytest.raises(Invalid):
        accounts.verify_account(session, officer, new, "in_person")
    assert new.status == AccountStatus.pending


def test_a_test_transfer_lets_the_same_officer_verify_with_its_reference(session, changed):
    officer, producer, account = changed
    with pytest.raises(Invalid) as error:
        accounts.verify_account(session, officer, account, "test_transfer", reference="  ")
    assert error.value.field == "reference"
    assert account.status == AccountStatus.pending
    accounts.verify_account(session, officer, account, "test_transfer", reference=" FT2611 0042 ")
    assert account.status == AccountStatus.verified
    assert account.verifications[-1].reference == "FT2611 0042"


def test_a_first_test_transfer_verification_needs_its_reference_too(session, world):
    officer, producer = world
    account = accounts.link_account(session, officer, producer, BANK)
    with pytest.raises(Invalid) as error:
        accounts.verify_account(session, officer, account, "test_transfer")
    assert error.value.field == "reference"
    assert account.status == AccountStatus.pending


def test_history_shows_each_step_with_masked_numbers_only(session, changed):
    officer, producer, account = changed
    colleague = make_user(session, Role.officer, communes=[producer.commune])
    accounts.verify_account(session, colleague, account, "test_transfer", reference="FT2611")
    accounts.disable_account(session, colleague, account)
    rows = session.execute(select(ChangeRecord.action, ChangeRecord.detail).where(
        ChangeRecord.producer_id == producer.id, ChangeRecord.action.like("account_%"))
        .order_by(ChangeRecord.id)).all()
    assert [action for action, _ in rows] == ["account_linked", "account_verified",
                                              "account_changed", "account_verified",
                                              "account_disabled"]
    for _, detail in rows:
        assert "0011001932418" not in detail and "9999888877776666" not in detail
        assert "•••• 2418" in detail or "•••• 6666" in detail
    assert "FT2611" in rows[3][1]
