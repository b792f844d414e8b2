"""VietQR transfers and what the ledger records as orders move on, without HTTP: checkout
needs a verified bank account, claim, confirm once (by the producer or an officer of the
commune), the order's payload, cash at delivery, cancelling, and the order's payment state."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from ocopkit.errors import Conflict, Invalid, NotFound
from ocopkit.users import Role
from onboarding.models import ChangeRecord, ConsentPurpose
from onboarding.producers import record_consent
from payments.accounts import (
    AccountDetails, change_account, disable_account, link_account, verify_account,
)
from payments.models import (
    AccountKind, AttemptStatus, BankTransfer, Channel, ConfirmedHow, EntryKind, EntryStatus,
    LedgerEntry, TransferStatus,
)
from payments.settlement import PaymentState, after_status_change, payment_state
from payments.transactions import new_attempt
from payments.transfers import (
    claim_transfer, confirm_transfer, expect_transfers, is_payable, order_payload, transfer_of,
)
from payments.vietqr import parse_tlv
from shop.models import BoothStatus, Order, OrderStatus
from shop.orders import change_order_status, place_order
from tests.factories import make_booth, make_commune, make_producer, make_product, make_user

BUYER = {"buyer_name": "Trần Thị Bình", "buyer_phone": "0987654321",
         "delivery_address": "5 Trần Phú, Đà Lạt"}


@pytest.fixture
def shop(session):
    """A published booth selling tea at 120.000 ₫, its producer's login and an officer."""
    commune = make_commune(session, name="Mường Phăng")
    producer = make_producer(session, commune=commune, name="Hộ Lò Văn Pánh")
    booth = make_booth(session, producer=producer, status=BoothStatus.published)
    product = make_product(session, booth=booth, price_vnd=120000, stock=10)
    officer = make_user(session, Role.officer, communes=[commune])
    owner = make_user(session, Role.producer, producer=producer)
    return {"producer": producer, "product": product, "officer": officer, "owner": owner}


def _bank_account(session, shop, *, verified=True):
    officer, producer = shop["officer"], shop["producer"]
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    account = link_account(session, officer, producer, AccountDetails(
        AccountKind.bank, "0011001932418", "LO VAN PANH", bank_bin="970415"))
    if verified:
        verify_account(session, officer, account, "in_person")
    return account


def _order(session, shop, method="vietqr", quantity=2) -> Order:
    [order] = place_order(session, lines=[(shop["product"].id, quantity)],
                          payment_method=method, **BUYER)
    expect_transfers(session, [order])
    return order


def _sales(session, order):
    return list(session.scalars(select(LedgerEntry).where(
        LedgerEntry.order_id == order.id, LedgerEntry.kind == EntryKind.sale)))


def _move(session, actor, order, *actions):
    for action in actions:
        change_order_status(session, actor, order, action)
        after_status_change(session, actor, order)


# --- checkout -------------------------------------------------------------------------------

@pytest.mark.parametrize("account", [None, "pending"])
def test_vietqr_checkout_needs_a_verified_bank_account(session, shop, account):
    if account == "pending":
        _bank_account(session, shop, verified=False)
    [order] = place_order(session, lines=[(shop["product"].id, 1)], payment_method="vietqr",
                          **BUYER)
    with pytest.raises(Invalid) as error:
        expect_transfers(session, [order])
    assert error.value.field == "payment_method"
    assert error.value.params["booth"] == order.booth.title


def test_card_and_cash_orders_expect_no_transfer(session, shop):
    orders = [_order(session, shop, method) for method in ("card", "cash")]
    assert expect_transfers(session, orders) == []
    assert session.scalars(select(BankTransfer)).all() == []


def test_vietqr_order_expects_its_total_into_the_verified_account(session, shop):
    account = _bank_account(session, shop)
    order = _order(session, shop, quantity=2)
    transfer = transfer_of(session, order.id)
    assert (transfer.amount_vnd, transfer.account_id, transfer.status) == (
        240000, account.id, TransferStatus.expected)
    assert transfer.purpose == f"OCOP {order.reference}"


