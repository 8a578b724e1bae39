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
from wtforms import SelectField

from . import import_columns
from .import_aliases import IGNORE
from .import_checks import RowChecker, RowError
from .import_files import ImportFileError, Table, read_table

__all__ = ["ColumnsNeeded", "ImportCheck", "ImportFileError", "Parsed", "RowError", "column_help", "parse", "validate"]

IGNORED = IGNORE  # columns of our own export that are not form fields (ID, owner, created…), and ignored ones

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


def validate(rt: Any, parsed: Parsed, progress: Callable[[int], Any] | None = None) -> ImportCheck:
    """Check every row with the form's rules; duplicates within the file are errors of the later row.

    `progress(n)` is told how many more rows were checked (click's progress bar takes steps).
    """
    check = ImportCheck(total=len(parsed.rows), ignored=parsed.ignored)
    checker = RowChecker(rt)
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
