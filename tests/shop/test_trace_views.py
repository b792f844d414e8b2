"""The scan page, the GS1 resolver and the officer's batch pages over HTTP; an A4 sheet
downloaded from the batch page decodes, label by label, to the page of that batch."""
from __future__ import annotations

import re
import subprocess
from datetime import date, datetime, timezone

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from ocopkit.users import Role
from shop import traceability
from shop.models import BoothStatus, LotScanDay
from tests.factories import make_booth, make_commune, make_producer, make_product, make_user


@pytest.fixture
def lot(session):
    commune = make_commune(session, name="Tủa Chùa")
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune, name="HTX Chè Tủa Chùa",
                             village="Bản Háng Đề Dê", ocop_stars=4,
                             ocop_certificate_no="OCOP-ĐB-2025-007",
                             ocop_certified_on=date(2025, 3, 1))
    booth = make_booth(session, producer=producer, status=BoothStatus.published)
    product = make_product(session, booth=booth, name="Chè Shan Tuyết cổ thụ")
    traceability.set_gtin(session, officer, product, "4006381333931")
    lot = traceability.create_lot(session, officer, product, lot_code="L2026A1",
                                  produced_on=date(2026, 10, 1), expires_on=date(2027, 10, 1))
    traceability.add_event(session, officer, lot, kind="harvested", place="Nương chè",
                           occurred_at=datetime(2026, 10, 1, 1, tzinfo=timezone.utc))
    session.commit()
    return officer, lot


def test_scan_page_shows_the_batch_light_and_without_script(client, lot):
    _, item = lot
    response = client.get(f"/t/{item.trace_code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("Chè Shan Tuyết cổ thụ", "HTX Chè Tủa Chùa", "Bản Háng Đề Dê", "Tủa Chùa",
                 "L2026A1", item.trace_code, "01/10/2027", "★★★★", "OCOP-ĐB-2025-007"):
        assert text in html, text
    assert "Nương chè" in html and "08:00" in html  # 01:00 UTC shown in Asia/Ho_Chi_Minh
    assert "/booths/" in html
    assert len(response.data) < 30 * 1024
    assert b"<script" not in response.data
    assert html.count("<img") <= 1
    assert '<html lang="vi">' in html
    assert '<html lang="en">' in client.get(f"/t/{item.trace_code}?lang=en").get_data(as_text=True)


def test_each_scan_is_counted_for_the_day(client, session, lot):
    _, item = lot
    for _ in range(3):
        client.get(f"/t/{item.trace_code}")
    assert session.scalar(select(LotScanDay.scans).where(LotScanDay.lot_id == item.id)) == 3


def test_withdrawn_batch_shows_its_recall_first_and_resolver_answers_410(client, session, lot):
    officer, item = lot
    traceability.withdraw_lot(session, officer, item, reason="Phát hiện nấm mốc trong lô")
    session.commit()
    html = client.get(f"/t/{item.trace_code}").get_data(as_text=True)
    assert html.index("Phát hiện nấm mốc") < html.index("<h1>")
    assert 'class="recall"' in html and "/booths/" not in html
    response = client.get("/01/04006381333931/10/L2026A1")
    assert response.status_code == 410 and "Phát hiện nấm mốc" in response.get_data(as_text=True)


def test_resolver_answers_like_gs1s(client, lot):
    _, item = lot
    ok = client.get("/01/04006381333931/10/L2026A1")
    assert ok.status_code == 200 and item.trace_code in ok.get_data(as_text=True)
    other = client.get("/01/04006381333931/10/UNKNOWN")
    assert other.status_code == 303
    assert re.search(rf"/products/{item.product_id}\b", other.location)
    assert client.get("/01/09506000134352/10/L2026A1").status_code == 404
    linkset = client.get("/01/04006381333931/10/L2026A1?linkType=all")
    assert linkset.mimetype == "application/linkset+json"
    links = linkset.get_json()["linkset"][0]
    assert links["anchor"].endswith("/01/04006381333931/10/L2026A1")
    assert links["https://gs1.org/voc/defaultLink"][0]["href"].endswith(f"/t/{item.trace_code}")


