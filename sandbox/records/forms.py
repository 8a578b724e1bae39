"""Forms shared by every record type."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.validators import InputRequired


def _id_or_zero(value: object) -> int:
    """A chosen id; anything that is no number becomes 0, which the service refuses with a clear message."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


class TransferForm(FlaskForm):
    """The new owner of a record."""

    owner_id = SelectField(_l("New owner"), coerce=_id_or_zero, validators=[InputRequired()])
    submit = SubmitField(_l("Transfer"))


class ConfirmForm(FlaskForm):
    """An empty form: only its CSRF token, for POST buttons (delete, restore, sign out)."""
