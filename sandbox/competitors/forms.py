"""Competitor form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField, URLField
from wtforms.validators import DataRequired, Length, Optional

from ..codes.services import choices


class CompetitorForm(FlaskForm):
    """The competitor's create and edit form; its labels are the competitor's field labels."""

    name = StringField(_l("Competitor name"), validators=[DataRequired(), Length(max=200)])
    website = URLField(_l("Website"), validators=[Optional(), Length(max=255)])
    threat_level = SelectField(_l("Threat level"), validators=[Optional()])
    company_type = SelectField(_l("Company type"), validators=[Optional()])
    strengths = TextAreaField(_l("Strengths"), validators=[Optional(), Length(max=2000)])
    weaknesses = TextAreaField(_l("Weaknesses"), validators=[Optional(), Length(max=2000)])
    products = TextAreaField(_l("Products"), validators=[Optional(), Length(max=2000)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.threat_level.choices = choices("threat_level", getattr(obj, "threat_level", None), blank=True)
        self.company_type.choices = choices("company_type", getattr(obj, "company_type", None), blank=True)
