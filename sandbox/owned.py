"""The one base of every business record: owner, class, timestamps, soft delete, version."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from .org.models import User, utcnow

# Table options of every table a reset deletes from and re-inserts into: an id, once given, is never
# given again (SQLite AUTOINCREMENT; PostgreSQL sequences never go back), so log entries, notes and
# attachments that name a record by its id can never be read as another record's.
NEVER_REUSED_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class Owned:
    """Mixin for business records; access.py filters every query of its subclasses."""

    __audit_type__: ClassVar[str]
    # The record type whose class sharing mode applies (accounts and contacts share "account").
    __sharing_type__: ClassVar[str | None] = None
    # Record types readable by the whole class whatever the sharing (competitors, knowledge).
    __class_readable__: ClassVar[bool] = False
    # Types a class reset leaves in place (a trainer's quotas): not the students' work, not the scenario's.
    __kept_on_reset__: ClassVar[bool] = False

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    class_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # Indexes that match the visibility rule (access.criterion) and the list order (newest first).
        # owner_list: "owner_id IN (...) AND class_id = ?" of students, managers and class instructors is
        #   an equality prefix, so a page reads in order and the capped count never touches the table.
        #   deleted_at comes before class_id so that a probe by owner alone (an owner picker's EXISTS)
        #   still looks cheaper here than in recent_list once SQLite's ANALYZE has averaged deleted_at.
        # class_list: one class newest first; the trailing owner_id lets the owner filter skip the table.
        # recent_list: viewers over several classes (class_id IN ..., OR) read newest first and stop
        #   after a page instead of sorting every visible row.
        name = cls.__tablename__
        return (
            Index(f"ix_{name}_owner_list", "owner_id", "deleted_at", "class_id", "created_at", "id"),
            Index(f"ix_{name}_class_list", "class_id", "deleted_at", "created_at", "id", "owner_id"),
            Index(f"ix_{name}_recent_list", "deleted_at", "created_at", "id", "class_id", "owner_id"),
            NEVER_REUSED_IDS,
        )

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # Optimistic locking: an UPDATE whose version no longer matches raises StaleDataError.
        return {"version_id_col": cls.__table__.c.version}

    @declared_attr
    def owner(cls) -> Mapped[User]:
        """The user who owns the record (always loaded with it: every page shows the owner)."""
        return relationship(User, foreign_keys=lambda: [cls.owner_id], lazy="joined", innerjoin=True)

    @property
    def is_deleted(self) -> bool:
        """Whether the record is in the recycle bin."""
        return self.deleted_at is not None


def owned_classes() -> list[type]:
    """Every mapped business record class."""
    found: list[type] = []
    todo = list(Owned.__subclasses__())
    while todo:
        cls = todo.pop()
        if hasattr(cls, "__table__"):
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found
