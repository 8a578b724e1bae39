"""What the incremental gradebook keeps between two computations (derived data: dropping it loses nothing).

`GradeCell`: one student's outcome on one objective of a class run, as one view asked for it (the reader's
language, with or without evidence), with what it was computed from: the student's counting run and
deadline, a fingerprint of the class run, and `as_of`, the newest log entry id when it was computed.
`GradeMark`: the newest entry that may have changed a student's outcomes; `GradeState`: the entries already
looked at (`watermark`) and the newest entry that may have changed everyone's (`all_dirty_at`). A cell is
used only while `as_of` is at least both marks. A student's mark on one objective (what most entries make
stale) is a GradeCell of the view `incremental.MARKS`, its `as_of` the mark and no outcome. See incremental.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ...extensions import db


class GradeState(db.Model):
    """Per class run: the log entries already examined for invalidation and the last whole-class invalidation."""

    __tablename__ = "grade_states"

    class_run_id: Mapped[int] = mapped_column(primary_key=True)
    watermark: Mapped[int] = mapped_column(BigInteger)
    # PostgreSQL may commit a lower entry id after a higher one: the class's entries up to the watermark,
    # counted when it was set, tell when that happened (SQLite commits in id order and leaves it 0).
    seen: Mapped[int] = mapped_column(BigInteger, default=0)
    all_dirty_at: Mapped[int] = mapped_column(BigInteger, default=0)


class GradeMark(db.Model):
    """Per class run and student: the newest log entry that may have changed the student's outcomes."""

    __tablename__ = "grade_marks"

    class_run_id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(primary_key=True)
    dirty_at: Mapped[int] = mapped_column(BigInteger)


class GradeCell(db.Model):
    """One student × objective outcome of a class run for one view (language, evidence), and what it came from."""

    __tablename__ = "grade_cells"

    class_run_id: Mapped[int] = mapped_column(primary_key=True)
    variant: Mapped[str] = mapped_column(String(40), primary_key=True)
    student_id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    run_id: Mapped[int] = mapped_column()
    deadline: Mapped[datetime] = mapped_column()
    fingerprint: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(Text)
