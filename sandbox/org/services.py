"""Services that change the organisation: positions, approvals, users, sharing, the profile."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..auth.passwords import generate_password
from ..auth.usernames import username_is
from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..owned import owned_classes
from .models import (
    SHARING_TYPES,
    Organization,
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
from .scope import manages

CHILD_KINDS = {
    PositionKind.ORGANIZATION: {PositionKind.TEACHER, PositionKind.CLASS},
    PositionKind.TEACHER: {PositionKind.TEACHER, PositionKind.CLASS},
    PositionKind.CLASS: {PositionKind.DEPARTMENT, PositionKind.POSITION},
    PositionKind.DEPARTMENT: {PositionKind.DEPARTMENT, PositionKind.POSITION},
    PositionKind.POSITION: {PositionKind.POSITION},
}
JOIN_CODE = re.compile(r"^[A-Za-z0-9\-]{4,32}$")


class OrgError(ServiceError):
    """A refused change to the organisation, with a message for the user (and the form field it concerns)."""


def _require_manages(actor: User, position: Position | None, strictly: bool = False) -> Position:
    if position is None or not manages(actor, position, strictly):
        raise OrgError(_("That position is outside the part of the tree you manage."), "position_id")
    return position


def _place(position: Position, parent: Position | None) -> None:
    """Fill path and class of a flushed position from its parent."""
    position.path = (parent.path if parent else "/") + f"{position.id}/"
    if position.kind == PositionKind.CLASS:
        position.class_id = position.id
    else:
        position.class_id = parent.class_id if parent else None


def _check_join_code(code: str | None, exclude_id: int | None = None) -> str | None:
    code = (code or "").strip().upper() or None
    if code is None:
        return None
    if not JOIN_CODE.match(code):
        raise OrgError(_("A join code has 4–32 letters, digits or dashes."), "join_code")
    clash = select(Position.id).where(func.upper(Position.join_code) == code)
    if exclude_id:
        clash = clash.where(Position.id != exclude_id)
    if db.session.scalar(clash):
        raise OrgError(_("Another class already uses this join code."), "join_code")
    return code


@operation("position.create")
def create_position(
    actor: User | None, parent: Position | None, kind: str, name: str,
    join_code: str | None = None, registration_open: bool = False,
) -> Position:
    """Add a node under `parent` (None: the organisation root, for the installer)."""
    name = (name or "").strip()
    if not name:
        raise OrgError(_("Give the position a name."), "name")
    if parent is None:
        if kind != PositionKind.ORGANIZATION:
            raise OrgError(_("Only the organisation can be the root."), "kind")
    else:
        if actor is not None:
            _require_manages(actor, parent)
        if kind not in CHILD_KINDS.get(PositionKind(parent.kind), set()):
            raise OrgError(_("A %(child)s cannot be placed under a %(parent)s.", child=kind, parent=parent.kind), "kind")
    position = Position(
        parent_id=parent.id if parent else None, kind=kind, name=name,
        join_code=_check_join_code(join_code) if kind == PositionKind.CLASS else None,
        registration_open=registration_open if kind == PositionKind.CLASS else False,
    )
    db.session.add(position)
    db.session.flush()
    _place(position, parent)
    current_op().target(position, parent=parent.name if parent else "")
    return position


def class_wizard(
    actor: User | None, parent: Position, name: str, departments: list[str],
    join_code: str | None, registration_open: bool, salesperson_name: str | None = None,
) -> Position:
    """A class, its departments and one salesperson position under each, in one transaction."""
    departments = [d.strip() for d in departments if d.strip()]
    if not departments:
        raise OrgError(_("Name at least one department."), "departments")
    if len(set(departments)) != len(departments):
        raise OrgError(_("Department names must differ."), "departments")
    klass = create_position(actor, parent, PositionKind.CLASS, name, join_code, registration_open)
    for dept_name in departments:
        dept = create_position(actor, klass, PositionKind.DEPARTMENT, dept_name)
        create_position(actor, dept, PositionKind.POSITION, salesperson_name or _("Salesperson"))
    return klass


@operation("position.update")
def update_position(
    actor: User, position: Position, name: str, join_code: str | None = None, registration_open: bool = False
) -> Position:
    """Rename a position strictly below the actor's own; a class also gets its join code and registration."""
    _require_manages(actor, position, strictly=True)
    name = (name or "").strip()
    if not name:
        raise OrgError(_("Give the position a name."), "name")
    position.name = name
    if position.kind == PositionKind.CLASS:
        position.join_code = _check_join_code(join_code, position.id)
        position.registration_open = registration_open
    current_op().target(position)
    return position


