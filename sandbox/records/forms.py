"""Forms shared by every record type."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.validators import InputRequired


class TransferForm(FlaskForm):
    owner_id = SelectField(_l("New owner"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Transfer"))


class ConfirmForm(FlaskForm):
    """An empty form: only its CSRF token, for POST buttons (delete, restore, sign out)."""
