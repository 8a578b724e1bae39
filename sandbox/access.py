"""THE visibility and sharing rule (SPEC §4), written once and applied to every ORM query.

`Viewer` is computed once per request from the signed-in user (position path, class, subordinates,
sharing groups, sharing modes). A `do_orm_execute` listener adds `with_loader_criteria` for every
business record type to every ORM SELECT, so lists, detail pages, counts, related lists, pickers and
exports are all filtered without each view remembering. The only way around it is the explicit
execution option `skip_visibility=True`, for seeding, reset and system jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import and_, event, false, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from .errors import NotAllowed
from .extensions import db
from .org.models import (
    Position,
    PositionKind,
    Role,
    SharingGroup,
    SharingGroupMember,
    SharingMode,
    SharingModeValue,
    Status,
    User,
)
from .owned import Owned, owned_classes


@dataclass(frozen=True)
class Viewer:
    """Everything the rule needs to know about who is looking."""

    user_id: int
    role: str
    position_id: int | None = None
    position_path: str | None = None
    class_id: int | None = None
    # Classes whose node lies strictly below the viewer's position (instructors above classes).
    below_class_ids: frozenset[int] = frozenset()
    # Users on positions strictly below the viewer's position.
    subordinate_ids: frozenset[int] = frozenset()
    # Users sharing a sharing group with the viewer: group id -> member ids.
    groups: dict[int, frozenset[int]] = field(default_factory=dict)
    group_names: dict[int, str] = field(default_factory=dict)
    # Sharing mode per record type in the viewer's class.
    sharing: dict[str, str] = field(default_factory=dict)
    # True when every user who can own a record of the viewer's class is in owner_ids (an instructor on the
    # class node with no peer there): "class_id = ? AND owner_id IN (every owner)" is then "class_id = ?".
    whole_class: bool = False
    # Subordinates outside every class (positions between the viewer and the classes): with the viewer and
    # the group members, the only owners of class-less records the viewer reads (records follow their owner's
    # class, org/services._move_records, so a class member owns no class-less record).
    classless_subordinate_ids: frozenset[int] = frozenset()
    # Classes the viewer runs (load, reset, grade, place students): an instructor's subtree, all for admins.
    managed_class_ids: frozenset[int] = frozenset()
    # Classes whose gradebook and activity the viewer reads: the managed ones, an observer's own class.
    readable_class_ids: frozenset[int] = frozenset()

    @property
    def is_admin(self) -> bool:
        """Whether the viewer is an administrator (reads and writes everything)."""
        return self.role == Role.ADMIN

    @property
    def is_readonly(self) -> bool:
        """Whether the viewer is a read-only observer (never changes anything)."""
        return self.role == Role.READONLY

    @property
    def group_member_ids(self) -> frozenset[int]:
        """Everyone who shares a sharing group with the viewer."""
        return frozenset().union(*self.groups.values()) if self.groups else frozenset()

    @property
    def owner_ids(self) -> frozenset[int]:
        """Owners whose records the viewer reads and writes through ownership, hierarchy or groups."""
        return frozenset({self.user_id}) | self.subordinate_ids | self.group_member_ids

    @property
    def classless_owner_ids(self) -> frozenset[int]:
        """The owners of the class-less records a viewer above class level reads (a subset of owner_ids)."""
        return frozenset({self.user_id}) | self.classless_subordinate_ids | self.group_member_ids


class _System:
    """The viewer of system jobs (seed, reset, CLI maintenance): sees everything not deleted."""

    def __repr__(self) -> str:
        return "SYSTEM"


SYSTEM = _System()


def viewer_for(user: User) -> Viewer:
    """Build the viewer of a signed-in user (a few small queries, once per request)."""
    position = user.position
    if position is None:
        every = _all_class_ids() if user.role == Role.ADMIN else frozenset()
        return Viewer(user_id=user.id, role=user.role, managed_class_ids=every, readable_class_ids=every)
    below = select(Position.id, Position.kind).where(
        Position.path.startswith(position.path), Position.id != position.id
    )
    rows = db.session.execute(below).all()
    below_ids = [r.id for r in rows]
    below_class_ids = frozenset(r.id for r in rows if r.kind == "class")
    subordinates: frozenset[int] = frozenset()
    classless: frozenset[int] = frozenset()
    if below_ids:
        # Disabled users keep their records, and their superiors keep seeing them (only pending and
        # rejected users, who own nothing, are left out). Joined on the path, not "position_id IN (every
        # position below)": a teacher above four classes has over a thousand of them.
        below_users = db.session.execute(
            select(User.id, User.class_id).join(Position, Position.id == User.position_id).where(
                Position.path.startswith(position.path), Position.id != position.id,
                User.status.in_([Status.ACTIVE, Status.DISABLED]))
        ).all()
        subordinates = frozenset(r.id for r in below_users)
        classless = frozenset(r.id for r in below_users if r.class_id is None)
    groups: dict[int, set[int]] = {}
    names: dict[int, str] = {}
    mine = select(SharingGroupMember.group_id).where(SharingGroupMember.user_id == user.id)
    for gid, gname, uid in db.session.execute(
        select(SharingGroup.id, SharingGroup.name, SharingGroupMember.user_id)
        .join(SharingGroupMember, SharingGroupMember.group_id == SharingGroup.id)
        .where(SharingGroup.id.in_(mine))
    ):
        names[gid] = gname
        if uid != user.id:
            groups.setdefault(gid, set()).add(uid)
    sharing: dict[str, str] = {}
    if position.class_id is not None:
        sharing = dict(
            db.session.execute(
                select(SharingMode.record_type, SharingMode.mode).where(
                    SharingMode.class_id == position.class_id
                )
            ).all()
        )
    whole_class = False
    if position.class_id is not None and position.id == position.class_id:
        whole_class = _sees_whole_class(user, position)
    managed = _managed_class_ids(user, position, below_class_ids)
    readable = managed | ({position.class_id} if user.role == Role.READONLY and position.class_id else set())
    return Viewer(
        user_id=user.id,
        role=user.role,
        managed_class_ids=managed,
        readable_class_ids=frozenset(readable),
        position_id=position.id,
        position_path=position.path,
        class_id=position.class_id,
        below_class_ids=below_class_ids,
        subordinate_ids=subordinates,
        whole_class=whole_class,
        classless_subordinate_ids=classless,
        groups={k: frozenset(v) for k, v in groups.items()},
        group_names=names,
        sharing=sharing,
    )


def _sees_whole_class(user: User, node: Position) -> bool:
    """Whether a viewer on a class node stands above every owner of the class's records.

    Everyone of the class but the users on the node itself is a subordinate; so the viewer sees the whole
    class unless another user on the node (a co-instructor, an observer who once was a student) owns a
    record there, deleted or not. Usually nobody else is on the node and this is one tiny query.
    """
    peers = list(db.session.scalars(select(User.id).where(
        User.position_id == node.id, User.id != user.id, User.status.in_([Status.ACTIVE, Status.DISABLED]))))
    if not peers:
        return True
    owned = or_(*(select(cls.id).where(cls.owner_id.in_(peers), cls.class_id == node.id).exists()
                  for cls in owned_classes()))
    # The rule is being built here: the probe itself must not be filtered by it.
    return not db.session.scalar(select(owned).execution_options(skip_visibility=True, include_deleted=True))


def _all_class_ids() -> frozenset[int]:
    return frozenset(db.session.scalars(select(Position.id).where(Position.kind == PositionKind.CLASS)))


def _managed_class_ids(user: User, position: Position, below: frozenset[int]) -> frozenset[int]:
    if user.role == Role.ADMIN:
        return _all_class_ids()
    if user.role != Role.INSTRUCTOR:
        return frozenset()
    return below | ({position.id} if position.kind == PositionKind.CLASS else set())


def sharing_mode(cls: type, viewer: Viewer) -> str:
    """The class sharing mode of record type `cls` in the viewer's class (private when unset)."""
    if getattr(cls, "__class_readable__", False):
        return SharingModeValue.READ_ONLY
    kind = getattr(cls, "__sharing_type__", None) or getattr(cls, "__audit_type__", "")
    return viewer.sharing.get(kind, SharingModeValue.PRIVATE)