@operation("position.delete")
def delete_position(actor: User, position: Position) -> None:
    """Remove an empty leaf; a node holding users or children is refused."""
    _require_manages(actor, position, strictly=True)
    if db.session.scalar(select(func.count()).select_from(Position).where(Position.parent_id == position.id)):
        raise OrgError(_("“%(name)s” still has positions under it; delete or move those first.", name=position.name))
    holders = db.session.scalar(
        select(func.count()).select_from(User).where(
            (User.position_id == position.id) | ((User.class_id == position.id) & (User.status == Status.PENDING))
        )
    )
    if holders:
        raise OrgError(_("%(n)d user(s) still hold or wait for “%(name)s”; move them first.", n=holders, name=position.name))
    for cls in owned_classes():
        if db.session.scalar(select(cls.id).where(cls.class_id == position.id).limit(1).execution_options(skip_visibility=True)):
            raise OrgError(_("Records still belong to “%(name)s”.", name=position.name))
    current_op().target(position)
    # Through the session, not Core statements: each user who asked for the class and each sharing mode
    # of it is a change the log lists with this entry.
    for user in db.session.scalars(select(User).where(User.class_id == position.id)):
        user.class_id = None
    for mode in db.session.scalars(select(SharingMode).where(SharingMode.class_id == position.id)):
        db.session.delete(mode)
    db.session.flush()  # no relationship orders these before the position's DELETE: flush them first
    db.session.delete(position)


def _check_placement(actor: User, position: Position | None, role: str) -> Position:
    position = _require_manages(actor, position)
    if role in (Role.STUDENT, Role.READONLY) and position.class_id is None:
        raise OrgError(_("Students and observers must be placed inside a class."), "position_id")
    if role not in (Role.STUDENT, Role.READONLY) and actor.role != Role.ADMIN:
        raise OrgError(_("Only an administrator can grant that role."), "role")
    if role == Role.ADMIN and actor.role != Role.ADMIN:
        raise OrgError(_("Only an administrator can grant that role."), "role")
    return position


def give_late_books(klass_id: int | None, users: list[User]) -> int:
    """Give students who join a class with a running scenario their books, in the caller's transaction.

    Returns the number of records generated (0: no scenario running, or nobody who needs a book)."""
    # Imported here: the classroom builds on the organisation, not the other way round.
    from ..classroom.runs.services import ScenarioLoadError, give_books, late_joiners

    klass = db.session.get(Position, klass_id) if klass_id else None
    joiners = late_joiners(klass, users) if klass is not None else []
    if not joiners:
        return 0
    db.session.flush()  # the approvals or new accounts are logged by their own operations, not by the join
    try:
        return give_books(klass, joiners).rows
    except ScenarioLoadError as exc:
        raise OrgError(_("The students could not be given their books of the running scenario: %(error)s",
                         error=exc.message), "user_ids") from None


@operation("user.approve")
def approve_user(actor: User, user: User, position: Position, role: str, give_book: bool = True) -> User:
    """Activate a pending user on a position with a role; a student joining a class with a running scenario
    gets their book in the same step (give_book=False: the caller gives the books of several at once)."""
    if user.status != Status.PENDING:
        raise OrgError(_("%(name)s was already decided (%(status)s).", name=user.display_name, status=user.status), "user_ids")
    _check_placement(actor, position, role)
    user.status = Status.ACTIVE
    user.position_id = position.id
    user.class_id = position.class_id
    user.role = role
    current_op().target(user, position=position.path_label)
    from ..notifications.services import notify  # at call time: the notifications package imports the records

    # Read after the first sign-in (the account is active from now on).
    notify([user.id], "registration.approved", record=user, position=position.path_label)
    if give_book:
        db.session.flush()
        give_late_books(user.class_id, [user])
    return user


def approve_users(actor: User, users: list[User], position: Position, role: str) -> int:
    """Approve several pending users onto one position; the students get their books together (one generation).
    Returns the number of records generated for them."""
    for user in users:
        approve_user(actor, user, position, role, give_book=False)
    return give_late_books(position.class_id, users)


