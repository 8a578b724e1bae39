"""Forms of the /scenarios/ page: load a scenario, reset the class or one student, undo the last reset."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, HiddenField, IntegerField, SelectField
from wtforms.validators import DataRequired, InputRequired, Optional

CONFIRM = _l("Tick to confirm: the data it replaces can only be brought back by “Undo”.")


class _ClassAction(FlaskForm):
    """What every class action carries: the class, the run the page showed, and a confirmation."""

    class_id = IntegerField(validators=[InputRequired()])
    # The run the page showed; a reset from a page that is no longer current is refused.
    expected_run = HiddenField(default="0")
    confirm = BooleanField(_l("I understand this replaces the data"), validators=[DataRequired(message=CONFIRM)])

    def expected(self) -> int:
        """The run id the page showed (0 when missing or not a number: then any change since is refused)."""
        try:
            return int(self.expected_run.data or 0)
        except ValueError:
            return 0


class LoadForm(_ClassAction):
    """Load a scenario file into a class, with an optional deadline."""
    scenario = SelectField(_l("Scenario"), validators=[InputRequired()])
    deadline = DateTimeLocalField(_l("Deadline (optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()],
                                  description=_l("Empty: the scenario's default, counted from now."))


class ResetForm(_ClassAction):
    """Start the current scenario again for the whole class or one student."""
    student_id = SelectField(_l("Whom"), coerce=lambda v: int(v) if v not in (None, "", "0") else 0, default=0)


class UndoForm(_ClassAction):
    """Put back the data the latest load or reset replaced."""
    confirm = BooleanField(_l("I understand work done since that reset is discarded"),
                           validators=[DataRequired(message=CONFIRM)])
