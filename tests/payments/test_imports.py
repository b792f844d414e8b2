"""Outside-platform sales land in the ledger once, however often the file is imported."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from ocopkit.access import SYSTEM
from ocopkit.money import parse_vnd
from ocopkit.users import Role
from onboarding.imports import ImportFailed
from payments.imports import import_transactions
from payments.models import Channel, EntryStatus, LedgerEntry
from tests.factories import make_commune, make_producer, make_user

HEADER = "producer_code,platform,reference,amount_vnd,occurred_at,status\n"


@pytest.fixture
def producers(session):
    commune = make_commune(session)
    return commune, make_producer(session, commune=commune, code="DB-HH-001"), \
        make_producer(session, commune=commune, code="DB-HH-002")


def _count(session):
    return session.scalar(select(func.count()).select_from(LedgerEntry))


def test_sales_land_once_however_often_imported(session, producers):
    data = (HEADER + "DB-HH-001,Shopee,260101ABC,120.000,2026-11-01 10:30,completed\n"
            "DB-HH-002;x,Lazada,LZ-9,85000,01/11/2026 08:00,completed\n").replace(";x", "")
    first = import_transactions(session, SYSTEM, data.encode())
    again = import_transactions(session, SYSTEM, data.encode())
    assert (first.created, again.created, again.unchanged) == (2, 0, 2)
    assert _count(session) == 2
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.reference == "260101ABC"))
    assert entry.amount_vnd == 120000 and entry.channel == Channel.external
    assert entry.occurred_at == datetime(2026, 11, 1, 3, 30, tzinfo=timezone.utc)


def test_a_changed_status_updates_the_entry(session, producers):
    import_transactions(session, SYSTEM, (HEADER + "DB-HH-001,Shopee,A1,50000,2026-11-01,"
                                                    "completed\n").encode())
    summary = import_transactions(session, SYSTEM, (HEADER + "DB-HH-001,Shopee,A1,50000,"
                                                              "2026-11-01,refunded\n").encode())
    assert summary.updated == 1 and _count(session) == 1
    assert session.scalar(select(LedgerEntry.status)) == EntryStatus.refunded


def test_bad_rows_refuse_the_whole_file_with_row_numbers(session, producers):
    data = (HEADER + "DB-HH-001,Shopee,A1,50000,2026-11-01,completed\n"
            "NOPE,Shopee,A2,50000,2026-11-01,completed\n"
            "DB-HH-001,Shopee,A3,50.5,2026-11-01,completed\n"
            "DB-HH-001,Shopee,A4,1000,hôm qua,completed\n"
            "DB-HH-001,Shopee,A5,1000,2026-11-01,done\n"
            "DB-HH-001,Shopee,A1,1000,2026-11-01,completed\n"
            "DB-HH-001,ocopkit,A6,1000,2026-11-01,completed\n"
            "DB-HH-001,Shopee,A7,1000,2099-01-01,completed\n")
    with pytest.raises(ImportFailed) as error:
        import_transactions(session, SYSTEM, data.encode())
    found = {(e.row, e.column) for e in error.value.errors}
    assert found == {(2, "producer_code"), (3, "amount_vnd"), (4, "occurred_at"),
                     (5, "status"), (6, "reference"), (7, "platform"), (8, "occurred_at")}
    assert _count(session) == 0


def test_officers_import_only_for_their_communes(session, producers):
    officer = make_user(session, Role.officer)
    with pytest.raises(ImportFailed) as error:
        import_transactions(session, officer, (HEADER + "DB-HH-001,Shopee,A1,5000,2026-11-01,"
                                                         "completed\n").encode())
    assert error.value.errors[0].column == "producer_code"
    assert _count(session) == 0


@pytest.mark.parametrize("text, amount", [("120000", 120000), ("120.000", 120000),
                                          ("1,250,000", 1250000), ("120 000 ₫", 120000)])
def test_parse_vnd_accepts_what_people_write(text, amount):
    assert parse_vnd(text) == amount


@pytest.mark.parametrize("text", ["", "0", "-5000", "120.5", "12.00", "1e5", "abc"])
def test_parse_vnd_refuses_what_is_not_whole_dong(text):
    with pytest.raises(ValueError):
        parse_vnd(text)


def test_cli_import_is_idempotent(runner, session, producers, tmp_csv):
    from ocopkit.cli import cli

    session.commit()
    path = tmp_csv("sales.csv", HEADER + "DB-HH-001,TikTok Shop,TT1,99000,2026-11-02,completed\n")
    assert runner.invoke(cli, ["import-transactions", str(path)]).exit_code == 0
    assert runner.invoke(cli, ["import-transactions", str(path)]).exit_code == 0
    session.expire_all()
    assert _count(session) == 1
    bad = tmp_csv("bad.csv", HEADER + "DB-HH-001,TikTok Shop,TT2,-1,2026-11-02,completed\n")
    result = runner.invoke(cli, ["import-transactions", str(bad)])
    assert result.exit_code == 1 and "amount_vnd" in result.output


def test_officer_upload_page_imports_and_shows_errors(client, session, login, producers):
    import io

    commune, _, _ = producers
    officer = make_user(session, Role.officer, communes=[commune])
    session.commit()
    login(officer.username)
    bad = client.post("/payments/imports/transactions", content_type="multipart/form-data", data={
        "file": (io.BytesIO((HEADER + "DB-HH-001,Shopee,A1,abc,2026-11-01,completed\n").encode()),
                 "s.csv")})
    assert bad.status_code == 422 and "amount_vnd" in bad.get_data(as_text=True)
    good = client.post("/payments/imports/transactions", content_type="multipart/form-data", data={
        "file": (io.BytesIO((HEADER + "DB-HH-001,Shopee,A1,5000,2026-11-01,completed\n").encode()),
                 "s.csv")})
    assert good.status_code == 200 and _count(session) == 1


# --- scopes: an import never reaches, rewrites or moves another commune's sale ----------------

@pytest.fixture
def two_communes(session):
    """Commune X with a Shopee sale of PX-1 imported by an admin; commune Y with PY-1 and
    its officer; commune Z with PZ-1 and a sale of its own."""
    x, y, z = (make_commune(session, code=c) for c in ("X01", "Y01", "Z01"))
    px = make_producer(session, commune=x, code="PX-1", name="Hộ Lò Thị Xuân")
    py = make_producer(session, commune=y, code="PY-1")
    make_producer(session, commune=z, code="PZ-1", name="HTX Zìn")
    officer_y = make_user(session, Role.officer, username="officer_y", communes=[y])
    import_transactions(session, SYSTEM, (HEADER
                        + "PX-1,Shopee,SX-1,150000,2026-11-01 09:00,completed\n"
                        + "PZ-1,Shopee,SZ-1,70000,2026-11-02 09:00,completed\n").encode())
    session.commit()
    return px, py, officer_y


def _entry(session, reference):
    session.expire_all()
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.reference == reference))
    return entry.producer_id, entry.amount_vnd, entry.status


def _refusal(session, actor, row: str):
    with pytest.raises(ImportFailed) as failed:
        import_transactions(session, actor, (HEADER + row + "\n").encode())
    session.rollback()
    [error] = failed.value.errors
    return error


def test_officer_cannot_rewrite_or_move_another_communes_sale(session, two_communes):
    px, py, officer_y = two_communes
    before = _entry(session, "SX-1")
    error = _refusal(session, officer_y, "PY-1,Shopee,SX-1,5000,2026-11-03,refunded")
    assert (error.row, error.column) == (1, "reference")
    assert _entry(session, "SX-1") == before == (px.id, 150000, EntryStatus.completed)
    assert _count(session) == 2
    text = str(error)
    for secret in ("PX-1", "Hộ Lò Thị Xuân", "X01", "150", "completed"):
        assert secret not in text
    # The same words whichever commune's sale the key is: nothing tells X from Z.
    other = _refusal(session, officer_y, "PY-1,Shopee,SZ-1,5000,2026-11-03,refunded")
    assert (other.message, other.params) == (error.message, {**error.params,
                                                             "reference": "SZ-1"})


def test_another_communes_producer_code_reads_as_an_unknown_code(session, two_communes):
    _, _, officer_y = two_communes
    theirs = _refusal(session, officer_y, "PX-1,Lazada,L-1,5000,2026-11-03,completed")
    unknown = _refusal(session, officer_y, "NO-SUCH,Lazada,L-1,5000,2026-11-03,completed")
    assert theirs.column == unknown.column == "producer_code"
    assert theirs.message == unknown.message
    assert str(theirs).replace("PX-1", "NO-SUCH") == str(unknown)
    assert _count(session) == 2


def test_an_admin_import_cannot_move_a_sale_either(session, two_communes):
    px, py, _ = two_communes
    before = _entry(session, "SX-1")
    error = _refusal(session, SYSTEM, "PY-1,Shopee,SX-1,150000,2026-11-01 09:00,completed")
    assert (error.row, error.column) == (1, "producer_code")
    assert "PX-1" in str(error)  # an admin may be told whose sale it is
    assert _entry(session, "SX-1") == before


def test_upload_page_refuses_another_communes_sale_without_naming_it(client, session, login,
                                                                     two_communes):
    import io

    px, _, officer_y = two_communes
    before = _entry(session, "SX-1")
    login(officer_y.username)
    client.set_cookie("lang", "en")
    page = client.post("/payments/imports/transactions", content_type="multipart/form-data",
                       data={"file": (io.BytesIO((HEADER + "PY-1,Shopee,SX-1,5000,2026-11-03,"
                                                            "refunded\n").encode()), "s.csv")})
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "The reference SX-1 of Shopee cannot be used here" in html
    assert "PX-1" not in html and "Hộ Lò Thị Xuân" not in html and "changed" not in html
    assert _entry(session, "SX-1") == before
