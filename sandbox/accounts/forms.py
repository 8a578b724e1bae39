"""Account form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from ..codes.services import choices
from ..leads.forms import PHONE
from ..numbers import BoundedDecimalField, BoundedIntegerField
from ..records.lookups import visible_choices
from ..records.picker import PickerSelect


class AccountForm(FlaskForm):
    """The account's create and edit form; its labels are the account's field labels."""

    name = StringField(_l("Account name"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Type"), validators=[Optional()])
    industry = SelectField(_l("Industry"), validators=[Optional()])
    rating = SelectField(_l("Rating"), validators=[Optional()])
    level = SelectField(_l("Level"), validators=[Optional()])
    ownership = SelectField(_l("Ownership"), validators=[Optional()])
    source = SelectField(_l("Source"), validators=[Optional()])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    fax = StringField(_l("Fax"), validators=[Optional(), PHONE])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    website = URLField(_l("Website"), validators=[Optional(), Length(max=255)])
    billing_address = StringField(_l("Billing address"), validators=[Optional(), Length(max=300)])
    shipping_address = StringField(_l("Shipping address"), validators=[Optional(), Length(max=300)])
    employees = BoundedIntegerField(_l("Employees"),
                                    validators=[Optional(), NumberRange(min=0, message=_l("Must not be negative."))])
    annual_revenue = BoundedDecimalField(
        _l("Annual revenue"), places=2, validators=[Optional(), NumberRange(min=0, message=_l("Must not be negative."))]
    )
    parent_id = SelectField(_l("Parent account"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=300)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        for name, table in (("type", "account_type"), ("industry", "industry"), ("rating", "rating"),
                            ("level", "account_level"), ("ownership", "ownership"), ("source", "lead_source")):
            getattr(self, name).choices = choices(table, getattr(obj, name, None), blank=True)
        from .models import Account

        self.parent_id.choices = visible_choices(
            Account, getattr(obj, "parent_id", None), exclude_id=getattr(obj, "id", None))
