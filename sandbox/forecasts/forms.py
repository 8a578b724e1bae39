"""Forms of the forecast pages: a quota, a quota CSV import, a forecast submission."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class QuotaForm(FlaskForm):
    """One salesperson's quota for one quarter (amount checked by the service, so its message is one)."""

    username = StringField(_l("Salesperson (username)"), validators=[DataRequired(), Length(max=64)])
    quarter = StringField(_l("Quarter"), validators=[DataRequired(), Length(max=16)])
    amount = StringField(_l("Quota amount"), validators=[DataRequired(), Length(max=32)])
    submit = SubmitField(_l("Set quota"))


class QuotaImportForm(FlaskForm):
    """A CSV of quotas: username, quarter, amount."""

    file = FileField(_l("Quota CSV"), validators=[FileRequired()])
    submit = SubmitField(_l("Import quotas"))


class SubmitForecastForm(FlaskForm):
    """Submit (or submit again) the viewer's forecast for a quarter."""

    quarter = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Submit my forecast"))
