"""Translated labels of the fixed vocabularies (roles, statuses, position kinds)."""

from __future__ import annotations

from flask_babel import gettext as _

from .i18n import N_

ROLES = {"admin": N_("Administrator"), "instructor": N_("Instructor"), "student": N_("Student"),
         "readonly": N_("Read-only observer")}
STATUSES = {"pending": N_("Awaiting approval"), "active": N_("Active"), "rejected": N_("Rejected"),
            "disabled": N_("Disabled")}
KINDS = {"organization": N_("Organisation"), "teacher": N_("Teacher"), "class": N_("Class"),
         "department": N_("Department"), "position": N_("Position")}


def role_label(role: str) -> str:
    """A role's name in the reader's language."""
    return _(ROLES[role]) if role in ROLES else role


def status_label(status: str) -> str:
    """An account status's name in the reader's language."""
    return _(STATUSES[status]) if status in STATUSES else status


def kind_label(kind: str) -> str:
    """A position kind's name (teacher, class, department…) in the reader's language."""
    return _(KINDS[kind]) if kind in KINDS else kind
