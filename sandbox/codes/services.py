"""Reading picklists for forms and lists, and the @operation services that edit them."""

from __future__ import annotations

import re
from typing import Any

from flask import g
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from .defaults import DEFAULTS
from .models import CodeValue

CODE = re.compile(r"^[a-z0-9_]{1,40}$")
# `class_id=SCHOOL` asks for the school's defaults alone (no id is 0); None means the viewer's class.
SCHOOL = 0

# Which record fields use which table: values in use are deactivated, never deleted.
USED_BY: dict[str, list[tuple[str, str]]] = {}


def register_usage(table: str, record_type: str, field: str) -> None:
    """Declare that `record_type.field` stores codes of `table` (for the in-use check)."""
    USED_BY.setdefault(table, []).append((record_type, field))


class CodeError(ServiceError):
    """A picklist change refused (message for the user, next to `field` when given)."""


def _viewer_class() -> int | None:
    """The class whose picklists the current viewer works with (None: the school's defaults)."""
    from ..access import current_viewer

    try:
        return getattr(current_viewer(), "class_id", None)
    except RuntimeError:  # no application context
        return None


def effective(rows: list[CodeValue], class_id: int | None) -> list[CodeValue]:
    """The values a class works with: the defaults, each replaced by the class's override of the same
    code, plus the values only that class has; in sort order."""
    mine = {v.code: v for v in rows if v.class_id is not None and v.class_id == class_id}
    merged = [mine.pop(v.code, v) for v in rows if v.class_id is None]
    merged += list(mine.values())
    return sorted(merged, key=lambda v: (v.sort_order, v.id))


def _all(table: str, class_id: int | None = None) -> list[CodeValue]:
    """Values of a table as `class_id` (None: the viewer's class; SCHOOL: the defaults) sees them,
    cached for the request."""
    if class_id is None:
        class_id = _viewer_class()
    elif class_id == SCHOOL:
        class_id = None
    cache = g.setdefault("code_values", {})
    key = (table, class_id)
    if key not in cache:
        where = CodeValue.class_id.is_(None)
        if class_id is not None:
            where = where | (CodeValue.class_id == class_id)
        rows = list(db.session.scalars(select(CodeValue).where(CodeValue.table_name == table, where)))
        cache[key] = effective(rows, class_id)
    return cache[key]


def values_for(table: str, class_id: int | None = None) -> list[CodeValue]:
    """Every value (active or not) of a table as a class sees it (SCHOOL: the defaults alone)."""
    return _all(table, class_id)


def flagged(table: str, flag: str) -> list[str]:
    """The codes of a table whose extra settings set `flag` (the won stages, the closed stages...)."""
    return sorted({v.code for v in _all(table) if (v.extra or {}).get(flag)})


def _locale() -> str:
    try:
        return str(get_locale() or "zh_Hans_CN")
    except Exception:  # outside a request (CLI): Chinese, the product's default
        return "zh_Hans_CN"


def choices(table: str, current: str | None = None, blank: bool = False, class_id: int | None = None
            ) -> list[tuple[str, str]]:
    """Active values as (code, label) for a select; keeps a record's current value even if inactive."""
    locale = _locale()
    result = [(v.code, v.label(locale)) for v in _all(table, class_id) if v.active or v.code == current]
    if blank:
        result.insert(0, ("", "—"))
    return result


def label(table: str, code: str | None, class_id: int | None = None) -> str:
    """The label of a code in the UI language, as `class_id` (default: the viewer's class) names it
    (the code itself if unknown)."""
    if not code:
        return ""
    for v in _all(table, class_id):
        if v.code == code:
            return v.label(_locale())
    return code


def extra(table: str, code: str | None, class_id: int | None = None) -> dict[str, Any]:
    """The extra settings of a code (won, closed, probability...), {} when unknown."""
    for v in _all(table, class_id):
        if v.code == code:
            return v.extra or {}
    return {}


