"""Bank statement lines confirm VietQR transfers when reference and amount both match: once,
however often the file is imported; bad rows refuse the whole file."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from ocopkit.db import utcnow

from ocopkit.users import Role
from onboarding.imports import ImportFailed
from onboarding import reporting
from onboarding.models import ConsentPurpose, Producer
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
    """An order placed on 1 October 2026, before the statements' lines."""
    [order] = place_order(session, lines=[(shop["product"].id, quantity)],
                          payment_method=method, **BUYER)
    order.placed_at = datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc)
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


# --- the ledger is dated by the statement line, not by the import ----------------------------

def _subject_order(session, shop, placed_at):
    """An order of an OCOP producer (4 stars), so the adoption report counts its sale."""
    order = _order(session, shop)
    order.placed_at = placed_at
    session.get(Producer, order.producer_id).ocop_stars = 4
    session.flush()
    return order


def _transacting(session, day):
    return reporting.adoption(session, as_of=day).total.transacting


def test_a_line_of_28_11_imported_on_2_12_is_a_sale_of_28_11(session, shop):
    order = _subject_order(session, shop, datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc))
    before = utcnow()
    result = import_statement(session, _csv(f"28/11/2026,240000,OCOP {order.reference}"))
    after = utcnow()
    assert result.confirmed == [order.reference]
    [sale] = _sales(session)
    session.refresh(sale)
    # A date without a time is the local day from its start (00:00 in Vietnam, 17:00 UTC).
    assert sale.occurred_at == datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
    assert sale.occurred_at.astimezone(reporting.LOCAL).date() == date(2026, 11, 28)
    assert before - timedelta(seconds=1) <= sale.recorded_at <= after + timedelta(seconds=1)
    # Day, month-end and the 365-day window follow the line's date.
    assert (_transacting(session, date(2026, 11, 27)), _transacting(session, date(2026, 11, 28)),
            _transacting(session, date(2026, 11, 30))) == (0, 1, 1)
    assert (_transacting(session, date(2027, 11, 27)),
            _transacting(session, date(2027, 11, 28))) == (1, 0)
    points = reporting.trend(session, months=2, as_of=date(2026, 12, 2)).points
    assert [(p.on, p.ecommerce_transacting) for p in points] == [
        (date(2026, 11, 30), 1.0), (date(2026, 12, 2), 1.0)]


def test_a_line_with_a_time_is_that_local_instant(session, shop):
    order = _subject_order(session, shop, datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc))
    import_statement(session, _csv(f"28/11/2026 14:30,240000,OCOP {order.reference}"))
    [sale] = _sales(session)
    assert sale.occurred_at == datetime(2026, 11, 28, 7, 30, tzinfo=timezone.utc)


def test_a_line_of_the_day_the_order_was_placed_is_dated_no_earlier_than_the_order(session, shop):
    placed = datetime(2026, 11, 28, 3, 15, tzinfo=timezone.utc)  # 10:15 in Vietnam
    order = _subject_order(session, shop, placed)
    import_statement(session, _csv(f"28/11/2026,240000,OCOP {order.reference}"))
    [sale] = _sales(session)
    assert sale.occurred_at == placed


def test_a_line_dated_before_the_order_was_placed_confirms_nothing(session, shop):
    order = _subject_order(session, shop, datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc))
    result = import_statement(session, _csv(f"27/11/2026,240000,OCOP {order.reference}"))
    assert [line.row for line in result.before_order] == [1]
    assert result.confirmed == [] and _sales(session) == []
    assert _status(session, order) == TransferStatus.expected


def test_a_line_dated_in_the_future_refuses_the_file(session, shop):
    order = _order(session, shop)
    tomorrow = (datetime.now(reporting.LOCAL) + timedelta(days=1)).strftime("%d/%m/%Y")
    with pytest.raises(ImportFailed) as failed:
        import_statement(session, _csv(f"{tomorrow},240000,OCOP {order.reference}"))
    assert [(e.row, e.column) for e in failed.value.errors] == [(1, "date")]
    assert _sales(session) == []


# --- more or less than the order: both listed for checking, never confirmed --------------------

def test_an_over_payment_and_an_under_payment_are_both_listed_and_nothing_is_confirmed(
        session, shop):
    over, under = _order(session, shop), _order(session, shop, quantity=1)
    result = import_statement(session, _csv(f"01/11/2026,300000,OCOP {over.reference}",
                                            f"01/11/2026,100000,OCOP {under.reference}"))
    assert [(m.line.reference, m.line.amount_vnd, m.expected_vnd, m.over)
            for m in result.mismatches] == [(over.reference, 300000, 240000, True),
                                            (under.reference, 100000, 120000, False)]
    assert result.confirmed == [] and _sales(session) == []
    assert _status(session, over) == _status(session, under) == TransferStatus.expected


def test_an_over_payment_stays_listed_after_the_right_amount_confirmed_the_order(session, shop):
    order = _order(session, shop)
    result = import_statement(session, _csv(f"01/11/2026,240000,OCOP {order.reference}",
                                            f"02/11/2026,480000,OCOP {order.reference}"))
    assert result.confirmed == [order.reference]
    assert [(m.line.row, m.over) for m in result.mismatches] == [(2, True)]
    assert [s.amount_vnd for s in _sales(session)] == [240000]


def test_cli_and_page_say_more_or_less_than_the_order(runner, client, login, session, shop,
                                                     tmp_csv):
    import io

    from ocopkit.cli import cli

    over, under = _order(session, shop), _order(session, shop, quantity=1)
    session.commit()
    data = _csv(f"01/11/2026,300000,OCOP {over.reference}",
                f"01/11/2026,100000,OCOP {under.reference}")
    output = runner.invoke(cli, ["payments", "import-statement",
                                 str(tmp_csv("s.csv", data))]).output
    [more] = [line for line in output.splitlines() if over.reference in line]
    [less] = [line for line in output.splitlines() if under.reference in line]
    assert "nhiều hơn" in more and "300.000 ₫" in more and "240.000 ₫" in more  # Vietnamese
    assert "ít hơn" in less and "100.000 ₫" in less and "120.000 ₫" in less
    client.set_cookie("lang", "en")
    login(shop["officer"].username)
    html = client.post("/payments/imports/statement", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "s.csv")}).get_data(as_text=True)
    assert "0 transfer(s) confirmed" in html
    assert re.search(rf"{over.reference}[^<]*more than", html)
    assert re.search(rf"{under.reference}[^<]*less than", html)
    session.expire_all()
    assert _sales(session) == []
