"""Lead forms; picklists come from the code tables."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from ..codes.services import choices
from ..numbers import BoundedDecimalField, BoundedIntegerField
from ..records.picker import PickerSelect

PHONE = Regexp(r"^\+?[0-9][0-9 ()\-]{5,24}$", message=_l("Enter a phone number of digits, spaces and dashes."))


class LeadForm(FlaskForm):
    """The lead's create and edit form; its labels are the lead's field labels."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    mobile = StringField(_l("Mobile"), validators=[Optional(), PHONE])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    website = URLField(_l("Website"), validators=[Optional(), Length(max=255)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    industry = SelectField(_l("Industry"), validators=[Optional()])
    source = SelectField(_l("Source"), validators=[Optional()])
    status = SelectField(_l("Status"))
    rating = SelectField(_l("Rating"), validators=[Optional()])
    annual_revenue = BoundedDecimalField(
        _l("Annual revenue"), places=2, validators=[Optional(), NumberRange(min=0, message=_l("Must not be negative."))]
    )
    employees = BoundedIntegerField(_l("Employees"),
                                    validators=[Optional(), NumberRange(min=0, message=_l("Must not be negative."))])
    campaign_id = SelectField(_l("Campaign"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        from ..campaigns.models import Campaign
        from ..records.lookups import visible_choices

        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        # Only campaigns the viewer may see are offered (a forged id is "not a valid choice", next to the field).
        self.campaign_id.choices = visible_choices(Campaign, getattr(obj, "campaign_id", None)
                                                   or kwargs.get("campaign_id"))
        self.status.choices = [c for c in choices("lead_status", getattr(obj, "status", None)) if c[0] != "converted"]
        self.industry.choices = choices("industry", getattr(obj, "industry", None), blank=True)
        self.source.choices = choices("lead_source", getattr(obj, "source", None), blank=True)
        self.rating.choices = choices("rating", getattr(obj, "rating", None), blank=True)


class ConvertForm(FlaskForm):
    """What a lead converts into: an account (new or existing), a contact, maybe an opportunity."""

    account_mode = SelectField(_l("Account"), choices=[("new", _l("Create a new account")),
                                                       ("existing", _l("Attach to an existing account"))])
    account_id = SelectField(_l("Existing account"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    contact_id = SelectField(_l("Contact"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    create_opportunity = BooleanField(_l("Also create an opportunity"), default=True)
    opportunity_name = StringField(_l("Opportunity name"), validators=[Optional(), Length(max=200)])
    amount = BoundedDecimalField(_l("Amount"), places=2,
                          validators=[Optional(), NumberRange(min=0, message=_l("Must not be negative."))])
    close_date = DateField(_l("Close date"), validators=[Optional()])
    stage = SelectField(_l("Stage"))
    submit = SubmitField(_l("Convert"))
