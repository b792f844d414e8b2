"""The buyers' read side: home, booth and product pages, search.

Every function returns frozen dataclasses built from plain rows, so a template can never
start a query. A booth is public only while it is published AND the household's consent to
publish is active: the consent is checked in the queries themselves, so withdrawing it
takes the booth off every public page at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session, aliased

from ocopkit.db import utcnow
from ocopkit.text import fold
from onboarding.consents import consented
from onboarding.models import Commune, ConsentPurpose, Producer
from payments.models import AccountKind, AccountStatus, LinkedAccount
from onboarding.reporting import valid_certificate
from shop.booths import OcopBadge, certificate_badge
from shop.models import Booth, BoothStatus, Category, Product, ProductImage, ProductStatus

CARD_WIDTH = 320
LARGE_WIDTH = 960


def _consent(purpose: ConsentPurpose):
    return consented(Booth.producer_id, purpose)


def public_booth():
    """SQL condition: the booth may be shown, and its products sold, to anyone (needs Booth
    in the FROM). The cart, checkout, scan page and VietQR image ask this too."""
    return and_(Booth.status == BoothStatus.published, _consent(ConsentPurpose.publish_booth))


def vietqr_shown():
    """SQL condition: buyers may see the booth's static VietQR (needs Booth and Producer):
    a public booth, the consent to use a payment account, a verified bank account."""
    return and_(public_booth(), _consent(ConsentPurpose.link_payment_account),
                _verified_bank_account())


def public_product():
    return and_(public_booth(), Product.status == ProductStatus.published)


def _first_image():
    """Correlated subquery: the id of the product's first photo."""
    first = aliased(ProductImage)
    return (select(first.id).where(first.product_id == Product.id)
            .order_by(first.position).limit(1).correlate(Product).scalar_subquery())


@dataclass(frozen=True)
class Image:
    key: str
    width: int
    height: int

    def height_at(self, width: int) -> int:
        return max(1, round(self.height * width / self.width)) if self.width else width


@dataclass(frozen=True)
class ProductCard:
    id: int
    slug: str
    name: str
    unit: str
    price_vnd: int
    stock: int
    image: Image | None
    badge: OcopBadge | None
    booth_id: int
    booth_slug: str
    booth_title: str


@dataclass(frozen=True)
class BoothCard:
    id: int
    slug: str
    title: str
    commune_name: str
    cover_key: str | None


@dataclass(frozen=True)
class CommuneLink:
    id: int
    name: str
    booths: int


@dataclass(frozen=True)
class CategoryLink:
    category: Category
    products: int


@dataclass(frozen=True)
class Home:
    communes: tuple[CommuneLink, ...]
    categories: tuple[CategoryLink, ...]
    recent_booths: tuple[BoothCard, ...]


@dataclass(frozen=True)
class BoothPage:
    id: int
    slug: str
    title: str
    story: str
    story_own_language: str
    cover_key: str | None
    producer_name: str
    commune_id: int
    commune_name: str
    village: str
    phone: str | None
    products: tuple[ProductCard, ...]
    vietqr_producer_id: int | None = None  # set when buyers can pay it by VietQR


@dataclass(frozen=True)
class ProductPage:
    id: int
    slug: str
    name: str
    description: str
    category: Category
    unit: str
    price_vnd: int
    stock: int
    badge: OcopBadge | None
    images: tuple[Image, ...]
    booth_id: int
    booth_slug: str
    booth_title: str
    producer_name: str
    commune_id: int
    commune_name: str
    village: str


@dataclass(frozen=True)
class SearchPage:
    items: tuple[ProductCard, ...]
    page: int
    pages: int
    total: int


_CARD_COLUMNS = (Product.id, Product.slug, Product.name, Product.unit, Product.price_vnd,
                 Product.stock, Producer.ocop_stars, Producer.ocop_certificate_no,
                 Producer.ocop_certified_on, ProductImage.key, ProductImage.width,
                 ProductImage.height, Booth.id, Booth.slug, Booth.title)


