"""Which students of a class run have no book (the records a load, reset or late join generates for them).

A generated record is dated strictly before the start of the run it belongs to (seed/generate.py), and
a student's own work comes after it: a student has a book when they own, in their class, an account,
contact, lead, opportunity or activity dated before the start of the run that counts for them. Their
own records never stand in for a missing book, and a deleted record still shows they had one.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...owned import owned_classes
from ..models import Run
from .lookup import student_runs

# The per-student tables of seed/generate.py, most likely to hold a row first.
BOOK_TABLES = ("accounts", "leads", "contacts", "opportunities", "activities")


def _book_models() -> list[type]:
    by_table = {cls.__tablename__: cls for cls in owned_classes()}
    return [by_table[name] for name in BOOK_TABLES if name in by_table]


def students_without_book(class_run: Run, student_ids: list[int], reruns: dict[int, int] | None = None) -> set[int]:
    """The ids among `student_ids` who own no generated record in `class_run` (or their re-run in it).

    reruns: `student_runs(class_run)` when the caller has just read it (only the students' entries are used)."""
    if not student_ids:
        return set()
    if reruns is None:
        reruns = student_runs(class_run)
    starts: dict[int, datetime] = {class_run.id: class_run.started_at}
    if reruns:
        starts.update(db.session.execute(select(Run.id, Run.started_at).where(Run.id.in_(set(reruns.values())))).all())
    by_start: dict[datetime, list[int]] = defaultdict(list)
    for sid in student_ids:
        by_start[starts.get(reruns.get(sid, class_run.id), class_run.started_at)].append(sid)
    missing = set(student_ids)
    for model in _book_models():
        for start, ids in by_start.items():
            todo = [sid for sid in ids if sid in missing]
            if not todo:
                continue
            # Counting existence only, for any reader of the gradebook: visibility would hide other students' rows.
            found = db.session.scalars(
                select(model.owner_id).where(model.owner_id.in_(todo), model.class_id == class_run.class_id,
                                             model.created_at < start).distinct()
                .execution_options(skip_visibility=True))
            missing.difference_update(found)
        if not missing:
            break
    return missing
