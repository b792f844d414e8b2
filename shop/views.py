"""Buyer pages (home, booths, products, search, photos) and the booth and product editor.

HTTP only: the rules live in shop.booths, the reads in shop.catalogue; each POST commits once
and redirects (Post/Redirect/Get)."""
from __future__ import annotations

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from ocopkit.access import is_staff
from ocopkit.db import get_session, transaction, utcnow
from ocopkit.errors import Invalid, N_, NotAllowed, NotFound, Stale
from ocopkit.forms import attach_error
from ocopkit.i18n import error_text
from ocopkit.limits import count_hit
from ocopkit.urls import db_id
from onboarding.producers import get_producer
from shop import booths, catalogue
from shop.forms import (
    CATEGORY_LABELS, ActionForm, BoothForm, PhotoForm, ProductEditForm, ProductForm,
)
from shop.models import Category, ProductImage

bp = Blueprint("shop", __name__)
MEDIA_MAX_AGE = 365 * 24 * 3600


@bp.app_template_filter("category_label")
def category_label(category) -> str:
    return str(CATEGORY_LABELS.get(Category(category), category))


def _cart_url() -> str | None:
    """The orders blueprint's add-to-cart endpoint, when it is installed."""
    try:
        return url_for("orders.cart_add")
    except BuildError:
        return None


# --- buyers ---------------------------------------------------------------------------

def home():
    """The buyers' home page (served as site.home)."""
    return render_template("home.html", home=catalogue.home(get_session()))


@bp.get("/booths/<int:booth_id>")
@bp.get("/booths/<int:booth_id>-<slug>")
def booth(booth_id: int, slug: str | None = None):
    page = catalogue.booth_page(get_session(), booth_id)
    if page is None:
        abort(404)
    if slug != page.slug:
        return redirect(url_for("shop.booth", booth_id=booth_id, slug=page.slug), 301)
    return render_template("shop/booth.html", booth=page, cart_url=_cart_url())


@bp.get("/products/<int:product_id>")
@bp.get("/products/<int:product_id>-<slug>")
def product(product_id: int, slug: str | None = None):
    page = catalogue.product_page(get_session(), product_id)
    if page is None:
        abort(404)
    if slug != page.slug:
        return redirect(url_for("shop.product", product_id=product_id, slug=page.slug), 301)
    return render_template("shop/product.html", product=page, cart_url=_cart_url())


@bp.get("/search")
def search():
    db = get_session()
    args = request.args
    category = args.get("category") or None
    if category not in {c.value for c in Category}:
        category = None
    stars = args.get("stars", type=int)
    stars = stars if stars in (3, 4, 5) else None
    commune_id = args.get("commune", type=db_id)
    q = args.get("q", "")[:200]
    result = catalogue.search_products(
        db, q=q, commune_id=commune_id, category=category, stars=stars,
        page=args.get("page", 1, type=int), per_page=current_app.config["PAGE_SIZE"])
    filters = {k: v for k, v in (("q", q), ("commune", commune_id), ("category", category),
                                 ("stars", stars)) if v}
    return render_template("shop/search.html", result=result, filters=filters,
                           communes=catalogue.commune_choices(db), categories=list(Category),
                           cart_url=_cart_url())


@bp.get("/media/<key>_<int:width>.webp")
def media(key: str, width: int):
    from shop.media import photo_path

    try:
        path = photo_path(current_app.config["MEDIA_ROOT"], key, width)
    except ValueError:
        abort(404)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/webp", conditional=True, max_age=MEDIA_MAX_AGE)
    response.cache_control.immutable = True
    return response


# --- editor ---------------------------------------------------------------------------

def _flash_invalid(e: Invalid) -> None:
    flash(error_text(e), "error")


def _editor_page(booth, form, status=200):
    db = get_session()
    return render_template(
        "shop/booth_edit.html", booth=booth, form=form, producer_name=booth.producer.name,
        checklist=booths.completeness(db, booth),
        products=catalogue.editor_products(db, booth.id),
        photo_form=PhotoForm(prefix="cover"), action_form=ActionForm(),
        warning=booths.certificate_warning(booth.producer, utcnow().date()),
        can_suspend=is_staff(current_user)), status


