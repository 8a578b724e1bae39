"""One user at a time: an instructor adds or deletes a user of their subtree; a rejected registration gives its
username and email up so the student can register again.

Deleting keeps the history whole: a user who appears in the operation log as an actor, or whom any row still
points to (records they own or made, runs, grades), is disabled and anonymised instead of removed. Their records
stay theirs, on their position, so the superiors and instructors who saw them still do; the log keeps its entries.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..auth.passwords import generate_password, password_problem
from ..extensions import db
from ..i18n import N_
from ..oplog import LogEntry, current_op, operation, register_verbs
from .models import Position, Role, Status, User
from .scope import can_manage_user
from .services import OrgError, create_user

USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
DELETED_NAME = "Deleted user"

register_verbs({
    "user.release": N_("freed the username and email of the rejected registration %(was)s"),
    "user.delete": N_("deleted user %(label)s"),
    "user.anonymise": N_("disabled and anonymised user %(was)s (kept for the log and grades)"),
})


def rejected_holders(username: str, email: str | None) -> list[User]:
    """Rejected registrations holding this username or email (case-insensitive)."""
    match = func.lower(User.username) == username.strip().lower()
    if email and email.strip():
        match = match | (func.lower(User.email) == email.strip().lower())
    return list(db.session.scalars(select(User).where(User.status == Status.REJECTED, match)))


def release_rejected(username: str, email: str | None) -> int:
    """Let a rejected student register again: the rejected registrations holding the username or email give
    them up. Each stays, with its logged decision, as rejected-<id> without an email. Returns how many."""
    holders = rejected_holders(username, email)
    for user in holders:
        _release(user)
    return len(holders)


@operation("user.release")
def _release(user: User) -> None:
    current_op().target(user, was=user.audit_label)
    user.username = f"rejected-{user.id}"
    user.email = None


def add_user(
    actor: User, username: str, display_name: str, role: str, position: Position | None,
    email: str | None = None, student_number: str | None = None, password: str | None = None,
) -> tuple[User, str | None]:
    """One new active user in the actor's subtree. Without a password one is generated, returned to be shown once,
    and must be changed at the first sign-in. A student joining a class with a running scenario gets their book."""
    from .services import give_late_books

    username = (username or "").strip()
    if not (3 <= len(username) <= 64) or not set(username) <= USERNAME_CHARS:
        raise OrgError(_("Use 3–64 letters, digits, dots, dashes or underscores."), "username")
    if not (display_name or "").strip():
        raise OrgError(_("Give the user a name."), "display_name")
    if position is None:
        raise OrgError(_("Choose the position the user takes."), "position_id")
    email = (email or "").strip().lower() or None
    if email and db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise OrgError(_("An account with this email exists already."), "email")
    generated = None
    if password:
        problem = password_problem(password, username)
        if problem:
            raise OrgError(problem, "password")
    else:
        password = generated = generate_password()
    user = create_user(actor, username, display_name.strip(), password, role, position, email=email,
                       student_number=(student_number or "").strip() or None, must_change_password=generated is not None)
    db.session.flush()
    try:
        give_late_books(user.class_id, [user])
    except OrgError as exc:
        raise OrgError(exc.message, "position_id") from None  # shown next to the position that has the scenario
    return user, generated


def _referenced(user: User) -> bool:
    """Whether the log names the user as an actor, or any row points to them (records, runs, grades...)."""
    # The whole log, not the part the acting instructor may read: any entry keeps the account.
    named = select(LogEntry.id).where(LogEntry.actor_id == user.id).limit(1).execution_options(skip_visibility=True)
    if db.session.scalar(named) is not None:
        return True
    users = User.__table__.c.id
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if table.name == "users" or not any(fk.column is users for fk in column.foreign_keys):
                continue
            if table.name == "sharing_group_members":
                continue  # memberships go with the user
            if db.session.execute(select(column).where(column == user.id).limit(1)).first() is not None:
                return True
    return False


def delete_user(actor: User, user: User) -> bool:
    """Delete a user the actor manages; one the log or any record still names is disabled and anonymised instead
    (username deleted-<id>, name "Deleted user", no email, no password). Returns True when the row was removed."""
    if user.id == actor.id:
        raise OrgError(_("You cannot delete your own account."))
    if not can_manage_user(actor, user) or (user.role == Role.ADMIN and actor.role != Role.ADMIN):
        raise OrgError(_("That user is outside the part of the tree you manage."))
    if user.username.startswith("deleted-") and user.status == Status.DISABLED and user.email is None:
        raise OrgError(_("This user was deleted already; only the anonymised account is kept for the log."))
    if _referenced(user):
        _anonymise(actor, user)
        return False
    _remove(actor, user)
    return True


@operation("user.anonymise")
def _anonymise(actor: User, user: User) -> None:
    current_op().target(user, was=user.audit_label)
    user.username = f"deleted-{user.id}"
    user.display_name = f"{DELETED_NAME} #{user.id}"
    user.email = None
    user.student_number = None
    user.email_signature = None
    user.password_hash = ""  # no password matches: the account can never sign in again
    user.must_change_password = False
    user.status = Status.DISABLED
    user.session_version += 1  # an open session ends at the next request


@operation("user.delete")
def _remove(actor: User, user: User) -> None:
    from .models import SharingGroupMember

    current_op().target(user)
    for member in db.session.scalars(select(SharingGroupMember).where(SharingGroupMember.user_id == user.id)):
        db.session.delete(member)
    db.session.delete(user)
