"""The activity form: one form for tasks and events (a script hides the fields of the other kind)."""

from __future__ import annotations

import json
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone, to_utc
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..codes.services import choices
from ..records.lookups import visible_choices
from . import services

HTML_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(DateTimeLocalField):
    """A date and time typed in the UI time zone; `data` is naive UTC like every stored timestamp."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", [HTML_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the typed local time and keep it as naive UTC."""
        super().process_formdata(valuelist)
        if self.data is not None:
            self.data = to_utc(self.data)

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return to_user_timezone(self.data).strftime(HTML_FORMAT) if self.data else ""


class ActivityForm(FlaskForm):
    """The task or event form (the service clears the fields of the other kind)."""

    kind = SelectField(_l("Kind"), choices=[("task", _l("Task")), ("event", _l("Event"))])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    related_type = SelectField(_l("Related to"), validators=[Optional()])
    # Any id passes the form; the service checks it through visibility (a forged id gets a message).
    related_id = SelectField(_l("Related record"), coerce=int, validate_choice=False, validators=[Optional()])
    due_date = DateField(_l("Due date"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    priority = SelectField(_l("Priority"), validators=[Optional()])
    event_type = SelectField(_l("Event type"), validators=[Optional()])
    start_at = LocalDateTimeField(_l("Start"), validators=[Optional()])
    end_at = LocalDateTimeField(_l("End"), validators=[Optional()])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    attendees = TextAreaField(_l("Attendees"), validators=[Optional(), Length(max=1000)], render_kw={"rows": 2})
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.status.choices = choices("task_status", getattr(obj, "status", None))
        self.priority.choices = choices("priority", getattr(obj, "priority", None) or "normal")
        self.event_type.choices = choices("event_type", getattr(obj, "event_type", None))
        if not self.is_submitted() and not getattr(obj, "priority", None):
            self.priority.data = "normal"
        self.related_type.choices = [("", "—")] + [
            (t, _(services.RELATED_LABELS[t])) for t in services.RELATED_TYPES]
        current_type = self.related_type.data if self.related_type.data in services.RELATED_TYPES else None
        current_id = self.related_id.data if isinstance(self.related_id.data, int) else None
        # Visible records of every type, for the script that swaps the list when the type changes.
        options = {t: visible_choices(services.related_model(t), current_id if t == current_type else None)
                   for t in services.RELATED_TYPES}
        self.related_id.choices = options.get(current_type or "", [(0, "—")])
        if current_type is None and "formdata" in kwargs and kwargs["formdata"] is None:
            # An unbound form (CSV import's value lookup): ids of every type; the service checks the named one.
            self.related_id.choices = [(0, "—")] + [c for t in services.RELATED_TYPES for c in options[t] if c[0]]
        self.related_id.render_kw = {"data-options": json.dumps(options, ensure_ascii=False)}

    def validate(self, extra_validators: Any = None) -> bool:
        """Field checks, then the kind rules of the services (all messages at once, next to their fields)."""
        ok = super().validate(extra_validators)
        for name, message in services.problems({f.name: f.data for f in self}):
            field = getattr(self, name)
            if message not in field.errors:
                field.errors = [*field.errors, message]
                ok = False
        return ok
