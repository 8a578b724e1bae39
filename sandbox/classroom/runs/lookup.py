"""Which run is current for a class or a student, who takes part in it, and each student's deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import g
from sqlalchemy import bindparam, or_, select

from ...extensions import db
from ...org.models import Position, PositionKind, Role, Status, User
from ..models import DeadlineExtension, Run


def current_run(class_id: int, student_id: int | None = None) -> Run | None:
    """The newest run not undone that applies to the class (and to `student_id`, whose own re-run wins)."""
    if student_id is None:
        return db.session.scalar(_CURRENT_CLASS_RUN, {"class_id": class_id})
    return db.session.scalar(_current(select(Run), class_id, student_id))


def _current(stmt: Any, class_id: int, student_id: int | None) -> Any:
    """`stmt` narrowed to the current run of `current_run`."""
    stmt = stmt.where(Run.class_id == class_id, Run.undone_at.is_(None))
    if student_id is None:
        stmt = stmt.where(Run.student_id.is_(None))
    else:
        stmt = stmt.where(or_(Run.student_id.is_(None), Run.student_id == student_id))
    return stmt.order_by(Run.id.desc()).limit(1)


# `current_run(class_id)` built once: every grading page and checklist asks it.
_CURRENT_CLASS_RUN = (select(Run).where(Run.class_id == bindparam("class_id"), Run.undone_at.is_(None),
                                        Run.student_id.is_(None)).order_by(Run.id.desc()).limit(1))


def current_class_run(class_id: int) -> Run | None:
    """The class run in force (the one the gradebook opens on)."""
    return current_run(class_id, None)


def class_runs(class_id: int) -> list[Run]:
    """The class's class runs, newest first, undone ones included (their logs and grades stay viewable)."""
    return list(db.session.scalars(
        select(Run).where(Run.class_id == class_id, Run.parent_id.is_(None)).order_by(Run.id.desc())))


def student_reruns(class_id: int) -> dict[int, list[tuple[Run, User | None]]]:
    """Class run id → its one-student re-runs (with the student), oldest first, undone ones included; one query."""
    rows = db.session.execute(
        select(Run, User).join(User, User.id == Run.student_id, isouter=True)
        .where(Run.class_id == class_id, Run.parent_id.is_not(None)).order_by(Run.id))
    found: dict[int, list[tuple[Run, User | None]]] = {}
    for run, student in rows:
        found.setdefault(run.parent_id, []).append((run, student))
    return found


def student_runs(class_run: Run) -> dict[int, int]:
    """Student id → the run id that counts for them in `class_run`: their newest re-run inside it, else the class run."""
    rows = db.session.execute(_STUDENT_RUNS, {"run_id": class_run.id})
    return {student_id: run_id for student_id, run_id in rows if student_id is not None}


# Built once (every gradebook, checklist and activity page reads both): runs and extensions are no records of the
# visibility rule. Executed through the session, which flushes pending changes first as before.
_STUDENT_RUNS = (select(Run.student_id, Run.id).where(Run.parent_id == bindparam("run_id"), Run.undone_at.is_(None))
                 .order_by(Run.id))
_DEADLINES = select(DeadlineExtension.student_id, DeadlineExtension.deadline).where(
    DeadlineExtension.run_id == bindparam("run_id"))


def run_for_student(class_run: Run, student_id: int) -> int:
    """The run id whose log entries count for `student_id` in `class_run`."""
    return student_runs(class_run).get(student_id, class_run.id)


def deadlines(class_run: Run) -> dict[int, datetime]:
    """Students with an extension → their deadline (everyone else has the run's)."""
    return dict(db.session.execute(_DEADLINES, {"run_id": class_run.id}).all())  # type: ignore[arg-type]


def deadline_for(class_run: Run, student_id: int) -> datetime:
    """The deadline that applies to one student."""
    return deadlines(class_run).get(student_id, class_run.deadline)


def class_students(class_id: int) -> list[User]:
    """Active students of the class (department managers included): the roster a scenario seeds and grades."""
    return list(db.session.scalars(
        select(User).join(Position, Position.id == User.position_id, isouter=True)
        .where(User.class_id == class_id, User.role == Role.STUDENT, User.status == Status.ACTIVE)
        .order_by(Position.path, User.username)))


def runs_for_log(class_ids: list[int]) -> list[Run]:
    """Class runs of these classes, newest first: the log page's run filter."""
    if not class_ids:
        return []
    return list(db.session.scalars(
        select(Run).where(Run.class_id.in_(class_ids), Run.parent_id.is_(None)).order_by(Run.id.desc())))


def run_family(run_id: int) -> Any:
    """SQL for the ids of a class run and of the students' re-runs inside it (their entries belong to it too)."""
    return select(Run.id).where(or_(Run.id == run_id, Run.parent_id == run_id))


def department_of(user: User) -> Position | None:
    """The department node above (or at) the user's position, for the gradebook's department filter."""
    position = user.position
    while position is not None and position.kind not in (PositionKind.DEPARTMENT, PositionKind.CLASS):
        position = position.parent
    return position if position is not None and position.kind == PositionKind.DEPARTMENT else None


# The id of `current_run(class_id, student_id)` alone, as one Core statement built once: every write asks it for
# its log entry (once per request), and a run row carries its whole scenario text. Runs are not records of the
# visibility rule; with student_id NULL, `student_id = NULL` is never true, so the condition is `IS NULL` alone.
_RUNS = Run.__table__
_CURRENT_ID = (
    select(_RUNS.c.id)
    .where(_RUNS.c.class_id == bindparam("class_id"), _RUNS.c.undone_at.is_(None),
           or_(_RUNS.c.student_id.is_(None), _RUNS.c.student_id == bindparam("student_id")))
    .order_by(_RUNS.c.id.desc()).limit(1)
)


def resolve_run_id(class_id: int | None, actor_id: int | None) -> int | None:
    """The run a new log entry belongs to (cached for the request; a reset clears the cache)."""
    if class_id is None:
        return None
    cache = g.setdefault("run_ids", {})
    key = (class_id, actor_id)
    if key not in cache:
        cache[key] = db.session.connection().execute(_CURRENT_ID, {"class_id": class_id, "student_id": actor_id}
                                                     ).scalar()
    return cache[key]


def forget_run_ids() -> None:
    """Drop the cached run ids (after a reset or undo in this request)."""
    g.pop("run_ids", None)