def test_linkset_uses_the_public_address_not_a_forged_host(app, client, lot):
    _, item = lot
    app.config["PUBLIC_BASE_URL"] = "https://ocop.example.vn"
    response = client.get("/01/04006381333931/10/L2026A1?linkType=all",
                          headers={"Host": "evil.example"})
    links = response.get_json()["linkset"][0]
    hrefs = [links["anchor"]] + [link["href"] for key, value in links.items()
                                 if key != "anchor" for link in value]
    assert len(hrefs) == 5 and "evil" not in response.get_data(as_text=True)
    assert all(h.startswith("https://ocop.example.vn/") for h in hrefs), hrefs
    assert links["anchor"] == "https://ocop.example.vn/01/04006381333931/10/L2026A1"


def test_unknown_trace_code_is_404(client, lot):
    assert client.get("/t/ZZZZZZZZ").status_code == 404


def test_a4_sheet_from_the_batch_page_scans_to_the_batch(client, login, lot, tmp_path):
    officer, item = lot
    login(officer.username)
    page = client.get(f"/lots/{item.id}").get_data(as_text=True)
    href = re.search(r'href="([^"]*labels\.pdf\?[^"]*format=a4[^"]*)"', page).group(1)
    pdf = client.get(href.replace("&amp;", "&"))
    assert pdf.mimetype == "application/pdf"
    (tmp_path / "sheet.pdf").write_bytes(pdf.data)
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(tmp_path / "sheet.pdf"),
                    str(tmp_path / "p")], check=True)
    image = Image.open(next(tmp_path.glob("p-*.png")))
    urls = [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]
    assert len(urls) == 24 and set(urls) == {f"http://localhost/t/{item.trace_code}"}
    scanned = client.get(urls[0].replace("http://localhost", ""))
    assert "L2026A1" in scanned.get_data(as_text=True)


def test_officer_of_another_commune_gets_404_on_batch_pages(client, session, login, lot):
    _, item = lot
    stranger = make_user(session, Role.officer)
    session.commit()
    login(stranger.username)
    for url in (f"/lots/{item.id}", f"/lots/{item.id}/labels.pdf", f"/lots/{item.id}/epcis.json",
                f"/products/{item.product_id}/lots"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/lots/{item.id}/withdraw", data={"reason": "x"}).status_code == 404
    session.refresh(item)
    assert item.withdrawn_at is None


def test_officer_creates_a_batch_and_records_a_step(client, session, login, lot):
    officer, item = lot
    login(officer.username)
    response = client.post(f"/products/{item.product_id}/lots", data={
        "lot_code": "L2026B2", "produced_on": "2026-11-01", "expires_on": "2027-05-01",
        "quantity": "40", "unit": "kg", "origin": "Nương chè"})
    assert response.status_code == 302
    new_page = client.get(response.location).get_data(as_text=True)
    assert "L2026B2" in new_page
    lot_id = int(response.location.rsplit("/", 1)[1])
    client.post(f"/lots/{lot_id}/events", data={"kind": "packed",
                                                 "occurred_at": "2026-11-02T09:30", "place": "HTX"})
    assert "09:30" in client.get(f"/lots/{lot_id}").get_data(as_text=True)
    bad = client.post(f"/products/{item.product_id}/lots", data={
        "lot_code": "L2026B2", "produced_on": "2026-11-01"})
    assert bad.status_code == 422


def test_cli_prints_thermal_labels(runner, session, lot, tmp_path, app):
    _, item = lot
    from ocopkit.cli import cli

    app.config["PUBLIC_BASE_URL"] = "https://ocop.example.vn"
    out = tmp_path / "labels.pdf"
    result = runner.invoke(cli, ["labels", "--batch", item.trace_code, "--count", "2",
                                 "--format", "thermal", "--out", str(out)])
    assert result.exit_code == 0, result.output
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(out), str(tmp_path / "t")], check=True)
    pages = sorted(tmp_path.glob("t-*.png"))
    assert len(pages) == 2
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(pages[0]).convert("L"))] == [
        f"https://ocop.example.vn/t/{item.trace_code}"]
    missing = runner.invoke(cli, ["labels", "--batch", "NOPE1234", "--out", str(out)])
    assert missing.exit_code == 1