def test_order_payload_carries_amount_reference_and_account(session, shop):
    _bank_account(session, shop)
    order = _order(session, shop, quantity=3)
    fields = parse_tlv(order_payload(transfer_of(session, order.id)))
    assert fields["01"] == "12" and fields["54"] == "360000" and fields["53"] == "704"
    assert parse_tlv(fields["62"])["08"] == f"OCOP {order.reference}"
    beneficiary = parse_tlv(parse_tlv(fields["38"])["01"])
    assert beneficiary == {"00": "970415", "01": "0011001932418"}


def test_checkout_stores_the_destination_it_shows(session, shop):
    _bank_account(session, shop)
    transfer = transfer_of(session, _order(session, shop).id)
    assert (transfer.bank_bin, transfer.account_number, transfer.holder_name) == (
        "970415", "0011001932418", "LO VAN PANH")


def test_an_edited_account_changes_no_open_orders_payload(session, shop):
    account = _bank_account(session, shop)
    order = _order(session, shop)
    before = order_payload(transfer_of(session, order.id))
    change_account(session, shop["officer"], account, AccountDetails(
        AccountKind.bank, "9999888877776666", "NGUOI KHAC", bank_bin="970405"))
    session.commit()
    session.expire_all()
    transfer = transfer_of(session, order.id)
    assert order_payload(transfer) == before
    assert "9999888877776666" not in order_payload(transfer)
    assert (transfer.account_number, transfer.holder_name) == ("0011001932418", "LO VAN PANH")
    assert is_payable(transfer)


def test_an_order_into_a_disabled_account_is_no_longer_payable(session, shop):
    account = _bank_account(session, shop)
    order = _order(session, shop)
    assert is_payable(transfer_of(session, order.id))
    disable_account(session, shop["officer"], account)
    assert not is_payable(transfer_of(session, order.id))


# --- claim and confirm ------------------------------------------------------------------------

def test_buyer_claim_moves_the_transfer_to_claimed_once(session, shop):
    _bank_account(session, shop)
    order = _order(session, shop)
    assert payment_state(session, order) == PaymentState.unpaid
    transfer = claim_transfer(session, order)
    first_claim = transfer.claimed_at
    assert transfer.status == TransferStatus.claimed and first_claim is not None
    assert claim_transfer(session, order).claimed_at == first_claim
    assert payment_state(session, order) == PaymentState.claimed
    assert _sales(session, order) == []


@pytest.mark.parametrize("who, how", [("owner", ConfirmedHow.producer),
                                      ("officer", ConfirmedHow.officer)])
def test_confirm_records_one_sale_and_a_history_record(session, shop, who, how):
    account = _bank_account(session, shop)
    order = _order(session, shop)
    claim_transfer(session, order)
    actor = shop[who]
    entry = confirm_transfer(session, actor, transfer_of(session, order.id), how=how)
    assert (entry.channel, entry.kind, entry.status, entry.amount_vnd, entry.account_id) == (
        Channel.vietqr, EntryKind.sale, EntryStatus.completed, 240000, account.id)
    assert entry.recorded_by_id == actor.id
    transfer = transfer_of(session, order.id)
    assert (transfer.status, transfer.confirmed_how, transfer.confirmed_by_id) == (
        TransferStatus.confirmed, how, actor.id)
    [record] = session.scalars(select(ChangeRecord).where(
        ChangeRecord.action == "transfer_confirmed"))
    assert record.actor_id == actor.id and order.reference in record.detail
    assert payment_state(session, order) == PaymentState.paid

    with pytest.raises(Conflict):
        confirm_transfer(session, actor, transfer, how=how)
    assert len(_sales(session, order)) == 1


def test_an_unclaimed_transfer_can_be_confirmed_too(session, shop):
    _bank_account(session, shop)
    order = _order(session, shop)
    confirm_transfer(session, shop["owner"], transfer_of(session, order.id),
                     how=ConfirmedHow.producer)
    assert len(_sales(session, order)) == 1


