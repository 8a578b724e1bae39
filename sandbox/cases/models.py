"""The service case (工单) and its state history; its workflow definition is data (workflows/*.yaml)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..codes.services import register_usage
from ..extensions import db
from ..org.models import User
from ..owned import NEVER_REUSED_IDS, Owned


class Case(Owned, db.Model):
    """A case of one workflow (complaint, suggestion, visit order...): its state and the fields it collects.

    Fields every report reads are columns (level, channel, target, the main timestamps, satisfaction);
    fields only one workflow asks for live in `data`, timestamps only one workflow sets in `stamps`.
    """

    __tablename__ = "cases"
    __audit_type__ = "case"

    workflow: Mapped[str] = mapped_column(String(40), index=True)  # the definition's key ("complaint")
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str | None] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Complaints (seed 000 §九): level 1 (most severe) to 5, channel phone/other, target company/call centre.
    level: Mapped[int | None]
    channel: Mapped[str | None] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    stamps: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]  # the SLA deadline (the workflow's hours per level)
    satisfaction: Mapped[int | None]  # 1-5, recorded on closing
    solved_by_id: Mapped[int | None] = mapped_column(ForeignKey("knowledge_articles.id"), index=True)

    history: Mapped[list[CaseHistory]] = relationship(
        back_populates="case", order_by="CaseHistory.id", cascade="all, delete-orphan"
    )
    assignee: Mapped[User | None] = relationship(User, foreign_keys=[assignee_id])
    supervisor: Mapped[User | None] = relationship(User, foreign_keys=[supervisor_id])

    @property
    def audit_label(self) -> str:
        """The subject, as the log shows it."""
        return self.subject

    @property
    def sla_breached(self) -> bool:
        """Whether the SLA was missed: resolved after its deadline, or unresolved and the deadline passed."""
        if self.due_at is None:
            return False
        return (self.resolved_at or utcnow()) > self.due_at


class CaseHistory(db.Model):
    """One state change of a case: who, when, from, to, and the fields the transition asked for."""

    __tablename__ = "case_history"
    __audit_type__ = "case_history"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str] = mapped_column(String(40))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    values: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    case: Mapped[Case] = relationship(back_populates="history")
    changed_by: Mapped[User | None] = relationship()

    @property
    def audit_label(self) -> str:
        """The move (from → to) as the log shows it."""
        return f"{self.from_state or '∅'} → {self.to_state}"


Index("ix_cases_class_workflow_state", Case.class_id, Case.workflow, Case.state)

for _field, _table in (("priority", "case_priority"), ("channel", "case_channel"), ("target", "case_target")):
    register_usage(_table, "case", _field)
