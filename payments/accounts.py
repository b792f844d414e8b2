"""Linking, changing, verifying and disabling producers' payment accounts.

Nobody can quietly redirect a household's money: changing a verified account's details sends
it back to pending and writes the change (masked) into the producer's history, and a number
that replaces a verified destination is verified by someone other than the person who typed
it, or by a test transfer whose reference is recorded."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_commune, can_manage_producer, is_staff
from ocopkit.db import utcnow
from ocopkit.errors import Invalid, N_, NotFound
from ocopkit.text import nfc
from onboarding.models import ConsentPurpose, Producer
from onboarding.producers import has_consent, normalise_phone, record_change
from payments.banks import BANKS, E_WALLETS, MOBILE_MONEY
from payments.models import (
    AccountKind, AccountStatus, AccountVerification, LinkedAccount, VerificationMethod,
)


@dataclass
class AccountDetails:
    kind: AccountKind
    account_number: str
    holder_name: str
    bank_bin: str | None = None
    provider: str = ""


def mask(number: str) -> str:
    """Only the last 4 characters stay readable: '0011001932418' -> '•••• 2418'."""
    return "•••• " + number[-4:] if len(number) > 4 else "••••"


def _clean(details: AccountDetails) -> AccountDetails:
    kind = AccountKind(details.kind)
    number = "".join((details.account_number or "").split())
    holder = nfc(details.holder_name)
    if not holder:
        raise Invalid("holder_name", N_("The account holder's name is required."))
    if kind == AccountKind.bank:
        if details.bank_bin not in BANKS:
            raise Invalid("bank_bin", N_("Choose the bank from the list."))
        if not (number.isascii() and number.isalnum() and 4 <= len(number) <= 19):
            raise Invalid("account_number", N_("A bank account number has 4 to 19 letters or "
                                               "digits."))
        return AccountDetails(kind, number, holder, details.bank_bin, BANKS[details.bank_bin])
    providers = E_WALLETS if kind == AccountKind.ewallet else MOBILE_MONEY
    if details.provider not in providers:
        raise Invalid("provider", N_("Choose the provider from the list."))
    if kind == AccountKind.mobile_money:
        number = normalise_phone(number) or ""
        if not number:
            raise Invalid("account_number", N_("A mobile-money account needs its phone number."))
    elif not 3 <= len(number) <= 40:
        raise Invalid("account_number", N_("The e-wallet account id is required."))
    return AccountDetails(kind, number, holder, None, details.provider)


def _producer(session: Session, account: LinkedAccount) -> Producer:
    return session.get(Producer, account.producer_id)


def get_account(session: Session, actor, account_id: int) -> LinkedAccount:
    account = session.get(LinkedAccount, account_id)
    if account is None or not can_manage_producer(actor, _producer(session, account)):
        raise NotFound(N_("No such account."))
    return account


def accounts_of(session: Session, producer_id: int) -> list[LinkedAccount]:
    return list(session.scalars(select(LinkedAccount).where(
        LinkedAccount.producer_id == producer_id).order_by(LinkedAccount.id)))


def verified_bank_account(session: Session, producer_id: int) -> LinkedAccount | None:
    """The producer's first verified bank account (the one its VietQR codes pay into)."""
    return session.scalar(select(LinkedAccount).where(
        LinkedAccount.producer_id == producer_id, LinkedAccount.kind == AccountKind.bank,
        LinkedAccount.status == AccountStatus.verified).order_by(LinkedAccount.id).limit(1))


def booth_bank_account(session: Session, producer_id: int) -> LinkedAccount | None:
    """The bank account whose static VietQR buyers may see on the producer's booth: only
    while shop.catalogue.vietqr_shown() holds (public booth, payment consent, verified)."""
    from shop.catalogue import vietqr_shown
    from shop.models import Booth

    shown = session.scalar(select(Booth.id).join(Producer, Producer.id == Booth.producer_id)
                           .where(Producer.id == producer_id, vietqr_shown()))
    return verified_bank_account(session, producer_id) if shown else None


def has_verified_account(session: Session, producer_id: int) -> bool:
    return session.scalar(select(LinkedAccount.id).where(
        LinkedAccount.producer_id == producer_id,
        LinkedAccount.status == AccountStatus.verified).limit(1)) is not None


def _was_ever_verified(session: Session, producer_id: int) -> bool:
    """Has any account of the producer been verified? Then a new number replaces a
    destination buyers already paid into."""
    return session.scalar(select(AccountVerification.id).join(
        LinkedAccount, LinkedAccount.id == AccountVerification.account_id).where(
        LinkedAccount.producer_id == producer_id).limit(1)) is not None