@operation("user.reject")
def reject_user(actor: User, user: User, reason: str) -> User:
    """Reject a pending registration with a reason the student reads at sign-in."""
    if user.status != Status.PENDING:
        raise OrgError(_("%(name)s was already decided (%(status)s).", name=user.display_name, status=user.status), "user_ids")
    reason = (reason or "").strip()
    if not reason:
        raise OrgError(_("Give the student a reason for the rejection."), "reason")
    user.status = Status.REJECTED
    user.reject_reason = reason[:500]
    current_op().target(user, reason=reason[:200])
    from ..notifications.services import notify  # at call time: the notifications package imports the records

    # A rejected student cannot sign in to read it (the sign-in page shows the reason): the row is kept for the
    # record and is what reaches them by email when SMTP is configured.
    notify([user.id], "registration.rejected", record=user, reason=reason[:500])
    return user


@operation("user.update")
def update_user(
    actor: User, user: User, *, display_name: str, email: str | None, role: str,
    position: Position | None, status: str, student_number: str | None = None,
) -> User:
    """Edit a user the actor manages; moving them to another class moves their records too."""
    if user.id == actor.id and (status != Status.ACTIVE or role != user.role):
        raise OrgError(_("You cannot disable yourself or change your own role."), "status")
    if status not in (Status.ACTIVE, Status.DISABLED) and status != user.status:
        raise OrgError(_("Choose active or disabled."), "status")
    if position is not None or user.status != Status.PENDING:
        position = _check_placement(actor, position, role) if position else None
    email = (email or "").strip().lower() or None
    if email and db.session.scalar(select(User.id).where(func.lower(User.email) == email, User.id != user.id)):
        raise OrgError(_("An account with this email exists already."), "email")
    old_class = user.class_id
    user.display_name = display_name.strip()
    user.email = email
    user.student_number = (student_number or "").strip() or None
    user.role = role
    if position is not None:
        user.position_id = position.id
        user.class_id = position.class_id
    if status != user.status:
        user.status = status
        user.session_version += 1  # a disabled user's open session ends at the next request
    if old_class != user.class_id:
        _move_records(user)
    current_op().target(user)
    return user


def _move_records(user: User) -> None:
    """Move the user's records, with their notes and attachments, into the user's new class.

    Through the session inside the running `user.update` operation: each moved record gets a new version
    and `updated_at`, and the entry lists every record it moved. Every record of the user is moved
    (deleted ones too, and those the actor may not read), so the visibility rule is skipped on purpose.
    """
    from ..records.models import Attachment, Note

    for cls in owned_classes():
        records = list(db.session.scalars(
            select(cls).where(cls.owner_id == user.id).execution_options(skip_visibility=True)))
        for record in records:
            record.class_id = user.class_id
        # Notes and attachments are read with their record's class (access.about_record): they move too.
        ids = [record.id for record in records]
        for child in (Note, Attachment):
            for start in range(0, len(ids), 500):
                for row in db.session.scalars(select(child).where(
                        child.record_type == cls.__audit_type__, child.record_id.in_(ids[start:start + 500]))):
                    row.class_id = user.class_id


@operation("user.password_reset")
def issue_password_reset(actor: User, user: User) -> str:
    """A one-time temporary password that must be changed at the next sign-in."""
    if user.role == Role.ADMIN and actor.role != Role.ADMIN:
        raise OrgError(_("Only an administrator can reset that account."))
    temporary = generate_password()
    user.set_password(temporary)
    user.must_change_password = True
    user.session_version += 1
    current_op().target(user)
    return temporary


@operation("sharing.set")
def set_sharing_mode(actor: User, klass: Position, record_type: str, mode: str) -> None:
    """Set how one record type is shared in a class (private, read-only, read-write)."""
    _require_manages(actor, klass)
    if klass.kind != PositionKind.CLASS:
        raise OrgError(_("Sharing modes are set per class."), "class_id")
    if record_type not in SHARING_TYPES or mode not in set(SharingModeValue):
        raise OrgError(_("Unknown record type or sharing mode."), "mode")
    row = db.session.scalar(
        select(SharingMode).where(SharingMode.class_id == klass.id, SharingMode.record_type == record_type)
    )
    if row is None:
        row = SharingMode(class_id=klass.id, record_type=record_type, mode=mode)
        db.session.add(row)
    row.mode = mode
    current_op().target(row, klass=klass.name)


