"""Account services: each an @operation, so every sign-in and change is logged."""

from __future__ import annotations

from flask_babel import gettext as _

from ..errors import ServiceError
from ..extensions import db
from ..oplog import current_op, operation
from ..org.models import Position, Role, Status, User, utcnow
from .passwords import password_problem


class AccountError(ServiceError):
    """A refused change to one's own account (message for the user, form field it concerns)."""


@operation("auth.register")
def register_user(
    username: str, display_name: str, email: str, password: str, klass: Position, student_number: str | None
) -> User:
    """Create a pending student who asked to join `klass` (a rejected student may register again)."""
    from ..org.accounts import release_rejected  # org's services build on auth's passwords: import when used

    release_rejected(username, email)
    user = User(
        username=username.strip(),
        display_name=display_name.strip(),
        email=email.strip().lower(),
        student_number=(student_number or "").strip() or None,
        role=Role.STUDENT,
        status=Status.PENDING,
        class_id=klass.id,
    )
    user.set_password(password)
    db.session.add(user)
    op = current_op()
    op.actor = user
    op.class_id = klass.id
    op.target(user, klass=klass.name)
    return user


@operation("auth.login")
def record_login(user: User) -> None:
    """Note a successful sign-in."""
    user.last_login_at = utcnow()
    op = current_op()
    op.actor = user
    op.target(user)


@operation("auth.login_failed")
def record_failed_login(username: str, reason: str) -> None:
    """Note a refused sign-in (unknown user, wrong password, pending, rejected, disabled)."""
    current_op().params.update(username=username[:64], reason=reason)


@operation("auth.logout")
def record_logout(user: User) -> None:
    """Sign out everywhere: the new session version refuses every cookie issued before."""
    user.session_version += 1
    op = current_op()
    op.actor = user
    op.target(user)


@operation("auth.password_change")
def change_password(user: User, old: str, new: str) -> None:
    """Change one's own password; the old one is required; other sessions end."""
    if not user.check_password(old):
        raise AccountError(_("The current password is wrong."), "old_password")
    problem = password_problem(new, user.username)
    if problem:
        raise AccountError(problem, "password")
    if old == new:
        raise AccountError(_("Choose a password different from the current one."), "password")
    user.set_password(new)
    user.must_change_password = False
    user.session_version += 1
    current_op().target(user)


@operation("auth.preferences")
def update_profile(user: User, display_name: str, email: str | None, locale: str, signature: str | None) -> None:
    """Save one's own preferences: name, email, interface language, email signature."""
    user.display_name = display_name.strip()
    user.email = (email or "").strip().lower() or None
    user.locale = locale
    user.email_signature = signature
    current_op().target(user)
