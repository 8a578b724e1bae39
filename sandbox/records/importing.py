"""Import for any record type: columns from its form, every row checked by the form's own rules.

`parse` reads the file (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030, or an .xlsx workbook; import_files.py)
and maps the header (English field names, the field labels in Chinese or English, remembered choices and
other CRMs' column names; import_columns.py); `validate` runs each row through the record's form, so
required fields, email and phone formats, picklists and number ranges are exactly the web form's;
`import_service.import_rows` writes the good rows in batches, as one logged operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField, IntegerField, SelectField

from ..extensions import db
from . import import_columns
from .import_aliases import IGNORE, VALUE_ALIASES
from .import_files import ImportFileError, Table, read_table

__all__ = ["ColumnsNeeded", "ImportCheck", "ImportFileError", "Parsed", "RowError", "column_help", "parse", "validate"]

IGNORED = IGNORE  # columns of our own export that are not form fields (ID, owner, created…), and ignored ones

@dataclass
class RowError:
    """One problem of one row: its line in the file, the field's label and the message."""

    line: int
    field: str
    message: str


@dataclass
class Parsed:
    """The file's rows as {field: text}, with the physical line each starts on."""

    fields: list[str]
    rows: list[tuple[int, dict[str, str]]]
    ignored: list[str] = field(default_factory=list)
    columns: list[import_columns.Column] = field(default_factory=list)


@dataclass
class ImportCheck:
    """Good rows ready to insert, and every problem found (line, field label, message)."""

    total: int = 0
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def bad_lines(self) -> int:
        """How many rows have a problem."""
        return len({e.line for e in self.errors})


def new_form(rt: Any) -> Any:
    """A form of the type, not bound to the request (rows are fed to it one by one)."""
    return rt.new_form()


def labels(rt: Any, name: str) -> list[str]:
    """The field's label in every UI language (and in the current one)."""
    found = [rt.field_label(name)]
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            found.append(rt.field_label(name))
    return list(dict.fromkeys(found))


def header_map(rt: Any) -> dict[str, str]:
    """Normalised header text -> field name (or IGNORED for export-only columns)."""
    result: dict[str, str] = {}
    extra = [a for a in rt.detail_fields if a not in rt.import_fields]
    for name in extra:
        for text in [name, *labels(rt, name)]:
            result[import_columns.key(text)] = IGNORED
    for text in ("id", "owner", "created", "created at", "所有人", "负责人", "创建时间", "创建于"):
        result[import_columns.key(text)] = IGNORED
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            result[import_columns.key(_("Owner"))] = IGNORED
            result[import_columns.key(_("Created"))] = IGNORED
    for name in rt.import_fields:
        for text in [name, *labels(rt, name)]:
            result[import_columns.key(text)] = name
    return result


def column_help(rt: Any) -> list[dict[str, Any]]:
    """The accepted columns for the import page: name, label, required, allowed values (first ones)."""
    form = new_form(rt)
    rows = []
    for name in rt.import_fields:
        bound = form[name]
        values = ""
        if isinstance(bound, SelectField) and name not in rt.references:
            shown = [str(label) for value, label in bound.choices if value not in ("", 0)]
            values = ", ".join(shown[:12]) + (" …" if len(shown) > 12 else "")
        elif name in rt.references:
            values = _("the id or exact name of a record you can see")
        rows.append({"name": name, "label": rt.field_label(name), "required": bool(bound.flags.required),
                     "allowed": values})
    return rows


def required_fields(rt: Any) -> list[str]:
    """The fields every row must fill (the form's required ones)."""
    form = new_form(rt)
    return [n for n in rt.import_fields if form[n].flags.required]


class ColumnsNeeded(ImportFileError):
    """Some columns are not mapped (or a field is filled twice, or a required one is missing).

    The web import answers with its mapping step, the CLI with the columns it knows.
    """

    def __init__(self, problems: list[str], columns: list[import_columns.Column], filename: str) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems
        self.columns = columns
        self.filename = filename

    @property
    def unknown(self) -> list[str]:
        """The headers of the columns nothing was found for."""
        return [c.header for c in self.columns if c.target is None]


def columns_of(rt: Any, table: Table, remembered: dict[str, str] | None = None,
               chosen: dict[int, str] | None = None) -> list[import_columns.Column]:
    """What each column of the file fills, with up to three sample values each."""
    columns = import_columns.resolve(rt, table.header, header_map(rt), remembered or {}, chosen)
    for column in columns:
        for _line, cells in table.rows:
            value = cells[column.index] if column.index < len(cells) else ""
            if value and value not in column.samples:
                column.samples.append(value[:60])
                if len(column.samples) == 3:
                    break
    return columns


