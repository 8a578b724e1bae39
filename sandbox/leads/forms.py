"""Lead forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

from .models import LEAD_STATUSES

PHONE = Regexp(r"^\+?[0-9][0-9 ()\-]{5,24}$", message=_l("Enter a phone number of digits, spaces and dashes."))


class LeadForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=100)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    phone = StringField(_l("Phone"), validators=[Optional(), PHONE])
    status = SelectField(_l("Status"), choices=[])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = [(k, _l(v)) for k, v in LEAD_STATUSES if k != "converted"]
