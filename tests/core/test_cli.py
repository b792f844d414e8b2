"""The `ocopkit` command line, run against the test app through Flask's CLI runner.

Messages are Vietnamese by default, so most assertions look at numbers, codes and column
names; one test switches CLI_LANGUAGE to English to check the wording of an error line.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, func, inspect, select

from tests.factories import PASSWORD, PIN, make_commune, make_producer
from ocopkit import create_app
from ocopkit.cli import cli
from ocopkit.db import make_engine
from ocopkit.users import Role, User
from onboarding.models import ChangeRecord, Commune, Producer

REGISTER_HEADER = ("code,kind,name,representative,phone,ethnic_group,commune_code,village,"
                   "ocop_stars,ocop_certified_on")


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _user(session, username: str) -> User | None:
    session.expire_all()
    return session.scalar(select(User).where(User.username == username))


def _register(*lines: str) -> str:
    return "\n".join((REGISTER_HEADER, *lines)) + "\n"


@pytest.fixture
def communes(session):
    a = make_commune(session, code="A01", name="Xã Pá Tần")
    b = make_commune(session, code="B01", name="Xã Tủa Thàng")
    session.commit()
    return a, b


# --- create-user ----------------------------------------------------------------------------

def test_create_user_writes_to_the_test_apps_database(runner, session):
    result = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "Admin",
                                 "--password", PASSWORD, "--name", "Quản trị Minh"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.stdout
    user = _user(session, "admin")
    assert (user.role, user.display_name) == (Role.admin, "Quản trị Minh")


def test_create_officer_with_communes(runner, session, communes):
    result = runner.invoke(cli, ["create-user", "--role", "officer", "--username", "canbo",
                                 "--password", PASSWORD, "--commune", "A01",
                                 "--commune", "B01"])
    assert result.exit_code == 0, result.output
    assert _user(session, "canbo").commune_ids == {c.id for c in communes}


def test_unknown_commune_code_fails_and_creates_nobody(runner, session, communes):
    result = runner.invoke(cli, ["create-user", "--role", "officer", "--username", "canbo",
                                 "--password", PASSWORD, "--commune", "A01",
                                 "--commune", "ZZ9"])
    assert result.exit_code == 1
    assert "ZZ9" in result.stderr and "A01" not in result.stderr
    assert _user(session, "canbo") is None


@pytest.mark.parametrize("args", [
    ["--role", "officer", "--username", "canbo", "--password", PASSWORD],
    ["--role", "admin", "--username", "canbo", "--password", "12345"],
    ["--role", "producer", "--username", "0912345678", "--password", PASSWORD],
])
def test_create_user_refusals_exit_non_zero(runner, session, communes, args):
    result = runner.invoke(cli, ["create-user", *args])
    assert result.exit_code == 1
    assert result.stderr.strip()
    assert _count(session, User) == 0


def test_admin_password_123456_is_refused_with_a_clear_message(app, runner, session):
    app.config["CLI_LANGUAGE"] = "en"
    result = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "boss",
                                 "--password", "123456"])
    assert result.exit_code == 1
    assert "The password needs at least 12 characters." in result.stderr
    assert _count(session, User) == 0


def test_a_long_but_common_admin_password_is_refused(runner, session):
    result = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "boss",
                                 "--password", "ocopkit-dienbien"])
    assert result.exit_code == 1
    assert _count(session, User) == 0


def test_created_staff_is_told_about_the_second_factor(app, runner, session):
    app.config["CLI_LANGUAGE"] = "en"
    result = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "boss",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "second factor" in result.stdout


def test_taken_user_name_exits_non_zero_naming_it(runner, session):
    args = ["create-user", "--role", "admin", "--username", "admin", "--password", PASSWORD]
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 1 and "admin" in again.stderr
    assert _count(session, User) == 1


def test_producer_login_is_tied_to_the_producer_code(runner, session, communes):
    producer = make_producer(session, commune=communes[0], code="PA-001", phone="0912345678")
    session.commit()
    unknown = runner.invoke(cli, ["create-user", "--role", "producer", "--username", "x1",
                                  "--password", "123456", "--producer", "NOPE"])
    assert unknown.exit_code == 1 and "NOPE" in unknown.stderr
    result = runner.invoke(cli, ["create-user", "--role", "producer", "--username",
                                 "0912345678", "--password", PIN, "--producer", "PA-001"])
    assert result.exit_code == 0, result.output
    assert _user(session, "0912345678").producer_id == producer.id
    assert _user(session, "x1") is None


def test_password_is_asked_twice_when_left_out(runner, session):
    result = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "admin"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert _user(session, "admin") is not None
    mismatch = runner.invoke(cli, ["create-user", "--role", "admin", "--username", "other"],
                             input=f"{PASSWORD}\n{PASSWORD}z\n")
    assert mismatch.exit_code != 0
    assert _user(session, "other") is None


# --- import-communes ------------------------------------------------------------------------

def test_import_communes_then_again_changes_nothing(runner, session, tmp_csv):
    path = tmp_csv("communes.csv", "\ufeffcode;name;ethnic_minority_area\n"
                                   "DB-MP;Mường Phăng;có\nDB-TT;Thanh Nưa;không\n")
    first = runner.invoke(cli, ["import-communes", str(path)])
    assert first.exit_code == 0, first.output
    assert re.search(r"\b2\b.*\b2\b.*\b0\b.*\b0\b", first.stdout)
    session.expire_all()
    assert dict(session.execute(select(Commune.code, Commune.is_ethnic_minority_area))
                .all()) == {"DB-MP": True, "DB-TT": False}
    again = runner.invoke(cli, ["import-communes", str(path)])
    assert again.exit_code == 0
    assert re.search(r"\b2\b.*\b0\b.*\b0\b.*\b2\b", again.stdout)
    assert _count(session, Commune) == 2


def test_bad_commune_file_exits_non_zero_with_row_errors_on_stderr(runner, session, tmp_csv):
    path = tmp_csv("communes.csv", "code,name,ethnic_minority_area\nC1,Xã Một,có\nC2,Xã Hai,hmm\n")
    result = runner.invoke(cli, ["import-communes", str(path)])
    assert result.exit_code == 1
    assert re.search(r"\b2\b.*\b3\b.*ethnic_minority_area.*hmm", result.stderr)
    assert "ethnic_minority_area" not in result.stdout
    assert _count(session, Commune) == 0


# --- import-register ------------------------------------------------------------------------

def test_import_register_creates_then_reimport_changes_nothing(runner, session, communes,
                                                               tmp_csv):
    path = tmp_csv("register.csv", _register(
        "P1,hộ gia đình,Hộ Lò Văn Pánh,Lò Văn Pánh,+84 912 000 001,Thai,A01,Bản Công,4,15/03/2024",
        "P2,hợp tác xã,HTX Chè Shan Tuyết,Mùa A Sử,0912.000.002,,B01,Bản Háng Đề Dê,,",
        "P3,doanh nghiệp,Công ty Cà phê,,,01,B01,,5,2024-01-10"))
    first = runner.invoke(cli, ["import-register", str(path)])
    assert first.exit_code == 0, first.output
    assert re.search(r"\b3\b.*\b3\b.*\b0\b.*\b0\b", first.stdout)
    assert _count(session, Producer) == 3
    assert _count(session, ChangeRecord) == 3
    assert session.scalar(select(Producer.phone).where(Producer.code == "P1")) == "0912000001"

    again = runner.invoke(cli, ["import-register", str(path)])
    assert again.exit_code == 0, again.output
    assert re.search(r"\b3\b.*\b0\b.*\b0\b.*\b3\b", again.stdout)
    assert _count(session, Producer) == 3
    assert _count(session, ChangeRecord) == 3


def test_import_register_dry_run_reports_counts_and_writes_nothing(runner, session, communes,
                                                                   tmp_csv):
    make_producer(session, commune=communes[0], code="P1", name="Hộ Cũ", phone=None)
    session.commit()
    path = tmp_csv("register.csv", _register("P1,household,Hộ Mới,,,Thái,A01,,,",
                                             "P2,household,Hộ Hai,,,Thái,A01,,,"))
    result = runner.invoke(cli, ["import-register", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert re.search(r"\b2\b.*\b1\b.*\b1\b.*\b0\b", result.stdout)
    assert _count(session, Producer) == 1
    assert session.scalar(select(Producer.name)) == "Hộ Cũ"


def _big_register(rows: int, bad_row: int) -> str:
    lines = [f"R{i:05d},household,Hộ Thử {i},,09{i:08d},"
             f"{'Không Rõ' if i == bad_row else 'Mông'},A01,Bản {i % 40},,"
             for i in range(1, rows + 1)]
    return _register(*lines)


def test_5000_row_register_with_a_bad_row_4200_is_refused_naming_it(runner, session, communes,
                                                                     tmp_csv):
    path = tmp_csv("register.csv", _big_register(5000, bad_row=4200))
    result = runner.invoke(cli, ["import-register", str(path)])
    assert result.exit_code == 1
    error_lines = [line for line in result.stderr.splitlines() if "ethnic_group" in line]
    assert len(error_lines) == 1
    assert re.search(r"\b4200\b.*\b4201\b.*ethnic_group.*Không Rõ", error_lines[0])
    assert "4200" not in result.stdout
    assert _count(session, Producer) == 0
    assert _count(session, ChangeRecord) == 0


def test_error_lines_read_row_line_column_in_english(app, runner, session, communes, tmp_csv):
    app.config["CLI_LANGUAGE"] = "en"
    path = tmp_csv("register.csv", _register("P1,household,Hộ Một,,,Thái,A01,,,",
                                             "P2,household,Hộ Hai,,,Thái,B01,,7,"))
    result = runner.invoke(cli, ["import-register", str(path)])
    assert result.exit_code == 1
    assert "row 2 (line 3), column ocop_stars: OCOP stars must be blank, 3, 4 or 5, not 7." \
        in result.stderr
    assert "nothing was imported" in result.stderr
    assert _count(session, Producer) == 0


@pytest.mark.parametrize("content, needle", [
    ("code,kind,name\nP1,household,Hộ Một\n".encode(), "ethnic_group, commune_code"),
    (REGISTER_HEADER.encode() + "\nP1,household,Hà Nhì,,,Thái,A01,,,\n".encode("latin-1"),
     "UTF-8"),
])
def test_unreadable_register_file_exits_non_zero(runner, session, communes, tmp_csv, content,
                                                 needle):
    result = runner.invoke(cli, ["import-register", str(tmp_csv("register.csv", content))])
    assert result.exit_code == 1
    assert needle in result.stderr
    assert _count(session, Producer) == 0


def test_missing_file_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(cli, ["import-register", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "nope.csv" in result.output


# --- db upgrade -----------------------------------------------------------------------------

def test_db_upgrade_builds_a_fresh_database_and_is_repeatable(engine, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x"})
    runner = app.test_cli_runner()
    first = runner.invoke(cli, ["db", "upgrade"])
    again = runner.invoke(cli, ["db", "upgrade"])
    assert first.exit_code == 0 and again.exit_code == 0, first.output + again.output
    fresh = create_engine(url)
    try:
        tables = set(inspect(fresh).get_table_names())
        with fresh.connect() as conn:
            groups = conn.exec_driver_sql("SELECT count(*) FROM ethnic_group").scalar()
    finally:
        fresh.dispose()
    assert {"producer", "commune", "user", "consent", "alembic_version"} <= tables
    assert groups == 54
    make_engine(url).dispose()