@bp.route("/producers/<int:producer_id>/booth/new", methods=["GET", "POST"])
@login_required
def booth_new(producer_id: int):
    db = get_session()
    producer = get_producer(db, current_user, producer_id)
    existing = booths.booth_of_producer(db, producer.id)
    if existing is not None:
        return redirect(url_for("shop.booth_edit", booth_id=existing.id))
    form = BoothForm()
    if request.method == "GET":
        form.title.data = producer.name
    if form.validate_on_submit():
        try:
            with transaction(db):
                booth = booths.create_booth(
                    db, current_user, producer, title=form.title.data, story=form.story.data,
                    story_own_language=form.story_own_language.data)
        except Invalid as e:
            attach_error(form, e, error_text(e))
        else:
            flash(_("The booth is open as a draft. Add products, then publish it."), "info")
            return redirect(url_for("shop.booth_edit", booth_id=booth.id))
    status = 422 if request.method == "POST" else 200
    return render_template("shop/booth_new.html", form=form, producer=producer), status


@bp.route("/booths/<int:booth_id>/edit", methods=["GET", "POST"])
@login_required
def booth_edit(booth_id: int):
    db = get_session()
    booth = booths.get_booth_for_edit(db, current_user, booth_id)
    form = BoothForm(obj=booth) if request.method == "GET" else BoothForm()
    if form.validate_on_submit():
        try:
            with transaction(db):
                booths.update_booth(db, current_user, booth, title=form.title.data,
                                    story=form.story.data,
                                    story_own_language=form.story_own_language.data,
                                    version=form.version.data)
        except Stale as e:
            booth = _reloaded(db, booths.get_booth_for_edit, booth_id)
            form = _stale_form(BoothForm, booth, e)
            return _editor_page(booth, form, 409)
        except Invalid as e:
            db.expire_all()
            attach_error(form, e, error_text(e))
        else:
            flash(_("Saved."), "info")
            return redirect(url_for("shop.booth_edit", booth_id=booth.id))
    return _editor_page(booth, form, 422 if request.method == "POST" else 200)


def _reloaded(db, getter, object_id: int):
    """After a refused save: the object as stored now."""
    db.expire_all()
    return getter(db, current_user, object_id)


def _stale_form(form_class, obj, error: Stale):
    """The form filled from what is stored now, with the reason the save was refused."""
    form = form_class(formdata=None, obj=obj)
    form.form_errors.append(error_text(error))
    return form


def _booth_action(booth_id: int, action, done: str):
    db = get_session()
    booth = booths.get_booth_for_edit(db, current_user, booth_id)
    form = ActionForm()
    if form.validate_on_submit():
        try:
            with transaction(db):
                action(db, booth)
        except (Invalid, NotAllowed) as e:
            _flash_invalid(e)
        else:
            flash(done, "info")
    return redirect(url_for("shop.booth_edit", booth_id=booth_id))


@bp.post("/booths/<int:booth_id>/publish")
@login_required
def booth_publish(booth_id: int):
    return _booth_action(booth_id, lambda db, b: booths.publish_booth(db, current_user, b),
                         _("The booth is public."))


@bp.post("/booths/<int:booth_id>/unpublish")
@login_required
def booth_unpublish(booth_id: int):
    return _booth_action(booth_id, lambda db, b: booths.unpublish_booth(db, current_user, b),
                         _("The booth is no longer public."))


@bp.post("/booths/<int:booth_id>/suspend")
@login_required
def booth_suspend(booth_id: int):
    return _booth_action(booth_id, lambda db, b: booths.suspend_booth(db, current_user, b),
                         _("The booth is suspended."))


@bp.post("/booths/<int:booth_id>/cover")
@login_required
def booth_cover(booth_id: int):
    db = get_session()
    booth = booths.get_booth_for_edit(db, current_user, booth_id)
    form = PhotoForm(prefix="cover")
    if not form.validate_on_submit():
        flash(_("Choose a photo first."), "error")
    else:
        count_hit("photo_upload", per="user")
        try:
            with transaction(db):
                booths.set_cover_photo(db, current_user, booth, form.photo.data.read(),
                                       current_app.config["MEDIA_ROOT"], **_photo_limits())
        except Invalid as e:
            _flash_invalid(e)
        else:
            flash(_("The cover photo is saved."), "info")
    return redirect(url_for("shop.booth_edit", booth_id=booth_id))


