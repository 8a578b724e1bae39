"""Reading picklists for forms and lists, and the @operation services that edit them."""

from __future__ import annotations

import re
from typing import Any

from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..owned import owned_classes
from .defaults import DEFAULTS
from .models import CodeValue

CODE = re.compile(r"^[a-z0-9_]{1,40}$")

# Which record fields use which table: values in use are deactivated, never deleted.
USED_BY: dict[str, list[tuple[str, str]]] = {}


def register_usage(table: str, record_type: str, field: str) -> None:
    """Declare that `record_type.field` stores codes of `table` (for the in-use check)."""
    USED_BY.setdefault(table, []).append((record_type, field))


class CodeError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _all(table: str) -> list[CodeValue]:
    """Values of a table, cached for the request."""
    cache = g.setdefault("code_values", {})
    if table not in cache:
        cache[table] = list(db.session.scalars(
            select(CodeValue).where(CodeValue.table_name == table).order_by(CodeValue.sort_order, CodeValue.id)))
    return cache[table]


def _locale() -> str:
    try:
        return str(get_locale() or "zh_Hans_CN")
    except Exception:  # outside a request (CLI): Chinese, the product's default
        return "zh_Hans_CN"


def choices(table: str, current: str | None = None, blank: bool = False) -> list[tuple[str, str]]:
    """Active values as (code, label) for a select; keeps a record's current value even if inactive."""
    locale = _locale()
    result = [(v.code, v.label(locale)) for v in _all(table) if v.active or v.code == current]
    if blank:
        result.insert(0, ("", "—"))
    return result


def label(table: str, code: str | None) -> str:
    """The label of a code in the UI language (the code itself if unknown)."""
    if not code:
        return ""
    for v in _all(table):
        if v.code == code:
            return v.label(_locale())
    return code


def extra(table: str, code: str | None) -> dict[str, Any]:
    for v in _all(table):
        if v.code == code:
            return v.extra or {}
    return {}


def in_use(value: CodeValue) -> bool:
    for record_type, field in USED_BY.get(value.table_name, []):
        cls = next((c for c in owned_classes() if c.__audit_type__ == record_type), None)
        if cls is None:
            continue
        hit = db.session.scalar(
            select(cls.id).where(getattr(cls, field) == value.code).limit(1)
            .execution_options(skip_visibility=True, include_deleted=True)
        )
        if hit:
            return True
    return False


@operation("code_value.create")
def create_value(table: str, code: str, label_zh: str, label_en: str, sort_order: int) -> CodeValue:
    if table not in DEFAULTS:
        raise CodeError(_("Unknown code table."), "table_name")
    code = code.strip().lower()
    if not CODE.match(code):
        raise CodeError(_("A code has lowercase letters, digits and underscores (at most 40)."), "code")
    if any(v.code == code for v in _all(table)):
        raise CodeError(_("This code exists already in the table."), "code")
    if not label_zh.strip() or not label_en.strip():
        raise CodeError(_("Give both the Chinese and the English label."), "label_zh")
    value = CodeValue(table_name=table, code=code, label_zh=label_zh.strip(), label_en=label_en.strip(),
                      sort_order=sort_order, active=True)
    db.session.add(value)
    g.pop("code_values", None)
    current_op().target(value)
    return value


@operation("code_value.update")
def update_value(value: CodeValue, label_zh: str, label_en: str, sort_order: int, active: bool) -> CodeValue:
    if not label_zh.strip() or not label_en.strip():
        raise CodeError(_("Give both the Chinese and the English label."), "label_zh")
    if not active and (value.extra or {}).get("system"):
        raise CodeError(_("This value is used by the system and stays active."), "active")
    value.label_zh, value.label_en = label_zh.strip(), label_en.strip()
    value.sort_order, value.active = sort_order, active
    g.pop("code_values", None)
    current_op().target(value)
    return value


@operation("code_value.delete")
def delete_value(value: CodeValue) -> None:
    """Delete an unused value; one in use must be deactivated instead."""
    if (value.extra or {}).get("system"):
        raise CodeError(_("This value is used by the system and cannot be deleted."))
    if in_use(value):
        raise CodeError(_("“%(label)s” is used by records; deactivate it instead.", label=value.label(_locale())))
    current_op().target(value)
    db.session.delete(value)
    g.pop("code_values", None)


register_verbs({
    "code_value.create": N_("added picklist value %(label)s"),
    "code_value.update": N_("edited picklist value %(label)s"),
    "code_value.delete": N_("deleted picklist value %(label)s"),
})


def code_for_label(table: str, text: str | None) -> str | None:
    """The code whose Chinese or English label is `text` (older log entries stored labels), else None."""
    if not text:
        return None
    for v in _all(table):
        if text in (v.code, v.label_zh, v.label_en):
            return v.code
    return None
