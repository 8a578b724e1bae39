"""Reading picklists for forms and lists, and the @operation services that edit them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flask import current_app, g, has_request_context, request
from flask.globals import _cv_app
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import bindparam, column, func, select, table

from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..oplog import LogEntry, current_op, operation, register_verbs
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
    try:
        return getattr(db.session.info.get("viewer"), "class_id", None)  # access.current_viewer()
    except RuntimeError:  # no application context
        return None


def effective(rows: list[Any], class_id: int | None) -> list[Any]:
    """The values a class works with: the defaults, each replaced by the class's override of the same
    code, plus the values only that class has; in sort order."""
    mine = {v.code: v for v in rows if v.class_id is not None and v.class_id == class_id}
    merged = [mine.pop(v.code, v) for v in rows if v.class_id is None]
    merged += list(mine.values())
    return sorted(merged, key=lambda v: (v.sort_order, v.id))


class Code:
    """One picklist value as read for pages: an immutable copy of a `CodeValue` row (the same attributes),
    so a class's tables can be kept between requests without holding ORM objects of a closed session."""

    __slots__ = ("id", "table_name", "code", "label_zh", "label_en", "sort_order", "active", "extra", "class_id")

    def __init__(self, row: Any) -> None:
        for name in self.__slots__:
            object.__setattr__(self, name, getattr(row, name))
        # Read-only: one cached value serves every request of the process.
        object.__setattr__(self, "extra", MappingProxyType(dict(row.extra)) if row.extra else None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a picklist value read for pages is read-only; edit it through the services")

    def label(self, locale: str) -> str:
        """The label in `locale` (Chinese for zh*, else English)."""
        return self.label_zh if locale.startswith("zh") else self.label_en

    @property
    def audit_label(self) -> str:
        """table:code (@class when a class's value), as the log names it."""
        return f"{self.table_name}:{self.code}" + (f"@{self.class_id}" if self.class_id else "")


class Table:
    """One code table as one class sees it, indexed for the lookups a page makes hundreds of times."""

    __slots__ = ("values", "by_code", "labels", "active", "flags")

    def __init__(self, values: list[Code]) -> None:
        self.values = tuple(values)  # in sort order, inactive ones included
        self.by_code = {v.code: v for v in values}
        self.labels = ({v.code: v.label_en for v in values}, {v.code: v.label_zh for v in values})  # [zh]
        self.active = ([(v.code, v.label_en) for v in values if v.active],
                       [(v.code, v.label_zh) for v in values if v.active])
        self.flags: dict[str, list[str]] = {}  # flag → sorted codes, filled when first asked

    def flagged(self, flag: str) -> list[str]:
        """The codes whose extra settings set `flag`, sorted."""
        found = self.flags.get(flag)
        if found is None:
            found = self.flags[flag] = sorted({v.code for v in self.values if (v.extra or {}).get(flag)})
        return found


_EMPTY = Table([])
_COLUMNS = [getattr(CodeValue, name) for name in Code.__slots__]
# Every committed change of a picklist moves this stamp: an insert or a delete changes the count or the
# highest id; every service change (an edit keeps both) writes its log entry in the same transaction.
# The scenario loader only inserts; a restore replaces the database while the app is stopped (DEPLOY.md).
# The same statement stamps the scenario runs (sandbox.money keeps each class's currency, its current
# run's): a load or reset inserts a run, an undo sets `undone_at`, none is ever deleted.
_VERBS = ("code_value.create", "code_value.update", "code_value.delete")
_LOG = LogEntry.__table__
# The verbs written into the statement: PostgreSQL's generic plan of a prepared `verb IN ($1, $2, $3)` walked the
# whole log backwards by id (0.9 ms a page, measured), where the plan for the literals reads the verb index.
_VERBS_IN_TEXT = bindparam("verbs", list(_VERBS), expanding=True, literal_execute=True)
_RUNS = table("runs", column("id"), column("undone_at"))  # by name: classroom builds on this module
_STAMP = select(
    select(func.count()).select_from(CodeValue.__table__).scalar_subquery(),
    select(func.max(CodeValue.id)).scalar_subquery(),
    select(func.max(_LOG.c.id)).where(_LOG.c.verb.in_(_VERBS_IN_TEXT)).scalar_subquery(),
    select(func.count()).select_from(_RUNS).scalar_subquery(),
    select(func.max(_RUNS.c.id)).scalar_subquery(),
    select(func.count(_RUNS.c.undone_at)).scalar_subquery(),
)
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
_STORE = "sandbox.codes"  # app.extensions key: (stamp, {class key: tables}) shared by the process's requests


def _load(class_key: int | None) -> dict[str, Table]:
    """Every table as a class (None: the school's defaults) sees it, in ONE query."""
    where = CodeValue.class_id.is_(None)
    if class_key is not None:
        where = where | (CodeValue.class_id == class_key)
    # Through the session (autoflush: a value added earlier in this request is seen); plain rows, no ORM objects.
    rows: dict[str, list[Code]] = {}
    for row in db.session.execute(select(*_COLUMNS).where(where)):
        rows.setdefault(row.table_name, []).append(Code(row))
    return {table: Table(effective(values, class_key)) for table, values in rows.items()}


def request_stamp() -> tuple[Any, ...] | None:
    """The stamp of the picklists and scenario runs for this request (read once per request, first thing),
    or None outside a read-only request: a write may have changed them in its own transaction (and may
    still roll back), the CLI and jobs have no request. What a process keeps between requests is valid
    while the stamp it was read under is the current one."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return None
    stamp = ctx.g.__dict__.get("_kept_stamp", False)
    if stamp is False:
        stamp = None
        if has_request_context() and request.method in _READ_ONLY:
            # Straight on the session's connection: no ORM statement to build for six numbers. The log's
            # read rule is not involved: only the highest id of the picklist entries is read, never an entry.
            stamp = tuple(db.session.connection().execute(_STAMP).one())
        ctx.g._kept_stamp = stamp
    return stamp


def stamp_columns() -> list[Any]:
    """The stamp's columns (of first_reads' statement), in request_stamp's order."""
    return list(_STAMP.selected_columns)


