"""One picklist value of one code table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class CodeValue(db.Model):
    """One picklist value: a school default (class_id None) or a class's own value or override."""

    __tablename__ = "code_values"
    __audit_type__ = "code_value"
    # class_id NULL: the school's default; a class id: that class's override of the default with the
    # same code, or a value only that class has. (Defaults are kept unique by the services.)
    __table_args__ = (UniqueConstraint("table_name", "code", "class_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(40), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"), index=True)

    def label(self, locale: str) -> str:
        """The label in `locale` (Chinese for zh*, else English)."""
        return self.label_zh if locale.startswith("zh") else self.label_en

    @property
    def audit_label(self) -> str:
        """table:code (@class when a class's value), as the log names it."""
        return f"{self.table_name}:{self.code}" + (f"@{self.class_id}" if self.class_id else "")
