"""Checking import rows one by one with the type's own form: picklist values by code or label, references
by id or name (visible records only), numbers and dates as people write them, duplicate rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField, IntegerField, SelectField

from ..extensions import db
from .import_aliases import VALUE_ALIASES


@dataclass
class RowError:
    """One problem of one row: its line in the file, the field's label and the message."""

    line: int
    field: str
    message: str



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
            return list(self.rt.new_form()[self.name].choices)

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


class RowChecker:
    """Checks rows with the type's form, reusing one form and the picklist lookups for the whole file."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.form = form = rt.new_form()
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