def use_stamp(stamp: tuple[Any, ...]) -> None:
    """Take the stamp first_reads read, at the start of a read-only request, as this request's."""
    g._kept_stamp = stamp


def kept(name: str) -> dict[Any, Any] | None:
    """This process's store `name` for the current stamp (emptied when the stamp moved), or None when
    nothing may be kept or reused in this request (see request_stamp). Read the stamp before the data:
    data newer than its stamp only costs a reload."""
    stamp = request_stamp()
    if stamp is None:
        return None
    store = current_app.extensions.get(name)
    if store is None or store[0] != stamp:
        store = (stamp, {})
        current_app.extensions[name] = store
    return store[1]


def _shared() -> dict[int | None, dict[str, Table]] | None:
    """The tables this process keeps for the current stamp, or None (outside requests; after a change of a
    picklist in this request). A write request gets a copy, its stamp read again at each call (kept_for_write)."""
    shared = g.get("_codes_shared", False)
    if shared is False:
        if has_request_context() and request.method not in _READ_ONLY:
            return kept_for_write(_STORE)
        shared = g._codes_shared = kept(_STORE)
    return shared


def readable_store(name: str) -> dict[Any, Any] | None:
    """The process's store `name` as this request may use it: `kept` in a read-only request (read and fill),
    `kept_for_write` in a write request (a copy: read only), None outside requests."""
    if has_request_context() and request.method not in _READ_ONLY:
        return kept_for_write(name)
    return kept(name)


def kept_for_write(name: str) -> dict[Any, Any] | None:
    """For a write request: a copy of the process's store `name` when read-only requests filled it under the
    stamp the database shows this transaction now (its own uncommitted changes included), else None.

    The stamp is read at each call, right before the store is used (callers keep what they read for the rest
    of the request, once per class), so a change this request made before, even one that will roll back,
    moves it and the data is read again. The copy is never stored: only read-only requests keep data for
    the others (`kept`). With changes not flushed yet (which the stamp cannot show) the caller reads afresh."""
    store = current_app.extensions.get(name)
    session = db.session
    if store is None or not store[1] or session.new or session.dirty or session.deleted:
        return None
    stamp = tuple(session.connection().execute(_STAMP).one())
    return dict(store[1]) if store[0] == stamp else None


