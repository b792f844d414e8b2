"""CSV imports of communes and of the producer register: all-or-nothing, row-numbered errors."""
from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import ethnic_group, make_commune, make_producer, make_user
from ocopkit.access import SYSTEM
from ocopkit.db import utcnow
from ocopkit.errors import NotAllowed
from ocopkit.users import Role
from onboarding.imports import ImportFailed, import_communes, import_register, read_rows
from onboarding.models import ChangeRecord, Commune, Producer, ProducerKind

HEADER = ("code", "kind", "name", "representative", "phone", "ethnic_group", "commune_code",
          "village", "ocop_stars", "ocop_certified_on")


def row(code: str, **values) -> dict[str, str]:
    cells = {"kind": "household", "name": f"Hộ {code}", "representative": "", "phone": "",
             "ethnic_group": "Thái", "commune_code": "A01", "village": "Bản Công",
             "ocop_stars": "", "ocop_certified_on": ""}
    cells.update(values)
    return {"code": code, **cells}


def register_csv(*rows: dict[str, str], sep: str = ",", bom: bool = False,
                 header=HEADER) -> bytes:
    lines = [sep.join(header)] + [sep.join(r[c] for c in header) for r in rows]
    return ("\ufeff" if bom else "").encode() + ("\n".join(lines) + "\n").encode()


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _producer(session, code: str) -> Producer:
    session.expire_all()
    return session.scalars(select(Producer).where(Producer.code == code)).unique().one()


def _where(failed: pytest.ExceptionInfo) -> list[tuple[int, int, str]]:
    return [(e.row, e.line, e.column) for e in failed.value.errors]


@pytest.fixture
def communes(session):
    a = make_commune(session, code="A01", name="Xã Pá Tần")
    b = make_commune(session, code="B01", name="Xã Tủa Thàng")
    session.commit()
    return a, b


@pytest.fixture
def officer_a(session, communes):
    officer = make_user(session, Role.officer, username="officer_a", communes=[communes[0]])
    session.commit()
    return officer


# --- communes -------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [
    ("yes", True), ("no", False), ("có", True), ("không", False), ("Có", True),
    ("KHÔNG", False), ("1", True), ("0", False), ("true", True), ("False", False),
    (unicodedata.normalize("NFD", "có"), True),
])
def test_commune_area_accepts_yes_no_in_both_languages(session, cell, expected):
    summary = import_communes(session, SYSTEM, f"code,name,ethnic_minority_area\nX1,Xã Một,{cell}\n"
                              .encode())
    session.commit()
    assert summary.created == 1
    assert session.scalar(select(Commune.is_ethnic_minority_area)) is expected


