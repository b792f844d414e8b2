"""Forms of the booth editor and the buyers' search: syntax only; rules live in booths.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ocopkit.forms import Form, VersionField
from ocopkit.money import parse_vnd
from shop.models import Category

CATEGORY_LABELS = {
    Category.tea: _l("Tea"), Category.rice: _l("Rice"), Category.coffee: _l("Coffee"),
    Category.honey: _l("Honey"), Category.spices: _l("Spices"), Category.herbs: _l("Herbs"),
    Category.fruit: _l("Fruit"), Category.meat: _l("Meat"), Category.drinks: _l("Drinks"),
    Category.crafts: _l("Crafts"), Category.other: _l("Other"),
}
STATUS_CHOICES = [SelectChoice("draft", _l("Draft (not shown)")),
                  SelectChoice("published", _l("Shown to buyers")),
                  SelectChoice("hidden", _l("Hidden"))]


class VNDField(StringField):
    """A price typed as '120.000', '120 000' or '120000 ₫' (read by ocopkit.money.parse_vnd,
    so '1.5' is refused, not read as 15); the data is an int, 0 included: the bounds are
    the domain's rule."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_kw", {}).update({"inputmode": "numeric"})
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        self.data = None
        if valuelist:
            self.raw_text = valuelist[0]
            try:
                self.data = parse_vnd(valuelist[0], allow_zero=True)
            except ValueError:
                raise ValueError(_l("Type the price in đồng, for example 120.000.")) from None

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else f"{self.data:,}".replace(",", ".")


class BoothForm(Form):
    version = VersionField()
    title = StringField(_l("Booth name"), validators=[DataRequired(), Length(max=120)])
    story = TextAreaField(_l("Your story (Vietnamese)"), validators=[Optional(), Length(max=4000)])
    story_own_language = TextAreaField(_l("Your story in your own language (optional)"),
                                       validators=[Optional(), Length(max=4000)])


class PhotoForm(Form):
    photo = FileField(_l("Photo (JPEG, PNG or WebP)"), validators=[FileRequired()],
                      render_kw={"accept": "image/*"})


class ActionForm(Form):
    """A button-only form (publish, suspend, remove): just the CSRF token."""


class ProductForm(Form):
    name = StringField(_l("Product name"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    category = SelectField(_l("Category"), default="other",
                           choices=[SelectChoice(c.value, label)
                                    for c, label in CATEGORY_LABELS.items()])
    unit = StringField(_l("Sold by (kg, gói, chai…)"), validators=[DataRequired(), Length(max=30)],
                       render_kw={"list": "units"})
    price_vnd = VNDField(_l("Price (đồng)"), validators=[InputRequired()])
    stock = IntegerField(_l("In stock"), default=0, validators=[InputRequired()],
                         render_kw={"inputmode": "numeric"})
    status = SelectField(_l("Show to buyers?"), choices=STATUS_CHOICES, default="draft")
    photo = FileField(_l("Add a photo (optional)"), render_kw={"accept": "image/*"})



class ProductEditForm(ProductForm):
    """The editor of an existing product: no stock figure to send back (it would undo sales
    made while the form was open), but units received or a stock-take, and the version."""

    stock = None
    version = VersionField()
    stock_received = IntegerField(_l("Units received (added to the stock)"),
                                  validators=[Optional()], render_kw={"inputmode": "numeric"})
    stock_counted = IntegerField(_l("Stock-take: the number you have just counted"),
                                 validators=[Optional()], render_kw={"inputmode": "numeric"})