def _tables(class_id: int | None = None) -> dict[str, Table]:
    """All tables as `class_id` (None: the viewer's class; SCHOOL: the defaults) sees them: loaded once
    per request, and kept between read-only requests while the database's stamp is unchanged."""
    if class_id is None:
        class_id = _viewer_class()
    elif class_id == SCHOOL:
        class_id = None
    ctx = _cv_app.get(None)
    if ctx is None:
        raise RuntimeError("picklists are read inside an application context")
    # The context's g itself, not the proxy: a list page asks for a label in every cell.
    mine = ctx.g.__dict__.get("_codes")
    if mine is None:
        mine = ctx.g._codes = {}
    tables = mine.get(class_id)
    if tables is None:
        shared = _shared()
        tables = shared.get(class_id) if shared is not None else None
        if tables is None:
            tables = _load(class_id)
            if shared is not None:
                shared[class_id] = tables
        mine[class_id] = tables
    return tables


def _table(table: str, class_id: int | None = None) -> Table:
    return _tables(class_id).get(table, _EMPTY)


def _all(table: str, class_id: int | None = None) -> list[Code]:
    """Values of a table as `class_id` (None: the viewer's class; SCHOOL: the defaults) sees them."""
    return list(_table(table, class_id).values)


def values_for(table: str, class_id: int | None = None) -> list[Code]:
    """Every value (active or not) of a table as a class sees it (SCHOOL: the defaults alone)."""
    return _all(table, class_id)


def flagged(table: str, flag: str) -> list[str]:
    """The codes of a table whose extra settings set `flag` (the won stages, the closed stages...)."""
    return list(_table(table).flagged(flag))


def _locale() -> str:
    try:
        return str(get_locale() or "zh_Hans_CN")
    except Exception:  # outside a request (CLI): Chinese, the product's default
        return "zh_Hans_CN"


def _zh() -> int:
    """1 when labels are read in Chinese (zh*, and outside a request, the product's default), else 0:
    `_locale().startswith("zh")` at a fraction of the cost, since a list page asks once per cell."""
    ctx = _cv_app.get(None)
    if ctx is None:  # outside an application (a script): Chinese, the product's default
        return 1
    # The locale Flask-Babel already chose for this context (force_locale sets the same attribute);
    # asked from Flask-Babel itself the first time.
    locale = getattr(ctx.g.__dict__.get("_flask_babel"), "babel_locale", None)
    if locale is None:
        try:
            locale = get_locale()
        except Exception:  # outside a request (CLI): Chinese, the product's default
            return 1
    return 1 if locale is None or locale.language == "zh" else 0


def choices(table: str, current: str | None = None, blank: bool = False, class_id: int | None = None
            ) -> list[tuple[str, str]]:
    """Active values as (code, label) for a select; keeps a record's current value even if inactive."""
    found = _table(table, class_id)
    zh = _zh()
    if current and current in found.by_code and not found.by_code[current].active:
        labels = found.labels[zh]
        result = [(v.code, labels[v.code]) for v in found.values if v.active or v.code == current]
    else:
        result = list(found.active[zh])
    if blank:
        result.insert(0, ("", "—"))
    return result


def label(table: str, code: str | None, class_id: int | None = None) -> str:
    """The label of a code in the UI language, as `class_id` (default: the viewer's class) names it
    (the code itself if unknown)."""
    if not code:
        return ""
    return _table(table, class_id).labels[_zh()].get(code, code)


def extra(table: str, code: str | None, class_id: int | None = None) -> Mapping[str, Any]:
    """The extra settings of a code (won, closed, probability...), {} when unknown (read-only)."""
    value = _table(table, class_id).by_code.get(code) if code is not None else None
    return (value.extra if value is not None else None) or {}


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
    # This request reads the database again (its own change included); other requests see the new stamp.
    g.pop("_codes", None)
    g._codes_shared = None  # and never keeps for other requests what it read inside its own transaction
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