def test_commune_import_creates_then_updates_by_code_and_reimport_changes_nothing(session):
    data = "code,name,ethnic_minority_area\nDB-MP,Mường Phăng,có\nDB-TT,Thanh Nưa,không\n"
    first = import_communes(session, SYSTEM, data.encode())
    session.commit()
    again = import_communes(session, SYSTEM, data.encode())
    changed = import_communes(session, SYSTEM, data.replace("Thanh Nưa,không", "Thanh Nưa,có")
                              .encode())
    session.commit()
    assert (first.rows, first.created, first.updated, first.unchanged) == (2, 2, 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert _count(session, Commune) == 2
    assert session.scalar(select(Commune.is_ethnic_minority_area)
                          .where(Commune.code == "DB-TT")) is True


def test_bad_commune_file_lists_every_problem_and_writes_nothing(session):
    data = ("code,name,ethnic_minority_area\n"
            "C1,Xã Một,có\n"
            "C1,Xã Hai,có\n"
            ",,maybe\n")
    with pytest.raises(ImportFailed) as failed:
        import_communes(session, SYSTEM, data.encode())
    session.commit()
    assert _where(failed) == [(2, 3, "code"), (3, 4, "code"), (3, 4, "name"),
                              (3, 4, "ethnic_minority_area")]
    assert "maybe" in str(failed.value.errors[-1])
    assert _count(session, Commune) == 0


def test_commune_dry_run_reports_counts_and_writes_nothing(session, communes):
    data = ("code,name,ethnic_minority_area\n"
            "A01,Xã Pá Tần Mới,có\nB01,Xã Tủa Thàng,có\nN1,Xã Mới,có\n")
    summary = import_communes(session, SYSTEM, data.encode(), dry_run=True)
    session.commit()
    assert (summary.rows, summary.created, summary.updated, summary.unchanged) == (3, 1, 1, 1)
    assert _count(session, Commune) == 2
    assert session.scalar(select(Commune.name).where(Commune.code == "A01")) == "Xã Pá Tần"


def test_only_admins_import_communes(session, officer_a):
    with pytest.raises(NotAllowed):
        import_communes(session, officer_a, b"code,name,ethnic_minority_area\nN1,X,yes\n")
    assert _count(session, Commune) == 2


# --- reading the file -----------------------------------------------------------------------

def test_bom_and_semicolons_are_accepted(session, communes):
    data = register_csv(row("P1", name="Hộ Lò Văn Pánh, Bản Công"), sep=";", bom=True)
    summary = import_register(session, SYSTEM, data)
    session.commit()
    assert summary.created == 1
    assert _producer(session, "P1").name == "Hộ Lò Văn Pánh, Bản Công"


def test_header_is_case_insensitive_extra_columns_ignored_optional_columns_may_be_absent():
    data = ("Code,KIND,Name,Ethnic_Group,commune_code,ghi chú\n"
            "P1,household,Hộ Một,Thái,A01,note\n").encode()
    [only] = read_rows(data, HEADER, ("code", "kind", "name", "ethnic_group", "commune_code"))
    assert only.values == {"code": "P1", "kind": "household", "name": "Hộ Một",
                           "ethnic_group": "Thái", "commune_code": "A01"}


def test_rows_count_data_rows_and_lines_count_file_lines():
    data = ('code,name,ethnic_minority_area\n'
            'C1,"Xã\nhai dòng",có\n'   # one row on lines 2-3
            '\n'                        # blank line: skipped, not a row
            'C2,Xã Ba,không\n').encode()
    rows = read_rows(data, ("code", "name", "ethnic_minority_area"), ())
    assert [(r.number, r.line, r.values["code"]) for r in rows] == [(1, 2, "C1"), (2, 5, "C2")]


@pytest.mark.parametrize("data, needle", [
    ("code,kind,name\n".encode(), "ethnic_group, commune_code"),
    ("code,name,kind,ethnic_group,commune_code\nP1,Hà Nhì\n".encode("latin-1"), "UTF-8"),
    (b"", "empty"),
    (b"\xef\xbb\xbf \n", "empty"),
])
def test_unreadable_files_are_refused_as_a_whole(session, communes, data, needle):
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, data)
    [error] = failed.value.errors
    assert needle in str(error)
    assert _count(session, Producer) == 0


def test_row_with_too_many_cells_is_named(session, communes):
    data = register_csv(row("P1")) + "P2,household,Hộ Hai,,,Thái,A01,,,,extra\n".encode()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, data)
    assert _where(failed) == [(2, 3, "-")]
    assert failed.value.errors[0].params == {"n": 11, "m": 10}


# --- register: a good file ------------------------------------------------------------------

def test_register_import_reads_every_accepted_spelling(session, communes, officer_a):
    data = register_csv(
        row("P1", kind="Hộ gia đình", ethnic_group="thai", phone="+84 912 000 001",
            ocop_stars="4", ocop_certified_on="2024-03-15"),
        row("P2", kind="hợp tác xã", ethnic_group="08", phone="0912.000.002",
            ocop_stars="5", ocop_certified_on="15/03/2024"),
        row("P3", kind="Doanh nghiệp", ethnic_group="", representative="Trần Thị Hoa"),
        row("P4", kind="HOUSEHOLD", ethnic_group="H'Mông"),
        row("P5", kind="cooperative", ethnic_group="3"),
    )
    summary = import_register(session, officer_a, data)
    session.commit()
    assert (summary.rows, summary.created, summary.updated, summary.unchanged) == (5, 5, 0, 0)
    p1, p2, p3, p4, p5 = (_producer(session, f"P{i}") for i in range(1, 6))
    assert (p1.kind, p2.kind, p3.kind) == (ProducerKind.household, ProducerKind.cooperative,
                                           ProducerKind.enterprise)
    assert (p1.ethnic_group.name, p2.ethnic_group.name, p3.ethnic_group, p4.ethnic_group.name,
            p5.ethnic_group.name) == ("Thái", "Mông", None, "Mông", "Thái")
    assert (p1.phone, p2.phone, p3.phone) == ("0912000001", "0912000002", None)
    assert (p1.ocop_stars, p1.ocop_certified_on) == (4, date(2024, 3, 15))
    assert (p2.ocop_stars, p2.ocop_certified_on) == (5, date(2024, 3, 15))
    assert p3.ocop_stars is None and p3.representative == "Trần Thị Hoa"
    assert p1.commune.code == "A01"
    records = session.scalars(select(ChangeRecord)).unique().all()
    assert sorted((r.producer_id, r.action, r.actor_id) for r in records) == sorted(
        (p.id, "imported", officer_a.id) for p in (p1, p2, p3, p4, p5))


