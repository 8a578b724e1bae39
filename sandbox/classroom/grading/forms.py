"""Forms of a student's grading page: override an objective's points, clear the override, extend the deadline.

The forms carry what was typed; the rules (points within the objective's maximum, a comment, a deadline
after the run started) live in grading.services, which raises GradingError with the field to mark.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Optional

from ...activities.forms import LocalDateTimeField


class OverrideForm(FlaskForm):
    """Set an objective's points for one student, with a comment they read."""
    run = HiddenField()
    objective_id = HiddenField()
    points = StringField(_l("Points"), render_kw={"inputmode": "decimal", "autocomplete": "off"})
    comment = TextAreaField(_l("Comment for the student"), render_kw={"rows": 2})


class ClearOverrideForm(FlaskForm):
    """Remove the override on one objective."""
    run = HiddenField()
    objective_id = HiddenField()


class ExtensionForm(FlaskForm):
    """Give one student their own deadline in the run."""
    run = HiddenField()
    deadline = LocalDateTimeField(_l("New deadline"), validators=[Optional()])
    reason = StringField(_l("Reason (optional)"))


def unique_ids(form: FlaskForm, suffix: str) -> FlaskForm:
    """Give the form's fields ids of their own (several forms of one kind on a page), keeping their names."""
    for field in form:
        field.id = f"{field.name}-{suffix}"
        field.label.field_id = field.id
    return form
