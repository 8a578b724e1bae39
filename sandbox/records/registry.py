"""The record-type registry: every business record type described once, looked up by its name.

A `RecordType` says which model and form a type has, which fields it shows and accepts, which code
tables and referenced types its fields use, how its fields are labelled, how its list is searched,
sorted and filtered, and which services create and update it. It is THE answer to "which model is
`lead`", "what is this field's label" and "which fields does import accept": the views (routes over a
type), import, export, the CLI importer, the objectives and the log renderer all read it.

This module imports no view module and needs no request (the CLI and jobs read it in an app context).
A type is registered when its package is imported (`leads/record.py`: `LEAD = register(RecordType(...))`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..codes.services import choices as code_choices
from . import services


@dataclass
class Column:
    """A column of a type's list page."""

    attr: str
    label: Any
    link: bool = False
    code: str | None = None  # the code table whose labels are shown
    sortable: bool = True


@dataclass
class Filter:
    """A list filter offering the values of a code table."""

    attr: str
    label: Any
    code: str  # the code table offering the values

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(code, label) of the values offered."""
        return code_choices(self.code)


@dataclass
class Related:
    """A related list on a detail page: records of `model` whose `fk` points at the shown record."""

    title: Any
    model: Any
    fk: str
    columns: list[Column]
    endpoint: str  # blueprint name of the related type, for links
    codes: dict[str, str] | None = None


class UnknownRecordType(KeyError):
    """A record type name the registry does not know (the message names the known ones)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.message = f"unknown record type {name!r}; one of: {', '.join(names())}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass(eq=False)
class RecordType:
    """One business record type: its model, form, fields, labels, code tables, list and services."""

    name: str  # the type name as the log and objectives write it ("lead")
    model: Any
    form: Any  # the FlaskForm class; its fields' labels are the type's field labels
    singular: Any
    plural: Any
    fields: list[str]  # the fields of the form, in order: what create, edit and import accept
    detail_fields: list[str] = field(default_factory=list)  # shown on the detail page and exported
    codes: dict[str, str] = field(default_factory=dict)  # field -> code table of its values
    references: dict[str, Any] = field(default_factory=dict)  # field -> referenced model
    labels: dict[str, Any] = field(default_factory=dict)  # labels of shown fields that are not on the form
    search: list[str] = field(default_factory=list)  # fields the list's search box matches
    columns: list[Column] = field(default_factory=list)
    filters: list[Any] = field(default_factory=list)
    create: Callable[..., Any] | None = None  # create(model, data) -> record; default: the generic service
    update: Callable[..., Any] | None = None  # update(obj, data, expected_version=) -> record
    # clean(data) -> data: checks and normalises field values before the generic create and update (a reference
    # the viewer cannot see is refused next to its field); a type with it keeps the generic bulk import.
    clean: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    duplicates: Callable[..., Any] | None = None  # duplicates(data) -> similar visible records
    related: list[Related] = field(default_factory=list)
    detail_template: str = "records/detail.html"
    blueprint: str = ""  # the blueprint (URL prefix and endpoint prefix); default: the model's table

    def __post_init__(self) -> None:
        self.detail_fields = self.detail_fields or list(self.fields)
        self.blueprint = self.blueprint or self.model.__tablename__

    @property
    def create_service(self) -> Callable[..., Any]:
        """The service creating a record of this type from checked field values."""
        if self.create is not None:
            return self.create
        clean = self.clean
        if clean is not None:
            return lambda cls, data, owner=None: services.create_record(cls, clean(data), owner)
        return services.create_record

    @property
    def update_service(self) -> Callable[..., Any]:
        """The service applying checked field values to a record of this type."""
        if self.update is not None:
            return self.update
        clean = self.clean
        if clean is not None:
            return lambda obj, data, expected_version=None: services.update_record(obj, clean(data), expected_version)
        return services.update_record

    @property
    def import_fields(self) -> list[str]:
        """The fields an import may fill: exactly the form's fields."""
        return list(self.fields)

    def field_label(self, attr: str) -> str:
        """A field's label in the current language (the form's label; `attr` itself when it has none)."""
        if attr in self.labels:
            return str(self.labels[attr])
        form_field = getattr(self.form, attr, None)
        if form_field is not None and "label" in getattr(form_field, "kwargs", {}):
            return str(form_field.kwargs["label"])
        if form_field is not None and getattr(form_field, "args", None):
            return str(form_field.args[0])
        return attr

    def new_form(self, **kwargs: Any) -> Any:
        """A form of the type not bound to a request (import feeds it rows one by one)."""
        return self.form(formdata=None, meta={"csrf": False}, **kwargs)

    def form_data(self, form: Any) -> dict[str, Any]:
        """The form's field values as a service takes them (text stripped, empty text as None)."""
        data = {}
        for name in self.fields:
            value = getattr(form, name).data
            data[name] = value.strip() if isinstance(value, str) else value
            if data[name] == "":
                data[name] = None
        return data


_TYPES: dict[str, RecordType] = {}


def register(record_type: RecordType) -> RecordType:
    """Register a type under its name (a second registration of the same name replaces the first)."""
    _TYPES[record_type.name] = record_type
    return record_type


def get(name: str) -> RecordType:
    """The type called `name` ("lead"; its blueprint name "leads" is accepted too); UnknownRecordType else."""
    found = find(name)
    if found is None:
        raise UnknownRecordType(name)
    return found


def find(name: str | None) -> RecordType | None:
    """The type called `name` (or whose blueprint is `name`), else None."""
    if not name:
        return None
    if name in _TYPES:
        return _TYPES[name]
    return next((t for t in _TYPES.values() if t.blueprint == name), None)


def names() -> list[str]:
    """The names of every registered type, sorted."""
    return sorted(_TYPES)


def all_types() -> list[RecordType]:
    """Every registered type, by name."""
    return [_TYPES[n] for n in names()]


def model_of(name: str) -> Any:
    """The model class of a type ("lead" -> Lead); UnknownRecordType for an unknown name."""
    return get(name).model


def field_label(name: str | None, attr: str) -> str:
    """A field's label for a type by name; `attr` itself when the type or the field is unknown."""
    found = find(name)
    return found.field_label(attr) if found is not None else attr
