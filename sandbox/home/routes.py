"""Dashboard: one's own numbers for students; classes and approvals for staff."""

from __future__ import annotations

import json

from flask import render_template
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..access import current_viewer, log_criterion
from ..activities.services import dashboard_tasks
from ..codes.services import choices
from ..extensions import db
from ..leads.models import Lead
from ..oplog import LogEntry
from ..opportunities.models import Opportunity
from ..org.models import Status, User
from ..org.scope import managed_classes, managed_users
from . import bp


@bp.get("/")
def index() -> str:
    by_status = dict(
        db.session.execute(
            select(Lead.status, func.count()).where(Lead.owner_id == current_user.id).group_by(Lead.status)
        ).all()
    )
    statuses = choices("lead_status")
    chart = {
        "type": "doughnut",
        "labels": [label for _key, label in statuses],
        "data": [by_status.get(key, 0) for key, _label in statuses],
        "title": _("My leads by status"),
    }
    pipeline = pipeline_chart()
    open_leads = sum(v for k, v in by_status.items() if k not in ("converted", "unqualified"))
    recent = db.session.scalars(
        select(LogEntry).where(log_criterion(current_viewer())).order_by(LogEntry.id.desc()).limit(12)
    ).all()
    classes = []
    pending = 0
    if current_user.is_staff:
        for klass in managed_classes(current_user):
            students = db.session.scalar(
                select(func.count()).select_from(User).where(User.class_id == klass.id, User.status == Status.ACTIVE)
            )
            leads = db.session.scalar(select(func.count()).select_from(Lead).where(Lead.class_id == klass.id))
            classes.append({"klass": klass, "students": students, "leads": leads})
        pending = db.session.scalar(
            select(func.count()).select_from(managed_users(current_user).where(User.status == Status.PENDING).subquery())
        )
    tasks_today, tasks_overdue = dashboard_tasks(current_user.id)
    return render_template(
        "home/index.html", open_leads=open_leads, total_leads=sum(by_status.values()),
        tasks_today=tasks_today, tasks_overdue=tasks_overdue,
        chart=json.dumps(chart, ensure_ascii=False), recent=recent, classes=classes, pending=pending,
        pipeline=json.dumps(pipeline, ensure_ascii=False), won=pipeline["won"],
    )


def pipeline_chart() -> dict:
    """My opportunities by stage: amount (bars) and count, plus my closed-won total."""
    rows = {stage: (count, float(amount or 0)) for stage, count, amount in db.session.execute(
        select(Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.amount), 0))
        .where(Opportunity.owner_id == current_user.id).group_by(Opportunity.stage)).all()}
    stages = choices("opportunity_stage")
    return {
        "type": "bar",
        "labels": [label for _code, label in stages],
        "datasets": [{"label": _("Amount"), "data": [rows.get(code, (0, 0))[1] for code, _label in stages]}],
        "counts": [rows.get(code, (0, 0))[0] for code, _label in stages],
        "title": _("My pipeline by stage"),
        "won": rows.get("closed_won", (0, 0))[1],
    }
