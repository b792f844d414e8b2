"""The booth editor's write side: booths, products, photos, publishing.

Plain functions over a Session; they flush and never commit. Officers of the producer's
commune, admins and the producer's own login may edit; anyone else gets NotFound (never
a hint that the booth exists). Every change is written to the producer's history with
`record_change`, which keeps who did it and for which producer.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from ocopkit.access import can_manage_producer, is_staff
from ocopkit.db import check_version, flush_versioned, utcnow
from ocopkit.errors import Conflict, Invalid, N_, NotAllowed, NotFound
from ocopkit.text import fold, nfc, slugify
from onboarding.models import Commune, ConsentPurpose, Producer
from onboarding.producers import certificate_expires_on, has_consent, record_change
from shop.models import (
    MAX_PHOTOS_PER_PRODUCT, Booth, BoothStatus, Category, Product, ProductImage, ProductStatus,
)

UNITS = ("kg", "g", "lít", "chai", "hộp", "gói", "bó", "con")
MAX_PRICE_VND = 1_000_000_000
MAX_STOCK = 1_000_000
OCOP_WARNING_DAYS = 60


# --- access ---------------------------------------------------------------------------

def _producer_of(session: Session, booth: Booth) -> Producer:
    producer = session.get(Producer, booth.producer_id)
    assert producer is not None
    return producer


def _require_editor(actor, producer: Producer) -> None:
    if not can_manage_producer(actor, producer):
        raise NotFound(N_("No such booth."))


def get_booth_for_edit(session: Session, actor, booth_id: int) -> Booth:
    """The booth, if the actor may edit it; otherwise NotFound."""
    booth = session.get(Booth, booth_id)
    if booth is None or not can_manage_producer(actor, _producer_of(session, booth)):
        raise NotFound(N_("No such booth."))
    return booth


def get_product_for_edit(session: Session, actor, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(N_("No such product."))
    get_booth_for_edit(session, actor, product.booth_id)
    return product


def booth_of_producer(session: Session, producer_id: int) -> Booth | None:
    return session.scalar(select(Booth).where(Booth.producer_id == producer_id))


# --- booths ---------------------------------------------------------------------------

def _booth_fields(title: str, story: str, story_own_language: str) -> tuple[str, str, str]:
    title = nfc(title)
    if not title:
        raise Invalid("title", N_("The booth needs a name."))
    if len(title) > 120:
        raise Invalid("title", N_("The booth name is longer than %(n)s characters."), n=120)
    return title, (story or "").strip(), (story_own_language or "").strip()


def create_booth(session: Session, actor, producer: Producer, *, title: str, story: str = "",
                 story_own_language: str = "") -> Booth:
    """Open the producer's booth (one per producer), as a draft."""
    _require_editor(actor, producer)
    title, story, story_own_language = _booth_fields(title, story, story_own_language)
    if booth_of_producer(session, producer.id) is not None:
        raise Conflict("title", N_("This producer already has a booth."))
    booth = Booth(producer_id=producer.id, title=title, slug=slugify(title) or "booth",
                  story=story, story_own_language=story_own_language,
                  status=BoothStatus.draft)
    session.add(booth)
    session.flush()
    record_change(session, actor, producer, "booth_created", title)
    return booth


def update_booth(session: Session, actor, booth: Booth, *, title: str, story: str = "",
                 story_own_language: str = "", version: int | None = None) -> list[str]:
    """Change the booth's name and story; returns the changed fields. `version` is the one
    the edit form was opened at: Stale if the booth was saved since."""
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    check_version(booth, version)
    title, story, story_own_language = _booth_fields(title, story, story_own_language)
    values = {"title": title, "story": story, "story_own_language": story_own_language}
    changed = [name for name, value in values.items() if getattr(booth, name) != value]
    if not changed:
        return []
    with session.no_autoflush:  # written once, by flush_versioned
        for name, value in values.items():
            setattr(booth, name, value)
        booth.slug = slugify(title) or "booth"
        if "title" in changed:
            commune_name = session.scalar(select(Commune.name).where(
                Commune.id == producer.commune_id))
            for product in session.scalars(select(Product).where(Product.booth_id == booth.id)):
                product.search_text = search_text_of(product, booth.title, commune_name)
    flush_versioned(session)
    record_change(session, actor, producer, "booth_updated", ", ".join(changed))
    return changed


def set_cover(session: Session, actor, booth: Booth, photo_key: str | None) -> str | None:
    """Use a stored photo as the booth's cover; returns the key it replaced."""
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    old, booth.cover_image = booth.cover_image, photo_key
    session.flush()
    record_change(session, actor, producer, "booth_cover_set")
    return old