def criterion(cls: Any, viewer: Any, include_deleted: bool = False) -> ColumnElement[bool]:
    """The SQL condition under which `viewer` may read rows of `cls`."""
    alive = true() if include_deleted else cls.deleted_at.is_(None)
    if viewer is SYSTEM:
        return alive
    if not isinstance(viewer, Viewer):
        return false()
    if viewer.is_admin:
        return alive
    terms: list[ColumnElement[bool]] = []
    if viewer.below_class_ids:
        terms.append(cls.class_id.in_(sorted(viewer.below_class_ids)))
    if viewer.class_id is not None:
        if viewer.whole_class or sharing_mode(cls, viewer) != SharingModeValue.PRIVATE:
            # The same rows as the owner list below when the viewer stands above every owner of the class, and
            # the (class_id, deleted_at, created_at) index serves it without probing hundreds of owners.
            terms.append(cls.class_id == viewer.class_id)
        else:
            # Kept as one conjunct so the (owner_id, deleted_at, created_at) index serves it.
            terms.append(and_(cls.class_id == viewer.class_id, _owner_in(cls, viewer.owner_ids)))
    else:
        # Above class level: own records and those of class-less subordinates (never inside a class).
        terms.append(and_(cls.class_id.is_(None), _owner_in(cls, viewer.classless_owner_ids)))
    return and_(or_(*terms) if len(terms) > 1 else terms[0], alive)