def link_account(session: Session, actor, producer: Producer,
                 details: AccountDetails) -> LinkedAccount:
    """Add a pending account; the household must have consented to linking one. An account
    added after another was verified is a replacement: a second person verifies it."""
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such producer."))
    if not has_consent(session, producer.id, ConsentPurpose.link_payment_account):
        raise Invalid(None, N_("Record the household's consent to link a payment account "
                               "first."))
    clean = _clean(details)
    account = LinkedAccount(producer_id=producer.id, kind=clean.kind, bank_bin=clean.bank_bin,
                            provider=clean.provider, account_number=clean.account_number,
                            holder_name=clean.holder_name, status=AccountStatus.pending)
    if _was_ever_verified(session, producer.id):
        account.number_changed_by_id = getattr(actor, "id", None)
    session.add(account)
    session.flush()
    record_change(session, actor, producer, "account_linked",
                  f"{clean.provider} {mask(clean.account_number)}")
    return account


def _end_verification(account: LinkedAccount) -> None:
    for period in account.verifications:
        if period.ended_at is None:
            period.ended_at = utcnow()


def change_account(session: Session, actor, account: LinkedAccount,
                   details: AccountDetails) -> list[str]:
    """Change details; a verified account goes back to pending. Returns changed fields."""
    producer = _producer(session, account)
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such account."))
    clean = _clean(details)
    before = f"{account.provider} {mask(account.account_number)} ({account.holder_name})"
    changed = [name for name in ("kind", "bank_bin", "provider", "account_number", "holder_name")
               if getattr(account, name) != getattr(clean, name)]
    if not changed:
        return []
    for name in changed:
        setattr(account, name, getattr(clean, name))
    if {"bank_bin", "account_number"} & set(changed) and _was_ever_verified(session,
                                                                           producer.id):
        account.number_changed_by_id = getattr(actor, "id", None)
    if account.status == AccountStatus.verified:
        _end_verification(account)
        account.status = AccountStatus.pending
    session.flush()
    after = f"{account.provider} {mask(account.account_number)} ({account.holder_name})"
    record_change(session, actor, producer, "account_changed", f"{before} → {after}")
    return changed


TYPED_IT = N_("You typed this new account number, so another officer must verify it, or "
             "record the reference of a test transfer seen in the account.")


def verify_account(session: Session, actor, account: LinkedAccount,
                   method: VerificationMethod | str, *, reference: str = "") -> LinkedAccount:
    """An officer of the producer's commune (or an admin) confirms the account is real. A
    test transfer is only evidence with its reference; a number that replaced a verified
    one needs a second person unless a test transfer proved it."""
    producer = _producer(session, account)
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such account."))
    if not (is_staff(actor) and can_manage_commune(actor, producer.commune_id)):
        raise Invalid(None, N_("Only an officer of the commune can verify an account."))
    if account.status != AccountStatus.pending:
        raise Invalid(None, N_("Only a pending account can be verified."))
    method = VerificationMethod(method)
    reference = " ".join((reference or "").split())[:80]
    if method == VerificationMethod.test_transfer and not reference:
        raise Invalid("reference", N_("Enter the reference of the test transfer seen in the "
                                      "account."))
    if (account.number_changed_by_id == actor.id
            and method != VerificationMethod.test_transfer):
        raise Invalid(None, TYPED_IT)
    account.status = AccountStatus.verified
    account.number_changed_by_id = None
    account.verifications.append(AccountVerification(
        method=method, verified_by_id=actor.id, verified_at=utcnow(),
        reference=reference or None))
    session.flush()
    evidence = f"{method.value}: {reference}" if reference else method.value
    record_change(session, actor, producer, "account_verified",
                  f"{account.provider} {mask(account.account_number)} ({evidence})")
    return account


def disable_account(session: Session, actor, account: LinkedAccount) -> LinkedAccount:
    producer = _producer(session, account)
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such account."))
    if account.status == AccountStatus.disabled:
        return account
    _end_verification(account)
    account.status = AccountStatus.disabled
    session.flush()
    record_change(session, actor, producer, "account_disabled",
                  f"{account.provider} {mask(account.account_number)}")
    return account


def disable_all(session: Session, actor, producer: Producer) -> int:
    """Withdrawn consent: every account of the producer stops being used."""
    accounts = [a for a in accounts_of(session, producer.id) if a.status != AccountStatus.disabled]
    for account in accounts:
        disable_account(session, actor, account)
    return len(accounts)