def _limits(max_bytes: int | None, max_pixels: int | None) -> dict[str, int]:
    return {k: v for k, v in (("max_bytes", max_bytes), ("max_pixels", max_pixels)) if v}


def set_cover_photo(session: Session, actor, booth: Booth, data: bytes, media_root, *,
                    max_bytes: int | None = None, max_pixels: int | None = None) -> str:
    """Process and store an uploaded cover photo, then use it; the old files are removed."""
    from shop.images import process_photo
    from shop.media import delete_photo, save_photo

    _require_editor(actor, _producer_of(session, booth))
    key = save_photo(media_root, process_photo(data, **_limits(max_bytes, max_pixels)))
    try:
        old = set_cover(session, actor, booth, key)
    except BaseException:
        delete_photo(media_root, key)
        raise
    if old:
        delete_photo(media_root, old)
    return key


def _require_consent(session: Session, producer_id: int) -> None:
    if not has_consent(session, producer_id, ConsentPurpose.publish_booth):
        raise Invalid("consent", N_("The household has not given its consent to publish a "
                                    "booth. Record the consent on the producer's page first."))


def _sellable_product_exists(session: Session, booth_id: int) -> bool:
    return session.scalar(select(exists().where(
        Product.booth_id == booth_id, Product.status == ProductStatus.published,
        Product.price_vnd > 0,
        exists().where(ProductImage.product_id == Product.id)))) or False


def publish_booth(session: Session, actor, booth: Booth) -> Booth:
    """Make the booth public: needs the publish consent and one sellable product."""
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    if booth.status == BoothStatus.suspended and not is_staff(actor):
        raise NotAllowed(N_("The booth was suspended by an officer; ask them to reopen it."))
    _require_consent(session, producer.id)
    if not _sellable_product_exists(session, booth.id):
        raise Invalid("products", N_("Publish at least one product with a photo and a price "
                                     "above 0 first."))
    booth.status = BoothStatus.published
    booth.published_at = utcnow()
    session.flush()
    record_change(session, actor, producer, "booth_published")
    return booth


def unpublish_booth(session: Session, actor, booth: Booth) -> Booth:
    """Take the booth off the public pages (back to draft)."""
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    if booth.status == BoothStatus.suspended and not is_staff(actor):
        raise NotAllowed(N_("The booth was suspended by an officer; ask them to reopen it."))
    booth.status = BoothStatus.draft
    session.flush()
    record_change(session, actor, producer, "booth_unpublished")
    return booth


def suspend_booth(session: Session, actor, booth: Booth, reason: str = "") -> Booth:
    """An officer hides the booth; only staff can publish it again."""
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    if not is_staff(actor):
        raise NotAllowed(N_("Only officers and administrators can do this."))
    booth.status = BoothStatus.suspended
    session.flush()
    record_change(session, actor, producer, "booth_suspended", nfc(reason))
    return booth


# --- products -------------------------------------------------------------------------

@dataclass
class ProductData:
    """A product's editable fields, already typed (from a form, a CSV row or a test).
    `stock` is the opening stock of a new product only: an update never writes it (see
    receive_stock and count_stock)."""

    name: str
    unit: str
    price_vnd: int
    description: str = ""
    category: Category | str = Category.other
    stock: int = 0
    status: ProductStatus | str = ProductStatus.draft


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_stock(stock, field: str = "stock") -> int:
    """A stock figure is a whole number from 0 to MAX_STOCK."""
    if not _is_int(stock) or not 0 <= stock <= MAX_STOCK:
        raise Invalid(field, N_("The stock must be from 0 to 1,000,000."))
    return stock


def check_product_data(data: ProductData) -> ProductData:
    """Normalise the fields and raise Invalid on the first broken rule."""
    name = nfc(data.name)
    if not name:
        raise Invalid("name", N_("The product needs a name."))
    if len(name) > 160:
        raise Invalid("name", N_("The product name is longer than %(n)s characters."), n=160)
    unit = nfc(data.unit)
    if not unit:
        raise Invalid("unit", N_("Say how the product is sold (kg, gói, chai…)."))
    if len(unit) > 30:
        raise Invalid("unit", N_("The unit is longer than %(n)s characters."), n=30)
    if not _is_int(data.price_vnd) or not 1 <= data.price_vnd <= MAX_PRICE_VND:
        raise Invalid("price_vnd", N_("The price must be from 1 to 1,000,000,000 đồng."))
    check_stock(data.stock)
    try:
        category, status = Category(data.category), ProductStatus(data.status)
    except ValueError:
        raise Invalid("category", N_("Choose a category from the list.")) from None
    return ProductData(name=name, unit=unit, price_vnd=data.price_vnd,
                       description=(data.description or "").strip(), category=category,
                       stock=data.stock, status=status)


