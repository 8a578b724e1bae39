"""Documents (文档管理) in folders; a document's versions are its attachments, newest first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..owned import NEVER_REUSED_IDS, Owned


class Folder(db.Model):
    """A folder of one class's documents (a tree); not a record: its documents carry the visibility."""

    __tablename__ = "document_folders"
    __audit_type__ = "folder"
    __table_args__ = (UniqueConstraint("class_id", "parent_id", "name", name="uq_document_folders_name"),
                      NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("positions.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("document_folders.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The name, as the log shows it."""
        return self.name


class Document(Owned, db.Model):
    """A document: a title in a folder; each upload is a new version (an attachment with record_type document)."""

    __tablename__ = "documents"
    __audit_type__ = "document"

    title: Mapped[str] = mapped_column(String(200))
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("document_folders.id"), index=True)
    description: Mapped[str | None] = mapped_column(String(4000))

    @property
    def audit_label(self) -> str:
        """The title, as the log shows it."""
        return self.title
