"""Notes and attachments: children of any business record, visible exactly when their parent is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..org.models import User, utcnow
from ..owned import NEVER_REUSED_IDS


class Note(db.Model):
    """A short text (便条) on a record; not Owned: it is read through its parent record."""

    __tablename__ = "notes"
    __audit_type__ = "note"
    __table_args__ = (Index("ix_notes_record", "record_type", "record_id", "created_at"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column()
    # The parent's class: read only together with it (access.about_record), so a class stays sealed.
    class_id: Mapped[int | None] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Soft delete: a deleted note stays evidence for the instructor (a manual objective may be graded on it).
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column()

    author: Mapped[User | None] = relationship(User, lazy="joined")

    @property
    def audit_label(self) -> str:
        """The note as the log names it (its first 60 characters)."""
        text = " ".join(self.body.split())
        return text if len(text) <= 60 else text[:59] + "…"


class Attachment(db.Model):
    """A file (附件) on a record, stored under UPLOAD_FOLDER by a random name, never the user's."""

    __tablename__ = "attachments"
    __audit_type__ = "attachment"
    __table_args__ = (Index("ix_attachments_record", "record_type", "record_id", "created_at"),
                      NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column()
    # The parent's class: read only together with it (access.about_record), so a class stays sealed.
    class_id: Mapped[int | None] = mapped_column()
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column()
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    deleted_by_id: Mapped[int | None] = mapped_column()

    uploaded_by: Mapped[User | None] = relationship(User, lazy="joined")

    @property
    def audit_label(self) -> str:
        """The attachment as the log names it (its file name)."""
        return self.filename


class ImportMapping(db.Model):
    """A column of an import file as one user mapped it for one record type, applied to the next import.

    A preference, not a business record: changing it is logged as one `import.columns` operation.
    """

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("user_id", "record_type", "header", name="uq_import_mappings_header"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    record_type: Mapped[str] = mapped_column(String(32))
    header: Mapped[str] = mapped_column(String(200))  # as compared: import_columns.key()
    target: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