def search_text_of(product: Product, booth_title: str, commune_name: str | None) -> str:
    """What buyers' searches match: folded name, description, booth title and commune."""
    return fold(" ".join(p for p in (product.name, product.description, booth_title,
                                     commune_name) if p))


def _apply_product(session: Session, product: Product, booth: Booth, producer: Producer,
                   data: ProductData, *, skip: tuple[str, ...] = ()) -> list[str]:
    # read before any change, so no autoflush writes half of it (flush_versioned does)
    commune_name = session.scalar(select(Commune.name).where(Commune.id == producer.commune_id))
    changed = []
    for name, value in vars(data).items():
        if name not in skip and getattr(product, name, None) != value:
            changed.append(name)
            setattr(product, name, value)
    product.slug = slugify(data.name) or "product"
    product.search_text = search_text_of(product, booth.title, commune_name)
    return changed


def create_product(session: Session, actor, booth: Booth, data: ProductData) -> Product:
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    data = check_product_data(data)
    product = Product(booth_id=booth.id)
    _apply_product(session, product, booth, producer, data)
    session.add(product)
    session.flush()
    record_change(session, actor, producer, "product_created", product.name)
    return product


def update_product(session: Session, actor, product: Product, data: ProductData, *,
                   version: int | None = None) -> list[str]:
    """Change the product's fields except its stock (a form read earlier would write back
    units sold since: security.md, trap 10). Stale if saved since `version`."""
    booth = session.get(Booth, product.booth_id)
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    check_version(product, version)
    data = check_product_data(data)
    changed = _apply_product(session, product, booth, producer, data, skip=("stock",))
    if changed:
        flush_versioned(session)
        record_change(session, actor, producer, "product_updated",
                      f"{product.name}: {', '.join(changed)}")
    return changed


def _editable_producer(session: Session, actor, product: Product) -> Producer:
    producer = _producer_of(session, session.get(Booth, product.booth_id))
    _require_editor(actor, producer)
    return producer


def receive_stock(session: Session, actor, product: Product, quantity: int) -> int:
    """Units received (nhập thêm) are added in one conditional UPDATE, so sales made at the
    same time are kept; returns the new stock."""
    producer = _editable_producer(session, actor, product)
    if not _is_int(quantity) or not 1 <= quantity <= MAX_STOCK:
        raise Invalid("stock_received", N_("The quantity received must be from 1 to 1,000,000."))
    new = session.scalar(
        update(Product)
        .where(Product.id == product.id, Product.stock + quantity >= 0,
               Product.stock + quantity <= MAX_STOCK)
        .values(stock=Product.stock + quantity).returning(Product.stock)
        .execution_options(synchronize_session=False))
    if new is None:
        raise Invalid("stock_received", N_("The stock must be from 0 to 1,000,000."))
    session.expire(product, ["stock"])
    record_change(session, actor, producer, "stock_received",
                  f"{product.name}: +{quantity} → {new}")
    return new


def count_stock(session: Session, actor, product: Product, counted: int) -> int:
    """A stock-take (kiểm kê): the number the person has just counted becomes the stock, as
    an absolute figure they state now (not one read into a form earlier)."""
    producer = _editable_producer(session, actor, product)
    check_stock(counted, "stock_counted")
    before = session.scalar(select(Product.stock).where(Product.id == product.id)
                            .with_for_update())
    session.execute(update(Product).where(Product.id == product.id).values(stock=counted)
                    .execution_options(synchronize_session=False))
    session.expire(product, ["stock"])
    record_change(session, actor, producer, "stock_counted",
                  f"{product.name}: {before} → {counted}")
    return counted


# --- photos ---------------------------------------------------------------------------