@dataclass
class _Layout:
    """Where each field's text comes from: whole columns, and the parts joined into composed fields."""

    plain: list[tuple[int, str]]  # (column index, field)
    parts: list[tuple[int, str, str]]  # (column index, field, part)

    @classmethod
    def of(cls, columns: list[import_columns.Column]) -> _Layout:
        """The layout of a complete mapping (ignored columns left out)."""
        plain = [(c.index, str(c.target)) for c in columns if c.target != IGNORED and ":" not in str(c.target)]
        parts = [(c.index, *str(c.target).split(":", 1)) for c in columns if ":" in str(c.target)]
        return cls(plain, parts)  # type: ignore[arg-type]

    @property
    def composed(self) -> list[str]:
        """The fields joined from parts, in file order."""
        return list(dict.fromkeys(f for _i, f, _p in self.parts))

    def values(self, raw: list[str]) -> dict[str, str]:
        """One row's text per field."""
        def cell(i: int) -> str:
            return raw[i] if i < len(raw) else ""

        values = {name: cell(i) for i, name in self.plain}
        pieces: dict[str, dict[str, str]] = {f: {} for f in self.composed}
        for i, name, part in self.parts:
            pieces[name][part] = cell(i)
        for name in self.composed:
            values[name] = import_columns.compose(name, pieces[name], values.get(name, ""))
        return values


def parse(rt: Any, data: bytes, filename: str, remembered: dict[str, str] | None = None,
          chosen: dict[int, str] | None = None) -> Parsed:
    """Read the file (CSV or .xlsx) and map its header; rows stay text (checked later by `validate`).

    Raises ColumnsNeeded when the mapping is incomplete, ImportFileError when the file is unusable.
    """
    table = read_table(data, filename)
    columns = columns_of(rt, table, remembered, chosen)
    problems = import_columns.problems(rt, columns, required_fields(rt))
    if problems:
        raise ColumnsNeeded(problems, columns, filename)
    layout = _Layout.of(columns)
    fields = list(dict.fromkeys([name for _i, name in layout.plain] + layout.composed))
    ignored = [c.header for c in columns if c.target == IGNORED and c.header.strip()]
    rows = [(line, layout.values(raw)) for line, raw in table.rows]
    return Parsed(fields, rows, ignored, columns)


class _Choices:
    """Picklist values by code or label (either language), references by id or name (visible ones only)."""

    def __init__(self, rt: Any, form: Any, name: str) -> None:
        self.rt, self.bound, self.name = rt, form[name], name
        self.blank = next((str(val) for val, _label in self.bound.choices if val in ("", 0)), None)
        self.default = str(self.bound.choices[0][0]) if self.bound.choices and self.blank is None else ""
        self.lookup: dict[str, str] = {}
        for locale in (None, "zh_Hans_CN", "en"):
            choices = self._choices(form, locale)
            for val, label in choices:
                if val not in ("", 0):
                    self.lookup.setdefault(str(val).casefold(), str(val))
                    self.lookup.setdefault(str(label).strip().casefold(), str(val))
        # Values as other CRMs export them (Salesforce's "Open - Not Contacted"…), when the code exists here.
        codes = set(self.lookup.values())
        for text, code in VALUE_ALIASES.get(rt.codes.get(name, ""), {}).items():
            if code in codes:
                self.lookup.setdefault(text.casefold(), code)

    def _choices(self, form: Any, locale: str | None) -> list[tuple[Any, Any]]:
        """The field's choices with labels in `locale` (references: the ones found so far)."""
        if locale is None or self.name in self.rt.references:
            return list(self.bound.choices)
        with force_locale(locale):
            return list(new_form(self.rt)[self.name].choices)

    def resolve(self, text: str) -> str:
        """The code (or id) a cell's text stands for; the text itself when nothing matches."""
        if not text:
            return self.blank if self.blank is not None else self.default
        key = text.casefold()
        if key not in self.lookup and self.name in self.rt.references:
            self._find_reference(text)
        return self.lookup.get(key, text)

    def _find_reference(self, text: str) -> None:
        """Add a visible referenced record named by id or exact name to the choices."""
        model = self.rt.references[self.name]
        stmt = select(model)  # through the visibility rule: only records the importer may see
        if text.isdigit():
            stmt = stmt.where(model.id == int(text))
        elif hasattr(model, "name"):
            stmt = stmt.where(func.lower(model.name) == text.lower())
        else:
            return
        found = db.session.scalars(stmt.limit(1)).first()
        if found is not None:
            self.bound.choices = [*self.bound.choices, (found.id, found.audit_label)]
            self.lookup[text.casefold()] = str(found.id)

    def message(self, text: str) -> str:
        """Why a cell's text was refused, naming what would be accepted."""
        if self.name in self.rt.references:
            return _("“%(v)s” is not a record you can see (give its id or exact name).", v=text)
        shown = [str(label) for val, label in self.bound.choices if val not in ("", 0)]
        return _("“%(v)s” is not one of: %(values)s.", v=text, values=", ".join(shown[:15]))


