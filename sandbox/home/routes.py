"""Dashboard: one's own numbers (and a manager's team) for students; class widgets for instructors and admins."""

from __future__ import annotations

import json

from flask import render_template, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import bindparam, func, select

from ..access import current_viewer
from ..activities.services import dashboard_tasks
from ..classroom.grading.view import TEMPLATE_HELPERS
from ..classroom.models import Run
from ..classroom.permissions import readable_classes
from ..codes.services import choices
from ..extensions import db
from ..leads.models import Lead
from ..oplog import LogEntry
from ..opportunities.models import Opportunity
from ..org.models import Position, Role, Status, User, utcnow
from ..org.scope import managed_users
from . import bp
from .classes import INACTIVE_MINUTES, class_home, pending_by_class
from .team import team_rows, team_totals


@bp.get("/")
def index() -> str:
    """Staff see their classes; everyone else their own numbers (a department manager also the team's)."""
    if current_user.is_staff:
        return staff_home()
    return own_home()


def _chosen_class(classes: list[Position], problems: list[str]) -> Position | None:
    """The class asked for (?class_id=), else the first one with a scenario running, else the first."""
    raw = request.args.get("class_id", "").strip()
    if raw:
        wanted = {str(c.id): c for c in classes}.get(raw)
        if wanted is not None:
            return wanted
        problems.append(_("You do not teach a class “%(value)s”; showing another one.", value=raw[:40]))
    if not classes:
        return None
    running = set(db.session.scalars(select(Run.class_id).where(
        Run.class_id.in_([c.id for c in classes]), Run.parent_id.is_(None), Run.undone_at.is_(None))))
    return next((c for c in classes if c.id in running), classes[0])


def staff_home() -> str:
    """Class widgets for one class at a time (a picker when there are several), and the approval queue."""
    problems: list[str] = []
    classes = readable_classes(current_user)
    klass = _chosen_class(classes, problems)
    pending = pending_by_class([c.id for c in classes])
    home = class_home(klass, pending.get(klass.id, 0)) if klass is not None else None
    all_pending = db.session.scalar(
        select(func.count()).select_from(managed_users(current_user).where(User.status == Status.PENDING).subquery()))
    left = None
    if home is not None and home.run is not None:
        left = format_timedelta(home.run.deadline - utcnow(), add_direction=True)
    return render_template(
        "home/staff.html", classes=classes, klass=klass, home=home, pending=pending, all_pending=all_pending,
        left=left, problems=problems, inactive_minutes=INACTIVE_MINUTES,
        spread=json.dumps(home.spread, ensure_ascii=False) if home else "{}",
        **TEMPLATE_HELPERS)


# A student's home, its statements built once per process (the user is a parameter; the session adds the rule to
# each execution, and keeps their copies with it: access._with_rule).
_MY_LEADS = select(Lead.status, func.count()).where(Lead.owner_id == bindparam("owner_id")).group_by(Lead.status)
_MY_PIPELINE = (select(Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.amount), 0))
                .where(Opportunity.owner_id == bindparam("owner_id")).group_by(Opportunity.stage))
_RECENT = select(LogEntry).order_by(LogEntry.id.desc()).limit(12)  # only what the viewer may read (access.py)


def own_home() -> str:
    """A student's home: their leads, pipeline, tasks, recent log and team."""
    by_status = dict(db.session.execute(_MY_LEADS, {"owner_id": current_user.id}).all())
    statuses = choices("lead_status")
    chart = {
        "type": "doughnut",
        "labels": [label for _key, label in statuses],
        "data": [by_status.get(key, 0) for key, _label in statuses],
        "title": _("My leads by status"),
    }
    pipeline = pipeline_chart()
    open_leads = sum(v for k, v in by_status.items() if k not in ("converted", "unqualified"))
    recent = db.session.scalars(_RECENT).all()
    tasks_today, tasks_overdue = dashboard_tasks(current_user.id)
    viewer = current_viewer()
    team = team_rows(viewer.subordinate_ids) if current_user.role == Role.STUDENT and viewer.subordinate_ids else []
    return render_template(
        "home/index.html", open_leads=open_leads, total_leads=sum(by_status.values()),
        tasks_today=tasks_today, tasks_overdue=tasks_overdue,
        chart=json.dumps(chart, ensure_ascii=False), recent=recent, team=team, team_total=team_totals(team),
        pipeline=json.dumps(pipeline, ensure_ascii=False), won=pipeline["won"],
    )


def pipeline_chart() -> dict:
    """My opportunities by stage: amount (bars) and count, plus my closed-won total."""
    rows = {stage: (count, float(amount or 0)) for stage, count, amount in db.session.execute(
        _MY_PIPELINE, {"owner_id": current_user.id}).all()}
    stages = choices("opportunity_stage")
    return {
        "type": "bar",
        "labels": [label for _code, label in stages],
        "datasets": [{"label": _("Amount"), "data": [rows.get(code, (0, 0))[1] for code, _label in stages]}],
        "counts": [rows.get(code, (0, 0))[0] for code, _label in stages],
        "title": _("My pipeline by stage"),
        "won": rows.get("closed_won", (0, 0))[1],
    }
