"""Forms of the traceability pages: syntax only; rules live in shop.traceability."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ocopkit.forms import Form

EVENT_CHOICES = [SelectChoice("harvested", _l("Harvested")),
                 SelectChoice("processed", _l("Processed")),
                 SelectChoice("packed", _l("Packed")), SelectChoice("shipped", _l("Shipped")),
                 SelectChoice("received", _l("Received")), SelectChoice("sold", _l("Sold"))]
EVENT_LABELS = {c.value: c.label for c in EVENT_CHOICES}


class LotForm(Form):
    lot_code = StringField(_l("Lot code (letters and digits)"),
                           validators=[DataRequired(), Length(max=20)])
    produced_on = DateField(_l("Production or harvest date"), validators=[DataRequired()])
    expires_on = DateField(_l("Expiry or best-before date"), validators=[Optional()])
    quantity = IntegerField(_l("Quantity"), validators=[Optional(), NumberRange(min=0)],
                            render_kw={"inputmode": "numeric"})
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=30)])
    origin = StringField(_l("Origin (village, farm or plot)"),
                         validators=[Optional(), Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class EventForm(Form):
    kind = SelectField(_l("Step"), choices=EVENT_CHOICES)
    occurred_at = DateTimeLocalField(_l("When"), validators=[DataRequired()],
                                     format="%Y-%m-%dT%H:%M")
    place = StringField(_l("Where"), validators=[Optional(), Length(max=200)])


class WithdrawLotForm(Form):
    reason = TextAreaField(_l("Why is the batch withdrawn?"),
                           validators=[DataRequired(), Length(max=1000)])


class GtinForm(Form):
    gtin = StringField(_l("GTIN (barcode number, optional)"),
                       validators=[Optional(), Length(max=20)],
                       render_kw={"inputmode": "numeric"})
