"""Contact form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..codes.services import choices
from ..leads.forms import PHONE
from ..records.lookups import visible_choices
from ..records.picker import PickerSelect


class ContactForm(FlaskForm):
    """The contact's create and edit form; its labels are the contact's field labels."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    account_id = SelectField(_l("Account"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=100)])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=100)])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    mobile = StringField(_l("Mobile"), validators=[Optional(), PHONE])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    birthday = DateField(_l("Birthday"), validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    contact_method = SelectField(_l("Preferred contact method"), validators=[Optional()])
    reports_to_id = SelectField(_l("Reports to"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    source = SelectField(_l("Source"), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from ..accounts.models import Account
        from .models import Contact

        obj = kwargs.get("obj")
        self.account_id.choices = visible_choices(Account, getattr(obj, "account_id", None) or kwargs.get("account_id"))
        self.reports_to_id.choices = visible_choices(
            Contact, getattr(obj, "reports_to_id", None), exclude_id=getattr(obj, "id", None))
        self.contact_method.choices = choices("contact_method", getattr(obj, "contact_method", None), blank=True)
        self.source.choices = choices("lead_source", getattr(obj, "source", None), blank=True)
