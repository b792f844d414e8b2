"""A fresh demo province built through the same domain functions as the pages."""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocopkit.access import SYSTEM
from ocopkit.db import utcnow
from ocopkit.passwords import temporary_password, temporary_pin
from ocopkit.resources import instance_path
from ocopkit.users import Role, create_user
from onboarding.imports import import_communes
from onboarding.models import Commune, ConsentPurpose, ProducerKind
from onboarding.producers import (
    ProducerData, give_login, record_consent, record_training, register_producer,
)
from onboarding.reference import ethnic_group_lookup, find_ethnic_group



def demo_file(name: str) -> Path:
    """The demo's files live in the instance folder: `demo.sqlite3`, `demo-media`,
    `demo-outside-sales.csv`."""
    return instance_path() / name

COMMUNES_CSV = """code,name,ethnic_minority_area
DB-MP,Mường Phăng,có
DB-NS,Na Sang,có
DB-TC,Tủa Chùa,có
DB-MA,Mường Ảng,có
DB-TT,Thanh Nưa,không
""".encode()

PRODUCERS = (
    ("DB-HH-001", "household", "Hộ Lò Văn Pánh", "Lò Văn Pánh", "0912000001", "Thái", "DB-MP", "Bản Công", 4),
    ("DB-HH-002", "household", "Hộ Lò Thị Ún", "Lò Thị Ún", "0912000002", "Thái", "DB-MP", "Bản Khá", 3),
    ("DB-HH-003", "household", "Hộ Giàng A Dế", "Giàng A Dế", "0912000003", "Mông", "DB-TC", "Bản Tả Phìn", 3),
    ("DB-HH-004", "household", "Hộ Sùng Thị Mỷ", "Sùng Thị Mỷ", "0912000004", "Mông", "DB-TC", "Bản Sín Chải", None),
    ("DB-HH-005", "household", "Hộ Quàng Văn Sơn", "Quàng Văn Sơn", "0912000005", "Khơ-mú", "DB-NS", "Bản Huổi Lóng", 3),
    ("DB-HH-006", "household", "Hộ Lý Thị Chang", "Lý Thị Chang", "0912000006", "Dao", "DB-MA", "Bản Pú Súa", 4),
    ("DB-HH-007", "household", "Hộ Pờ Lò Xá", "Pờ Lò Xá", "0912000007", "Hà Nhì", "DB-NS", "Bản Sín Thầu", 3),
    ("DB-HH-008", "household", "Hộ Nguyễn Văn Bình", "Nguyễn Văn Bình", "0912000008", "Kinh", "DB-TT", "Thôn Hồng Lạnh", 3),
    ("DB-HTX-01", "cooperative", "HTX Chè Shan Tuyết Tủa Chùa", "Mùa A Sử", "0912000009", "Mông", "DB-TC", "Bản Háng Đề Dê", 4),
    ("DB-HTX-02", "cooperative", "HTX Gạo Séng Cù Điện Biên", "Lò Văn Hương", "0912000010", "Thái", "DB-TT", "Bản Him Lam", 5),
    ("DB-DN-01", "enterprise", "Công ty Cà phê Mường Ảng", "Trần Thị Hoa", "0912000011", "Kinh", "DB-MA", "Tổ dân phố 3", 4),
)


