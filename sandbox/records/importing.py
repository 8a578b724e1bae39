"""CSV import for any record type: columns from its form, every row checked by the form's own rules.

`parse` reads the file (UTF-8, UTF-8 with BOM, GBK/GB18030) and maps the header (English field names,
or the field labels in Chinese or English); `validate` runs each row through the record's form, so
required fields, email and phone formats, picklists and number ranges are exactly the web form's;
`import_service.import_rows` writes the good rows in batches, as one logged operation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import SelectField

from ..extensions import db

MAX_ROWS = 20_000
IGNORED = "\0ignored"  # columns of our own export that are not form fields (ID, owner, created…)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV, wrong encoding, unknown columns…)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RowError:
    line: int
    field: str
    message: str


@dataclass
class Parsed:
    """The file's rows as {field: text}, with the physical line each starts on."""

    fields: list[str]
    rows: list[tuple[int, dict[str, str]]]
    ignored: list[str] = field(default_factory=list)


@dataclass
class ImportCheck:
    """Good rows ready to insert, and every problem found (line, field label, message)."""

    total: int = 0
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @property
    def bad_lines(self) -> int:
        return len({e.line for e in self.errors})


def new_form(v: Any) -> Any:
    """A form of the type, not bound to the request (rows are fed to it one by one)."""
    return v.form_cls(formdata=None, meta={"csrf": False})


def labels(v: Any, name: str) -> list[str]:
    """The field's label in every UI language (and in the current one)."""
    found = [v.field_label(name)]
    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            found.append(v.field_label(name))
    return list(dict.fromkeys(found))


def _key(header: str) -> str:
    return " ".join(header.replace("\ufeff", "").replace("*", "").replace("_", " ").split()).casefold()


def header_map(v: Any) -> dict[str, str]:
    """Normalised header text -> field name (or IGNORED for export-only columns)."""
    result: dict[str, str] = {}
    extra = [a for a in v.detail_fields if a not in v.form_fields]
    for name in extra:
        for text in [name, *labels(v, name)]:
            result[_key(text)] = IGNORED
    for text in ("id", "owner", "created", "created at", "所有人", "负责人", "创建时间", "创建于"):
        result[_key(text)] = IGNORED
    from flask_babel import gettext

    for locale in ("zh_Hans_CN", "en"):
        with force_locale(locale):
            result[_key(gettext("Owner"))] = IGNORED
            result[_key(gettext("Created"))] = IGNORED
    for name in v.form_fields:
        for text in [name, *labels(v, name)]:
            result[_key(text)] = name
    return result


def column_help(v: Any) -> list[dict[str, Any]]:
    """The accepted columns for the import page: name, label, required, allowed values (first ones)."""
    form = new_form(v)
    rows = []
    for name in v.form_fields:
        bound = form[name]
        values = ""
        if isinstance(bound, SelectField) and name not in v.references:
            shown = [str(label) for value, label in bound.choices if value not in ("", 0)]
            values = ", ".join(shown[:12]) + (" …" if len(shown) > 12 else "")
        elif name in v.references:
            values = _("the id or exact name of a record you can see")
        rows.append({"name": name, "label": v.field_label(name), "required": bool(bound.flags.required),
                     "allowed": values})
    return rows


