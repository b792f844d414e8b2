"""Builders for the shop tests: a commune with its officer, a producer, a booth with
products and photo rows, consent. Plain functions over a Session (see tests/factories.py)."""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from html.parser import HTMLParser

from PIL import Image

from ocopkit.users import Role
from onboarding.models import Commune, Producer
from onboarding.producers import record_consent
from shop import booths
from shop.booths import ProductData
from shop.models import Booth, Product, ProductImage
from tests.factories import make_commune, make_producer, make_user

_keys = itertools.count(1)


@dataclass
class Shop:
    commune: Commune
    officer: object
    producer: Producer
    booth: Booth


def jpeg(width: int = 64, height: int = 48, color=(40, 120, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


def photo_row(session, product: Product, position: int = 1) -> ProductImage:
    """A photo row without files (pages only need the key and the size)."""
    image = ProductImage(product_id=product.id, position=position,
                         key=f"k{next(_keys):030d}", width=640, height=480)
    session.add(image)
    session.flush()
    return image


def make_shop(session, *, commune_name: str | None = None, title: str = "Gạo Séng Cù Điện Biên",
              consent: bool = True, **producer_overrides) -> Shop:
    commune = make_commune(session, **({"name": commune_name} if commune_name else {}))
    officer = make_user(session, Role.officer, communes=[commune])
    producer = make_producer(session, commune=commune, actor=officer, **producer_overrides)
    booth = booths.create_booth(session, officer, producer, title=title,
                                story="Gạo trồng trên ruộng bậc thang.")
    if consent:
        record_consent(session, officer, producer, "publish_booth")
    return Shop(commune, officer, producer, booth)


def add_product(session, shop: Shop, name: str = "Chè Shan Tuyết", *, photo: bool = True,
                **overrides) -> Product:
    values = {"name": name, "unit": "gói", "price_vnd": 120000, "stock": 10,
              "category": "tea", "status": "published"}
    values.update(overrides)
    product = booths.create_product(session, shop.officer, shop.booth, ProductData(**values))
    if photo:
        photo_row(session, product)
    return product


def published_shop(session, *, products: int = 1, **kwargs) -> Shop:
    shop = make_shop(session, **kwargs)
    for i in range(products):
        add_product(session, shop, f"Sản phẩm {i + 1}" if products > 1 else "Chè Shan Tuyết")
    booths.publish_booth(session, shop.officer, shop.booth)
    return shop



def photo_modules(monkeypatch=None):
    """shop.images and shop.media (the photo pipeline the editor calls)."""
    import shop.images as images
    import shop.media as media
    return images, media


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit", "checkbox"):
            self.fields[name] = a.get("value") or ""
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.fields[name] = a.get("value") or "y"
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select:
            if "selected" in a or self._select not in self.fields:
                self.fields[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data.removeprefix("\n")


def form_fields(html: str, marker: str = 'enctype="multipart/form-data"') -> dict[str, str]:
    """What a browser would post back from the page's form (the first one after `marker`):
    every field as it was rendered."""
    start = html.index(marker) if marker in html else html.index("<form")
    reader = _FormReader()
    reader.feed(html[start:html.index("</form>", start)])
    return reader.fields