def draw_photo(seed: int, colour: tuple[int, int, int], size=(1200, 900)) -> bytes:
    """A photo-like JPEG drawn with Pillow (gradient, soft shapes, grain): nothing downloaded."""
    import io
    import random

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(seed)
    width, height = size
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    tint = Image.new("RGB", size, colour)
    image = Image.blend(image, tint, 0.7)
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 160)
        shade = tuple(min(255, max(0, c + rng.randrange(-60, 60))) for c in colour)
        draw.ellipse((x - r, y - r // 2, x + r, y + r // 2), fill=shade)
    image = image.filter(ImageFilter.GaussianBlur(3))
    noise = Image.effect_noise(size, 18).convert("RGB")
    image = Image.blend(image, noise, 0.08)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


PRODUCTS = {
    "DB-HH-001": [("Gạo Séng Cù Mường Phăng", "rice", "kg", 45000, (214, 196, 150)),
                  ("Xôi nếp nương", "rice", "gói", 30000, (230, 220, 190))],
    "DB-HH-002": [("Thịt trâu gác bếp", "meat", "gói", 180000, (120, 60, 40)),
                  ("Chẩm chéo Mường Phăng", "spices", "hũ", 40000, (170, 40, 30))],
    "DB-HH-003": [("Chè Shan Tuyết cổ thụ", "tea", "gói", 120000, (70, 120, 50))],
    "DB-HH-005": [("Mật ong rừng Na Sang", "honey", "chai", 250000, (200, 140, 30))],
    "DB-HH-006": [("Thuốc tắm lá người Dao", "herbs", "gói", 50000, (60, 100, 60))],
    "DB-HTX-01": [("Chè Shan Tuyết Tủa Chùa loại đặc biệt", "tea", "hộp", 350000, (50, 100, 40)),
                  ("Chè xanh Tủa Chùa", "tea", "gói", 90000, (90, 140, 60)),
                  ("Chè vàng Shan Tuyết", "tea", "gói", 150000, (170, 140, 50))],
    "DB-DN-01": [("Cà phê Arabica Mường Ảng", "coffee", "gói", 160000, (90, 55, 30))],
}


def _seed_shop(session: Session, officer, producers: dict, media_root) -> None:
    """Booths with Pillow-drawn photos, a verified bank account, a batch with its steps."""
    from datetime import datetime, timezone

    from payments.accounts import AccountDetails, link_account, verify_account
    from payments.models import AccountKind
    from shop.booths import (
        ProductData, add_product_photo, create_booth, create_product, publish_booth,
    )
    from shop.traceability import add_event, create_lot

    for n, (code, items) in enumerate(PRODUCTS.items()):
        producer = producers[code]
        booth = create_booth(session, officer, producer, title=f"Gian hàng {producer.name}",
                             story="Sản phẩm làm tại bản, theo cách của ông bà để lại.")
        for m, (name, category, unit, price, colour) in enumerate(items):
            product = create_product(session, officer, booth, ProductData(
                name=name, unit=unit, price_vnd=price, category=category, stock=40,
                status="published", description=f"{name}, đặc sản {producer.commune.name}."))
            add_product_photo(session, officer, product, draw_photo(n * 10 + m, colour),
                              media_root)
            if m == 0:
                lot = create_lot(session, officer, product, lot_code=f"L2026{n:02d}",
                                 produced_on=date(2026, 10, 1), expires_on=date(2027, 10, 1),
                                 origin=producer.village)
                add_event(session, officer, lot, kind="harvested", place=producer.village,
                          occurred_at=datetime(2026, 10, 1, 1, tzinfo=timezone.utc))
                add_event(session, officer, lot, kind="packed", place=producer.commune.name,
                          occurred_at=datetime(2026, 10, 5, 3, tzinfo=timezone.utc))
        publish_booth(session, officer, booth)
        if n % 2 == 0:
            record_consent(session, officer, producer, ConsentPurpose.link_payment_account)
            account = link_account(session, officer, producer, AccountDetails(
                AccountKind.bank, f"0011{n:03d}932418", producer.representative.upper(),
                bank_bin="970405"))
            verify_account(session, officer, account, "in_person")


def build_demo(session: Session, media_root) -> list[tuple[str, str, str]]:
    """Fill an empty database; returns (role, username, password) of the demo logins."""
    import_communes(session, SYSTEM, COMMUNES_CSV)
    communes = {c.code: c for c in session.scalars(select(Commune))}
    admin_password, officer_password = temporary_password(), temporary_password()
    create_user(session, username="admin", password=admin_password, role=Role.admin,
                display_name="Quản trị viên")
    officer = create_user(session, username="canbo", password=officer_password,
                          role=Role.officer, display_name="Cán bộ khuyến nông Lò Thị Mai",
                          communes=list(communes.values()))
    groups = ethnic_group_lookup(session)
    today = utcnow().date()
    producers = {}
    for i, (code, kind, name, rep, phone, group, commune, village, stars) in enumerate(PRODUCERS):
        producer = register_producer(session, officer, ProducerData(
            code=code, kind=ProducerKind(kind), name=name, representative=rep, phone=phone,
            ethnic_group=find_ethnic_group(groups, group), commune=communes[commune],
            village=village, ocop_stars=stars,
            ocop_certificate_no=f"OCOP-ĐB-{2024 + i % 2}-{i + 1:03d}" if stars else None,
            ocop_certified_on=date(2024 + i % 2, 3 + i % 6, 10) if stars else None))
        producers[code] = producer
        if code in PRODUCTS:
            record_consent(session, officer, producer, ConsentPurpose.publish_booth)
        if i % 2 == 0:
            record_training(session, officer, producer, held_on=today - timedelta(days=30 + i),
                            topic="Bán hàng trên sàn thương mại điện tử", trainer="Sở Công Thương")
    _seed_shop(session, officer, producers, media_root)
    producer_password = temporary_pin(producers["DB-HH-001"].phone)
    give_login(session, officer, producers["DB-HH-001"], password=producer_password)
    return [("admin", "admin", admin_password), ("officer", "canbo", officer_password),
            ("producer", producers["DB-HH-001"].phone, producer_password)]


def outside_sales_csv() -> bytes:
    """Sales two demo households made on other platforms, to try the import with: importing
    it again changes nothing."""
    return ("producer_code,platform,reference,amount_vnd,occurred_at,status\n"
            "DB-HH-001,Shopee,SP-2611-0001,90000,2026-11-20 09:30,completed\n"
            "DB-HH-001,TikTok Shop,TT-2611-0042,135000,2026-11-22 20:15,completed\n"
            "DB-HH-003,Postmart,PM-2611-0007,240000,2026-11-25,completed\n").encode()


def prepare_demo(overrides: dict | None = None):
    """Delete and rebuild instance/demo.sqlite3; returns the app and the demo logins."""
    db_path, media = demo_file("demo.sqlite3"), demo_file("demo-media")
    from ocopkit import create_app
    from ocopkit.db import get_session, transaction
    from ocopkit.migrate import upgrade

    import shutil

    for suffix in ("", "-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(media, ignore_errors=True)
    url = f"sqlite:///{db_path}"
    # The demo is tried without an authenticator app: its staff may skip the second factor
    # (offered at /account/two-factor); a real install insists.
    app = create_app({"DATABASE_URL": url, "ENV": "development", "MEDIA_ROOT": str(media),
                      "STAFF_SECOND_FACTOR_REQUIRED": False, **(overrides or {})})
    upgrade(url)
    with app.app_context():
        session = get_session()
        with transaction(session):
            credentials = build_demo(session, media)
    demo_file("demo-outside-sales.csv").write_bytes(outside_sales_csv())
    return app, credentials
