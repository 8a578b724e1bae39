"""Scenario runs, their undo snapshots, deadline extensions and instructor grade overrides."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, LargeBinary, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from seed import Scenario, parse_scenario

from ..clock import utcnow
from ..extensions import db


@functools.lru_cache(maxsize=64)
def _parsed(text: str, name: str) -> Scenario:
    return parse_scenario(text, f"{name}.yaml")


class Run(db.Model):
    """One load or reset of a scenario: a class run (student_id None) or one student's re-run inside it.

    The scenario's YAML text is kept with the run, so editing the file later never changes old grades.
    """

    __tablename__ = "runs"
    __audit_type__ = "run"
    __table_args__ = (Index("ix_runs_class_current", "class_id", "undone_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("positions.id"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    scenario_name: Mapped[str] = mapped_column(String(80))
    scenario_text: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline: Mapped[datetime] = mapped_column()
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rows: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
    undone_at: Mapped[datetime | None] = mapped_column()
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __audit_ignore__ = frozenset({"scenario_text"})

    @property
    def scenario(self) -> Scenario:
        """The scenario as it was when the run started."""
        return _parsed(self.scenario_text, self.scenario_name)

    @property
    def class_run_id(self) -> int:
        """The class run this run belongs to (itself for a class run)."""
        return self.parent_id or self.id

    @property
    def audit_label(self) -> str:
        """How the log names the run."""
        return f"{self.scenario_name} #{self.id}"


class RunSnapshot(db.Model):
    """What a reset replaced, kept so the reset can be undone: the rows are SnapshotRows; `data` holds each
    table's column order and the references from outside the reset into it (zlib-compressed JSON), which
    the undo sets back."""

    __tablename__ = "run_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    rows: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SnapshotRow(db.Model):
    """A replaced table's rows as one JSON array of row arrays, written by the database itself (INSERT ... SELECT
    json_group_array / json_agg); the column order is in its RunSnapshot's data (`packed`). Snapshots taken
    before that hold one row per snapshot row (reset_scope.py reads both)."""

    __tablename__ = "snapshot_rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("run_snapshots.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)


class DeadlineExtension(db.Model):
    """A later deadline for one student in one class run."""

    __tablename__ = "deadline_extensions"
    __audit_type__ = "deadline_extension"
    __table_args__ = (UniqueConstraint("run_id", "student_id", name="uq_deadline_extensions_run_student"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deadline: Mapped[datetime] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """How the log names the extension."""
        return f"run #{self.run_id} / user #{self.student_id}"


class GradeOverride(db.Model):
    """Points an instructor set for one objective of one student (manual items, corrections)."""

    __tablename__ = "grade_overrides"
    __audit_type__ = "grade_override"
    __table_args__ = (
        UniqueConstraint("run_id", "student_id", "objective_id", name="uq_grade_overrides_run_student_objective"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    objective_id: Mapped[str] = mapped_column(String(40))
    points: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    comment: Mapped[str] = mapped_column(String(1000))
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def audit_label(self) -> str:
        """How the log names the override."""
        return f"{self.objective_id} / user #{self.student_id}"
