"""A record's field values as the user reads them: code labels, links to referenced records, money.

Shared by the record pages and the export (which must not import the views), driven by the type's
registry entry. Referenced records' labels are batch-loaded once per request (no N+1 on list pages).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g, url_for
from flask.globals import _cv_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import bindparam, select

from seed.fields import RECORD_FIELDS

from ..codes.services import label as code_label
from ..extensions import db
from ..money import money_of


def is_money(model: Any, attr: str) -> bool:
    """Whether a field of a record type holds an amount of money (seed/fields.py kinds)."""
    return RECORD_FIELDS.get(getattr(model, "__audit_type__", ""), {}).get(attr) == "money"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (escape char: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def by_ids(model: Any, ids: set[int]) -> Any:
    """SELECT the visible records of `model` with these ids, found by primary key (access.criterion's
    `by_key`: SQLite's planner otherwise walks a whole class through an index to find a page's fifty ids)."""
    return select(model).where(model.id.in_(sorted(ids))).execution_options(by_key=True)


_BY_IDS: dict[Any, Any] = {}


def _by_ids_statement(model: Any) -> Any:
    """by_ids() with the ids as an expanding parameter `ids`, built once per model (pages prime references
    on every request; the visibility rule is still added to each execution by the session). A model whose
    audit_label is one column (`__label_column__`) is read as (id, label) rows: no entity is built for a label
    (the rule applies to a column SELECT of the model all the same)."""
    stmt = _BY_IDS.get(model)
    if stmt is None:
        column = getattr(model, "__label_column__", None)
        what = (model.id, getattr(model, column)) if column else (model,)
        stmt = _BY_IDS[model] = select(*what).where(model.id.in_(bindparam("ids", expanding=True))) \
            .execution_options(by_key=True)
    return stmt


def prime_references(ids: list[int], model: Any) -> None:
    """Load the labels of many referenced records in one query (through the visibility rule)."""
    cache = g.setdefault("reference_labels", {})
    wanted = {i for i in ids if i and (model.__tablename__, i) not in cache}
    if not wanted:
        return
    found = db.session.execute(_by_ids_statement(model), {"ids": sorted(wanted)})
    if getattr(model, "__label_column__", None):
        for ident, label in found:
            cache[(model.__tablename__, ident)] = label
    else:
        for (ref,) in found:
            cache[(model.__tablename__, ref.id)] = ref.audit_label
    for i in wanted:
        cache.setdefault((model.__tablename__, i), None)


def remember_labels(model: Any, labels: dict[int, str | None]) -> None:
    """Keep labels of referenced records that a page read itself, through the visibility rule, with a query it
    ran anyway (None: the viewer may not see it), so the page's links to them need no query of their own."""
    cache = g.setdefault("reference_labels", {})
    for ident, label in labels.items():
        cache.setdefault((model.__tablename__, ident), label)


def reference_label(model: Any, ident: int) -> str | None:
    """The label of a referenced record, None when the viewer may not see it."""
    cache = g.setdefault("reference_labels", {})
    key = (model.__tablename__, ident)
    if key not in cache:
        prime_references([ident], model)
    return cache.get(key)


_SENTINEL = 987654321  # an id no URL prefix contains: where the id goes in a detail page's URL


def detail_url(table: str, ident: int) -> str:
    """`url_for(f"{table}.detail", record_id=ident)`, built once per request and type (a list page links a
    record in every row): the URL with a sentinel id, split around it."""
    ctx = _cv_app.get(None)
    parts = ctx.g.__dict__.setdefault("detail_urls", {}) if ctx is not None else {}
    split = parts.get(table)
    if split is None:
        pieces = url_for(f"{table}.detail", record_id=_SENTINEL).split(str(_SENTINEL))
        split = parts[table] = (pieces[0], pieces[1]) if len(pieces) == 2 else ()
    if not split:  # the sentinel was not found exactly once: build each URL
        return url_for(f"{table}.detail", record_id=ident)
    return f"{split[0]}{int(ident)}{split[1]}"


def reference_link(model: Any, ident: int) -> Markup | str:
    """A link to a referenced record, if the viewer may see it."""
    label = reference_label(model, ident)
    if label is None:
        return _("(not visible to you)")
    # Markup.format's output, escaped the same way, without its formatter machinery (once per row).
    return Markup(f'<a href="{escape(detail_url(model.__tablename__, ident))}">{escape(label)}</a>')


def prime_rows(record_type: Any, rows: list[Any]) -> None:
    """Batch-load the labels of every record the rows reference."""
    for attr, model in record_type.references.items():
        prime_references([getattr(r, attr) for r in rows], model)


# How each field of a record type is shown, worked out once per (type, field): list pages ask per cell.
_CODE, _REFERENCE, _MONEY, _OTHER = range(4)
_KINDS: dict[Any, dict[str, tuple[int, Any]]] = {}


def _kind(record_type: Any, attr: str) -> tuple[int, Any]:
    if attr in record_type.codes:
        return _CODE, record_type.codes[attr]
    if attr in record_type.references:
        return _REFERENCE, record_type.references[attr]
    if is_money(record_type.model, attr):
        return _MONEY, None
    return _OTHER, None


def display_value(record_type: Any, obj: Any, attr: str) -> str:
    """A field's value as shown to the user (choice labels translated, references linked)."""
    value = getattr(obj, attr, None)
    if value is None or value == "":
        return ""
    kinds = _KINDS.get(record_type)
    if kinds is None:
        kinds = _KINDS[record_type] = {}
    kind = kinds.get(attr)
    if kind is None:
        kind = kinds[attr] = _kind(record_type, attr)
    what, how = kind
    if what == _CODE:  # named as the record's class names it (its instructor may override labels)
        return code_label(how, value, getattr(obj, "class_id", None))
    if what == _REFERENCE:
        return reference_link(how, value)
    if what == _MONEY:
        return money_of(value, obj)
    if isinstance(value, Decimal):
        return format_decimal(value, format="#,##0.00")
    return str(value)
