"""Adoption reporting (issue 6) on a hand-worked dataset where every producer's status is known.

D = 2026-11-28 (local). Commune A is an ethnic-minority area, B is not, E is an empty
minority-area commune. Unless said otherwise producers are Thái households.

- p1 (A, 4*, 2025-01-10): subject; booth + product + account; sale at D-364 00:30 local.
- p2 (A): certified 2023-11-28, exactly 36 months before D: expired on D (has everything).
- p3 (A, 3*, 2023-11-29, the earliest date still valid): booth published after D (17:30 UTC on D);
  account; only sale at D-365 23:30 local (outside the window).
- p4 (A, 5*, no date recorded): subject; booth; account verified then disabled before D;
  sale refunded.
- p5 (A, 4*): Kinh household: not a minority household, but counts for indicator 2; sale.
- p6 (A): no stars. p7 (A, 3*): certified after D. Neither is a subject.
- p9 (A, 3*): booth whose only product is a draft; account; sale at D 23:59 local.
- c1 (B, 4*): cooperative, no ethnic group, in a non-minority commune: counts for neither.
- p8 (B, 4*): minority household with booth + product + account (no sale).

Indicator 1 (minority households): p1 p3 p4 p8 p9 → 2/5 = 0.4, gap ceil(2.5) - 2 = 1.
Indicator 2 (subjects in minority-area communes): p1 p3 p4 p5 p9 → p1 p5 p9 = 3/5 = 0.6, gap 0.
Training: p1 only of 7 subjects → 1/7 = 0.1429.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from ocopkit.cli import cli
from ocopkit.errors import NotFound
from ocopkit.users import Role
from onboarding import reporting
from onboarding.models import ProducerKind, Training
from payments.models import (
    AccountKind, AccountStatus, AccountVerification, Channel, EntryKind, EntryStatus, LedgerEntry,
    LinkedAccount, VerificationMethod,
)
from shop.models import BoothStatus, ProductStatus
from tests.factories import (
    ethnic_group, make_booth, make_commune, make_producer, make_product, make_user,
)

D = date(2026, 11, 28)
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
_refs = iter(range(1, 10_000))


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), HCM)


def booth(session, producer, *, published_at=local(D - timedelta(days=100)),
          product_status=ProductStatus.published):
    b = make_booth(session, producer=producer, status=BoothStatus.published,
                   published_at=published_at)
    make_product(session, booth=b, status=product_status,
                 created_at=local(D - timedelta(days=90)))
    return b


def account(session, producer, *, verified_at=local(D - timedelta(days=60)), ended_at=None):
    acc = LinkedAccount(producer_id=producer.id, kind=AccountKind.bank, bank_bin="970436",
                        account_number=f"00{producer.id:08d}", holder_name=producer.name,
                        status=AccountStatus.disabled if ended_at else AccountStatus.verified)
    session.add(acc)
    session.flush()
    session.add(AccountVerification(account_id=acc.id, method=VerificationMethod.in_person,
                                    verified_at=verified_at, ended_at=ended_at))
    session.flush()
    return acc


def sale(session, producer, occurred_at, status=EntryStatus.completed):
    session.add(LedgerEntry(producer_id=producer.id, kind=EntryKind.sale, channel=Channel.vietqr,
                            platform="ocopkit", status=status, amount_vnd=150_000,
                            occurred_at=occurred_at, reference=f"R{next(_refs)}"))
    session.flush()


def everything(session, producer):
    booth(session, producer)
    account(session, producer)
    sale(session, producer, local(D - timedelta(days=10)))


@pytest.fixture
def province(session):
    a = make_commune(session, code="A", name="Xã Pá Tần", is_ethnic_minority_area=True)
    b = make_commune(session, code="B", name="Xã Kinh Môn", is_ethnic_minority_area=False)
    e = make_commune(session, code="E", name="Xã Trống", is_ethnic_minority_area=True)
    kinh = ethnic_group(session, "Kinh")

    p1 = make_producer(session, commune=a, ocop_stars=4, ocop_certified_on=date(2025, 1, 10))
    booth(session, p1)
    account(session, p1)
    sale(session, p1, local(D - timedelta(days=364), 0, 30))  # first minute-ish of D-364
    session.add(Training(producer_id=p1.id, held_on=date(2026, 3, 1), topic="Bán hàng online",
                         trainer="Sở Công Thương"))

    p2 = make_producer(session, commune=a, ocop_stars=4)
    p2.ocop_certified_on = date(2023, 11, 28)  # exactly 36 months before D: expired on D
    everything(session, p2)

    p3 = make_producer(session, commune=a, ocop_stars=3, ocop_certified_on=date(2023, 11, 29))
    booth(session, p3, published_at=local(D + timedelta(days=1), 0, 30))  # 17:30 UTC on D
    account(session, p3)
    sale(session, p3, local(D - timedelta(days=365), 23, 30))  # D-365: outside the window

    p4 = make_producer(session, commune=a, ocop_stars=5)
    booth(session, p4)
    account(session, p4, verified_at=local(date(2026, 1, 1)), ended_at=local(date(2026, 6, 1)))
    sale(session, p4, local(D - timedelta(days=5)), status=EntryStatus.refunded)

    p5 = make_producer(session, commune=a, ocop_stars=4, ethnic_group=kinh)
    everything(session, p5)

    p6 = make_producer(session, commune=a)
    everything(session, p6)

    p7 = make_producer(session, commune=a, ocop_stars=3)
    p7.ocop_certified_on = D + timedelta(days=3)
    everything(session, p7)

    p9 = make_producer(session, commune=a, ocop_stars=3)
    booth(session, p9, product_status=ProductStatus.draft)
    account(session, p9)
    sale(session, p9, local(D, 23, 59))

    c1 = make_producer(session, commune=b, kind=ProducerKind.cooperative, ethnic_group=None,
                       name="HTX Chè", ocop_stars=4, ocop_certified_on=date(2025, 5, 5))
    sale(session, c1, local(D - timedelta(days=3)))

    p8 = make_producer(session, commune=b, ocop_stars=4, ocop_certified_on=date(2024, 6, 1))
    booth(session, p8)
    account(session, p8)
    session.commit()
    return {"a": a, "b": b, "e": e, "p": {"p1": p1, "p3": p3, "p4": p4, "p5": p5, "p9": p9,
                                          "p8": p8, "c1": c1}}


def ind(key, num, den, rate, gap, target=None):
    target = target if target is not None else {"booth_and_payment": 0.5,
                                                "ecommerce_transacting": 0.6}[key]
    return {"key": key, "target": target, "numerator": num, "denominator": den, "rate": rate,
            "gap": gap}


EXPECTED = {
    "as_of": "2026-11-28",
    "indicators": [ind("booth_and_payment", 2, 5, 0.4, 1),
                   ind("ecommerce_transacting", 3, 5, 0.6, 0)],
    "training": {"key": "training", "target": None, "numerator": 1, "denominator": 7,
                 "rate": 0.1429, "gap": 0},
    "by_commune": [
        {"commune_code": "A", "commune": "Xã Pá Tần",
         "indicators": [ind("booth_and_payment", 1, 4, 0.25, 1),
                        ind("ecommerce_transacting", 3, 5, 0.6, 0)]},
        {"commune_code": "B", "commune": "Xã Kinh Môn",
         "indicators": [ind("booth_and_payment", 1, 1, 1.0, 0),
                        ind("ecommerce_transacting", 0, 0, None, 0)]},
        {"commune_code": "E", "commune": "Xã Trống",
         "indicators": [ind("booth_and_payment", 0, 0, None, 0),
                        ind("ecommerce_transacting", 0, 0, None, 0)]},
    ],
    "by_ethnic_group": [
        {"ethnic_group": "Kinh", "indicators": [ind("booth_and_payment", 0, 0, None, 0),
                                                ind("ecommerce_transacting", 1, 1, 1.0, 0)]},
        {"ethnic_group": "Thái", "indicators": [ind("booth_and_payment", 2, 5, 0.4, 1),
                                                ind("ecommerce_transacting", 2, 4, 0.5, 1)]},
        {"ethnic_group": None, "indicators": [ind("booth_and_payment", 0, 0, None, 0),
                                              ind("ecommerce_transacting", 0, 0, None, 0)]},
    ],
    "by_kind": [
        {"kind": "household", "indicators": [ind("booth_and_payment", 2, 5, 0.4, 1),
                                             ind("ecommerce_transacting", 3, 5, 0.6, 0)]},
        {"kind": "cooperative", "indicators": [ind("booth_and_payment", 0, 0, None, 0),
                                               ind("ecommerce_transacting", 0, 0, None, 0)]},
    ],
}

SUPPRESSED = {"numerator": None, "denominator": "< 5", "rate": None, "gap": None}


def test_certificate_validity_edges():
    assert reporting.earliest_valid_certificate(D) == date(2023, 11, 29)
    # 2024-02-29 + 36 months expires on 2027-02-28 (clamped): not valid on 2027-02-28
    assert reporting.earliest_valid_certificate(date(2027, 2, 28)) == date(2024, 3, 1)


def test_gap_uses_integer_arithmetic():
    assert reporting.Indicator("x", 0.6, 0, 5).gap == 3
    assert reporting.Indicator("x", 0.6, 0, 7).gap == 5  # ceil(4.2)
    assert reporting.Indicator("x", 0.5, 0, 3).gap == 2
    assert reporting.Indicator("x", 0.5, 9, 10).gap == 0
    assert reporting.Indicator("x", 0.5, 0, 0).rate is None


def test_province_indicators(session, province):
    report = reporting.adoption(session, as_of=D)
    bp, ec = report.indicators
    assert (bp.numerator, bp.denominator, bp.rate, bp.gap) == (2, 5, 0.4, 1)
    assert (ec.numerator, ec.denominator, ec.rate, ec.gap) == (3, 5, 0.6, 0)
    assert report.total.subjects == 7
    assert report.total.training.rate == 0.1429


def test_json_shape_field_by_field(session, province):
    data = reporting.as_json(reporting.adoption(session, as_of=D))
    assert list(data) == ["as_of", "indicators", "training", "by_commune", "by_ethnic_group",
                          "by_kind"]
    for key in EXPECTED:
        assert data[key] == EXPECTED[key], key


def test_small_cells_suppressed(session, province):
    data = reporting.as_json(reporting.adoption(session, as_of=D), suppress_small=True)
    kinh, thai, none = data["by_ethnic_group"]
    assert kinh["indicators"][0] == ind("booth_and_payment", 0, 0, None, 0)  # nothing to hide
    assert kinh["indicators"][1] == {"key": "ecommerce_transacting", "target": 0.6} | SUPPRESSED
    assert thai["indicators"][0] == ind("booth_and_payment", 2, 5, 0.4, 1)  # 5 is shown
    assert thai["indicators"][1]["denominator"] == "< 5"
    assert data["by_commune"] == EXPECTED["by_commune"]


def test_commune_filter_and_empty_commune(session, province):
    report = reporting.adoption(session, as_of=D, commune_ids={province["e"].id})
    assert [r.commune_code for r in report.by_commune] == ["E"]
    assert [i.rate for i in report.indicators] == [None, None]
    assert report.by_ethnic_group == () and report.by_kind == ()


def test_earlier_date_moves_the_window(session, province):
    # a day later p1's sale (D-364) falls out, and p3's certificate is still valid
    report = reporting.adoption(session, as_of=D + timedelta(days=1))
    assert report.indicators[1].numerator == 2  # p5, p9
    # on D-1, p3's sale (D-365 = (D-1)-364) is inside; p9's sale on D is not yet
    report = reporting.adoption(session, as_of=D - timedelta(days=1))
    ec = report.indicators[1]
    assert (ec.numerator, ec.denominator) == (4, 6)  # p2 still valid on D-1: p1 p2 p3 p5 of 6


def test_csv_neutralises_formulas():
    assert reporting.safe_cell("=SUM(A1)") == "'=SUM(A1)"
    assert reporting.safe_cell("-1") == "'-1"
    assert reporting.safe_cell("@x") == "'@x"
    assert reporting.safe_cell("Thái") == "Thái"
    assert reporting.to_csv([["+cmd", 1]]) == "'+cmd,1\r\n"


def test_to_visit_lists_what_each_household_lacks(session, province):
    officer = make_user(session, Role.officer, communes=[province["a"]])
    session.commit()
    visits = reporting.to_visit(session, officer, province["a"].id, as_of=D)
    p = province["p"]
    lacks = {v.producer_id: v.lacks for v in visits}
    assert lacks == {p["p3"].id: ("booth", "sale"), p["p4"].id: ("account", "sale"),
                     p["p9"].id: ("booth",)}
    assert all(v.village == "Bản Thử" and v.phone for v in visits)


def test_to_visit_other_commune_is_not_found(session, province):
    officer = make_user(session, Role.officer, communes=[province["a"]])
    with pytest.raises(NotFound):
        reporting.to_visit(session, officer, province["b"].id, as_of=D)


def test_trend_month_ends(session, province):
    t = reporting.trend(session, months=3, as_of=D)
    assert [p.on for p in t.points] == [date(2026, 9, 30), date(2026, 10, 31), D]
    assert (t.points[-1].booth_and_payment, t.points[-1].ecommerce_transacting) == (0.4, 0.6)
    key, start, target, per_month = t.paths[0]
    assert (key, start, target) == ("booth_and_payment", 0.4, 0.5)
    assert per_month == round(0.1 / 49, 4)  # Nov 2026 → Dec 2030


# --- HTTP and CLI ------------------------------------------------------------------------

@pytest.fixture
def admin(session):
    make_user(session, Role.admin, username="admin")
    session.commit()


def test_endpoint_json_for_admin(client, login, province, admin):
    login("admin")
    response = client.get("/reports/adoption.json?as_of=2026-11-28")
    assert response.status_code == 200
    assert response.get_json() == EXPECTED


def test_endpoint_suppresses_for_officer(client, login, session, province):
    make_user(session, Role.officer, username="officer", communes=[province["a"]])
    session.commit()
    login("officer")
    data = client.get("/reports/adoption.json?as_of=2026-11-28").get_json()
    assert data["indicators"] == EXPECTED["indicators"]
    assert data["by_ethnic_group"][0]["indicators"][1]["denominator"] == "< 5"


def test_endpoint_bad_date_is_400(client, login, province, admin):
    login("admin")
    response = client.get("/reports/adoption.json?as_of=2026-13-01")
    assert response.status_code == 400
    assert b"YYYY-MM-DD" in response.data
    assert client.get("/reports/adoption.json?as_of=0001-01-01").status_code == 400


def test_endpoint_refuses_producers_and_anonymous(client, login, session, province):
    anonymous = client.get("/reports/adoption.json")
    assert anonymous.status_code in (302, 401, 404)
    make_user(session, Role.producer, username="0911111111", producer=province["p"]["p1"])
    session.commit()
    login("0911111111")
    assert client.get("/reports/adoption.json").status_code == 404
    assert client.get("/reports/adoption.csv").status_code == 404
    assert client.get(f"/reports/visits/{province['a'].id}.csv").status_code == 404


def test_csv_endpoint_and_visits(client, login, session, province):
    make_user(session, Role.officer, username="officer", communes=[province["a"]])
    session.commit()
    login("officer")
    body = client.get("/reports/adoption.csv?as_of=2026-11-28").get_data(as_text=True)
    lines = body.splitlines()
    assert lines[0] == ",".join(reporting.CSV_HEADER)
    assert lines[1] == "2026-11-28,province,,booth_and_payment,0.5,2,5,0.4,1"
    visits = client.get(f"/reports/visits/{province['a'].id}.csv?as_of=2026-11-28")
    assert visits.status_code == 200 and visits.get_data(as_text=True).count("\r\n") == 4
    assert client.get(f"/reports/visits/{province['b'].id}.csv").status_code == 404


def test_cli_json_equals_endpoint(client, login, runner, province, admin):
    login("admin")
    endpoint = client.get("/reports/adoption.json?as_of=2026-11-28").get_json()
    result = runner.invoke(cli, ["report", "adoption", "--as-of", "2026-11-28",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == endpoint


def test_cli_table_csv_and_xlsx(runner, province, tmp_path):
    result = runner.invoke(cli, ["report", "adoption", "--as-of", "2026-11-28"])
    assert result.exit_code == 0 and "booth_and_payment" in result.output
    result = runner.invoke(cli, ["report", "adoption", "--as-of", "2026-11-28",
                                 "--format", "csv"])
    assert result.output.splitlines()[1] == "2026-11-28,province,,booth_and_payment,0.5,2,5,0.4,1"
    out = tmp_path / "r.xlsx"
    result = runner.invoke(cli, ["report", "adoption", "--as-of", "2026-11-28",
                                 "--format", "xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert rows[1][3:] == ("booth_and_payment", 0.5, 2, 5, 0.4, 1)
    bad = runner.invoke(cli, ["report", "adoption", "--as-of", "28/11/2026"])
    assert bad.exit_code != 0


def test_adoption_page_draws_svg_without_script(client, login, session, province):
    make_user(session, Role.officer, username="officer", communes=[province["a"]])
    session.commit()
    login("officer")
    client.set_cookie("lang", "en")
    response = client.get("/reports/adoption?as_of=2026-11-28")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert b"<script" not in response.data
    assert html.count("<svg") == 3  # two bars and the trend
    assert 'width="120.0"' in html  # 0.4 of 300 px: booth_and_payment
    assert 'x1="150.0"' in html  # the 50 % target line
    assert f'/reports/visits/{province["a"].id}?as_of=2026-11-28' in html
    assert f'/reports/visits/{province["b"].id}' not in html  # not the officer's commune
    assert "&lt; 5" in html
    assert "(target 50 %)" in html


def test_visits_page(client, login, session, province):
    make_user(session, Role.officer, username="officer", communes=[province["a"]])
    session.commit()
    login("officer")
    html = client.get(f"/reports/visits/{province['a'].id}?as_of=2026-11-28").get_data(True)
    assert html.count("<tr>") == 4  # header + p3, p4, p9
    assert client.get(f"/reports/visits/{province['b'].id}").status_code == 404


def test_trend_series_matches_the_report_on_each_day(session, province):
    """The one-query trend counts exactly what adoption() counts, day by day (the
    dataset's edges sit around D, so check the days around it and a few month-ends)."""
    days = [D - timedelta(days=2), D - timedelta(days=1), D, D + timedelta(days=1),
            date(2026, 6, 1), date(2026, 5, 31), date(2025, 12, 31)]
    series = reporting._series(session, days, None)
    for day, counts in zip(days, series):
        expected = reporting.adoption(session, as_of=day).indicators
        got = counts.indicators
        pairs = [(i.numerator, i.denominator) for i in got]
        assert pairs == [(i.numerator, i.denominator) for i in expected], day
    one = reporting._series(session, [D], {province["b"].id})[0]
    assert [(i.numerator, i.denominator) for i in one.indicators] == [(1, 1), (0, 0)]