@pytest.mark.parametrize("stranger", ["officer", "producer", "buyer"])
def test_others_cannot_confirm_and_get_not_found(session, shop, stranger):
    _bank_account(session, shop)
    order = _order(session, shop)
    actor = {"officer": lambda: make_user(session, Role.officer),  # another commune
             "producer": lambda: make_user(session, Role.producer,
                                           producer=make_producer(session)),
             "buyer": lambda: None}[stranger]()
    with pytest.raises(NotFound):
        confirm_transfer(session, actor, transfer_of(session, order.id),
                         how=ConfirmedHow.officer)
    assert transfer_of(session, order.id).status == TransferStatus.expected
    assert _sales(session, order) == []


# --- cash, cancelling -----------------------------------------------------------------------

def test_cash_order_delivered_is_one_cash_sale(session, shop):
    order = _order(session, shop, "cash")
    owner = shop["owner"]
    _move(session, owner, order, "confirm", "ship")
    assert payment_state(session, order) == PaymentState.cash_due
    assert _sales(session, order) == []
    _move(session, owner, order, "deliver")
    [sale] = _sales(session, order)
    assert (sale.channel, sale.amount_vnd, sale.reference) == (
        Channel.cash, 240000, f"cash-{order.reference}")
    assert payment_state(session, order) == PaymentState.paid
    with pytest.raises(Invalid):  # delivered is final
        change_order_status(session, owner, order, "deliver")
    after_status_change(session, owner, order)  # called twice by mistake: still one sale
    assert len(_sales(session, order)) == 1


def test_cancelling_a_paid_order_is_refused_and_rolled_back(session, shop):
    _bank_account(session, shop)
    order = _order(session, shop)
    confirm_transfer(session, shop["owner"], transfer_of(session, order.id),
                     how=ConfirmedHow.producer)
    session.commit()
    change_order_status(session, shop["owner"], order, "cancel")
    with pytest.raises(Invalid) as error:
        after_status_change(session, shop["owner"], order)
    assert error.value.field == "status"
    session.rollback()  # what the view and CLI do on Invalid
    assert session.get(Order, order.id).status == OrderStatus.placed
    assert transfer_of(session, order.id).status == TransferStatus.confirmed
    assert payment_state(session, order) == PaymentState.paid


def test_cancelling_an_unpaid_vietqr_order_cancels_its_transfer(session, shop):
    _bank_account(session, shop)
    order = _order(session, shop)
    claim_transfer(session, order)
    transfer = transfer_of(session, order.id)
    _move(session, shop["owner"], order, "cancel")
    assert transfer_of(session, order.id).status == TransferStatus.cancelled
    assert transfer.status == TransferStatus.cancelled  # the loaded object is not stale
    assert payment_state(session, order) == PaymentState.cancelled
    with pytest.raises(Invalid):
        claim_transfer(session, order)
    with pytest.raises(Invalid) as error:
        confirm_transfer(session, shop["owner"], transfer, how=ConfirmedHow.producer)
    assert not isinstance(error.value, Conflict)
    assert _sales(session, order) == []


# --- payment state ----------------------------------------------------------------------------

def test_payment_state_of_card_orders(session, shop):
    order = _order(session, shop, "card")
    assert payment_state(session, order) == PaymentState.unpaid
    attempt = new_attempt(session, order)
    attempt.status = AttemptStatus.processing
    session.flush()
    assert payment_state(session, order) == PaymentState.processing
    common = {"producer_id": order.producer_id, "order_id": order.id, "channel": Channel.card,
              "platform": "ocopkit", "occurred_at": order.placed_at}
    session.add(LedgerEntry(kind=EntryKind.sale, status=EntryStatus.completed,
                            amount_vnd=240000, reference="pi_1", **common))
    session.flush()
    assert payment_state(session, order) == PaymentState.paid
    session.add(LedgerEntry(kind=EntryKind.refund, status=EntryStatus.completed,
                            amount_vnd=240000, reference="re_1", **common))
    session.flush()
    assert payment_state(session, order) == PaymentState.refunded


def test_payment_state_of_a_cancelled_unpaid_card_order(session, shop):
    order = _order(session, shop, "card")
    _move(session, shop["owner"], order, "cancel")
    assert payment_state(session, order) == PaymentState.cancelled
