"""Users, positions (the tree that decides visibility), sharing groups and modes, the organisation."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..clock import utcnow
from ..extensions import db

__all__ = ["utcnow"]  # re-exported: models and services import the one clock from here too


class Role(enum.StrEnum):
    ADMIN = "admin"
    INSTRUCTOR = "instructor"
    STUDENT = "student"
    READONLY = "readonly"


class Status(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"
    DISABLED = "disabled"


class PositionKind(enum.StrEnum):
    ORGANIZATION = "organization"
    TEACHER = "teacher"
    CLASS = "class"
    DEPARTMENT = "department"
    POSITION = "position"


class SharingModeValue(enum.StrEnum):
    PRIVATE = "private"
    READ_ONLY = "read_only"
    READ_WRITE = "read_write"


# Record types whose class-wide sharing can be set (SPEC §4.4).
SHARING_TYPES = ("lead", "account", "opportunity", "document", "case", "campaign")


class Position(db.Model):
    """A node of the position tree; `path` is the materialised path of ids, e.g. "/1/4/9/"."""

    __tablename__ = "positions"
    __audit_type__ = "position"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    # Nearest class node at or above this one (None above class level): the isolation boundary.
    class_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"), index=True)
    join_code: Mapped[str | None] = mapped_column(String(32), unique=True)
    registration_open: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Position | None] = relationship(remote_side=[id], foreign_keys=[parent_id])

    @property
    def audit_label(self) -> str:
        return self.name

    SEPARATOR = " › "

    def ancestry(self) -> list[Position]:
        """The nodes from the root down to this one (identity-map hits once the tree is loaded)."""
        ids = [int(i) for i in self.path.strip("/").split("/") if i]
        # One query for the ancestors not yet in the session (the layout shows the viewer's path on every page);
        # the identity map holds objects weakly, so the loaded ones are kept here.
        found = {}
        for i in ids[:-1]:
            node = db.session.identity_map.get(db.session.identity_key(Position, i))
            if node is not None:
                found[i] = node
        missing = [i for i in ids[:-1] if i not in found]
        if missing:
            found.update((n.id, n) for n in db.session.scalars(select(Position).where(Position.id.in_(missing))))
        nodes = [found.get(i) for i in ids[:-1]]
        return [n for n in nodes if n is not None] + [self]

    @property
    def path_label(self) -> str:
        """How a position is shown: its path below its class (销售一部 › 销售代表); a class or a node above one,
        its path below the organisation (Teacher Li › Class A)."""
        return Position.label_of(self.ancestry(), self)

    @staticmethod
    def label_of(nodes: Sequence[Any], node: Any) -> str:
        """`path_label` from the nodes root-down to `node` (anything with id, name, class_id, parent_id: the
        layout passes plain rows read with the viewer, access.viewer_for, so it needs no query of its own)."""
        if node.class_id is not None and node.class_id != node.id:
            below = [n for n in nodes if n.class_id == node.class_id and n.id != node.class_id]
        else:
            below = [n for n in nodes if n.parent_id is not None] or [node]
        return Position.SEPARATOR.join(n.name for n in below)

    @property
    def full_label(self) -> str:
        """The path with its class in front (Class A › 销售一部 › 销售代表): for pickers that span several classes."""
        if self.class_id is None or self.class_id == self.id:
            return self.path_label
        klass = db.session.get(Position, self.class_id)
        return f"{klass.name}{self.SEPARATOR}{self.path_label}" if klass else self.path_label

    def is_within(self, other: Position) -> bool:
        """True when this node is `other` or lies below it."""
        return self.path.startswith(other.path)

    def __repr__(self) -> str:
        return f"<Position {self.id} {self.kind} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __audit_type__ = "user"
    __audit_hidden__ = frozenset({"password_hash"})
    # Sign-ins are logged as their own entries; the timestamp diff would only add noise.
    __audit_ignore__ = frozenset({"last_login_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    student_number: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.STUDENT)
    status: Mapped[str] = mapped_column(String(20), default=Status.PENDING, index=True)
    position_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"), index=True)
    # The class a pending user asked to join; set from the position once approved.
    class_id: Mapped[int | None] = mapped_column(ForeignKey("positions.id"), index=True)
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str | None] = mapped_column(String(16))
    email_signature: Mapped[str | None] = mapped_column(String(2000))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Bumped on sign-out, password change and disable: every session of the user ends, old cookies included.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    position: Mapped[Position | None] = relationship(foreign_keys=[position_id])
    klass: Mapped[Position | None] = relationship(foreign_keys=[class_id])

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_staff(self) -> bool:
        """Instructors and admins: they manage classes."""
        return self.role in (Role.ADMIN, Role.INSTRUCTOR)

    @property
    def can_change(self) -> bool:
        return self.role != Role.READONLY

    @property
    def audit_label(self) -> str:
        return f"{self.display_name} ({self.username})"

    def __repr__(self) -> str:
        return f"<User {self.username}>"


# One account per normalised username (auth/usernames.py): "Alice" cannot join beside "alice".
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class SharingMode(db.Model):
    """Class-wide sharing for one record type in one class (absent row = private)."""

    __tablename__ = "sharing_modes"
    __audit_type__ = "sharing_mode"
    __table_args__ = (UniqueConstraint("class_id", "record_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("positions.id"))
    record_type: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(20), default=SharingModeValue.PRIVATE)

    @property
    def audit_label(self) -> str:
        return f"{self.record_type}={self.mode}"


class SharingGroup(db.Model):
    """Members of a sharing group read and write each other's records (within one class)."""

    __tablename__ = "sharing_groups"
    __audit_type__ = "sharing_group"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("positions.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    members: Mapped[list[SharingGroupMember]] = relationship(
        cascade="all, delete-orphan", back_populates="group"
    )

    @property
    def audit_label(self) -> str:
        return self.name


class SharingGroupMember(db.Model):
    __tablename__ = "sharing_group_members"
    __audit_type__ = "sharing_group_member"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("sharing_groups.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    group: Mapped[SharingGroup] = relationship(back_populates="members")
    user: Mapped[User] = relationship()

    @property
    def audit_label(self) -> str:
        return str(self.user_id)


class Organization(db.Model):
    """The installation's organisation profile (one row)."""

    __tablename__ = "organization"
    __audit_type__ = "organization"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(50))
    fiscal_year_start: Mapped[int] = mapped_column(default=1)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    default_language: Mapped[str] = mapped_column(String(16), default="zh_Hans_CN")
    settings: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def audit_label(self) -> str:
        return self.name


Index("ix_users_position_status", User.position_id, User.status)
