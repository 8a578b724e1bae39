"""The competitor."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..codes.services import register_usage
from ..extensions import db
from ..owned import Owned


class Competitor(Owned, db.Model):
    """A company competing for the same deals, readable by the whole class."""

    __tablename__ = "competitors"
    __audit_type__ = "competitor"
    __label_column__ = "name"  # audit_label is this column: a page reads the label without the row
    __class_readable__ = True

    name: Mapped[str] = mapped_column(String(200), index=True)
    website: Mapped[str | None] = mapped_column(String(255))
    strengths: Mapped[str | None] = mapped_column(String(2000))
    weaknesses: Mapped[str | None] = mapped_column(String(2000))
    threat_level: Mapped[str | None] = mapped_column(String(40))
    company_type: Mapped[str | None] = mapped_column(String(40))
    products: Mapped[str | None] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(4000))

    @property
    def audit_label(self) -> str:
        """The competitor as the log and pickers name it."""
        return self.name


register_usage("threat_level", "competitor", "threat_level")
register_usage("company_type", "competitor", "company_type")