def possible_owners(cls: Any, viewer: Any) -> ColumnElement[bool]:
    """A condition on User true for every owner of a `cls` record the viewer may read (may say more)."""
    if viewer is SYSTEM or (isinstance(viewer, Viewer) and viewer.is_admin):
        return true()
    if not isinstance(viewer, Viewer):
        return false()
    # Mirrors criterion(): whole classes open up only through the tree or class sharing; otherwise
    # only owner_ids can own what the viewer reads. A short candidate list matters: an owner picker's
    # EXISTS per candidate scans every record of a candidate whose records the viewer may not read.
    whole = set(viewer.below_class_ids)
    if viewer.class_id is not None and (viewer.whole_class or sharing_mode(cls, viewer) != SharingModeValue.PRIVATE):
        whole.add(viewer.class_id)
    # Above class level only class-less records are read by owner (criterion() names classless_owner_ids).
    ids = viewer.owner_ids if viewer.class_id is not None else viewer.classless_owner_ids
    owners = User.id.in_(sorted(ids))
    return or_(User.class_id.in_(sorted(whole)), owners) if whole else owners


def _owner_in(cls: Any, ids: frozenset[int]) -> ColumnElement[bool]:
    if len(ids) == 1:
        return cls.owner_id == next(iter(ids))
    return cls.owner_id.in_(sorted(ids))


def current_viewer() -> Any:
    """Who looks in this session (a Viewer, SYSTEM, or None: nobody, who reads nothing)."""
    return db.session.info.get("viewer")


def use_viewer(viewer: Any) -> None:
    """Set who looks for the rest of this session (request or CLI command)."""
    db.session.info["viewer"] = viewer


@contextmanager
def viewing_as(viewer: Any) -> Iterator[None]:
    """Temporarily look as someone else (tests, CLI commands acting for a user)."""
    before = db.session.info.get("viewer")
    db.session.info["viewer"] = viewer
    try:
        yield
    finally:
        db.session.info["viewer"] = before


