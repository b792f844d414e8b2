"""Bank statement lines confirm VietQR transfers when reference and amount both match: once,
however often the file is imported; bad rows refuse the whole file."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ocopkit.users import Role
from onboarding.imports import ImportFailed
from onboarding.models import ConsentPurpose
from onboarding.producers import record_consent
from payments.accounts import AccountDetails, link_account, verify_account
from payments.models import (
    AccountKind, BankTransfer, Channel, ConfirmedHow, EntryKind, LedgerEntry, TransferStatus,
)
from payments.settlement import after_status_change
from payments.statements import import_statement, parse_amount, references_in
from payments.transfers import claim_transfer, expect_transfers, transfer_of
from shop.models import BoothStatus
from shop.orders import change_order_status, place_order
from tests.factories import make_booth, make_commune, make_producer, make_product, make_user

HEADER = "date,amount,description\n"
BUYER = {"buyer_name": "Trần Thị Bình", "buyer_phone": "0987654321",
         "delivery_address": "5 Trần Phú, Đà Lạt"}


@pytest.fixture
def shop(session):
    """A published booth selling tea at 120.000 ₫ whose producer has a verified account."""
    commune = make_commune(session)
    producer = make_producer(session, commune=commune)
    booth = make_booth(session, producer=producer, status=BoothStatus.published)
    product = make_product(session, booth=booth, price_vnd=120000, stock=50)
    officer = make_user(session, Role.officer, communes=[commune])
    record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
    account = link_account(session, officer, producer, AccountDetails(
        AccountKind.bank, "0011001932418", "HO THU", bank_bin="970415"))
    verify_account(session, officer, account, "in_person")
    return {"product": product, "officer": officer}


def _order(session, shop, quantity=2, method="vietqr"):
    [order] = place_order(session, lines=[(shop["product"].id, quantity)],
                          payment_method=method, **BUYER)
    expect_transfers(session, [order])
    return order


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def _sales(session):
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.sale)))


def _status(session, order):
    return session.scalar(select(BankTransfer.status).where(BankTransfer.order_id == order.id))


def test_reference_and_amount_matching_confirms_and_records_one_vietqr_sale(session, shop):
    order, other = _order(session, shop), _order(session, shop, quantity=1)
    claim_transfer(session, order)
    result = import_statement(session, _csv(f"01/11/2026,240.000,OCOP {order.reference}"))
    assert result.confirmed == [order.reference]
    transfer = transfer_of(session, order.id)
    assert (transfer.status, transfer.confirmed_how) == (TransferStatus.confirmed,
                                                         ConfirmedHow.statement)
    [sale] = _sales(session)
    assert (sale.order_id, sale.channel, sale.amount_vnd) == (order.id, Channel.vietqr, 240000)
    assert _status(session, other) == TransferStatus.expected


def test_amount_mismatch_is_reported_and_not_confirmed(session, shop):
    order = _order(session, shop)
    result = import_statement(session, _csv("2026-11-01,100000,ok",
                                            f"2026-11-01,200000,OCOP {order.reference}"))
    [mismatch] = result.mismatches
    assert (mismatch.line.row, mismatch.line.reference, mismatch.line.amount_vnd,
            mismatch.expected_vnd) == (2, order.reference, 200000, 240000)
    assert result.confirmed == [] and _sales(session) == []
    assert _status(session, order) == TransferStatus.expected


def test_unknown_references_and_debits_confirm_nothing(session, shop):
    order = _order(session, shop)
    unknown = "OCOP " + "Z" * 10
    result = import_statement(session, _csv(
        f"01/11/2026,240000,{unknown}",
        "01/11/2026,240000,Luong thang 10",
        f"01/11/2026,-240000,OCOP {order.reference}",  # money out, even with the reference
    ))
    assert [line.row for line in result.unmatched] == [1, 2]
    assert result.debits == 1 and result.confirmed == [] and result.rows == 3
    assert _sales(session) == [] and _status(session, order) == TransferStatus.expected


@pytest.mark.parametrize("description", [
    "OCOP {ref}",
    "OCOP{ref} chuyen tien",
    "MBVCB.123456.OCOP {ref}.CT tu 0011001932418 TRAN THI BINH toi 0011001932418",
    "ocop {lower} chuyển khoản",
    "IBFT OCOP-{head} {tail}",
    '"TRAN THI BINH chuyen tien, OCOP {ref}, cam on"',
    "{ref} thanh toan don hang",  # the bank dropped "OCOP"
])
def test_mangled_descriptions_still_match(session, shop, description):
    order = _order(session, shop)
    ref = order.reference
    text = description.format(ref=ref, lower=ref.lower(), head=ref[:5], tail=ref[5:])
    result = import_statement(session, _csv(f"01/11/2026,240000,{text}"))
    assert result.confirmed == [ref]
    assert len(_sales(session)) == 1


def test_references_in_finds_the_reference_after_a_repeated_prefix():
    assert references_in("OCOP OCOP ABCDE23456") == ["ABCDE23456"]
    assert references_in("thanh toan OCOP") == []
    assert references_in("") == []


def test_reimporting_the_same_statement_confirms_nothing_again(session, shop):
    order = _order(session, shop)
    data = _csv(f"01/11/2026,240000,OCOP {order.reference}")
    assert import_statement(session, data).confirmed == [order.reference]
    again = import_statement(session, data)
    assert again.confirmed == [] and [line.row for line in again.already_confirmed] == [1]
    assert len(_sales(session)) == 1


def test_the_same_payment_twice_in_one_file_is_one_sale(session, shop):
    order = _order(session, shop)
    line = f"01/11/2026,240000,OCOP {order.reference}"
    result = import_statement(session, _csv(line, line))
    assert result.confirmed == [order.reference]
    assert [line.row for line in result.already_confirmed] == [2]
    assert len(_sales(session)) == 1


def test_money_for_a_cancelled_order_is_reported(session, shop):
    order = _order(session, shop)
    change_order_status(session, shop["officer"], order, "cancel")
    after_status_change(session, shop["officer"], order)
    result = import_statement(session, _csv(f"01/11/2026,240000,OCOP {order.reference}"))
    assert [line.reference for line in result.cancelled] == [order.reference]
    assert result.confirmed == [] and _sales(session) == []


def test_a_card_order_reference_is_not_a_transfer(session, shop):
    order = _order(session, shop, method="card")
    result = import_statement(session, _csv(f"01/11/2026,240000,OCOP {order.reference}"))
    assert len(result.unmatched) == 1 and _sales(session) == []


def test_account_limits_matching_to_that_account(session, shop):
    order = _order(session, shop)
    data = _csv(f"01/11/2026,240000,OCOP {order.reference}")
    assert import_statement(session, data, account="9999999999").confirmed == []
    assert _sales(session) == []
    assert import_statement(session, data, account="0011 0019 32418").confirmed == [
        order.reference]


def test_bom_semicolons_and_written_amounts_are_read(session, shop):
    first, second, third = (_order(session, shop) for _ in range(3))
    data = ("\ufeffdate;amount;description\n"
            f"01/11/2026;240.000;OCOP {first.reference}\n"
            f"2026-11-01;240,000 ₫;OCOP {second.reference}\n"
            f"01/11/2026 10:30;+240000;OCOP {third.reference}\n").encode()
    result = import_statement(session, data)
    assert sorted(result.confirmed) == sorted([first.reference, second.reference,
                                               third.reference])


@pytest.mark.parametrize("text, amount", [("120000", 120000), ("120.000", 120000),
                                          ("120,000", 120000), ("-120.000", -120000),
                                          ("- 5000", -5000)])
def test_parse_amount(text, amount):
    assert parse_amount(text) == amount


def test_bad_rows_refuse_the_whole_file_with_row_numbers(session, shop):
    order = _order(session, shop)
    data = _csv(f"01/11/2026,240000,OCOP {order.reference}",  # good, but not written
                "31/02/2026,240000,x",
                "01/11/2026,12.5,x",
                "01/11/2026,0,x",
                "hôm qua,abc,x",
                '01/11/2026,"120,000",x')
    with pytest.raises(ImportFailed) as error:
        import_statement(session, data)
    found = {(e.row, e.line, e.column) for e in error.value.errors}
    assert found == {(2, 3, "date"), (3, 4, "amount"), (4, 5, "amount"), (5, 6, "date"),
                     (5, 6, "amount")}
    assert _sales(session) == [] and _status(session, order) == TransferStatus.expected


def test_missing_column_refuses_the_file(session, shop):
    with pytest.raises(ImportFailed) as error:
        import_statement(session, b"date,amount\n01/11/2026,1000\n")
    assert "description" in str(error.value.errors[0])


# --- the command line ---------------------------------------------------------------------

def test_cli_confirms_once_and_reports(runner, session, shop, tmp_csv):
    from ocopkit.cli import cli

    paid, short = _order(session, shop), _order(session, shop, quantity=1)
    session.commit()
    path = tmp_csv("statement.csv", _csv(
        f"01/11/2026,240.000,MBVCB.1.OCOP {paid.reference}.CT tu 123",
        f"01/11/2026,100000,OCOP {short.reference}",
        "01/11/2026,-50000,Phi dich vu"))
    first = runner.invoke(cli, ["payments", "import-statement", str(path)])
    assert first.exit_code == 0, first.output
    assert paid.reference in first.output and short.reference in first.output
    [mismatch] = [line for line in first.output.splitlines() if short.reference in line]
    assert "120.000 ₫" in mismatch and "100.000 ₫" in mismatch  # expected vs arrived
    again = runner.invoke(cli, ["payments", "import-statement", str(path)])
    assert again.exit_code == 0 and paid.reference not in again.output.splitlines()[0]
    session.expire_all()
    assert len(_sales(session)) == 1
    assert _status(session, short) == TransferStatus.expected


def test_cli_refuses_a_bad_file_in_red_and_writes_nothing(runner, session, shop, tmp_csv):
    from ocopkit.cli import cli

    order = _order(session, shop)
    session.commit()
    path = tmp_csv("bad.csv", _csv(f"01/11/2026,240000,OCOP {order.reference}",
                                   "01/11/2026,mười nghìn,x"))
    result = runner.invoke(cli, ["payments", "import-statement", str(path)], color=True)
    assert result.exit_code == 1
    [line] = [line for line in result.output.splitlines() if "mười nghìn" in line]
    assert line.startswith("\x1b[31m") and " 2 " in line and "amount" in line
    session.expire_all()
    assert _sales(session) == [] and _status(session, order) == TransferStatus.expected
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_another_communes_order_reads_like_an_unknown_one(session, shop):
    order = _order(session, shop)
    stranger = make_user(session, Role.officer, communes=[make_commune(session)])
    result = import_statement(session, _csv(f"01/11/2026,240000,OCOP {order.reference}",
                                            "01/11/2026,240000,OCOP ZZZZZZZZZZ"),
                              actor=stranger)
    assert [line.row for line in result.unmatched] == [1, 2]
    assert [line.reference for line in result.unmatched] == [None, None]
    assert result.confirmed == result.mismatches == result.cancelled == []
    assert _status(session, order) == TransferStatus.expected and _sales(session) == []
