"""Generic record pages (list, detail, create, edit, clone, transfer, delete, restore, recycle bin).

`RecordViews` is the routes over one registered `RecordType` (records/registry.py) and nothing more:
every page reads through access.py, writes through the type's services, and leaves committing to the
request boundary (boundary.py). A new type needs a registry entry; its views follow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import bindparam, func, or_, select, true
from sqlalchemy.orm import aliased, lazyload
from werkzeug.datastructures import MultiDict

from .. import i18n
from ..access import (
    can_write,
    current_viewer,
    get_visible_or_404,
    get_writable_or_404,
    require_changer,
    why_visible,
)
from ..boundary import attempt
from ..codes.services import choices as code_choices
from ..codes.services import label as code_label
from ..errors import Conflict
from ..extensions import db
from ..money import money_of
from ..numbers import db_id, page_number
from ..oplog import LogEntry
from ..org.models import User
from . import display, list_filters, notes, services
from .about import about, about_params
from .display import is_money, like_pattern
from .extras import detail_extras, list_extras, register_extras
from .forms import ConfirmForm, TransferForm
from .lookups import _label_columns
from .registry import RecordType, Related
from .rendered import csrf_field, fresh_form_fields
from .versioning import missing_version_message, sent_version


def detail_url_prefix(endpoint: str) -> str:
    """`/contacts/` for the blueprint `contacts`: a detail page's URL less its id, built by `url_for` once per
    list (a list of 100 rows called it 100 times)."""
    url = url_for(f"{endpoint}.detail", record_id=0)
    if not url.endswith("/0"):  # every record type's detail rule is /<int:record_id>, last
        raise ValueError(f"unexpected detail URL {url}")
    return url[:-1]

# Column, Filter and Related come from records/registry.py (a type describes its list in its entry); these are
# imported from here by the admin lists (like_pattern) and the bench (views_of).
__all__ = ["RecordViews", "is_money", "like_pattern", "views_of"]

# What the views read from their record type, under the names the pages and subclasses use.
_FROM_TYPE = frozenset({
    "model", "singular", "plural", "columns", "filters", "search", "detail_fields", "codes", "related",
    "detail_template", "create_service", "update_service", "duplicates", "references", "labels",
})


# An id no record has, put into the detail URL once per page and replaced by each row's id.
_URL_PROBE_ID = 987_654_321_012


def _value_formatter(record_type: RecordType, attr: str) -> Callable[[Any], Any]:
    """`display.display_value` for one field, its branch chosen once: code labels and reference links are
    looked up once per distinct value (and class) on the page."""
    model = record_type.model
    if attr in record_type.codes:
        table = record_type.codes[attr]
        labels: dict[tuple[Any, Any], str] = {}

        def code(obj: Any) -> Any:
            value = getattr(obj, attr, None)
            if value is None or value == "":
                return ""
            key = (value, obj.class_id)
            if key not in labels:  # named as the record's class names it (its instructor may override labels)
                labels[key] = code_label(table, value, obj.class_id)
            return labels[key]
        return code
    if attr in record_type.references:
        target = record_type.references[attr]
        links: dict[Any, Any] = {}

        def reference(obj: Any) -> Any:
            value = getattr(obj, attr, None)
            if value is None or value == "":
                return ""
            if value not in links:
                links[value] = display.reference_link(target, value)
            return links[value]
        return reference
    if is_money(model, attr):
        def money(obj: Any) -> Any:
            value = getattr(obj, attr, None)
            return "" if value is None or value == "" else money_of(value, obj)
        return money

    def plain(obj: Any) -> Any:
        value = getattr(obj, attr, None)
        if value is None or value == "":
            return ""
        if isinstance(value, Decimal):
            return format_decimal(value, format="#,##0.00")
        return str(value)
    return plain


def _column_texts(record_type: RecordType, attr: str, rows: list[Any]) -> list[Any]:
    """`_value_formatter(record_type, attr)` applied to every row, escaped, in one pass: code labels and
    reference links looked up once per distinct value (and class) on the page."""
    values = [getattr(r, attr, None) for r in rows]
    texts: list[Any] = []
    add = texts.append
    if attr in record_type.codes:
        table = record_type.codes[attr]
        labels: dict[tuple[Any, Any], Markup] = {}
        for r, value in zip(rows, values, strict=True):
            if value is None or value == "":
                add("")
                continue
            key = (value, r.class_id)
            text = labels.get(key)
            if text is None:  # named as the record's class names it (its instructor may override labels)
                text = labels[key] = escape(code_label(table, value, r.class_id))
            add(text)
        return texts
    if attr in record_type.references:
        target = record_type.references[attr]
        links: dict[Any, Markup] = {}
        for value in values:
            if value is None or value == "":
                add("")
                continue
            link = links.get(value)
            if link is None:
                link = links[value] = escape(display.reference_link(target, value))
            add(link)
        return texts
    if is_money(record_type.model, attr):
        return ["" if value is None or value == "" else escape(money_of(value, r)) for r, value in zip(rows, values, strict=True)]
    for value in values:
        if value is None or value == "":
            add("")
        elif isinstance(value, Decimal):
            add(escape(format_decimal(value, format="#,##0.00")))
        else:
            add(escape(str(value)))
    return texts


def owner_display_names(rows: list[Any], known: dict[int, str] | None = None) -> dict[int, str]:
    """The display names of the rows' owners: from `known` (the owner filter's), the others in one query
    (users are not business records: the rows' owners are shown to whoever sees the rows)."""
    names = dict(known or {})
    missing = {r.owner_id for r in rows if r.owner_id not in names}
    if missing:
        names.update(db.session.execute(select(User.id, User.display_name).where(User.id.in_(sorted(missing)))).all())
    return names


@cache
def _timeline_select(without_class: bool) -> Any:
    """A record page's timeline, the newest 50 log entries about the record, and whether the record has notes
    and attachments shown, in one statement built once per process (records/about.py): a row per entry
    (None when the log names the record nowhere), each with the two flags (notes.present_select's row)."""
    flags = notes.present_select(without_class).subquery("shown")
    newest = (select(LogEntry)
              .where(about(without_class, LogEntry.object_type, LogEntry.object_id, LogEntry.class_id))
              .order_by(LogEntry.at.desc(), LogEntry.id.desc())
              .limit(50)
              .subquery("newest"))
    # The record's history goes with the record, for whoever sees it; notes and attachments are no records of
    # the rule (their record's page is the door), so nothing is skipped that the separate reads had.
    return (select(aliased(LogEntry, newest), flags.c.notes, flags.c.attachments)
            .select_from(flags).outerjoin(newest, true())
            .order_by(newest.c.at.desc(), newest.c.id.desc())
            .execution_options(skip_visibility=True))


# (model, sort) → the list's ORDER BY (RecordViews.order), kept for the process: a few per type.
_ORDERS: dict[tuple[Any, str], list[Any]] = {}
# (model, columns, id of a kept ORDER BY) → (that ORDER BY, the page's statement).
_PLAIN_PAGES: dict[tuple[Any, Any, int], tuple[list[Any], Any]] = {}


def _plain_page(model: Any, attrs: tuple[str, ...] | None, order: list[Any]) -> Any:
    """A list page without filters as page_of reads it (its size and offset are parameters), built once per type,
    columns and order: the session adds the rule to each execution and keeps the copy (access._with_rule)."""
    key = (model, attrs, id(order))
    kept = _PLAIN_PAGES.get(key)
    if kept is None or kept[0] is not order:
        stmt = _columns_select(model, attrs).order_by(*order).limit(bindparam("size")).offset(bindparam("skip"))
        kept = _PLAIN_PAGES[key] = (order, stmt)
    return kept[1]


@lru_cache(maxsize=64)
def _capped_count(model: Any) -> Any:
    """page_of's count of a list without filters, up to a cap (a parameter), built once per type."""
    return select(func.count()).select_from(select(model.id).limit(bindparam("cap")).subquery())


@lru_cache(maxsize=128)
def _related_select(model: Any, fk: str, attrs: tuple[str, ...]) -> Any:
    """A related list's statement (the columns `attrs` and the owner's name of the newest 100 rows whose `fk` is
    the parent), built once per list (the parent is a parameter)."""
    return (select(*(getattr(model, a) for a in attrs), User.display_name.label("owner_name"))
            .join(User, User.id == model.owner_id)
            .where(getattr(model, fk) == bindparam("parent_id"))
            .order_by(model.created_at.desc(), model.id.desc()).limit(100))


class _WhenRendered:
    """HTML made when a template writes it (`{{ x }}` calls `__html__`), not when the context is built."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Markup]) -> None:
        self.make = make

    def __html__(self) -> Markup:
        return self.make()


def _columns_select(model: Any, attrs: tuple[str, ...] | None = None) -> Any:
    """SELECT the model's columns named `attrs` (None: every column) under their attribute names (a list
    page's plain rows), built once per model and columns (the visibility rule is added to each execution by
    the session)."""
    stmt = _COLUMNS_SELECT.get((model, attrs))
    if stmt is None:
        columns = _label_columns(model) if attrs is None else [getattr(model, attr) for attr in attrs]
        stmt = _COLUMNS_SELECT[(model, attrs)] = select(*columns)
    return stmt


def _labels_by_ids(model: Any) -> Any:
    """The label columns of the visible records of `model` with the ids `ids` (an expanding parameter), found
    by primary key as display.by_ids finds them, built once per model."""
    stmt = _LABELS_BY_IDS.get(model)
    if stmt is None:
        stmt = _LABELS_BY_IDS[model] = (select(*_label_columns(model))
                                        .where(model.id.in_(bindparam("ids", expanding=True)))
                                        .execution_options(by_key=True))
    return stmt


# A sort value no query string holds: the list's sort URL is built once with it and split around it.
_SORT_PROBE = "sandboxsortprobe7f3a"
_PLAIN_SORT = re.compile(r"-?[A-Za-z0-9_]+")


def sort_url_builder() -> Callable[[str], str]:
    """`url_for(request.endpoint, **dict(request.args.to_dict(), sort=sort, page=1))` for any `sort`, built
    with one `url_for` per page (the list's header linked each column with its own): a sort value url_for writes
    as it is (a column name, `-` for descending) goes between the URL's two halves, any other is built."""
    endpoint = request.endpoint
    args = request.args.to_dict()

    def built(sort: str) -> str:
        return url_for(endpoint, **dict(args, sort=sort, page=1))
    url = built(_SORT_PROBE)
    if url.count(_SORT_PROBE) != 1:
        return built
    head, _probe, tail = url.partition(_SORT_PROBE)
    return lambda sort: f"{head}{sort}{tail}" if _PLAIN_SORT.fullmatch(sort) else built(sort)


def options_html(choices: Any, chosen: Any) -> Markup:
    """A list filter's options as records/list.html wrote them in a loop: `<option value="V" selected>L</option>`
    for the chosen value, `<option value="V" >L</option>` for the others, escaped as the template escapes."""
    return Markup("".join([f'<option value="{escape(value)}" {"selected" if chosen == value else ""}>'
                           f"{escape(label)}</option>" for value, label in choices]))


# Babel fields of a time pattern whose text follows from the hour and minute alone (no seconds, no zone).
_HOUR_MINUTE_FIELDS = frozenset({"h", "hh", "H", "HH", "K", "KK", "k", "kk", "m", "mm", "a"})
_FIELD = re.compile(r"%\((\w+)\)s")
# (language, format) -> (time texts by (hour, minute), date texts by day), kept by the process.
_TIME_TEXTS: dict[tuple[str, str], tuple[dict[Any, str], dict[Any, str]]] = {}
_MAX_DAYS = 20_000


def times_formatter(fmt: str) -> Callable[[Any], str]:
    """The `datetime` filter with format `fmt` (i18n.format_datetime's text: stored naive UTC shown in the
    request's zone and language) for a page's many times: a standard format's date part is written once per day
    and, when its time pattern reads only the hour and minute, its time part once per minute of the day, both
    kept by the process (a list page wrote fifty times through Babel's patterns, half of its rows' cost)."""
    shown = current_app.jinja_env.filters["datetime"]
    zone_of_request = i18n._request_zone()
    if zone_of_request is None:
        return lambda value: shown(value, fmt)
    locale_id, zone = zone_of_request
    locale, joined, time_pattern, date_pattern = i18n._datetime_plan(locale_id, fmt)
    if joined is None or date_pattern is None:
        return lambda value: shown(value, fmt)
    by_minute = set(_FIELD.findall(time_pattern.format)) <= _HOUR_MINUTE_FIELDS
    kept = _TIME_TEXTS.get((locale_id, fmt))
    if kept is None:
        kept = _TIME_TEXTS[(locale_id, fmt)] = ({}, {})
    times, days = kept
    if len(days) > _MAX_DAYS:
        days.clear()
    normalize = getattr(zone, "normalize", None)

    def text(value: Any) -> str:
        if value is None:
            return ""
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        value = value.astimezone(zone)
        if normalize is not None:  # pytz, as babel.dates._ensure_datetime_tzinfo
            value = normalize(value)
        day = value.date()
        if by_minute:
            key = (value.hour, value.minute)
            time_text = times.get(key)
            if time_text is None:
                time_text = times[key] = time_pattern.apply(value.timetz(), locale, reference_date=day)
        else:
            time_text = time_pattern.apply(value.timetz(), locale, reference_date=day)
        day_text = days.get(day)
        if day_text is None:
            day_text = days[day] = date_pattern.apply(day, locale)
        return joined.replace("{0}", time_text).replace("{1}", day_text)
    return text


_COLUMNS_SELECT: dict[Any, Any] = {}
_LABELS_BY_IDS: dict[Any, Any] = {}


def prime_labels(model: Any, ids: list[Any]) -> None:
    """display.prime_references, reading the label's columns instead of whole records: the labels of the
    visible records among `ids` are kept for the request (None for the others: not visible to the viewer)."""
    if getattr(model, "__label_column__", None):  # the label is one column: display reads (id, label) rows
        display.prime_references(ids, model)
        return
    cache = g.setdefault("reference_labels", {})
    wanted = {i for i in ids if i and (model.__tablename__, i) not in cache}
    if not wanted:
        return
    label = model.audit_label.fget
    found = {r.id: label(r) for r in db.session.execute(_labels_by_ids(model), {"ids": sorted(wanted)})}
    display.remember_labels(model, {i: found.get(i) for i in wanted})


# Blueprint name -> the views serving it (the bench renders lists with a type's own views).
_VIEWS: dict[str, RecordViews] = {}


def views_of(blueprint: str) -> RecordViews | None:
    """The views registered on a blueprint ("leads"), else None."""
    return _VIEWS.get(blueprint)


class RecordViews:
    """The pages of one record type, registered on its blueprint."""

    # A subclass overriding `display` may name the fields it shows its own way: the list then writes the
    # others with the generic formatters (chosen once per column); None: every field goes through `display`.
    own_display: frozenset[str] | None = None

    def __init__(self, bp: Blueprint, record_type: RecordType) -> None:
        self.bp = bp
        self.record_type = record_type
        # A subclass that shows some field its own way: the export then writes it the same way.
        self.custom_display = type(self).display is not RecordViews.display

    def __getattr__(self, name: str) -> Any:
        if name in _FROM_TYPE:
            return getattr(self.record_type, name)
        raise AttributeError(name)

    @property
    def form_cls(self) -> Any:
        """The type's form class."""
        return self.record_type.form

    @property
    def form_fields(self) -> list[str]:
        """The fields the type's form edits."""
        return self.record_type.fields

    def register(self) -> None:
        """Add the type's pages (and its export, import, notes and attachments) to the blueprint."""
        rule = self.bp.add_url_rule
        rule("/", "index", self.index)
        rule("/recycle-bin", "recycle_bin", self.recycle_bin)
        rule("/new", "new", self.new, methods=["GET", "POST"])
        rule("/<int:record_id>", "detail", self.detail)
        rule("/<int:record_id>/edit", "edit", self.edit, methods=["GET", "POST"])
        rule("/<int:record_id>/clone", "clone", self.clone, methods=["GET", "POST"])
        rule("/<int:record_id>/transfer", "transfer", self.transfer, methods=["GET", "POST"])
        rule("/<int:record_id>/delete", "delete", self.delete, methods=["POST"])
        rule("/<int:record_id>/restore", "restore", self.restore, methods=["POST"])
        register_extras(self)  # export, import, notes, attachments (records/extras.py)
        _VIEWS[self.bp.name] = self

    # ---- helpers -------------------------------------------------------------------------------
    def endpoint(self, name: str) -> str:
        """The full endpoint name of one of the type's pages."""
        return f"{self.bp.name}.{name}"

    def display(self, obj: Any, attr: str) -> str:
        """A field's value as shown to the user (choice labels translated)."""
        return display.display_value(self.record_type, obj, attr)

    @staticmethod
    def sort_url_builder() -> Callable[[str], str]:
        """The list header's sort links (records/views.py's `sort_url_builder`)."""
        return sort_url_builder()

    @staticmethod
    def options_html(choices: Any, chosen: Any) -> Markup:
        """A list filter's options (records/views.py's `options_html`)."""
        return options_html(choices, chosen)

    def display_code(self, table: str, code: str | None) -> str:
        """A code's label."""
        return code_label(table, code)

    def reference_link(self, model: Any, ident: int) -> Markup | str:
        """A link to a referenced record, if the viewer may see it (labels batch-loaded per request)."""
        return display.reference_link(model, ident)

    def prime_references(self, ids: list[int], model: Any) -> None:
        """Load the labels of many referenced records in one query (no N+1 on list pages)."""
        display.prime_references(ids, model)

    def prime_rows(self, rows: list[Any]) -> None:
        """Batch-load the labels of everything the rows reference."""
        display.prime_rows(self.record_type, rows)

    def list_attrs(self) -> tuple[str, ...] | None:
        """The columns a list page reads of its rows: the id, class, owner, creation time and the shown columns;
        None (every column) when a subclass shows or primes fields its own way (it may read any of them)."""
        if self.custom_display or type(self).prime_rows is not RecordViews.prime_rows:
            return None
        shown = (c.attr for c in self.columns)
        return tuple(dict.fromkeys(("id", "class_id", "owner_id", "created_at", *shown)))

    def prime_list_rows(self, rows: list[Any]) -> None:
        """Batch-load the labels of the records the list's columns reference (a subclass priming its rows its
        own way primes them so): one query per referenced type, of the label's columns only."""
        if type(self).prime_rows is not RecordViews.prime_rows:
            self.prime_rows(rows)
            return
        for attr in dict.fromkeys(c.attr for c in self.columns if c.attr in self.references):
            prime_labels(self.references[attr], [getattr(r, attr) for r in rows])

    def field_label(self, attr: str) -> str:
        """A field's label (from the registry)."""
        return self.record_type.field_label(attr)

    @property
    def search_hint(self) -> str:
        """What the search box matches: the labels of the type's search fields, in the reader's language."""
        from babel.lists import format_list
        from flask_babel import get_locale

        labels = [self.field_label(attr) for attr in self.record_type.search]
        return format_list(labels, style="or", locale=get_locale()) if labels else ""

    def conditions(self, args: Any) -> list[Any]:
        """WHERE conditions of the list from the query string (unknown values are ignored)."""
        model = self.model
        where: list[Any] = []
        for f in self.filters:
            value = args.get(f.attr, "")
            if value and value in dict(code_choices(f.code)):
                where.append(getattr(model, f.attr) == value)
        q = args.get("q", "").replace("\x00", "").strip()[:100]  # PostgreSQL text cannot hold NUL
        if q:
            pattern = like_pattern(q)
            where.append(or_(*(getattr(model, a).ilike(pattern, escape="\\") for a in self.search)))
        where += list_filters.conditions(model, args)  # owner, created_from / created_to
        return where

    def order(self, args: Any) -> tuple[list[Any], str]:
        """ORDER BY of the list from `?sort=` (a sortable column, `-` for descending), and the sort used."""
        sortable = {c.attr for c in self.columns if c.sortable} | {"created_at"}
        sort = args.get("sort", "-created_at")
        attr = sort.lstrip("-")
        if attr not in sortable:
            sort, attr = "-created_at", "created_at"
        sort = f"-{attr}" if sort.startswith("-") else attr  # "---name" is "-name": the kept orders stay few
        order = _ORDERS.get((self.model, sort))
        if order is None:  # kept: the same list each time lets page_of keep the page's statement
            column = getattr(self.model, attr)
            if sort.startswith("-"):
                order = [column.desc(), self.model.id.desc()]
            else:
                order = [column.asc(), self.model.id.asc()]
            order = _ORDERS.setdefault((self.model, sort), order)
        return order, sort

    def page_of(self, where: list[Any], order: list[Any], page: int, deleted: bool = False,
                plain: bool = False) -> tuple[list, int]:
        """One page of rows and the total, counted exactly up to the cap (then shown as "N+").

        `plain`: the rows are plain rows of the model's columns, not ORM objects (the list page reads only
        columns: a column SELECT of the model goes through the visibility rule all the same, and fifty rows
        no longer build fifty ORM objects)."""
        size = current_app.config["LIST_PAGE_SIZE"]
        cap = current_app.config["LIST_COUNT_CAP"]
        model = self.model
        opts = {"include_deleted": True} if deleted else {}
        if deleted:
            where = [*where, model.deleted_at.is_not(None)]
        if plain and not where:  # a list as it opens, or paged (not the bin: it has a condition): kept
            rows = list(db.session.execute(_plain_page(model, self.list_attrs(), order),
                                           {"size": size, "skip": (page - 1) * size}))
        elif plain:
            rows = list(db.session.execute(
                _columns_select(model, self.list_attrs()).where(*where).order_by(*order).limit(size)
                .offset((page - 1) * size)
                .execution_options(**opts)))
        else:
            # The owner is not joined in: the page shows only its name, read from the owner filter's (list_rows).
            rows = list(
                db.session.scalars(
                    select(model).where(*where).order_by(*order).limit(size).offset((page - 1) * size)
                    .options(lazyload(model.owner)).execution_options(**opts)
                )
            )
        if 0 < len(rows) < size or (page == 1 and not rows):
            # The last page: the rows before it and on it are all there are (no count query); past the cap
            # the page still says "N+", as the capped count would.
            return rows, min((page - 1) * size + len(rows), cap + 1)
        if not where:
            return rows, db.session.scalar(_capped_count(model), {"cap": cap + 1}) or 0
        ids = select(model.id).where(*where).limit(cap + 1).execution_options(**opts).subquery()
        total = db.session.scalar(select(func.count()).select_from(ids).execution_options(**opts)) or 0
        return rows, total

    # ---- the list's table, built in Python once per page ------------------------------------------
    def cell_formatter(self, column: Any) -> Callable[[Any], Markup]:
        """How one list column's cells are written, chosen once per page: the HTML inside the cell's <td>,
        escaped (what `{{ v.display(r, c.attr) }}` wrapped in the detail link wrote, byte for byte)."""
        attr = column.attr
        shown: Callable[[Any], Any]
        if self.custom_display and (self.own_display is None or attr in self.own_display):
            # A subclass shows this field its own way (and may read anything of the row): ask it per cell.
            def shown(obj: Any) -> Any:
                return self.display(obj, attr)
        else:
            shown = _value_formatter(self.record_type, attr)
        if not column.link:
            return lambda obj: escape(shown(obj))
        prefix, suffix = self.detail_url_parts()
        return lambda obj: Markup(f'<a href="{prefix}{obj.id}{suffix}">{escape(shown(obj))}</a>')

    def detail_url_parts(self) -> tuple[Markup, Markup]:
        """The detail page's URL around the record id, escaped: one `url_for` per page instead of one per row."""
        url = url_for(self.endpoint("detail"), record_id=_URL_PROBE_ID)
        prefix, _probe, suffix = url.partition(str(_URL_PROBE_ID))
        return escape(prefix), escape(suffix)

    def list_rows(self, rows: list[Any], owner_names: dict[int, str] | None = None) -> list[Markup]:
        """The list table's rows as HTML (cells, owner, created time), escaped, one string per row.

        The cells are written a column at a time (`column_cells`: the column's way chosen once, no call per
        cell), the owners' names come from one dict (the owner filter's names, the rest in one query) and the
        times from a page formatter, so a page costs a pass per column, not a template call per cell."""
        columns = [self.column_cells(c, rows) for c in self.columns]
        names = owner_display_names(rows, owner_names)
        when = times_formatter("short")  # the chrome's `datetime` filter's text, written faster for many rows
        return [Markup(f"\n  <tr>\n    {''.join(tds)}\n    <td>{escape(names.get(r.owner_id, ''))}</td>\n"
                       f'    <td class="text-muted small">{escape(when(r.created_at))}</td>\n  </tr>\n  ')
                for r, *tds in zip(rows, *columns, strict=True)]

    def column_cells(self, column: Any, rows: list[Any]) -> list[str]:
        """One list column's cells, `<td>` and the whitespace around it included, escaped: what
        `cell_formatter` writes for each row, written in one pass over the rows."""
        attr = column.attr
        if self.custom_display and (self.own_display is None or attr in self.own_display):
            texts: list[Any] = [escape(self.display(r, attr)) for r in rows]  # the subclass's own way, per cell
        else:
            texts = _column_texts(self.record_type, attr, rows)
        if column.link:
            prefix, suffix = self.detail_url_parts()
            return [f'\n    <td><a href="{prefix}{r.id}{suffix}">{text}</a></td>\n    '
                    for r, text in zip(rows, texts, strict=True)]
        return [f"\n    <td>{text}</td>\n    " for text in texts]

    def bin_rows(self, rows: list[Any]) -> list[tuple[Any, Markup]]:
        """The recycle bin's rows: (row, its first cells, owner and deletion time as HTML), escaped."""
        cells = [self.cell_formatter(c) for c in self.columns[:3]]
        names = owner_display_names(rows)
        when = current_app.jinja_env.filters["datetime"]
        return [(r, Markup("".join(f"<td>{cell(r)}</td>" for cell in cells)
                           + f"\n    <td>{escape(names.get(r.owner_id, ''))}</td>"
                           + f'<td class="small text-muted">{escape(when(r.deleted_at, "short"))}</td>'))
                for r in rows]

    def require_changer(self) -> None:
        """403 unless the viewer's role may change records (checked before any lookup)."""
        require_changer()

    def writable(self, record_id: int, include_deleted: bool = False) -> Any:
        """The record behind a write page: the one permission door (403 / 404 / 403)."""
        return get_writable_or_404(self.model, record_id, include_deleted=include_deleted)

    def render(self, template: str, **context: Any) -> str:
        """Render a page with the views as `v` (a record page with its fields written by `field_rows`)."""
        obj = context.get("obj")
        if template == self.detail_template and obj is not None and self.writes_fields():
            # By the views that render the page (a subclass may render with a copy showing other fields), and when
            # the template reaches them: the page's own context (the opportunity's pickers) may have read the
            # labels of the records they link to by then.
            context.setdefault("field_rows", _WhenRendered(lambda: self.field_rows(obj)))
        return render_template(template, v=self, **context)

    # ---- pages ---------------------------------------------------------------------------------
    def index(self) -> str:
        """The list: filters, search, sort and paging from the query string."""
        page = page_number(request.args)
        order, sort = self.order(request.args)
        rows, total = self.page_of(self.conditions(request.args), order, page, plain=True)
        self.prime_list_rows(rows)
        return self.render("records/list.html", rows=rows, total=total, page=page, sort=sort,
                           **list_extras(self.model))

    def recycle_bin(self) -> str:
        """The type's deleted records the viewer may see, newest deletion first."""
        page = page_number(request.args)
        order = [self.model.deleted_at.desc(), self.model.id.desc()]
        rows, total = self.page_of(self.conditions(request.args), order, page, deleted=True)
        return self.render("records/recycle_bin.html", rows=rows, total=total, page=page, sort="")

    def detail(self, record_id: int) -> str:
        """One record with why the viewer sees it, its timeline, related lists, notes and attachments."""
        return self.detail_page(get_visible_or_404(self.model, record_id, include_deleted=True))

    def detail_page(self, obj: Any) -> str:
        """The record page of a record already read through the permission door (a subclass that looked it
        up for its own checks passes it on rather than reading it twice)."""
        rows = db.session.execute(_timeline_select(obj.class_id is None), about_params(obj)).all()
        timeline = [row[0] for row in rows if row[0] is not None]
        viewer = current_viewer()
        csrf = csrf_field(ConfirmForm())  # every form of the page carries it: rendered once
        return self.render(
            self.detail_template,
            obj=obj,
            reasons=why_visible(obj, viewer),
            writable=can_write(obj, viewer) and current_user.can_change and not getattr(obj, "is_read_only", False),
            entries=timeline,
            related=[(rel, self.related_rows(rel, obj)) for rel in self.related],
            extras=detail_extras(obj, csrf, (bool(rows[0].notes), bool(rows[0].attachments))),
            csrf=csrf,
        )

    def writes_fields(self) -> bool:
        """Whether the record page's fields may be written by `field_rows`: its template does not override the
        `field` block of records/detail.html (knowledge articles show their body their own way)."""
        own = self.__dict__.get("_writes_fields")
        if own is None:
            template = current_app.jinja_env.get_template(self.detail_template)
            own = self._writes_fields = self.detail_template == "records/detail.html" or "field" not in template.blocks
        return own

    def field_rows(self, obj: Any) -> Markup:
        """The record page's fields as the `<dt>`/`<dd>` pairs records/detail.html's loop writes, byte for byte:
        one pass in Python instead of three template calls per field. Labels and values are escaped as
        `{{ }}` escapes them (a Markup value, such as a reference link, is kept as it is)."""
        label, display = self.field_label, self.display
        return Markup("".join([
            f'\n        <dt class="col-sm-3 text-muted fw-normal">{escape(label(f))}</dt>'
            f'<dd class="col-sm-9">{escape(display(obj, f) or "—")}</dd>\n        ' for f in self.detail_fields]))

    def related_rows(self, rel: Related, obj: Any) -> list[Markup]:
        """The rows of one related list (up to 100, newest first), each a rendered `<tr>`.

        Only the shown columns and the owner's name are read (a column SELECT of the model: the visibility
        rule applies all the same), and each row is rendered here once: a list of 100 rows cost 400 template
        calls and 100 `url_for` before. Every value is escaped by `Markup.format`.
        """
        model = rel.model
        attrs = ("id", "class_id", *(c.attr for c in rel.columns if c.attr not in ("id", "class_id")))
        rows = db.session.execute(_related_select(model, rel.fk, attrs), {"parent_id": obj.id}).all()
        if not rows:
            return []
        prefix = detail_url_prefix(rel.endpoint)
        link = Markup('<td><a href="{}{}">{}</a></td>')
        cell = Markup("<td>{}</td>")
        rendered = []
        for r in rows:
            cells = [link.format(prefix, r.id, self.related_display(rel, r, c.attr)) if c.link
                     else cell.format(self.related_display(rel, r, c.attr)) for c in rel.columns]
            rendered.append(Markup("<tr>{}{}</tr>").format(Markup("").join(cells), cell.format(r.owner_name)))
        return rendered

    def related_display(self, rel: Related, obj: Any, attr: str) -> str:
        """A value in a related list (its type's code labels and money)."""
        value = getattr(obj, attr, None)
        if value is None or value == "":
            return ""
        if rel.codes and attr in rel.codes:
            return code_label(rel.codes[attr], value, getattr(obj, "class_id", None))
        if is_money(rel.model, attr):
            return money_of(value, obj)
        return str(value)

    def _form_data(self, form: Any) -> dict[str, Any]:
        return self.record_type.form_data(form)

    def prefill(self) -> dict[str, Any]:
        """Form values from the query string, each read by its own field (a date, an amount, an id in
        range); a value the field cannot read is left out, as a browser's form would refuse it."""
        given = [(k, request.args[k]) for k in self.form_fields if k in request.args]
        if not given:
            return {}
        probe = self.form_cls(formdata=MultiDict(given), meta={"csrf": False})
        values = {}
        for name, raw in given:
            field = probe[name]
            if field.process_errors or (name.endswith("_id") and request.args.get(name, type=db_id) is None):
                continue
            values[name] = field.data if field.data is not None else raw
        return values

    def new(self, source: Any = None) -> Any:
        """Create a record (prefilled from a clone's source or the query string); warn about duplicates."""
        self.require_changer()
        fresh = False
        if request.method == "GET":
            # Prefill from a source record (clone) or from the query string (e.g. ?account_id= from a related list).
            given = self.prefill()
            form = self.form_cls(obj=source, **given)
            fresh = source is None and not given
        else:
            form = self.form_cls()
        title = _("Clone %(type)s", type=self.singular) if source else _("New %(type)s", type=self.singular)
        if not form.validate_on_submit():
            # A fresh form's fields are written from their kept HTML (the same bytes render_field writes).
            return self.render("records/form.html", form=form, title=title, obj=None,
                               fresh_fields=fresh_form_fields(form) if fresh else None), (400 if form.errors else 200)
        title = _("New %(type)s", type=self.singular)
        data = self._form_data(form)
        similar = self.duplicates(data) if self.duplicates else []
        if similar and request.form.get("confirm_duplicate") != "1":
            return self.render("records/form.html", form=form, title=title, obj=None, similar=similar), 409
        with attempt(form, "name") as outcome:
            obj = self.create_service(self.model, data)
        if outcome.failed:
            return self.render("records/form.html", form=form, title=title, obj=None), 400
        flash(_("%(type)s “%(label)s” created.", type=self.singular, label=obj.audit_label), "success")
        return redirect(url_for(self.endpoint("detail"), record_id=obj.id))

    def clone(self, record_id: int) -> Any:
        """The create form prefilled from a visible record."""
        self.require_changer()  # role first, as every write page: an observer gets 403 for any id
        source = get_visible_or_404(self.model, record_id)
        return self.new(source=source)

    def edit(self, record_id: int) -> Any:
        """Edit a record; a save over someone else's newer save is a conflict (409)."""
        obj = self.writable(record_id)
        form = self.form_cls(obj=obj) if request.method == "GET" else self.form_cls()
        if request.method == "GET":
            form.version.data = obj.version
        title = _("Edit %(type)s", type=self.singular)
        if not form.validate_on_submit():
            return self.render("records/form.html", form=form, title=title, obj=obj), (400 if form.errors else 200)
        # No version sent: refused before any change (it would overwrite a save made since, unseen).
        # One that is no saved version (forged, garbled) is a conflict.
        expected = sent_version(form)
        if expected is None:
            flash(missing_version_message(), "danger")
            return self.render("records/form.html", form=form, title=title, obj=obj), 400
        # A refusal without a field of its own lands on the hidden version field, not in a flash: it is
        # shown below as a conflict, next to its field, or flashed on the record page.
        with attempt(form, "version") as outcome:
            self.update_service(obj, self._form_data(form), expected_version=expected)
        if not outcome.failed:
            flash(_("Changes saved."), "success")
            return redirect(url_for(self.endpoint("detail"), record_id=record_id))
        error = outcome.error
        form.version.errors = []
        if isinstance(error, Conflict):
            return self.render("records/form.html", form=form, title=title, obj=obj, conflict=error.message), 409
        if error.field and hasattr(form, error.field):
            return self.render("records/form.html", form=form, title=title, obj=obj), 400
        flash(error.message, "danger")
        return redirect(url_for(self.endpoint("detail"), record_id=record_id))

    def transfer(self, record_id: int) -> Any:
        """Give the record to another active user of its class."""
        obj = self.writable(record_id)
        form = TransferForm()
        form.owner_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in services.assignable_users(obj)]
        if request.method == "POST":
            # Validate the id ourselves: a forged id must get a clear message, not a 400 or a 500.
            form.owner_id.pre_validate = lambda _form: None  # type: ignore[method-assign]
        if form.validate_on_submit():
            with attempt(form, "owner_id") as outcome:
                services.transfer_record(obj, form.owner_id.data)
            if not outcome.failed:
                flash(_("Record transferred."), "success")
                return redirect(url_for(self.endpoint("index")))
        return self.render("records/transfer.html", form=form, obj=obj), (422 if form.errors else 200)

    def delete(self, record_id: int) -> Any:
        """Move the record to the recycle bin."""
        obj = self.writable(record_id)
        with attempt(category="warning") as outcome:
            services.delete_record(obj)
        if not outcome.failed:
            flash(_("Moved to the recycle bin. You can restore it from there."), "success")
        return redirect(url_for(self.endpoint("index")))

    def restore(self, record_id: int) -> Any:
        """Take the record out of the recycle bin."""
        obj = self.writable(record_id, include_deleted=True)
        with attempt(category="warning") as outcome:
            services.restore_record(obj)
        if not outcome.failed:
            flash(_("Record restored."), "success")
        return redirect(url_for(self.endpoint("detail"), record_id=record_id))