@contextmanager
def reading_whole_log() -> Iterator[None]:
    """Read the operation log without the log's read rule for a while (grading and class activity).

    Grading counts every student's entries of a run, whoever looks at the result (a student at their
    checklist, an observer at the gradebook); the record rule still applies. Like `skip_visibility`,
    grep for it in review.
    """
    before = db.session.info.get("whole_log", False)
    db.session.info["whole_log"] = True
    try:
        yield
    finally:
        db.session.info["whole_log"] = before


@event.listens_for(Session, "do_orm_execute")
def _apply_visibility(state: ORMExecuteState) -> None:
    """Add the record rule (every Owned type) and the log rule (LogEntry) to an ORM SELECT."""
    if not state.is_select or state.is_column_load or state.is_relationship_load:
        return
    if state.execution_options.get("skip_visibility", False):
        return
    viewer = state.session.info.get("viewer")
    include_deleted = bool(state.execution_options.get("include_deleted", False))
    whole_log = bool(state.session.info.get("whole_log", False))
    # Built once per viewer and session: the same option objects also keep SQLAlchemy's cache keys cheap.
    cache = state.session.info.setdefault("visibility_options", {})
    key = (id(viewer), include_deleted, whole_log)
    cached = cache.get(key)
    if cached is None or cached[0] is not viewer:
        options = tuple(
            with_loader_criteria(cls, criterion(cls, viewer, include_deleted), include_aliases=True)
            for cls in owned_classes()
        )
        if not whole_log:
            from .oplog import LogEntry  # the log module builds on this one's models, not the reverse

            options += (with_loader_criteria(LogEntry, log_criterion(viewer), include_aliases=True),)
        cached = cache[key] = (viewer, options)
    state.statement = state.statement.options(*cached[1])


def _in_class(obj: Owned, viewer: Viewer) -> bool:
    return obj.class_id is not None and obj.class_id == viewer.class_id


def why_visible(obj: Owned, viewer: Any) -> list[str]:
    """Every reason the viewer sees this record, for the record page (a teaching aid)."""
    if viewer is SYSTEM or not isinstance(viewer, Viewer):
        return []
    reasons: list[str] = []
    if viewer.is_admin:
        reasons.append(_("You are an administrator."))
    if obj.owner_id == viewer.user_id:
        reasons.append(_("You own this record."))
    if obj.class_id is not None and obj.class_id in viewer.below_class_ids:
        reasons.append(_("Its class lies below your position in the position tree."))
    same_class = obj.class_id == viewer.class_id
    if obj.owner_id in viewer.subordinate_ids and same_class:
        reasons.append(_("Its owner holds a position below yours (superiors see their subordinates)."))
    for gid, members in viewer.groups.items():
        if obj.owner_id in members and same_class:
            reasons.append(
                _("You and its owner are in the sharing group “%(name)s”.", name=viewer.group_names[gid])
            )
    if _in_class(obj, viewer):
        mode = sharing_mode(type(obj), viewer)
        if getattr(type(obj), "__class_readable__", False):
            reasons.append(_("This kind of record is readable by the whole class."))
        elif mode == SharingModeValue.READ_WRITE:
            reasons.append(_("Your class shares this kind of record read-write."))
        elif mode == SharingModeValue.READ_ONLY:
            reasons.append(_("Your class shares this kind of record read-only."))
    return reasons


def can_write(obj: Owned, viewer: Any) -> bool:
    """May the viewer change this record? (Reading is checked by the query filter.)"""
    if viewer is SYSTEM:
        return True
    if not isinstance(viewer, Viewer) or viewer.is_readonly:
        return False
    if viewer.is_admin:
        return True
    if obj.class_id is not None and obj.class_id in viewer.below_class_ids:
        return True
    if viewer.class_id is None:
        return obj.class_id is None and obj.owner_id in viewer.owner_ids
    if obj.class_id != viewer.class_id:
        return False
    if obj.owner_id in viewer.owner_ids:
        return True
    if getattr(type(obj), "__class_readable__", False):
        return False
    return sharing_mode(type(obj), viewer) == SharingModeValue.READ_WRITE


