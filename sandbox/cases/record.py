"""The case's registry entry: fields, labels, code tables and list (its pages are built per workflow)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..accounts.models import Account
from ..contacts.models import Contact
from ..extensions import db
from ..log import render
from ..records.registry import Column, RecordType, register
from ..workflows import engine
from . import rules, services
from .forms import CaseForm
from .models import Case

CASE = register(RecordType(
    name="case", model=Case, form=CaseForm, singular=_l("Case"), plural=_l("Cases"),
    fields=["workflow", "subject", "description", "priority", "account_id", "contact_id", "level", "channel",
            "target"],
    detail_fields=["workflow", "state", "subject", "description", "priority", "account_id", "contact_id", "level",
                   "channel", "target", "assignee_id", "supervisor_id", "received_at", "resolved_at", "closed_at",
                   "due_at", "satisfaction"],
    codes={"priority": "case_priority", "channel": "case_channel", "target": "case_target"},
    references={"account_id": Account, "contact_id": Contact},
    labels={"state": _l("State"), "assignee_id": _l("Assignee"), "supervisor_id": _l("Supervisor"),
            "received_at": _l("Received"), "resolved_at": _l("Resolved"), "closed_at": _l("Closed"),
            "due_at": _l("Due (SLA)"), "satisfaction": _l("Satisfaction (1–5)"), "data": _l("Workflow fields"),
            "stamps": _l("Workflow times"), "solved_by_id": _l("Solved by")},
    search=["subject", "description"],
    columns=[Column("subject", _l("Subject"), link=True), Column("workflow", _l("Workflow")),
             Column("state", _l("State")), Column("level", _l("Complaint level")),
             Column("priority", _l("Priority"), code="case_priority"), Column("due_at", _l("Due (SLA)"))],
    create=services.create_from_form, update=services.update_case,
    detail_template="cases/detail.html",
))


def _workflow_of(entry: Any) -> Any:
    return engine.definitions().get((entry.params or {}).get("workflow", ""))


def _state(entry: Any, value: Any) -> str:
    """A state code of a logged move as its label in the reader's language."""
    return rules.state_label(_workflow_of(entry), str(value))


def _stamp_label(wf: Any, name: str) -> str:
    """A workflow's own timestamp named after the state that sets it."""
    state = next((st for st in (wf.states if wf else []) if name in st.sets), None)
    return rules.state_label(wf, state.name) if state else name


def _fields(entry: Any, value: Any) -> str:
    """A case's workflow fields (or its timestamps) as `label: value; ...`, times in the configured zone."""
    if not isinstance(value, dict):
        return str(value)
    wf = _workflow_of(entry)
    shown = []
    for name, item in value.items():
        text = render.local_time(item, "short") if isinstance(item, str) and name.endswith("_at") else item
        if isinstance(item, list):
            text = ", ".join(f"{p.get('code')} × {p.get('quantity')}" for p in item if isinstance(p, dict))
        shown.append(f"{_stamp_label(wf, name) if name.endswith('_at') else rules.field_label(wf, name)}: {text}")
    return "; ".join(shown)


def _user(entry: Any, value: Any) -> str:
    """An assignee or supervisor by name."""
    from ..org.models import User

    user = db.session.get(User, value) if isinstance(value, int) else None
    return user.display_name if user else str(value)


def _article(entry: Any, value: Any) -> str:
    """The knowledge article by its title, when the reader may see it."""
    from ..knowledge.models import Article

    found = db.session.scalar(select(Article).where(Article.id == value)) if isinstance(value, int) else None
    return found.audit_label if found else str(render.EMPTY)


render.VALUE_RENDERERS.update({
    ("case", "assignee_id"): _user, ("case", "supervisor_id"): _user, ("case", "solved_by_id"): _article,
    ("case", "from"): _state, ("case", "to"): _state, ("case", "state"): _state,
    ("case", "workflow"): lambda entry, value: rules.workflow_label(engine.definitions().get(str(value)), str(value)),
    ("case", "data"): _fields, ("case", "stamps"): _fields,
})