@operation("sharing_group.create")
def create_group(actor: User, klass: Position, name: str) -> SharingGroup:
    """Create a sharing group in a class the actor manages."""
    _require_manages(actor, klass)
    if klass.kind != PositionKind.CLASS:
        raise OrgError(_("A sharing group belongs to one class."), "class_id")
    name = (name or "").strip()
    if not name:
        raise OrgError(_("Give the group a name."), "name")
    group = SharingGroup(class_id=klass.id, name=name[:100])
    db.session.add(group)
    current_op().target(group, klass=klass.name)
    return group


@operation("sharing_group.add_member")
def add_group_member(actor: User, group: SharingGroup, user: User) -> SharingGroupMember:
    """Add an active user of the group's class to a sharing group."""
    _require_manages(actor, db.session.get(Position, group.class_id))
    if user.class_id != group.class_id or user.status != Status.ACTIVE:
        raise OrgError(_("Only active users of the group's class can join it."), "user_id")
    if any(m.user_id == user.id for m in group.members):
        raise OrgError(_("%(name)s is already a member.", name=user.display_name), "user_id")
    member = SharingGroupMember(group=group, user_id=user.id)
    db.session.add(member)
    current_op().target(group, member=user.display_name)
    return member


@operation("sharing_group.remove_member")
def remove_group_member(actor: User, member: SharingGroupMember) -> None:
    """Remove a member from a sharing group."""
    group = member.group
    _require_manages(actor, db.session.get(Position, group.class_id))
    current_op().target(group, member=member.user.display_name)
    db.session.delete(member)


@operation("sharing_group.delete")
def delete_group(actor: User, group: SharingGroup) -> None:
    """Delete a sharing group with its memberships."""
    _require_manages(actor, db.session.get(Position, group.class_id))
    current_op().target(group)
    db.session.delete(group)


@operation("organization.update")
def update_organization(actor: User, data: dict) -> Organization:
    """Save the organisation profile (administrators only)."""
    if actor.role != Role.ADMIN:
        raise OrgError(_("Only an administrator edits the organisation profile."))
    org = get_organization()
    for key, value in data.items():
        setattr(org, key, value)
    current_op().target(org)
    return org


def get_organization() -> Organization:
    """The installation's one organisation profile."""
    org = db.session.scalar(select(Organization).limit(1))
    if org is None:
        raise OrgError(_("The database has not been initialised; run `sandbox init-db`."))
    return org


@operation("organization.create")
def create_organization(name: str) -> Organization:
    """The installation's organisation profile and the root of the position tree."""
    org = Organization(name=name)
    db.session.add(org)
    root = Position(kind=PositionKind.ORGANIZATION, name=name, path="/")
    db.session.add(root)
    db.session.flush()
    root.path = f"/{root.id}/"
    current_op().target(org)
    return org


@operation("user.create")
def create_user(
    actor: User | None, username: str, display_name: str, password: str, role: str,
    position: Position | None, email: str | None = None, student_number: str | None = None,
    must_change_password: bool = False,
) -> User:
    """Create an active user directly (installer, demo, roster, admin)."""
    if actor is not None and position is not None:
        _check_placement(actor, position, role)
    if db.session.scalar(select(User.id).where(username_is(username))):
        raise OrgError(_("The username %(u)s is taken.", u=username), "username")
    user = User(
        username=username, display_name=display_name, role=role, status=Status.ACTIVE,
        position_id=position.id if position else None, class_id=position.class_id if position else None,
        email=(email or "").lower() or None, student_number=student_number,
        must_change_password=must_change_password,
    )
    user.set_password(password)
    db.session.add(user)
    current_op().target(user)
    return user


register_verbs(
    {
        "position.create": N_("created position %(label)s"),
        "position.update": N_("edited position %(label)s"),
        "position.delete": N_("deleted position %(label)s"),
        "user.approve": N_("approved %(label)s onto %(position)s"),
        "user.reject": N_("rejected %(label)s: %(reason)s"),
        "user.update": N_("edited user %(label)s"),
        "user.create": N_("created user %(label)s"),
        "user.password_reset": N_("issued a temporary password to %(label)s"),
        "sharing.set": N_("set sharing %(label)s in %(klass)s"),
        "sharing_group.create": N_("created sharing group %(label)s"),
        "sharing_group.add_member": N_("added %(member)s to sharing group %(label)s"),
        "sharing_group.remove_member": N_("removed %(member)s from sharing group %(label)s"),
        "sharing_group.delete": N_("deleted sharing group %(label)s"),
        "organization.update": N_("edited the organisation profile"),
        "organization.create": N_("created the organisation %(label)s"),
        "roster.import": N_("imported %(count)s students into %(label)s"),
    }
)
