"""The version an edit form was opened at: every edit of a versioned record must say it.

An edit form carries the record's `version` in a hidden field; the update services compare it with the
saved one (optimistic locking, a stale one is a 409). A POST without it used to skip the check and
overwrite whatever was saved in between; now it is refused (400) before any service runs, so a form
that forgot the field, or a hand-made request, can never lose another user's save.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _


def missing_version_message() -> str:
    """What the user reads when a form came without the version of the record it edits."""
    return _("This form did not say which saved version of the record it changes, so nothing was saved. "
             "Reload the page and save again.")


def sent_version(form: Any) -> int | None:
    """The version the form was opened at; None when it sent none (the caller refuses with 400).

    A value that is no saved version (forged, garbled, 0) becomes -1, which no row has: a conflict (409).
    """
    raw = (form.version.data or "").strip() if form.version.data is not None else ""
    if not raw:
        return None
    if raw.isdigit() and len(raw) < 10 and int(raw) > 0:
        return int(raw)
    return -1
