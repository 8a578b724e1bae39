"""Password rules and generated passwords."""

from __future__ import annotations

import secrets
import string

from flask_babel import gettext as _

MIN_LENGTH = 8
# Readable alphabet for printed roster sheets: no 0/O, 1/l/I.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return _("Use both letters and digits.")
    if username and username.lower() in password.lower():
        return _("The password must not contain the username.")
    return None


def generate_password(length: int = 10) -> str:
    """A random initial password with at least one letter and one digit."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