def test_names_are_stored_in_nfc_and_found_by_search(session, communes):
    nfd = unicodedata.normalize("NFD", "Hộ Lò Văn Pánh")
    data = register_csv(row("P1", name=nfd,
                            representative=unicodedata.normalize("NFD", "Lò Văn Pánh"),
                            village=unicodedata.normalize("NFD", "Bản Nậm Chim"),
                            ethnic_group=unicodedata.normalize("NFD", "Thái")))
    assert nfd.encode() in data
    import_register(session, SYSTEM, data)
    session.commit()
    producer = _producer(session, "P1")
    assert producer.name == "Hộ Lò Văn Pánh" == unicodedata.normalize("NFC", producer.name)
    assert producer.name != nfd
    assert producer.representative == "Lò Văn Pánh" and producer.village == "Bản Nậm Chim"
    assert "ho lo van panh" in producer.search_text


# --- register: errors -----------------------------------------------------------------------

def test_bad_rows_are_all_listed_by_row_line_and_column_and_nothing_is_written(session, communes):
    tomorrow = (utcnow().date() + timedelta(days=2)).isoformat()
    data = register_csv(
        row("P1"),
        row("P2", kind="farm"),
        row("P3", ethnic_group="Klingon"),
        row("P4", commune_code="Z99"),
        row("P5", ocop_stars="2"),
        row("P6", ocop_stars="4", ocop_certified_on="31/02/2024"),
        row("P7", ethnic_group=""),
        row("P8", phone="12345"),
        row("P9", ocop_certified_on="2024-01-01"),
        row("P10", ocop_stars="3", ocop_certified_on=tomorrow),
        row("", name=""),
        row("P12"),
    )
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, data)
    session.commit()
    assert _where(failed) == [
        (2, 3, "kind"), (3, 4, "ethnic_group"), (4, 5, "commune_code"), (5, 6, "ocop_stars"),
        (6, 7, "ocop_certified_on"), (7, 8, "ethnic_group"), (8, 9, "phone"),
        (9, 10, "ocop_certified_on"), (10, 11, "ocop_certified_on"), (11, 12, "code"),
        (11, 12, "name")]
    texts = [str(e) for e in failed.value.errors]
    assert texts[0].startswith("row 2 (line 3), column kind: farm ")
    assert "Klingon" in texts[1] and "Z99" in texts[2] and "31/02/2024" in texts[4]
    assert failed.value.params == {"count": 11}
    assert _count(session, Producer) == 0
    assert _count(session, ChangeRecord) == 0


def test_duplicate_code_in_the_file_names_the_first_row(session, communes):
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, register_csv(row("P1"), row("P2"), row("P1")))
    assert _where(failed) == [(3, 4, "code")]
    assert failed.value.errors[0].params == {"code": "P1", "other": 1}
    assert _count(session, Producer) == 0


def test_duplicate_phone_in_the_file_is_caught_whatever_its_format(session, communes):
    data = register_csv(row("P1", phone="0912345678"), row("P2", phone="+84 912.345.678"))
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, data)
    assert _where(failed) == [(2, 3, "phone")]
    assert failed.value.errors[0].params == {"phone": "0912345678", "other": 1}


def test_phone_of_a_producer_not_in_the_file_is_refused_naming_it(session, communes):
    make_producer(session, commune=communes[1], code="OLD-1", phone="0912345678")
    session.commit()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, register_csv(row("P1", phone="0912 345 678")))
    assert _where(failed) == [(1, 2, "phone")]
    assert "OLD-1" in str(failed.value.errors[0])
    assert _count(session, Producer) == 1


def test_row_4200_of_5000_with_a_bad_ethnic_group_refuses_the_file(session, communes):
    rows = [row(f"R{i:05d}", phone=f"09{i:08d}") for i in range(1, 5001)]
    rows[4199]["ethnic_group"] = "Kinh Thượng"
    data = register_csv(*rows)
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, data)
    session.commit()
    assert _where(failed) == [(4200, 4201, "ethnic_group")]
    assert str(failed.value.errors[0]).startswith("row 4200 (line 4201), column ethnic_group:")
    assert _count(session, Producer) == 0


# --- officers and communes ------------------------------------------------------------------

