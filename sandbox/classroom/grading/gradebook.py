"""The gradebook: every student's outcome on every objective of a class run, overrides applied, totals.

One aggregated query per objective for the whole class (objectives.py), one for the overrides, one for
the re-runs and one for the extensions: the cost does not grow with the number of students. Outcomes are
kept and only the students new log entries could affect are scored again (incremental.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial

from sqlalchemy import bindparam, or_, select

from seed.schema import Objective

from ...access import reading_whole_log
from ...extensions import db
from ...oplog import LogEntry
from ...org.models import Position, PositionKind, User
from ..models import DeadlineExtension, GradeOverride, Run
from ..objectives.checks import CENT, Context, Outcome
from ..runs.lookup import class_students, current_class_run, deadlines, department_of, student_runs
from . import incremental


@dataclass
class Cell:
    """One student × objective: the automatic outcome, the instructor's override if any, the points that count."""

    outcome: Outcome
    override: GradeOverride | None
    points: Decimal


@dataclass
class Row:
    """One student's line of the gradebook."""

    student: User
    department: Position | None
    run_id: int
    deadline: datetime
    cells: dict[str, Cell]
    total: Decimal


@dataclass
class Gradebook:
    """Students × objectives of one class run."""

    class_run: Run
    objectives: list[Objective]
    rows: list[Row]
    max_total: int
    # Students of the run in force who have no generated book (grading.view fills it; flagged on the page).
    without_book: set[int] = field(default_factory=set)


def class_run_of(run: Run) -> Run:
    """The class run a run belongs to (grading is always per class run)."""
    return run if run.parent_id is None else db.session.get(Run, run.parent_id)


def make_context(class_run: Run, student_ids: list[int], evidence: bool = False, live: bool | None = None,
                 extended: dict[int, datetime] | None = None) -> Context:
    """Each student's counting run (their re-run or the class run) and deadline (extension or the run's).

    live: whether `class_run` is the run in force, when the caller has just read it (else it is read here).
    extended: the students' extended deadlines (`deadlines`) when the caller has just read them.
    """
    reruns = student_runs(class_run)
    if extended is None:
        extended = deadlines(class_run)
    if live is None:
        current = current_class_run(class_run.class_id)
        live = current is not None and current.id == class_run.id
    return Context(
        class_run=class_run, student_ids=list(student_ids),
        run_ids={s: reruns.get(s, class_run.id) for s in student_ids},
        deadlines={s: extended.get(s, class_run.deadline) for s in student_ids},
        evidence=evidence, live=live)


def overrides(class_run: Run, student_ids: list[int]) -> dict[tuple[int, str], GradeOverride]:
    """(student, objective id) → the instructor's override in this class run."""
    few = len(student_ids) <= 50  # a whole class reads every override of the run; a few students only theirs
    return {(o.student_id, o.objective_id): o for o in db.session.scalars(
        _OVERRIDES_OF[few], {"run_id": class_run.id, "ids": list(student_ids)})}


# `overrides`' statements, built once: of a few students (True) or of the whole run (False).
_OVERRIDES_OF = {few: select(GradeOverride).where(
    GradeOverride.run_id == bindparam("run_id"),
    *([GradeOverride.student_id.in_(bindparam("ids", expanding=True))] if few else [])) for few in (True, False)}


