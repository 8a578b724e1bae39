"""Generic record pages (list, detail, create, edit, clone, transfer, delete, restore, recycle bin).

A record type configures one `RecordViews` with its model, form and columns; every page goes
through access.py (reading) and records/services.py (writing), so a new type gets both for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict

from seed.fields import RECORD_FIELDS

from ..access import about_record, can_write, current_viewer, get_visible_or_404, why_visible
from ..codes.services import choices as code_choices
from ..codes.services import label as code_label
from ..extensions import db
from ..money import money_of
from ..numbers import db_id, page_number
from ..oplog import LogEntry
from . import list_filters, services
from .extras import detail_extras, list_extras, register_extras
from .forms import TransferForm


@dataclass
class Column:
    attr: str
    label: Any
    link: bool = False
    code: str | None = None  # the code table whose labels are shown
    sortable: bool = True


@dataclass
class Filter:
    attr: str
    label: Any
    code: str  # the code table offering the values

    @property
    def choices(self) -> list[tuple[str, str]]:
        return code_choices(self.code)


def is_money(model: Any, attr: str) -> bool:
    """Whether a field of a record type holds an amount of money (seed/fields.py kinds)."""
    return RECORD_FIELDS.get(getattr(model, "__audit_type__", ""), {}).get(attr) == "money"


def like_pattern(text: str) -> str:
    """A LIKE pattern matching `text` literally anywhere (escape char: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@dataclass
class Related:
    """A related list on a detail page: records of `model` whose `fk` points at the shown record."""

    title: Any
    model: Any
    fk: str
    columns: list[Column]
    endpoint: str  # blueprint name of the related type, for links
    codes: dict[str, str] | None = None


class RecordViews:
    """The pages of one record type, registered on its blueprint."""

    def __init__(
        self,
        bp: Blueprint,
        model: Any,
        form_cls: Any,
        *,
        singular: Any,
        plural: Any,
        columns: list[Column],
        filters: list[Filter],
        codes: dict[str, str],
        search: list[str],
        detail_fields: list[str],
        form_fields: list[str],
        related: list[Related] | None = None,
        detail_template: str = "records/detail.html",
        create: Any = None,
        update: Any = None,
        duplicates: Any = None,
        references: dict[str, Any] | None = None,
        labels: dict[str, Any] | None = None,
    ) -> None:
        self.bp, self.model, self.form_cls = bp, model, form_cls
        self.singular, self.plural = singular, plural
        self.columns, self.filters, self.search = columns, filters, search
        self.detail_fields, self.form_fields = detail_fields, form_fields
        self.codes = codes
        self.related = related or []
        self.detail_template = detail_template
        self.create_service = create or services.create_record
        self.update_service = update or services.update_record
        self.duplicates = duplicates
        self.references = references or {}
        self.labels = labels or {}  # labels of shown fields that are not on the form

    def register(self) -> None:
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

    # ---- helpers -------------------------------------------------------------------------------
    def endpoint(self, name: str) -> str:
        return f"{self.bp.name}.{name}"

    def display(self, obj: Any, attr: str) -> str:
        """A field's value as shown to the user (choice labels translated)."""
        value = getattr(obj, attr, None)
        if value is None or value == "":
            return ""
        if attr in self.codes:  # named as the record's class names it (its instructor may override labels)
            return code_label(self.codes[attr], value, getattr(obj, "class_id", None))
        if attr in self.references:
            return self.reference_link(self.references[attr], value)
        if is_money(self.model, attr):
            return money_of(value, obj)
        if isinstance(value, Decimal):
            return format_decimal(value, format="#,##0.00")
        return str(value)

    def display_code(self, table: str, code: str | None) -> str:
        return code_label(table, code)

    def reference_link(self, model: Any, ident: int) -> Markup | str:
        """A link to a referenced record, if the viewer may see it (labels batch-loaded per request)."""
        cache = g.setdefault("reference_labels", {})
        key = (model.__tablename__, ident)
        if key not in cache:
            self.prime_references([ident], model)
        label = cache.get(key)
        if label is None:
            return _("(not visible to you)")
        return Markup('<a href="{}">{}</a>').format(
            url_for(f"{model.__tablename__}.detail", record_id=ident), label)

    def prime_references(self, ids: list[int], model: Any) -> None:
        """Load the labels of many referenced records in one query (no N+1 on list pages)."""
        cache = g.setdefault("reference_labels", {})
        wanted = {i for i in ids if i and (model.__tablename__, i) not in cache}
        if not wanted:
            return
        for ref in db.session.scalars(select(model).where(model.id.in_(sorted(wanted)))):
            cache[(model.__tablename__, ref.id)] = ref.audit_label
        for i in wanted:
            cache.setdefault((model.__tablename__, i), None)

    def prime_rows(self, rows: list[Any]) -> None:
        for attr, model in self.references.items():
            self.prime_references([getattr(r, attr) for r in rows], model)

    def field_label(self, attr: str) -> str:
        if attr in self.labels:
            return str(self.labels[attr])
        form_field = getattr(self.form_cls, attr, None)
        if form_field is not None and "label" in getattr(form_field, "kwargs", {}):
            return str(form_field.kwargs["label"])
        if form_field is not None and getattr(form_field, "args", None):
            return str(form_field.args[0])
        return attr

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
        sortable = {c.attr for c in self.columns if c.sortable} | {"created_at"}
        sort = args.get("sort", "-created_at")
        attr = sort.lstrip("-")
        if attr not in sortable:
            sort, attr = "-created_at", "created_at"
        column = getattr(self.model, attr)
        if sort.startswith("-"):
            return [column.desc(), self.model.id.desc()], sort
        return [column.asc(), self.model.id.asc()], sort

    def page_of(self, where: list[Any], order: list[Any], page: int, deleted: bool = False) -> tuple[list, int]:
        """One page of rows and the total, counted exactly up to the cap (then shown as "N+")."""
        from flask import current_app

        size = current_app.config["LIST_PAGE_SIZE"]
        cap = current_app.config["LIST_COUNT_CAP"]
        model = self.model
        opts = {"include_deleted": True} if deleted else {}
        if deleted:
            where = [*where, model.deleted_at.is_not(None)]
        rows = list(
            db.session.scalars(
                select(model).where(*where).order_by(*order).limit(size).offset((page - 1) * size)
                .execution_options(**opts)
            )
        )
        if page == 1 and len(rows) < size:
            return rows, len(rows)
        ids = select(model.id).where(*where).limit(cap + 1).execution_options(**opts).subquery()
        total = db.session.scalar(select(func.count()).select_from(ids).execution_options(**opts)) or 0
        return rows, total

    def require_changer(self) -> None:
        if not current_user.can_change:
            abort(403)

    def render(self, template: str, **context: Any) -> str:
        return render_template(template, v=self, **context)

    # ---- pages ---------------------------------------------------------------------------------
    def index(self) -> str:
        page = page_number(request.args)
        order, sort = self.order(request.args)
        rows, total = self.page_of(self.conditions(request.args), order, page)
        self.prime_rows(rows)
        return self.render("records/list.html", rows=rows, total=total, page=page, sort=sort,
                           **list_extras(self.model))

    def recycle_bin(self) -> str:
        page = page_number(request.args)
        order = [self.model.deleted_at.desc(), self.model.id.desc()]
        rows, total = self.page_of(self.conditions(request.args), order, page, deleted=True)
        return self.render("records/recycle_bin.html", rows=rows, total=total, page=page, sort="")

    def detail(self, record_id: int) -> str:
        obj = get_visible_or_404(self.model, record_id, include_deleted=True)
        timeline = db.session.scalars(
            select(LogEntry)
            .where(about_record(obj, LogEntry.object_type, LogEntry.object_id, LogEntry.class_id))
            .order_by(LogEntry.at.desc(), LogEntry.id.desc())
            .limit(50)
            .execution_options(skip_visibility=True)  # the record's history goes with the record, for whoever sees it
        ).all()
        viewer = current_viewer()
        related = [
            (rel, list(db.session.scalars(
                select(rel.model).where(getattr(rel.model, rel.fk) == obj.id)
                .order_by(rel.model.created_at.desc(), rel.model.id.desc()).limit(100))))
            for rel in self.related
        ]
        return self.render(
            self.detail_template,
            obj=obj,
            reasons=why_visible(obj, viewer),
            writable=can_write(obj, viewer) and current_user.can_change and not getattr(obj, "is_read_only", False),
            entries=timeline,
            related=related,
            extras=detail_extras(obj),
        )

    def related_display(self, rel: Related, obj: Any, attr: str) -> str:
        value = getattr(obj, attr, None)
        if value is None or value == "":
            return ""
        if rel.codes and attr in rel.codes:
            return code_label(rel.codes[attr], value, getattr(obj, "class_id", None))
        if is_money(rel.model, attr):
            return money_of(value, obj)
        return str(value)

    def _form_data(self, form: Any) -> dict[str, Any]:
        data = {}
        for name in self.form_fields:
            value = getattr(form, name).data
            data[name] = value.strip() if isinstance(value, str) else value
            if data[name] == "":
                data[name] = None
        return data

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
        self.require_changer()
        if request.method == "GET":
            # Prefill from a source record (clone) or from the query string (e.g. ?account_id= from a related list).
            form = self.form_cls(obj=source, **self.prefill())
        else:
            form = self.form_cls()
        if form.validate_on_submit():
            data = self._form_data(form)
            similar = self.duplicates(data) if self.duplicates else []
            if similar and request.form.get("confirm_duplicate") != "1":
                title = _("New %(type)s", type=self.singular)
                return self.render("records/form.html", form=form, title=title, obj=None, similar=similar), 409
            try:
                obj = self.create_service(self.model, data)
            except services.RecordError as exc:
                db.session.rollback()
                getattr(form, exc.field or "name").errors.append(exc.message)
                title = _("New %(type)s", type=self.singular)
                return self.render("records/form.html", form=form, title=title, obj=None), 400
            db.session.commit()
            flash(_("%(type)s “%(label)s” created.", type=self.singular, label=obj.audit_label), "success")
            return redirect(url_for(self.endpoint("detail"), record_id=obj.id))
        title = _("Clone %(type)s", type=self.singular) if source else _("New %(type)s", type=self.singular)
        return self.render("records/form.html", form=form, title=title, obj=None), (400 if form.errors else 200)

    def clone(self, record_id: int) -> Any:
        self.require_changer()  # role first, as every write page: an observer gets 403 for any id
        source = get_visible_or_404(self.model, record_id)
        return self.new(source=source)

    def edit(self, record_id: int) -> Any:
        self.require_changer()
        obj = get_visible_or_404(self.model, record_id)
        if not can_write(obj, current_viewer()):
            abort(403)
        form = self.form_cls(obj=obj) if request.method == "GET" else self.form_cls()
        if request.method == "GET":
            form.version.data = obj.version
        if form.validate_on_submit():
            try:
                raw = (form.version.data or "").strip()
                # No version sent: no check. One that is no saved version (forged, garbled) is a conflict.
                expected = (int(raw) or None) if raw.isdigit() and len(raw) < 10 else (-1 if raw else None)
                self.update_service(obj, self._form_data(form), expected_version=expected)
                db.session.commit()
            except services.VersionConflict as exc:
                db.session.rollback()
                return self.render(
                    "records/form.html", form=form, title=_("Edit %(type)s", type=self.singular),
                    obj=obj, conflict=exc.message,
                ), 409
            except StaleDataError:
                db.session.rollback()
                return self.render(
                    "records/form.html", form=form, title=_("Edit %(type)s", type=self.singular), obj=obj,
                    conflict=_("Someone else saved this record after you opened it. "
                               "Reload it to see their changes."),
                ), 409
            except services.RecordError as exc:
                db.session.rollback()
                if exc.field and hasattr(form, exc.field):
                    getattr(form, exc.field).errors.append(exc.message)
                    return self.render(
                        "records/form.html", form=form, title=_("Edit %(type)s", type=self.singular), obj=obj,
                    ), 400
                flash(exc.message, "danger")
                return redirect(url_for(self.endpoint("detail"), record_id=record_id))
            flash(_("Changes saved."), "success")
            return redirect(url_for(self.endpoint("detail"), record_id=record_id))
        return self.render("records/form.html", form=form, title=_("Edit %(type)s", type=self.singular), obj=obj), (
            400 if form.errors else 200
        )

    def transfer(self, record_id: int) -> Any:
        self.require_changer()
        obj = get_visible_or_404(self.model, record_id)
        if not can_write(obj, current_viewer()):
            abort(403)
        form = TransferForm()
        form.owner_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in services.assignable_users(obj)]
        if request.method == "POST":
            # Validate the id ourselves: a forged id must get a clear message, not a 400 or a 500.
            form.owner_id.pre_validate = lambda _form: None  # type: ignore[method-assign]
        if form.validate_on_submit():
            try:
                services.transfer_record(obj, form.owner_id.data)
                db.session.commit()
                flash(_("Record transferred."), "success")
                return redirect(url_for(self.endpoint("index")))
            except services.RecordError as exc:
                db.session.rollback()
                form.owner_id.errors = [exc.message]
        return self.render("records/transfer.html", form=form, obj=obj), (422 if form.errors else 200)

    def delete(self, record_id: int) -> Any:
        self.require_changer()
        obj = get_visible_or_404(self.model, record_id)
        if not can_write(obj, current_viewer()):
            abort(403)
        try:
            services.delete_record(obj)
            db.session.commit()
            flash(_("Moved to the recycle bin. You can restore it from there."), "success")
        except services.RecordError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        return redirect(url_for(self.endpoint("index")))

    def restore(self, record_id: int) -> Any:
        self.require_changer()
        obj = get_visible_or_404(self.model, record_id, include_deleted=True)
        if not can_write(obj, current_viewer()):
            abort(403)
        try:
            services.restore_record(obj)
            db.session.commit()
            flash(_("Record restored."), "success")
        except services.RecordError as exc:
            db.session.rollback()
            flash(exc.message, "warning")
        return redirect(url_for(self.endpoint("detail"), record_id=record_id))