def add_product_photo(session: Session, actor, product: Product, data: bytes, media_root, *,
                      max_bytes: int | None = None,
                      max_pixels: int | None = None) -> ProductImage:
    """Check and shrink the photo, store its renditions, then add the row (max 5)."""
    from shop.images import process_photo
    from shop.media import delete_photo, save_photo

    booth = session.get(Booth, product.booth_id)
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    count, last = session.execute(
        select(func.count(ProductImage.id), func.max(ProductImage.position))
        .where(ProductImage.product_id == product.id)).one()
    if count >= MAX_PHOTOS_PER_PRODUCT:
        raise Invalid("photo", N_("A product has at most %(n)s photos; remove one first."),
                      n=MAX_PHOTOS_PER_PRODUCT)
    photo = process_photo(data, **_limits(max_bytes, max_pixels))
    key = save_photo(media_root, photo)
    try:
        image = ProductImage(product_id=product.id, position=(last or 0) + 1, key=key,
                             width=photo.width, height=photo.height, created_at=utcnow())
        session.add(image)
        session.flush()
    except BaseException:
        delete_photo(media_root, key)
        raise
    session.expire(product, ["images"])
    record_change(session, actor, producer, "photo_added", product.name)
    return image


def remove_product_photo(session: Session, actor, image: ProductImage, media_root) -> None:
    """Delete the photo's row, then its files."""
    from shop.media import delete_photo

    product = session.get(Product, image.product_id)
    booth = session.get(Booth, product.booth_id)
    producer = _producer_of(session, booth)
    _require_editor(actor, producer)
    key = image.key
    session.delete(image)
    session.flush()
    session.expire(product, ["images"])
    record_change(session, actor, producer, "photo_removed", product.name)
    delete_photo(media_root, key)


# --- checklist and OCOP badge ---------------------------------------------------------

@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    done: bool


def completeness(session: Session, booth: Booth) -> list[ChecklistItem]:
    """What the booth still lacks before buyers can trust and pay it (for the editor)."""
    published = (Product.booth_id == booth.id) & (Product.status == ProductStatus.published)
    has_image = exists().where(ProductImage.product_id == Product.id)
    row = session.execute(select(
        func.count(Product.id),
        func.count(Product.id).filter(has_image),
        func.count(Product.id).filter(Product.price_vnd > 0),
        func.count(Product.id).filter(func.length(func.trim(Product.unit)) > 0),
    ).where(published)).one()
    total, with_photo, with_price, with_unit = row
    return [
        ChecklistItem("consent", N_("Consent to publish recorded"),
                      has_consent(session, booth.producer_id, ConsentPurpose.publish_booth)),
        ChecklistItem("product", N_("At least one published product"), total > 0),
        ChecklistItem("photo", N_("Every published product has a photo"),
                      total > 0 and with_photo == total),
        ChecklistItem("price", N_("Every published product has a price"),
                      total > 0 and with_price == total),
        ChecklistItem("unit", N_("Every published product says its unit"),
                      total > 0 and with_unit == total),
        ChecklistItem("story", N_("The booth tells its story"), bool((booth.story or "").strip())),
        ChecklistItem("payment_account", N_("Verified payment account"), False),
    ]


@dataclass(frozen=True)
class OcopBadge:
    stars: int
    certificate_no: str | None
    expires_on: date | None


def ocop_badge(stars: int | None, certificate_no: str | None, expires_on: date | None,
               today: date) -> OcopBadge | None:
    """The badge buyers see: only while the certificate is valid.

    `expires_on` is the first day the certificate is no longer valid (as in
    onboarding.producers.certificate_expires_on); no date means none recorded yet."""
    if not stars or (expires_on is not None and expires_on <= today):
        return None
    return OcopBadge(stars, certificate_no, expires_on)


def certificate_badge(stars: int | None, certificate_no: str | None,
                      certified_on: date | None, today: date) -> OcopBadge | None:
    """The badge of a producer's certificate (set by staff on the register), which is what
    every product of its booth shows: a product has no stars of its own."""
    expires_on = certificate_expires_on(certified_on) if certified_on else None
    return ocop_badge(stars, certificate_no, expires_on, today)


def certificate_warning(producer: Producer, today: date) -> str | None:
    """ocop_warning for the producer's certificate."""
    certified_on = producer.ocop_certified_on
    return ocop_warning(producer.ocop_stars,
                        certificate_expires_on(certified_on) if certified_on else None, today)


def ocop_warning(stars: int | None, expires_on: date | None, today: date) -> str | None:
    """For the officer: the certificate has expired, or expires within 60 days."""
    if not stars or expires_on is None:
        return None
    if expires_on <= today:
        return N_("The OCOP certificate has expired: the badge is hidden from buyers.")
    if expires_on - today <= timedelta(days=OCOP_WARNING_DAYS):
        return N_("The OCOP certificate expires within 60 days: plan the renewal.")
    return None