def read_text(data: bytes, filename: str) -> str:
    """The file's text; a clear refusal for workbooks, binaries, other extensions and unknown encodings."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise ImportFileError(_("This is an Excel workbook, not a CSV file. In Excel choose “Save As” and the "
                                "type “CSV UTF-8 (comma delimited)”, then upload that file."))
    if b"\x00" in data[:8192]:
        raise ImportFileError(_("This is not a CSV text file (it contains binary data). Upload a .csv file."))
    name = (filename or "").lower()
    if name and not name.endswith((".csv", ".txt")):
        raise ImportFileError(_("Upload a .csv file (this one is “%(name)s”).", name=filename))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file is neither UTF-8 nor GBK text. Save it from Excel as “CSV UTF-8”."))


def parse(v: Any, data: bytes, filename: str) -> Parsed:
    """Read the file and map its header; rows stay text (checked later by `validate`)."""
    text = read_text(data, filename)
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    except csv.Error as exc:
        raise ImportFileError(_("The file is not valid CSV: %(e)s", e=str(exc))) from None
    known = header_map(v)
    names = [known.get(_key(h)) if h.strip() else IGNORED for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if n is None]
    if unknown:
        raise ImportFileError(_("Unknown columns: %(cols)s. Use the column names listed on this page.",
                                cols=", ".join(f"“{h}”" for h in unknown)))
    used = [n for n in names if n != IGNORED]
    repeated = sorted({n for n in used if used.count(n) > 1})
    if repeated:
        raise ImportFileError(_("These columns appear twice: %(cols)s.", cols=", ".join(repeated)))
    form = new_form(v)
    missing = [v.field_label(n) for n in v.form_fields if form[n].flags.required and n not in used]
    if missing:
        raise ImportFileError(_("Required columns are missing: %(cols)s.", cols=", ".join(missing)))
    parsed = Parsed(used, [], [h for h, n in zip(header, names, strict=True) if n == IGNORED and h.strip()])
    line = reader.line_num
    try:
        for raw in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in raw):
                continue
            if len(parsed.rows) >= MAX_ROWS:
                raise ImportFileError(_("At most %(n)s rows per file; split the file.", n=f"{MAX_ROWS:,}"))
            parsed.rows.append((start, {n: (raw[i].strip() if i < len(raw) else "")
                                        for i, n in enumerate(names) if n != IGNORED}))
    except csv.Error as exc:
        raise ImportFileError(_("Line %(line)d is not valid CSV: %(e)s", line=line + 1, e=str(exc))) from None
    return parsed


class _Choices:
    """Picklist values by code or label (either language), references by id or name (visible ones only)."""

    def __init__(self, v: Any, form: Any, name: str) -> None:
        self.v, self.bound, self.name = v, form[name], name
        self.blank = next((str(val) for val, _label in self.bound.choices if val in ("", 0)), None)
        self.default = str(self.bound.choices[0][0]) if self.bound.choices and self.blank is None else ""
        self.lookup: dict[str, str] = {}
        for locale in (None, "zh_Hans_CN", "en"):
            choices = self._choices(form, locale)
            for val, label in choices:
                if val not in ("", 0):
                    self.lookup.setdefault(str(val).casefold(), str(val))
                    self.lookup.setdefault(str(label).strip().casefold(), str(val))

    def _choices(self, form: Any, locale: str | None) -> list[tuple[Any, Any]]:
        if locale is None or self.name in self.v.references:
            return list(self.bound.choices)
        with force_locale(locale):
            return list(new_form(self.v)[self.name].choices)

    def resolve(self, text: str) -> str:
        if not text:
            return self.blank if self.blank is not None else self.default
        key = text.casefold()
        if key not in self.lookup and self.name in self.v.references:
            self._find_reference(text)
        return self.lookup.get(key, text)

    def _find_reference(self, text: str) -> None:
        model = self.v.references[self.name]
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
        if self.name in self.v.references:
            return _("“%(v)s” is not a record you can see (give its id or exact name).", v=text)
        shown = [str(label) for val, label in self.bound.choices if val not in ("", 0)]
        return _("“%(v)s” is not one of: %(values)s.", v=text, values=", ".join(shown[:15]))


def validate(v: Any, parsed: Parsed, progress: Callable[[int], Any] | None = None) -> ImportCheck:
    """Check every row with the form's rules; duplicates within the file are errors of the later row.

    `progress(n)` is told how many more rows were checked (click's progress bar takes steps).
    """
    check = ImportCheck(total=len(parsed.rows), ignored=parsed.ignored)
    form = new_form(v)
    selects = {n: _Choices(v, form, n) for n in v.form_fields if isinstance(form[n], SelectField)}
    for name in selects:
        # _Choices.resolve already matched each value against these very choices (and reports misses);
        # the field's own membership check rebuilds its choice list per row, a third of the cost.
        form[name].pre_validate = lambda _form: None
    numbers = {n for n in v.form_fields if form[n].type in ("DecimalField", "IntegerField", "FloatField")}
    label_of = {n: v.field_label(n) for n in v.form_fields}
    seen: dict[tuple[Any, ...], int] = {}
    reported = 0
    for done, (line, raw) in enumerate(parsed.rows, start=1):
        values: dict[str, str] = {}
        problems: list[RowError] = []
        for name in v.form_fields:
            text = raw.get(name, "")
            if name in selects:
                resolved = selects[name].resolve(text)
                if text and resolved == text and text.casefold() not in selects[name].lookup:
                    problems.append(RowError(line, label_of[name], selects[name].message(text)))
                text = resolved
            elif name in numbers:
                text = text.replace(",", "")
            elif form[name].type == "DateField":
                text = text.replace("/", "-").replace(".", "-")
            values[name] = text
        form.process(MultiDict(values))
        if not form.validate():
            for name, messages in form.errors.items():
                if name in label_of and not any(p.field == label_of[name] for p in problems):
                    problems += [RowError(line, label_of[name], str(m)) for m in messages]
        if not problems:
            data = v._form_data(form)
            for name in v.references:
                if name in data and not data[name]:
                    data[name] = None
            key = tuple(str(data.get(n) or "").casefold() for n in v.form_fields)
            if key in seen:
                problems.append(RowError(line, "—", _("Same as line %(n)d (duplicate row).", n=seen[key])))
            else:
                seen[key] = line
                check.rows.append((line, data))
        check.errors += problems
        if progress is not None and (done % 200 == 0 or done == check.total):
            progress(done - reported)
            reported = done
    return check