def in_use(value: CodeValue, class_id: int | None = None) -> bool:
    """Do records use this value's code (in its class, or in `class_id`, if either is given)?"""
    from ..records import registry  # the registry reads code tables: imported when asked, not at load

    scope = value.class_id or class_id
    for record_type, field in USED_BY.get(value.table_name, []):
        entry = registry.find(record_type)
        if entry is None:
            continue
        cls = entry.model
        stmt = select(cls.id).where(getattr(cls, field) == value.code)
        if scope:
            stmt = stmt.where(cls.class_id == scope)
        hit = db.session.scalar(stmt.limit(1).execution_options(skip_visibility=True, include_deleted=True))
        if hit:
            return True
    return False


def check_scope(class_id: int | None) -> None:
    """The admin edits the school's defaults; an instructor only the classes below them (CodeError)."""
    from ..access import acting_as_system
    from ..oplog import current_actor
    from ..org.models import Position, PositionKind, Role
    from ..org.scope import manages

    actor = current_actor()
    if acting_as_system(actor):  # seeding, the CLI
        return
    if class_id is None:
        if actor.role != Role.ADMIN:
            raise CodeError(_("Only the administrator edits the school's defaults; choose one of your classes."))
        return
    klass = db.session.get(Position, class_id)
    if klass is None or klass.kind != PositionKind.CLASS or not manages(actor, klass):
        raise CodeError(_("You do not teach this class."))


def _changed(value: CodeValue) -> None:
    g.pop("code_values", None)
    current_op().target(value)
    if value.class_id is not None:
        current_op().class_id = value.class_id


@operation("code_value.create")
def create_value(table: str, code: str, label_zh: str, label_en: str, sort_order: int,
                 class_id: int | None = None) -> CodeValue:
    """Add a default (class_id None, the admin) or a value only one class has (its instructor)."""
    if table not in DEFAULTS:
        raise CodeError(_("Unknown code table."), "table_name")
    check_scope(class_id)
    code = code.strip().lower()
    if not CODE.match(code):
        raise CodeError(_("A code has lowercase letters, digits and underscores (at most 40)."), "code")
    if any(v.code == code for v in _all(table, class_id or SCHOOL)):
        raise CodeError(_("This code exists already in the table."), "code")
    if not label_zh.strip() or not label_en.strip():
        raise CodeError(_("Give both the Chinese and the English label."), "label_zh")
    value = CodeValue(table_name=table, code=code, label_zh=label_zh.strip(), label_en=label_en.strip(),
                      sort_order=sort_order, active=True, class_id=class_id)
    db.session.add(value)
    _changed(value)
    return value


@operation("code_value.update")
def update_value(value: CodeValue, label_zh: str, label_en: str, sort_order: int, active: bool,
                 class_id: int | None = None) -> CodeValue:
    """Edit a value for `class_id` (None: the school's default itself). Editing a default for one class
    writes that class's override, so the other classes keep the default."""
    check_scope(class_id)
    if value.class_id is not None and value.class_id != class_id:
        raise CodeError(_("This value belongs to another class."))
    if not label_zh.strip() or not label_en.strip():
        raise CodeError(_("Give both the Chinese and the English label."), "label_zh")
    if not active and (value.extra or {}).get("system"):
        raise CodeError(_("This value is used by the system and stays active."), "active")
    if value.class_id != class_id:
        override = db.session.scalar(select(CodeValue).where(
            CodeValue.table_name == value.table_name, CodeValue.code == value.code, CodeValue.class_id == class_id))
        if override is None:
            override = CodeValue(table_name=value.table_name, code=value.code, extra=value.extra, class_id=class_id)
            db.session.add(override)
        value = override
    value.label_zh, value.label_en = label_zh.strip(), label_en.strip()
    value.sort_order, value.active = sort_order, active
    _changed(value)
    return value


@operation("code_value.delete")
def delete_value(value: CodeValue) -> None:
    """Delete an unused value (a class's override: the class goes back to the default); one in use must
    be deactivated instead."""
    check_scope(value.class_id)
    overrides_default = value.class_id is not None and db.session.scalar(select(CodeValue.id).where(
        CodeValue.table_name == value.table_name, CodeValue.code == value.code, CodeValue.class_id.is_(None)))
    if (value.extra or {}).get("system") and not overrides_default:
        raise CodeError(_("This value is used by the system and cannot be deleted."))
    if not overrides_default and in_use(value):
        raise CodeError(_("“%(label)s” is used by records; deactivate it instead.", label=value.label(_locale())))
    _changed(value)
    db.session.delete(value)


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
