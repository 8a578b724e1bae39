"""Instructor grading actions: override an objective's points (with a comment), clear it, extend a deadline.

Each is an @operation, so the change and its log entry (a teacher's action, never student work) land in
one transaction; bad input raises GradingError(message, field) before anything changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from seed.schema import Objective

from ...access import SYSTEM, Viewer, current_viewer
from ...errors import NotAllowed, ServiceError
from ...extensions import db
from ...i18n import N_
from ...oplog import current_actor, current_op, operation, register_verbs
from ...org.models import Role, User
from ..models import DeadlineExtension, GradeOverride, Run
from ..objectives.checks import CENT
from .gradebook import class_run_of

COMMENT_MAX = 1000
REASON_MAX = 500


class GradingError(ServiceError):
    """A grading action refused for a reason the instructor must read (shown next to the field)."""


def _acting_staff(class_run: Run) -> User | None:
    """The acting user, who must run this class; None for the system (CLI and jobs pass SYSTEM explicitly).

    Fails closed: no viewer, a viewer that is not the acting user, or a class the viewer does not run
    is refused (a missing viewer was once taken for the system).
    """
    viewer = current_viewer()
    if viewer is SYSTEM:
        return None
    actor = current_actor()
    if (not isinstance(viewer, Viewer) or actor is None or viewer.user_id != actor.id
            or class_run.class_id not in viewer.managed_class_ids):
        raise NotAllowed("grading")
    return actor


def _check_student(class_run: Run, student: User) -> None:
    if student is None or student.role != Role.STUDENT or student.class_id != class_run.class_id:
        raise GradingError(field="student_id", message=_("Choose a student of this class."))


def _objective(class_run: Run, objective_id: str) -> Objective:
    for objective in class_run.scenario.objectives:
        if objective.id == objective_id:
            return objective
    raise GradingError(field="objective_id", message=_("This run's scenario has no objective “%(id)s”.", id=objective_id))


def _points(value: Any, objective: Objective) -> Decimal:
    try:
        points = Decimal(str(value).strip().replace(",", ".")) if value is not None and not isinstance(value, bool) \
            else None
    except InvalidOperation:
        points = None
    if points is None or not points.is_finite():
        raise GradingError(field="points", message=_("Enter the points as a number, e.g. 7.5."))
    if points < 0 or points > objective.points:
        raise GradingError(field="points", message=_("Give between 0 and %(max)d points: this objective is worth %(max)d.",
                                       max=objective.points))
    return points.quantize(CENT, rounding=ROUND_HALF_UP)


def _scope(class_run: Run) -> None:
    """The entry belongs to the class and its class run (the class log and the run's log show it)."""
    op = current_op()
    op.class_id, op.run_id = class_run.class_id, class_run.id


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


@operation("grade.override")
def set_override(class_run: Run, student: User, objective_id: str, points: Any, comment: str | None) -> GradeOverride:
    """Set the points of one objective for one student; they replace the automatic points."""
    class_run = class_run_of(class_run)
    actor = _acting_staff(class_run)
    _check_student(class_run, student)
    objective = _objective(class_run, objective_id)
    value = _points(points, objective)
    comment = (comment or "").strip()
    if not comment:
        raise GradingError(field="comment", message=_("Add a comment: say why these points (the student reads it)."))
    if len(comment) > COMMENT_MAX:
        raise GradingError(field="comment", message=_("Keep the comment under %(n)d characters.", n=COMMENT_MAX))
    override = db.session.scalar(select(GradeOverride).where(
        GradeOverride.run_id == class_run.id, GradeOverride.student_id == student.id,
        GradeOverride.objective_id == objective.id))
    if override is None:
        override = GradeOverride(run_id=class_run.id, student_id=student.id, objective_id=objective.id)
        db.session.add(override)
    override.points, override.comment = value, comment
    override.set_by_id = actor.id if actor is not None else None
    _scope(class_run)
    current_op().target(override, student=student.audit_label, objective=objective.id, points=f"{value:f}",
                        max=objective.points)
    from ...notifications.services import notify  # at call time: the notifications package imports the records

    notify([student.id], "grade.override", record=override, objective=objective.id, points=f"{value:f}",
           max=objective.points, comment=comment, by=actor.display_name if actor is not None else None)
    return override


@operation("grade.clear_override")
def clear_override(class_run: Run, student: User, objective_id: str) -> None:
    """Remove an override: the automatic points count again."""
    class_run = class_run_of(class_run)
    _acting_staff(class_run)
    _check_student(class_run, student)
    objective = _objective(class_run, objective_id)
    override = db.session.scalar(select(GradeOverride).where(
        GradeOverride.run_id == class_run.id, GradeOverride.student_id == student.id,
        GradeOverride.objective_id == objective.id))
    if override is None:
        raise GradingError(field="objective_id", message=_("There is no override on this objective to clear."))
    db.session.delete(override)
    _scope(class_run)
    current_op().target(override, student=student.audit_label, objective=objective.id)


@operation("grade.extend_deadline")
def extend_deadline(class_run: Run, student: User, deadline: datetime, reason: str | None = None) -> DeadlineExtension:
    """Give one student their own deadline in a class run (a second call replaces the first)."""
    class_run = class_run_of(class_run)
    actor = _acting_staff(class_run)
    _check_student(class_run, student)
    if not isinstance(deadline, datetime):
        raise GradingError(field="deadline", message=_("Enter the new deadline as a date and time."))
    deadline = _naive_utc(deadline)
    if deadline <= class_run.started_at:
        raise GradingError(field="deadline", message=_("The deadline must be after the run started (%(start)s UTC).",
                                         start=class_run.started_at.strftime("%Y-%m-%d %H:%M")))
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > REASON_MAX:
        raise GradingError(field="reason", message=_("Keep the reason under %(n)d characters.", n=REASON_MAX))
    extension = db.session.scalar(select(DeadlineExtension).where(
        DeadlineExtension.run_id == class_run.id, DeadlineExtension.student_id == student.id))
    if extension is None:
        extension = DeadlineExtension(run_id=class_run.id, student_id=student.id)
        db.session.add(extension)
    extension.deadline, extension.reason = deadline, reason
    extension.granted_by_id = actor.id if actor is not None else None
    _scope(class_run)
    # UTC, as stored; the log shows it in the reader's time zone.
    current_op().target(extension, student=student.audit_label, deadline=deadline.strftime("%Y-%m-%d %H:%M"))
    return extension


register_verbs({
    "grade.override": N_("set %(points)s of %(max)s points on objective %(objective)s for %(student)s"),
    "grade.clear_override": N_("cleared the override on objective %(objective)s for %(student)s"),
    "grade.extend_deadline": N_("extended the deadline of %(student)s to %(deadline)s"),
})
