"""The scan page, the GS1 resolver and the officer's batch pages over HTTP; an A4 sheet
downloaded from the batch page decodes, label by label, to the page of that batch."""
from __future__ import annotations

import io
import json
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
    assert len(urls) == 24
    assert set(urls) == {"http://localhost/01/04006381333931/10/L2026A1"}
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
        "https://ocop.example.vn/01/04006381333931/10/L2026A1"]
    missing = runner.invoke(cli, ["labels", "--batch", "NOPE1234", "--out", str(out)])
    assert missing.exit_code == 1


BASE = "https://ocop.example.vn"
LINKSET_OF = '<{base}{path}?linkType=all>; rel="linkset"; type="application/linkset+json"'


def _assert_resolver_headers(response, path):
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    exposed = {h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Link", "Location"} <= exposed
    assert response.headers["Link"] == LINKSET_OF.format(base=BASE, path=path)


@pytest.fixture
def public(app):
    app.config["PUBLIC_BASE_URL"] = BASE


def test_bare_gtin_redirects_to_the_product_with_link_and_cors(client, lot, public):
    _, item = lot
    response = client.get("/01/04006381333931")
    assert response.status_code == 303
    assert response.location == f"{BASE}/products/{item.product_id}"
    _assert_resolver_headers(response, "/01/04006381333931")
    shorter = client.get("/01/4006381333931")  # a GTIN-13 as written on the pack
    assert shorter.status_code == 303 and shorter.location == response.location


def test_bare_gtin_linkset_lists_the_product_links(client, lot, public):
    _, item = lot
    response = client.get("/01/04006381333931?linkType=all")
    assert response.status_code == 200 and response.mimetype == "application/linkset+json"
    _assert_resolver_headers(response, "/01/04006381333931")
    links = response.get_json()["linkset"][0]
    assert links["anchor"] == f"{BASE}/01/04006381333931"
    product_url = f"{BASE}/products/{item.product_id}"
    assert links["https://gs1.org/voc/defaultLink"][0]["href"] == product_url
    assert links["https://gs1.org/voc/pip"][0]["href"] == product_url
    assert links["https://gs1.org/voc/defaultLink"][0]["title"] == "Chè Shan Tuyết cổ thụ"


def test_lot_answers_carry_the_linkset_link_and_cors(client, lot, public):
    _, item = lot
    path = "/01/04006381333931/10/L2026A1"
    page = client.get(path)
    assert page.status_code == 200 and item.trace_code in page.get_data(as_text=True)
    _assert_resolver_headers(page, path)
    unknown = client.get("/01/04006381333931/10/NOPE")
    assert unknown.status_code == 303
    _assert_resolver_headers(unknown, "/01/04006381333931/10/NOPE")
    linkset = client.get(path + "?linkType=all")
    _assert_resolver_headers(linkset, path)
    assert "https://gs1.org/voc/recallStatus" not in linkset.get_json()["linkset"][0]


def test_a_named_link_type_redirects_to_that_link(client, lot, public):
    _, item = lot
    pip = client.get("/01/04006381333931/10/L2026A1?linkType=gs1:pip")
    assert pip.status_code == 307 and pip.location == f"{BASE}/products/{item.product_id}"
    _assert_resolver_headers(pip, "/01/04006381333931/10/L2026A1")
    epcis = client.get("/01/04006381333931/10/L2026A1?linkType=https://gs1.org/voc/epcis")
    assert epcis.location == f"{BASE}/t/{item.trace_code}/epcis.json"
    missing = client.get("/01/04006381333931/10/L2026A1?linkType=gs1:recallStatus")
    assert missing.status_code == 404


@pytest.mark.parametrize("path", [
    "/01/04006381333932", "/01/04006381333932/10/L2026A1",   # check digit wrong
    "/01/400638133393/10/L2026A1", "/01/ABC", "/01/040063813339311",  # not a GTIN
    "/01/04006381333931/10/" + "A" * 21, "/01/04006381333931/10/L%C3%B41",  # not a batch
])
def test_malformed_keys_are_400_in_html_or_json(client, lot, public, path):
    page = client.get(path)
    assert page.status_code == 400 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Đường dẫn GS1 Digital Link không hợp lệ" in html
    assert page.headers["Access-Control-Allow-Origin"] == "*"
    english = client.get(path + "?lang=en").get_data(as_text=True)
    assert "This GS1 Digital Link is not valid" in english
    api = client.get(path, headers={"Accept": "application/json"})
    assert api.status_code == 400 and api.mimetype == "application/json"
    assert api.get_json()["status"] == 400 and api.get_json()["title"]


def test_unknown_gtin_is_404(client, lot, public):
    assert client.get("/01/09506000134352").status_code == 404
    assert client.get("/01/09506000134352/10/L2026A1").status_code == 404


def test_recalled_lot_linkset_carries_the_recall(client, session, lot, public):
    officer, item = lot
    traceability.withdraw_lot(session, officer, item, reason="Phát hiện nấm mốc trong lô")
    session.commit()
    path = "/01/04006381333931/10/L2026A1"
    page = client.get(path)
    assert page.status_code == 410
    _assert_resolver_headers(page, path)
    response = client.get(path + "?linkType=all")
    assert response.status_code == 200 and response.mimetype == "application/linkset+json"
    _assert_resolver_headers(response, path)
    recall = response.get_json()["linkset"][0]["https://gs1.org/voc/recallStatus"]
    assert recall[0]["href"] == f"{BASE}/t/{item.trace_code}"
    assert "Phát hiện nấm mốc trong lô" in recall[0]["title"]


def test_linkset_of_a_private_producer_names_no_household(client, session, public):
    commune = make_commune(session)
    officer = make_user(session, Role.officer, communes=[commune])
    household = make_producer(session, commune=commune, name="Hộ Giàng A Páo",
                              village="Bản Sín Chải")
    product = make_product(session, booth=make_booth(session, producer=household),
                           name="Mật ong bạc hà")
    traceability.set_gtin(session, officer, product, "9506000134352")
    traceability.create_lot(session, officer, product, lot_code="M1",
                            produced_on=date(2026, 10, 1))
    session.commit()
    for path in ("/01/09506000134352?linkType=all", "/01/09506000134352/10/M1?linkType=all"):
        body = json.dumps(client.get(path).get_json(), ensure_ascii=False)
        assert "Mật ong bạc hà" in body
        assert "Giàng A Páo" not in body and "Sín Chải" not in body


def test_resolver_description_at_the_well_known_address(client, public):
    response = client.get("/.well-known/gs1resolver")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    doc = response.get_json()
    assert doc["resolverRoot"] == BASE and doc["name"]
    assert doc["supportedPrimaryKeys"] == ["01"]
    assert {"namespace": "https://gs1.org/voc/", "prefix": "gs1:"} in doc["supportedLinkType"]
    assert doc["linkTypeDefaultCanBeLinkset"] is False


def test_label_of_a_product_with_a_gtin_carries_its_digital_link(client, login, lot, public):
    officer, item = lot
    login(officer.username)
    png = client.get(f"/lots/{item.id}/labels.png?format=thermal")
    urls = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)).convert("L"))]
    assert urls == [f"{BASE}/01/04006381333931/10/L2026A1"]
    assert client.get(urls[0].replace(BASE, "")).status_code == 200


