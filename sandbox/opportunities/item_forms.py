"""Small forms for an opportunity's lines, contact roles, partners and competitors.

Pickers do not validate the chosen id against their choices: the route looks the record up through
visibility, so a forged id answers 404 (as for any record the viewer may not read), not a form error.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..codes.services import choices
from ..numbers import BoundedDecimalField
from ..records.picker import PickerSelect

NOT_NEGATIVE = NumberRange(min=0, message=_l("Must not be negative."))
PERCENT = NumberRange(min=0, max=100, message=_l("The discount is a percentage from 0 to 100."))


def _picker(label: str | object) -> SelectField:
    return SelectField(label, coerce=int, validate_choice=False, widget=PickerSelect(),
                       validators=[DataRequired(message=_l("Choose one from the list."))])


class LineValuesForm(FlaskForm):
    """Quantity, unit price and discount of a product line."""

    quantity = BoundedDecimalField(_l("Quantity"), digits=10, places=2, validators=[InputRequired(), NumberRange(
        min=0.01, message=_l("The quantity must be more than zero."))])
    unit_price = BoundedDecimalField(_l("Unit price"), places=2, validators=[Optional(), NOT_NEGATIVE],
                              description=_l("Leave empty for the product's list price."))
    discount = BoundedDecimalField(_l("Discount (%)"), digits=3, places=2, default=0, validators=[Optional(), PERCENT])
    submit = SubmitField(_l("Save"))


class LineForm(LineValuesForm):
    """A new product line: the product and its values."""

    product_id = _picker(_l("Product"))
    submit = SubmitField(_l("Add product"))


class ContactRoleForm(FlaskForm):
    """A contact's role on an opportunity."""

    contact_id = _picker(_l("Contact"))
    role = SelectField(_l("Role"), validators=[DataRequired()])
    is_primary = BooleanField(_l("Primary contact"))
    submit = SubmitField(_l("Add contact"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.role.choices = choices("contact_role")


class PartnerForm(FlaskForm):
    """A partner account on an opportunity."""

    account_id = _picker(_l("Partner account"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Add partner"))


class OpportunityCompetitorForm(FlaskForm):
    """A competitor listed on an opportunity."""

    competitor_id = _picker(_l("Competitor"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Add competitor"))
