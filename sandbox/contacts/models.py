"""The contact: a person, usually at an account."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..codes.services import register_usage
from ..extensions import db
from ..owned import Owned


class Contact(Owned, db.Model):
    """A person at an account (联系人)."""

    __tablename__ = "contacts"
    __audit_type__ = "contact"
    __label_column__ = "name"  # audit_label is this column: a page reads the label without the row
    __sharing_type__ = "account"

    name: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(255), index=True)
    birthday: Mapped[date | None]
    address: Mapped[str | None] = mapped_column(String(300))
    contact_method: Mapped[str | None] = mapped_column(String(40))
    reports_to_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    source: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(String(4000))

    @property
    def audit_label(self) -> str:
        """The contact as the log and pickers name it."""
        return self.name


register_usage("contact_method", "contact", "contact_method")
register_usage("lead_source", "contact", "source")
