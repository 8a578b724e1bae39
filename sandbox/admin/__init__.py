"""Administration for instructors and admins: approvals, users, roster, positions, sharing, organisation."""

from flask import Blueprint, abort
from flask_login import current_user

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def staff_only() -> None:
    """Refuse everyone but instructors and admins (403)."""
    # Role decides which actions exist: only instructors and admins administer (SPEC §3.4).
    if not current_user.is_authenticated or not current_user.is_staff:
        abort(403)


from . import approvals, code_tables, positions, sharing, users  # noqa: E402,F401