def _product_data(form: ProductForm) -> booths.ProductData:
    return booths.ProductData(
        name=form.name.data, description=form.description.data or "",
        category=form.category.data, unit=form.unit.data, price_vnd=form.price_vnd.data,
        stock=form.stock.data if form.stock else 0, status=form.status.data)


def _update_product(db, form: ProductEditForm, product) -> None:
    """The fields (if nobody saved the product since the form was opened), then the stock
    change the form states, as a delta or a count."""
    received, counted = form.stock_received.data, form.stock_counted.data
    if received is not None and counted is not None:
        raise Invalid("stock_counted", N_("Fill in the units received or the stock-take, "
                                          "not both."))
    booths.update_product(db, current_user, product, _product_data(form),
                          version=form.version.data)
    if received is not None:
        booths.receive_stock(db, current_user, product, received)
    if counted is not None:
        booths.count_stock(db, current_user, product, counted)


def _photo_limits() -> dict[str, int]:
    config = current_app.config
    return {"max_bytes": config["PHOTO_MAX_BYTES"], "max_pixels": config["PHOTO_MAX_PIXELS"]}


def _save_product(db, form, booth, product):
    """Create or update the product and add the uploaded photo, all or nothing."""
    upload = form.photo.data
    data = upload.read() if upload and getattr(upload, "filename", "") else None
    if data:
        count_hit("photo_upload", per="user")
    media_root, image = current_app.config["MEDIA_ROOT"], None
    try:
        with transaction(db):
            if product is None:
                product = booths.create_product(db, current_user, booth, _product_data(form))
            else:
                _update_product(db, form, product)
            if data:
                image = booths.add_product_photo(db, current_user, product, data, media_root,
                                                 **_photo_limits())
    except BaseException:
        if image is not None:  # the files were written but the commit failed
            from shop.media import delete_photo
            delete_photo(media_root, image.key)
        raise
    return product


def _product_page(form, booth, product, status):
    images, warning = (), None
    if product is not None:
        images = catalogue.editor_images(get_session(), product.id)
        warning = booths.certificate_warning(booth.producer, utcnow().date())
    return render_template("shop/product_edit.html", form=form, booth=booth, product=product,
                           images=images, warning=warning, action_form=ActionForm(),
                           units=booths.UNITS), status


@bp.route("/booths/<int:booth_id>/products/new", methods=["GET", "POST"])
@login_required
def product_new(booth_id: int):
    db = get_session()
    booth = booths.get_booth_for_edit(db, current_user, booth_id)
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = _save_product(db, form, booth, None)
        except Invalid as e:
            db.expire_all()
            attach_error(form, e, error_text(e))
        else:
            flash(_("Product saved."), "info")
            return redirect(url_for("shop.product_edit", product_id=product.id))
    return _product_page(form, booth, None, 422 if request.method == "POST" else 200)


def _product_edit_form(product) -> ProductEditForm:
    form = ProductEditForm(formdata=None, obj=product)
    form.category.data, form.status.data = product.category.value, product.status.value
    return form


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
def product_edit(product_id: int):
    db = get_session()
    product = booths.get_product_for_edit(db, current_user, product_id)
    booth = product.booth
    form = _product_edit_form(product) if request.method == "GET" else ProductEditForm()
    if form.validate_on_submit():
        try:
            _save_product(db, form, booth, product)
        except Stale as e:
            product = _reloaded(db, booths.get_product_for_edit, product_id)
            form = _product_edit_form(product)
            form.form_errors.append(error_text(e))
            return _product_page(form, product.booth, product, 409)
        except Invalid as e:
            db.expire_all()
            attach_error(form, e, error_text(e))
        else:
            flash(_("Product saved."), "info")
            return redirect(url_for("shop.product_edit", product_id=product.id))
    return _product_page(form, booth, product, 422 if request.method == "POST" else 200)


@bp.post("/photos/<int:image_id>/delete")
@login_required
def photo_delete(image_id: int):
    db = get_session()
    image = db.get(ProductImage, image_id)
    if image is None:
        raise NotFound()
    product = booths.get_product_for_edit(db, current_user, image.product_id)
    if ActionForm().validate_on_submit():
        with transaction(db):
            booths.remove_product_photo(db, current_user, image, current_app.config["MEDIA_ROOT"])
        flash(_("Photo removed."), "info")
    return redirect(url_for("shop.product_edit", product_id=product.id))
