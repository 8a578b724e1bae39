"""Password rules, sign-in checks and generated passwords."""

from __future__ import annotations

import secrets
import string

from flask_babel import gettext as _
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from ..org import models as org_models

MIN_LENGTH = 10
# zxcvbn refuses longer input (its matching grows fast); no list holds a password that long anyway.
ZXCVBN_MAX = 72
# zxcvbn's "too guessable" bar (score 0-1): on its common-password lists, made of them, or a keyboard row,
# sequence or repetition that guessing tools try first.
MIN_GUESSES = 10**6
# Readable alphabet for printed roster sheets: no 0/O, 1/l/I.
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
_dummy_hash: str | None = None


def is_common(password: str) -> bool:
    """Is the password common or trivially guessable (zxcvbn's lists of leaked passwords and patterns)?"""
    if len(password) > ZXCVBN_MAX:
        return False
    return zxcvbn(password)["guesses"] < MIN_GUESSES


def password_problem(password: str, username: str = "") -> str | None:
    """Why a password is too weak, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return _("Use at least %(n)d characters.", n=MIN_LENGTH)
    if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
        return _("Use both letters and digits.")
    if username and username.strip().lower() in password.lower():
        return _("The password must not contain the username.")
    if is_common(password):
        return _("This password is too common or too easy to guess (like password123 or qwerty2024). "
                 "Choose one that is not a well-known password, a keyboard row or a repetition.")
    return None


def verify_sign_in(user: org_models.User | None, password: str) -> bool:
    """Check a sign-in password; an unknown user (or one without a password) costs the same hashing time,
    so the answer's timing does not tell which usernames exist."""
    global _dummy_hash
    if user is not None and user.password_hash:
        return check_password_hash(user.password_hash, password)
    if _dummy_hash is None:
        # Made with the same function (and cost) as real users' hashes (org.models.User.set_password).
        _dummy_hash = org_models.generate_password_hash(secrets.token_hex(16))
    check_password_hash(_dummy_hash, password)
    return False


def generate_password(length: int = 10) -> str:
    """A random initial password with at least one letter and one digit."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