def test_officer_cannot_import_rows_for_another_commune(session, communes, officer_a):
    data = register_csv(row("P1"), row("P2", commune_code="B01"))
    with pytest.raises(ImportFailed) as failed:
        import_register(session, officer_a, data)
    session.commit()
    assert _where(failed) == [(2, 3, "commune_code")]
    assert "B01" in str(failed.value.errors[0])
    assert _count(session, Producer) == 0


def test_officer_cannot_pull_another_communes_producer_into_theirs(session, communes, officer_a):
    make_producer(session, commune=communes[1], code="PB-1", phone="0987654321")
    session.commit()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, officer_a, register_csv(row("PB-1", phone="0987654321")))
    assert _where(failed) == [(1, 2, "code")]
    assert _producer(session, "PB-1").commune.code == "B01"


def test_producer_login_cannot_import(session, communes):
    producer = make_producer(session, commune=communes[0], code="PA-1")
    login = make_user(session, Role.producer, username="pa1", producer=producer)
    session.commit()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, login, register_csv(row("P1"), row("P2")))
    assert [e.column for e in failed.value.errors] == ["commune_code", "commune_code"]
    assert _count(session, Producer) == 1


# --- re-import, updates, dry run ------------------------------------------------------------

def test_reimporting_the_same_file_changes_nothing(session, communes):
    data = register_csv(
        row("P1", phone="+84 912 000 001", ocop_stars="4", ocop_certified_on="15/03/2024"),
        row("P2", kind="hợp tác xã", ethnic_group="", village=""),
        row("P3", ethnic_group="08", name=unicodedata.normalize("NFD", "Hộ Giàng A Dế")),
    )
    import_register(session, SYSTEM, data)
    session.commit()
    stamps = dict(session.execute(select(Producer.code, Producer.updated_at)).all())
    history = _count(session, ChangeRecord)
    again = import_register(session, SYSTEM, data)
    session.commit()
    assert (again.rows, again.created, again.updated, again.unchanged) == (3, 0, 0, 3)
    assert _count(session, Producer) == 3
    assert _count(session, ChangeRecord) == history == 3
    assert dict(session.execute(select(Producer.code, Producer.updated_at)).all()) == stamps


def test_changed_row_updates_its_producer_by_code_and_keeps_other_fields(session, communes):
    make_producer(session, commune=communes[0], code="P1", name="Hộ Một", phone="0912000001",
                  ocop_stars=4, ocop_certificate_no="OCOP-2024-001",
                  ocop_certified_on=date(2024, 3, 15), name_own_language="Hươn Ló")
    session.commit()
    producer_id = _producer(session, "P1").id
    data = register_csv(row("P1", name="Hộ Một (Bản Công)", phone="0912000001", ocop_stars="5",
                            ocop_certified_on="2024-03-15"),
                        row("P2"))
    summary = import_register(session, SYSTEM, data)
    session.commit()
    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 0)
    updated = _producer(session, "P1")
    assert updated.id == producer_id and _count(session, Producer) == 2
    assert (updated.name, updated.ocop_stars) == ("Hộ Một (Bản Công)", 5)
    assert (updated.ocop_certificate_no, updated.name_own_language) == ("OCOP-2024-001", "Hươn Ló")
    assert "ban cong" in updated.search_text
    last = session.scalars(select(ChangeRecord).where(ChangeRecord.producer_id == producer_id)
                           .order_by(ChangeRecord.id.desc())).first()
    assert (last.action, sorted(last.detail.split(", "))) == ("import_updated",
                                                                ["name", "ocop_stars", "village"])


def test_columns_left_out_of_the_file_keep_what_is_stored(session, communes):
    make_producer(session, commune=communes[0], code="P1", name="Hộ Một", phone="0912000001",
                  representative="Lò Văn Một", village="Bản Công", ocop_stars=4,
                  ocop_certified_on=date(2024, 3, 15))
    session.commit()
    required = ("code", "kind", "name", "ethnic_group", "commune_code")
    data = register_csv(row("P1", name="Hộ Một Mới"), row("P2"), header=required)
    summary = import_register(session, SYSTEM, data)
    session.commit()
    assert (summary.created, summary.updated, summary.unchanged) == (1, 1, 0)
    p1, p2 = _producer(session, "P1"), _producer(session, "P2")
    assert (p1.name, p1.phone, p1.representative, p1.village, p1.ocop_stars,
            p1.ocop_certified_on) == ("Hộ Một Mới", "0912000001", "Lò Văn Một", "Bản Công", 4,
                                      date(2024, 3, 15))
    assert (p2.phone, p2.village, p2.ocop_stars) == (None, "", None)