def gradebook(class_run: Run, students: list[User] | None = None, evidence: bool = False,
              live: bool | None = None, extended: dict[int, datetime] | None = None,
              departments: bool = True) -> Gradebook:
    """The gradebook of a class run for its students (or the given ones), with evidence if asked (`live`,
    `extended`: see make_context; without `departments` every row's department is None: a page that does not
    show it reads no positions)."""
    class_run = class_run_of(class_run)
    students = class_students(class_run.class_id) if students is None else list(students)
    ids = [s.id for s in students]
    ctx = make_context(class_run, ids, evidence, live, extended)
    objectives = list(class_run.scenario.objectives)
    with reading_whole_log():  # grading counts the class's entries, whoever reads the gradebook
        outcomes = incremental.outcomes(ctx, objectives)
    found = overrides(class_run, ids) if ids else {}
    department: Callable[[User], Position | None] = department_of
    if not departments:
        department = _no_department
    elif len(ids) > 1:
        # The class's positions in one query; each row's department is then found by walking them by id,
        # not through a relationship load per student and per level.
        positions = {p.id: p for p in db.session.scalars(select(Position).where(or_(
            Position.class_id == class_run.class_id, Position.id == class_run.class_id)))}
        department = partial(_department_in, positions)
    rows = []
    for student in students:
        cells = {}
        for objective in objectives:
            outcome = outcomes[objective.id][student.id]
            override = found.get((student.id, objective.id))
            points = Decimal(override.points).quantize(CENT) if override is not None else outcome.points
            cells[objective.id] = Cell(outcome, override, points)
        total = sum((c.points for c in cells.values()), Decimal("0.00"))
        rows.append(Row(student, department(student), ctx.run_ids[student.id], ctx.deadlines[student.id],
                        cells, total))
    return Gradebook(class_run, objectives, rows, class_run.scenario.total_points)


def _no_department(_student: User) -> None:
    return None


def _department_in(positions: dict[int, Position], student: User) -> Position | None:
    """`department_of` over the class's positions by id (a position outside them: `department_of` itself)."""
    position = positions.get(student.position_id) if student.position_id is not None else None
    if position is None:
        return department_of(student)
    while position is not None and position.kind not in (PositionKind.DEPARTMENT, PositionKind.CLASS):
        if position.parent_id is None:
            return None
        parent = positions.get(position.parent_id)
        if parent is None:
            return department_of(student)
        position = parent
    return position if position is not None and position.kind == PositionKind.DEPARTMENT else None


def student_row(class_run: Run, student: User, evidence: bool = True, live: bool | None = None) -> Row:
    """One student's row, with the evidence by default (the drill-down page and the student's checklist)."""
    return gradebook(class_run, [student], evidence=evidence, live=live).rows[0]


def progress_for(user: User) -> tuple[Run | None, Row | None]:
    """The student's current class run and their row in it (None, None when the class has no run)."""
    run, row, _extension = progress_of(user)
    return run, row


# A student's deadline extension in a run, built once per process (both ids are parameters).
_EXTENSION = select(DeadlineExtension).where(DeadlineExtension.run_id == bindparam("run_id"),
                                            DeadlineExtension.student_id == bindparam("student_id"))


def progress_of(user: User) -> tuple[Run | None, Row | None, DeadlineExtension | None]:
    """`progress_for`, and the student's deadline extension in the run (read once: it is also their deadline).
    The row has no department (the checklist does not show it)."""
    if user.class_id is None:
        return None, None, None
    class_run = current_class_run(user.class_id)
    if class_run is None:
        return None, None, None
    extension = db.session.scalar(_EXTENSION, {"run_id": class_run.id, "student_id": user.id})
    extended = {user.id: extension.deadline} if extension is not None else {}
    book = gradebook(class_run, [user], evidence=True, live=True,  # just read as the run in force
                     extended=extended, departments=False)
    return class_run, book.rows[0], extension


def timeline(class_run: Run, student: User, limit: int = 500) -> list[LogEntry]:
    """The student's own entries in the run that counts for them, oldest first (the newest `limit`)."""
    class_run = class_run_of(class_run)
    run_id = make_context(class_run, [student.id]).run_ids[student.id]
    newest = db.session.scalars(
        select(LogEntry).where(LogEntry.run_id == run_id, LogEntry.actor_id == student.id)
        .order_by(LogEntry.at.desc(), LogEntry.id.desc()).limit(limit).execution_options(skip_visibility=True)).all()
    return list(reversed(newest))