def _card(row, today: date) -> ProductCard:
    (pid, slug, name, unit, price, stock, stars, cert, certified_on, key, width, height,
     booth_id, booth_slug, booth_title) = row
    return ProductCard(pid, slug, name, unit, price, stock,
                       Image(key, width, height) if key else None,
                       certificate_badge(stars, cert, certified_on, today), booth_id, booth_slug,
                       booth_title)


def _cards_stmt():
    return (select(*_CARD_COLUMNS).join(Booth, Booth.id == Product.booth_id)
            .join(Producer, Producer.id == Booth.producer_id)
            .outerjoin(ProductImage, ProductImage.id == _first_image()))


def _by_name(row) -> tuple[str, int]:
    """Vietnamese-friendly order, the same on every database (collations differ)."""
    return fold(row[1]), row[0]


def home(session: Session, *, recent: int = 8) -> Home:
    """Communes and categories that have something to show, and the latest booths."""
    communes = session.execute(
        select(Commune.id, Commune.name, func.count(Booth.id))
        .join(Producer, Producer.commune_id == Commune.id)
        .join(Booth, Booth.producer_id == Producer.id)
        .where(public_booth()).group_by(Commune.id, Commune.name)).all()
    categories = dict(session.execute(
        select(Product.category, func.count(Product.id))
        .join(Booth, Booth.id == Product.booth_id).where(public_product())
        .group_by(Product.category)).all())
    booths = session.execute(
        select(Booth.id, Booth.slug, Booth.title, Commune.name, Booth.cover_image)
        .join(Producer, Producer.id == Booth.producer_id)
        .join(Commune, Commune.id == Producer.commune_id)
        .where(public_booth())
        .order_by(Booth.published_at.desc(), Booth.id.desc()).limit(recent)).all()
    return Home(
        communes=tuple(CommuneLink(*row) for row in sorted(communes, key=_by_name)),
        categories=tuple(CategoryLink(c, categories[c]) for c in Category if c in categories),
        recent_booths=tuple(BoothCard(*row) for row in booths),
    )


def _verified_bank_account():
    """EXISTS: the booth's producer has a verified bank account (its static VietQR)."""
    return exists().where(LinkedAccount.producer_id == Producer.id,
                          LinkedAccount.kind == AccountKind.bank,
                          LinkedAccount.status == AccountStatus.verified)


def booth_page(session: Session, booth_id: int, *, today: date | None = None) -> BoothPage | None:
    """A public booth with its published products (two queries), or None."""
    today = today or utcnow().date()
    row = session.execute(
        select(Booth.id, Booth.slug, Booth.title, Booth.story, Booth.story_own_language,
               Booth.cover_image, Producer.name, Commune.id, Commune.name, Producer.village,
               Producer.phone, _consent(ConsentPurpose.show_phone), Producer.id,
               vietqr_shown())
        .join(Producer, Producer.id == Booth.producer_id)
        .join(Commune, Commune.id == Producer.commune_id)
        .where(Booth.id == booth_id, public_booth())).one_or_none()
    if row is None:
        return None
    *fields, phone, show_phone, producer_id, has_vietqr = row
    products = session.execute(
        _cards_stmt().where(Product.booth_id == booth_id,
                            Product.status == ProductStatus.published)).all()
    products = sorted(products, key=lambda p: (fold(p.name), p.id))
    return BoothPage(*fields, phone=phone if show_phone else None,
                     products=tuple(_card(p, today) for p in products),
                     vietqr_producer_id=producer_id if has_vietqr else None)


