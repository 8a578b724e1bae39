"""The case's registry entry: fields, labels, code tables and list (its pages are built per workflow)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..accounts.models import Account
from ..contacts.models import Contact
from ..records.registry import Column, RecordType, register
from . import services
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
            "due_at": _l("Due (SLA)"), "satisfaction": _l("Satisfaction (1–5)")},
    search=["subject", "description"],
    columns=[Column("subject", _l("Subject"), link=True), Column("workflow", _l("Workflow")),
             Column("state", _l("State")), Column("level", _l("Complaint level")),
             Column("priority", _l("Priority"), code="case_priority"), Column("due_at", _l("Due (SLA)"))],
    create=services.create_from_form, update=services.update_case,
    detail_template="cases/detail.html",
))