def test_label_of_a_product_without_gtin_keeps_the_short_url(client, session, login, lot, public):
    officer, item = lot
    item.product.gtin = None
    session.commit()
    login(officer.username)
    png = client.get(f"/lots/{item.id}/labels.png?format=thermal")
    urls = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)).convert("L"))]
    assert urls == [f"{BASE}/t/{item.trace_code}"]
    assert "L2026A1" in client.get(f"/t/{item.trace_code}").get_data(as_text=True)


def test_resolver_answers_head_and_options_with_cors(client, session, lot, public):
    _, item = lot
    path = "/01/04006381333931/10/L2026A1"
    head = client.head(path)
    assert head.status_code == 200 and head.data == b""
    assert session.scalar(select(LotScanDay.scans).where(LotScanDay.lot_id == item.id)) is None
    _assert_resolver_headers(head, path)
    options = client.options(path, headers={"Origin": "https://scanner.example",
                                            "Access-Control-Request-Method": "GET"})
    assert options.status_code == 200 and "GET" in options.headers["Allow"]
    assert options.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in options.headers["Access-Control-Allow-Methods"]


def test_staff_pages_get_no_cors(client, login, lot):
    officer, item = lot
    login(officer.username)
    assert "Access-Control-Allow-Origin" not in client.get(f"/lots/{item.id}").headers
    assert "Access-Control-Allow-Origin" not in client.get(f"/t/{item.trace_code}").headers