def product_page(session: Session, product_id: int, *,
                 today: date | None = None) -> ProductPage | None:
    """A published product of a public booth, with all its photos (two queries), or None."""
    today = today or utcnow().date()
    row = session.execute(
        select(Product.id, Product.slug, Product.name, Product.description, Product.category,
               Product.unit, Product.price_vnd, Product.stock, Producer.ocop_stars,
               Producer.ocop_certificate_no, Producer.ocop_certified_on, Booth.id, Booth.slug,
               Booth.title, Producer.name, Commune.id, Commune.name, Producer.village)
        .join(Booth, Booth.id == Product.booth_id)
        .join(Producer, Producer.id == Booth.producer_id)
        .join(Commune, Commune.id == Producer.commune_id)
        .where(Product.id == product_id, public_product())).one_or_none()
    if row is None:
        return None
    (pid, slug, name, description, category, unit, price, stock, stars, cert, certified_on,
     *rest) = row
    images = session.execute(
        select(ProductImage.key, ProductImage.width, ProductImage.height)
        .where(ProductImage.product_id == pid).order_by(ProductImage.position)).all()
    return ProductPage(pid, slug, name, description, category, unit, price, stock,
                       certificate_badge(stars, cert, certified_on, today),
                       tuple(Image(*i) for i in images), *rest)


def search_products(session: Session, *, q: str = "", commune_id: int | None = None,
                    category: Category | str | None = None, stars: int | None = None,
                    page: int = 1, per_page: int = 24, today: date | None = None) -> SearchPage:
    """Public products whose folded text holds every folded word of `q`, newest first.

    Folding (ocopkit.text.fold) drops case, diacritics and đ/Đ on both sides, and the match
    is a plain LIKE on Product.search_text, so SQLite and PostgreSQL answer alike.
    `stars` means "at least this many" on the producer's certificate still valid today."""
    today = today or utcnow().date()
    conditions = [public_product()]
    for word in fold(q).split():
        conditions.append(Product.search_text.contains(word, autoescape=True))
    if commune_id:
        conditions.append(Producer.commune_id == commune_id)
    if category:
        conditions.append(Product.category == Category(category))
    if stars:
        conditions.append(valid_certificate(today, stars))
    total = session.scalar(select(func.count(Product.id))
                           .join(Booth, Booth.id == Product.booth_id)
                           .join(Producer, Producer.id == Booth.producer_id).where(*conditions))
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = session.execute(_cards_stmt().where(*conditions).order_by(Product.id.desc())
                           .limit(per_page).offset((page - 1) * per_page)).all()
    return SearchPage(tuple(_card(r, today) for r in rows), page, pages, total)


def commune_choices(session: Session) -> list[tuple[int, str]]:
    """Communes with at least one public booth, for the search filter."""
    return sorted((tuple(r) for r in session.execute(
        select(Commune.id, Commune.name).where(exists().where(
            Producer.commune_id == Commune.id, Booth.producer_id == Producer.id,
            public_booth()))).all()), key=_by_name)


@dataclass(frozen=True)
class EditorProduct:
    id: int
    name: str
    unit: str
    price_vnd: int
    stock: int
    status: ProductStatus
    photos: int


def editor_products(session: Session, booth_id: int, *,
                    today: date | None = None) -> tuple[EditorProduct, ...]:
    """Every product of a booth, whatever its status, for the editor (one query)."""
    today = today or utcnow().date()
    photos = (select(func.count(ProductImage.id)).where(ProductImage.product_id == Product.id)
              .scalar_subquery())
    rows = session.execute(
        select(Product.id, Product.name, Product.unit, Product.price_vnd, Product.stock,
               Product.status, photos)
        .where(Product.booth_id == booth_id)).all()
    rows = sorted(rows, key=lambda r: (fold(r[1]), r[0]))
    return tuple(EditorProduct(*r) for r in rows)


@dataclass(frozen=True)
class EditorImage:
    id: int
    image: Image


def editor_images(session: Session, product_id: int) -> tuple[EditorImage, ...]:
    rows = session.execute(
        select(ProductImage.id, ProductImage.key, ProductImage.width, ProductImage.height)
        .where(ProductImage.product_id == product_id).order_by(ProductImage.position)).all()
    return tuple(EditorImage(r[0], Image(*r[1:])) for r in rows)
