"""Case forms: the registry's form (import, export, labels) and forms built from a workflow's fields.

A workflow names its fields in data, so its forms are built per definition: each field by its kind.
Fields are never refused by the form itself: the services read and refuse them with a message naming
the rule, shown next to the field (a forged id or a bad number is a 400 with a message, never a 500).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..access import assignable_users_query
from ..codes.services import choices
from ..extensions import db
from ..records.lookups import visible_choices
from ..workflows import engine
from ..workflows.schema import Workflow
from . import rules


class CaseForm(FlaskForm):
    """The fields every case has, for the generic import and export (pages build per-workflow forms)."""

    workflow = SelectField(_l("Workflow"), validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    priority = SelectField(_l("Priority"), validators=[Optional()])
    account_id = StringField(_l("Account"), validators=[Optional()])
    contact_id = StringField(_l("Contact"), validators=[Optional()])
    level = StringField(_l("Complaint level"), validators=[Optional()])
    channel = SelectField(_l("Channel"), validators=[Optional()])
    target = SelectField(_l("Complaint target"), validators=[Optional()])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.workflow.choices = [(k, rules.workflow_label(wf)) for k, wf in engine.definitions().items()]
        for name, table in (("priority", "case_priority"), ("channel", "case_channel"), ("target", "case_target")):
            getattr(self, name).choices = choices(table, getattr(obj, name, None), blank=True)


def _field(wf: Workflow, name: str, required: bool, class_id: int | None, obj: Any) -> Any:
    """A form field for one workflow field, by its kind; required ones are marked in the label."""
    label = rules.field_label(wf, name) + (" *" if required else "")
    kind = wf.field_kind(name) or "text"
    options: dict[str, Any] = {"validators": [Optional()]}
    if kind.startswith("code:"):
        return SelectField(label, choices=choices(kind[5:], getattr(obj, name, None), blank=True),
                           validate_choice=False, **options)
    if kind == "user":
        users = db.session.scalars(assignable_users_query(class_id))
        return SelectField(label, choices=[("", "—"), *((str(u.id), u.display_name) for u in users)],
                           validate_choice=False, **options)
    if kind in ("account", "contact"):
        from ..accounts.models import Account
        from ..contacts.models import Contact

        model = Account if kind == "account" else Contact
        picked = [("" if i == 0 else str(i), label_) for i, label_ in visible_choices(model, getattr(obj, name, None))]
        return SelectField(label, choices=picked, validate_choice=False, **options)
    if kind in ("longtext", "parts"):
        placeholder = _l("One product code and quantity per line, e.g. P-0001 2") if kind == "parts" else ""
        return TextAreaField(label, render_kw={"rows": 3, "placeholder": placeholder}, **options)
    if kind == "score":
        return SelectField(label, choices=[("", "—"), *((str(i), str(i)) for i in range(1, 6))],
                           validate_choice=False, **options)
    if kind == "level":
        return SelectField(label, choices=[("", "—"), *((str(i), str(i)) for i in range(1, 6))],
                           validate_choice=False, **options)
    return StringField(label, **options)


def build_form(wf: Workflow, names: list[str], required: set[str], class_id: int | None, obj: Any = None,
               submit: Any = None, formdata: Any = "default") -> Any:
    """A form asking exactly `names` of workflow `wf` (prefilled from a case `obj` on GET)."""

    class WorkflowForm(FlaskForm):
        version = HiddenField()

    for name in names:
        setattr(WorkflowForm, name, _field(wf, name, name in required, class_id, obj))
    WorkflowForm.submit = SubmitField(submit or _l("Save"))
    data = {}
    if obj is not None:
        values = rules.values_of(obj)
        for name in names:
            value = values.get(name)
            if isinstance(value, list):  # parts: back to the text the field shows
                value = "\n".join(f"{p.get('code')} {p.get('quantity')}" for p in value if isinstance(p, dict))
            data[name] = "" if value is None else str(value)
    kwargs: dict[str, Any] = {"data": data}
    if formdata != "default":
        kwargs["formdata"] = formdata
    return WorkflowForm(**kwargs)


def form_values(form: Any, names: list[str]) -> dict[str, Any]:
    """The submitted values of `names` as the services read them (blank as None)."""
    values = {}
    for name in names:
        value = getattr(form, name).data
        values[name] = None if value in ("", None) else value
    return values
