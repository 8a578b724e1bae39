"""The lead: a prospect not yet qualified into an account, contact and opportunity."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..i18n import N_
from ..owned import Owned

LEAD_STATUSES = [
    ("new", N_("New")),
    ("contacted", N_("Contacted")),
    ("qualified", N_("Qualified")),
    ("unqualified", N_("Unqualified")),
    ("converted", N_("Converted")),
]


class Lead(Owned, db.Model):
    __tablename__ = "leads"
    __audit_type__ = "lead"

    name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default="new")
    description: Mapped[str | None] = mapped_column(String(4000))

    @property
    def audit_label(self) -> str:
        return f"{self.name} · {self.company}" if self.company else self.name