class _RowChecker:
    """Checks rows with the type's form, reusing one form and the picklist lookups for the whole file."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.form = form = new_form(rt)
        self.fields = rt.import_fields
        self.selects = {n: _Choices(rt, form, n) for n in self.fields if isinstance(form[n], SelectField)}
        for name in self.selects:
            # _Choices.resolve already matched each value against these very choices (and reports misses);
            # the field's own membership check rebuilds its choice list per row, a third of the cost.
            form[name].pre_validate = lambda _form: None
        # isinstance, not the type name: the bounded number fields (numbers.py) are subclasses.
        self.numbers = {n for n in self.fields if isinstance(form[n], DecimalField | IntegerField | FloatField)}
        self.label_of = {n: rt.field_label(n) for n in self.fields}
        self.seen: dict[tuple[Any, ...], int] = {}

    def _text(self, line: int, name: str, text: str, problems: list[RowError]) -> str:
        """A cell's text as the form field reads it (picklist labels -> codes, "1,000" -> "1000")."""
        if name in self.selects:
            choices = self.selects[name]
            resolved = choices.resolve(text)
            if text and resolved == text and text.casefold() not in choices.lookup:
                problems.append(RowError(line, self.label_of[name], choices.message(text)))
            return resolved
        if name in self.numbers:
            return text.replace(",", "")
        if self.form[name].type == "DateField":
            return text.replace("/", "-").replace(".", "-")
        return text

    def _form_problems(self, line: int, problems: list[RowError]) -> list[RowError]:
        """The form's own refusals, for fields not refused already."""
        found = []
        if not self.form.validate():
            for name, messages in self.form.errors.items():
                if name in self.label_of and not any(p.field == self.label_of[name] for p in problems):
                    found += [RowError(line, self.label_of[name], str(m)) for m in messages]
        return found

    def _data(self) -> dict[str, Any]:
        """The checked row's values as the create service takes them (no reference: None)."""
        data = self.rt.form_data(self.form)
        for name in self.rt.references:
            if name in data and not data[name]:
                data[name] = None
        return data

    def check(self, line: int, raw: dict[str, str]) -> tuple[dict[str, Any] | None, list[RowError]]:
        """One row: its values ready to insert, or the problems found (a repeat of an earlier row is one)."""
        problems: list[RowError] = []
        values = {name: self._text(line, name, raw.get(name, ""), problems) for name in self.fields}
        self.form.process(MultiDict(values))
        problems += self._form_problems(line, problems)
        if problems:
            return None, problems
        data = self._data()
        key = tuple(str(data.get(n) or "").casefold() for n in self.fields)
        if key in self.seen:
            return None, [RowError(line, "—", _("Same as line %(n)d (duplicate row).", n=self.seen[key]))]
        self.seen[key] = line
        return data, []


def validate(rt: Any, parsed: Parsed, progress: Callable[[int], Any] | None = None) -> ImportCheck:
    """Check every row with the form's rules; duplicates within the file are errors of the later row.

    `progress(n)` is told how many more rows were checked (click's progress bar takes steps).
    """
    check = ImportCheck(total=len(parsed.rows), ignored=parsed.ignored)
    checker = _RowChecker(rt)
    reported = 0
    for done, (line, raw) in enumerate(parsed.rows, start=1):
        data, problems = checker.check(line, raw)
        if data is not None:
            check.rows.append((line, data))
        check.errors += problems
        if progress is not None and (done % 200 == 0 or done == check.total):
            progress(done - reported)
            reported = done
    return check