def require_write(obj: Owned) -> None:
    """Abort with 403 unless the current viewer may change the record (read-only roles never may)."""
    if not can_write(obj, current_viewer()):
        abort(403)


def acting_as_system(actor: Any) -> bool:
    """Whether a service runs for the system: no acting user, and `SYSTEM` set explicitly (seeding, reset, CLI).

    No actor anywhere else (a fresh app context, a job that forgot to say who it is) is refused rather
    than taken for the system: nothing fails open.
    """
    if actor is not None:
        return False
    if current_viewer() is SYSTEM:
        return True
    raise NotAllowed(_("Nobody is signed in to do this."))


def require_changer() -> None:
    """Abort with 403 unless the current viewer's role may change records at all (observers may not).

    Checked before any lookup on a write page, so an observer gets 403 for every id, existing or not.
    """
    viewer = current_viewer()
    if not isinstance(viewer, Viewer) or viewer.is_readonly:
        abort(403)


def get_writable_or_404(cls: type, ident: int, include_deleted: bool = False) -> Any:
    """The one door of every write page: a record the viewer may change.

    Observers get 403 before any lookup; a missing or invisible record is 404; a visible record the
    viewer may not change is 403.
    """
    require_changer()
    obj = get_visible_or_404(cls, ident, include_deleted=include_deleted)
    require_write(obj)
    return obj


def get_visible_or_404(cls: type, ident: int, include_deleted: bool = False) -> Any:
    """Load one record through the rule; invisible and missing look the same (404)."""
    stmt = select(cls).where(cls.id == ident)  # type: ignore[attr-defined]
    obj = db.session.scalars(
        stmt.execution_options(include_deleted=include_deleted, populate_existing=True)
    ).first()
    if obj is None:
        abort(404)
    return obj


def assignable_users_query(class_id: int | None) -> Any:
    """Active users of one class who may own records there (transfer targets)."""
    return (
        select(User)
        .where(
            User.class_id == class_id,
            User.status == Status.ACTIVE,
            User.role.in_([Role.STUDENT, Role.INSTRUCTOR]),
        )
        .order_by(User.display_name)
    )


def about_record(obj: Owned, type_column: Any, id_column: Any, class_column: Any) -> ColumnElement[bool]:
    """Rows about one record (its log entries, notes, attachments): its type, its id *and its class*.

    The class is part of the rule so a row of another class never shows on this record's page, even if
    an id were ever taken again (an undone reset's rows, a restored backup): the class stays sealed.
    """
    same_class = class_column.is_(None) if obj.class_id is None else class_column == obj.class_id
    return and_(type_column == obj.__audit_type__, id_column == obj.id, same_class)


def log_criterion(viewer: Any) -> ColumnElement[bool]:
    """Which operation-log entries the viewer may read: own; staff also their classes'; admin all.

    Applied to every ORM SELECT of LogEntry by `_apply_visibility`, as the record rule is; a page never
    adds it by hand. System jobs pass `skip_visibility=True`; grading reads inside `reading_whole_log()`.
    """
    from .oplog import LogEntry

    if viewer is SYSTEM:
        return true()
    if not isinstance(viewer, Viewer):
        return false()
    if viewer.is_admin:
        return true()
    terms: list[ColumnElement[bool]] = [LogEntry.actor_id == viewer.user_id]
    if viewer.role in (Role.INSTRUCTOR, Role.READONLY) and viewer.below_class_ids:
        terms.append(LogEntry.class_id.in_(sorted(viewer.below_class_ids)))
    if viewer.role in (Role.INSTRUCTOR, Role.READONLY) and viewer.subordinate_ids and viewer.class_id is not None:
        terms.append(LogEntry.actor_id.in_(sorted(viewer.subordinate_ids)))
    return or_(*terms)