def test_phones_may_move_between_producers_in_one_file(session, communes):
    for code, phone in (("P1", "0911111111"), ("P2", "0922222222"), ("P3", "0933333333")):
        make_producer(session, commune=communes[0], code=code, phone=phone)
    session.commit()
    data = register_csv(
        row("P1", phone="0922222222"),   # swap with P2
        row("P2", phone="0911111111"),
        row("P3", phone=""),             # gives its phone up ...
        row("P4", phone="0933333333"),   # ... to a new producer
    )
    summary = import_register(session, SYSTEM, data)
    session.commit()
    assert (summary.created, summary.updated) == (1, 3)
    assert dict(session.execute(select(Producer.code, Producer.phone)).all()) == {
        "P1": "0922222222", "P2": "0911111111", "P3": None, "P4": "0933333333"}


def test_a_phone_kept_by_its_listed_owner_cannot_be_taken(session, communes):
    make_producer(session, commune=communes[0], code="P1", phone="0911111111")
    session.commit()
    data = register_csv(row("P2", phone="0911111111"), row("P1", phone="0911111111"))
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, data)
    assert _where(failed) == [(2, 3, "phone")]
    assert _producer(session, "P1").phone == "0911111111"


def test_dry_run_reports_counts_and_writes_nothing(session, communes):
    make_producer(session, commune=communes[0], code="P1", name="Hộ P1", village="Bản Công",
                  ethnic_group=ethnic_group(session, "Thái"), phone=None)
    make_producer(session, commune=communes[0], code="P2", name="Hộ P2", village="Bản Công",
                  ethnic_group=ethnic_group(session, "Thái"), phone=None)
    session.commit()
    history = _count(session, ChangeRecord)
    data = register_csv(row("P1"), row("P2", name="Hộ Hai Mới"), row("P3"), row("P4"))
    summary = import_register(session, SYSTEM, data, dry_run=True)
    session.commit()
    assert (summary.rows, summary.created, summary.updated, summary.unchanged) == (4, 2, 1, 1)
    assert _count(session, Producer) == 2
    assert _producer(session, "P2").name == "Hộ P2"
    assert _count(session, ChangeRecord) == history


def test_dry_run_of_a_bad_file_still_lists_the_errors(session, communes):
    with pytest.raises(ImportFailed) as failed:
        import_register(session, SYSTEM, register_csv(row("P1", kind="?")), dry_run=True)
    assert _where(failed) == [(1, 2, "kind")]


def test_progress_is_reported_once_per_row(session, communes):
    calls = []
    import_register(session, SYSTEM, register_csv(*(row(f"P{i}") for i in range(7))),
                    progress=calls.append)
    assert calls == [1] * 7


# --- scopes ---------------------------------------------------------------------------------

def test_another_communes_code_is_refused_without_saying_whose(session, communes, officer_a):
    make_producer(session, commune=communes[1], code="PB-7", name="HTX Tủa Chùa",
                  village="Bản Huổi Só")
    session.commit()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, officer_a, register_csv(row("PB-7", name="Hộ Mới")))
    [error] = failed.value.errors
    assert error.column == "code"
    for secret in ("B01", "Tủa", "HTX", "Huổi"):
        assert secret not in str(error)
    assert "commune" not in str(error).lower()
    assert _producer(session, "PB-7").name == "HTX Tủa Chùa"


def test_officer_cannot_push_their_producer_into_another_commune(session, communes, officer_a):
    make_producer(session, commune=communes[0], code="PA-7")
    session.commit()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, officer_a, register_csv(row("PA-7", commune_code="B01")))
    assert _where(failed) == [(1, 2, "commune_code")]
    assert _producer(session, "PA-7").commune.code == "A01"


def test_phone_of_another_communes_producer_is_refused_naming_no_one(session, communes,
                                                                      officer_a):
    make_producer(session, commune=communes[1], code="PB-8", name="HTX Tủa Chùa",
                  phone="0912345678")
    session.commit()
    with pytest.raises(ImportFailed) as failed:
        import_register(session, officer_a, register_csv(row("P1", phone="0912 345 678")))
    [error] = failed.value.errors
    assert error.column == "phone"
    assert str(error).endswith("The phone 0912345678 is already registered to another producer.")
    assert "PB-8" not in str(error) and "PB-8" not in error.params.values()
    assert _count(session, Producer) == 1
