"""The workflow file schema (pydantic v2): structure and value types; cross-references are in loading.py."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

# Fields every case has (columns of `cases`); a workflow's own fields are declared in its `fields`.
# name -> kind: how the engine reads a value given for it.
BUILTIN_FIELDS: dict[str, str] = {
    "subject": "text", "description": "longtext", "priority": "code:case_priority",
    "account_id": "account", "contact_id": "contact", "assignee_id": "user", "supervisor_id": "user",
    "level": "level", "channel": "code:case_channel", "target": "code:case_target", "satisfaction": "score",
}
# Timestamps that are columns of `cases`; any other `*_at` a state sets is kept in the case's `stamps`.
STAMP_COLUMNS = ("received_at", "resolved_at", "closed_at")
WHO = ("owner", "assignee", "creator", "superior", "instructor", "supervisor")
DEFAULT_WHO = ("owner", "assignee", "superior", "instructor")
RECIPIENTS = ("instructors", "superiors", "supervisor", "assignee", "owner")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
STAMP = re.compile(r"^[a-z][a-z0-9_]{0,36}_at$")
KIND = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


def _fail(what: str) -> PydanticCustomError:
    return PydanticCustomError("expected", "expected {what}", {"what": what})


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail("non-empty text")
    return value.strip()


def _pattern(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise _fail(what)
        return value

    return BeforeValidator(check)


def _listed(value: Any) -> Any:
    """A single value where a list is expected is a list of one (`from: new` as `from: [new]`)."""
    return [value] if isinstance(value, str) else value


def _hours(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 24 * 365:
        raise _fail("a whole number of hours from 1 to 8760")
    return value


Text = Annotated[str, BeforeValidator(_text)]
Name = Annotated[str, _pattern(NAME, "a name of lower-case letters, digits and _ (at most 40)")]
Stamp = Annotated[str, _pattern(STAMP, "a timestamp name ending in _at")]
Hours = Annotated[int, BeforeValidator(_hours)]
Scalar = int | str
Condition = dict[Name, Scalar | list[Scalar]]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Bilingual(Strict):
    """A label in Chinese and English."""

    zh: Text
    en: Text

    def pick(self, locale: str | None) -> str:
        """The label in `locale` (Chinese for zh*, English otherwise)."""
        return self.zh if (locale or "").lower().startswith("zh") else self.en


class FieldDef(Strict):
    """A field of the workflow's own (kept in the case's `data`)."""

    label: Bilingual
    kind: Literal["text", "longtext", "int", "decimal", "parts"] = "text"
    min: int | None = None
    max: int | None = None


def _requirement(value: Any) -> Any:
    return {"field": value} if isinstance(value, str) else value


class Requirement(Strict):
    """A field a step needs, always or only `when` the case's values match (`{level: 1}`)."""

    field: Name
    when: Condition | None = None


Requirements = list[Annotated[Requirement, BeforeValidator(_requirement)]]


class StateDef(Strict):
    """A state: its label, whether it is locked, the timestamps entering it sets or empties."""

    name: Name
    label: Bilingual
    locked: bool = False
    sets: list[Stamp] = Field(default_factory=list)
    clears: list[Stamp] = Field(default_factory=list)


class TransitionDef(Strict):
    """A move between states: who may make it and the fields it requires or offers."""

    from_: Annotated[list[Name], BeforeValidator(_listed)] = Field(alias="from", min_length=1)
    to: Name
    label: Bilingual
    who: list[Literal[WHO]] = Field(default_factory=lambda: list(DEFAULT_WHO))  # type: ignore[valid-type]
    roles: list[Literal["student", "instructor", "admin"]] = Field(default_factory=list)
    positions: list[Text] = Field(default_factory=list)
    requires: Requirements = Field(default_factory=list)
    asks: list[Name] = Field(default_factory=list)
    satisfaction: bool = False  # a 1-5 score may be given with this move


class CreateDef(Strict):
    """What creating a case of the workflow requires and offers besides the common fields."""

    requires: Requirements = Field(default_factory=list)
    asks: list[Name] = Field(default_factory=list)


class NotificationDef(Strict):
    """Who is told when a case is created, enters a state, has a field changed or is escalated (its level made
    more severe: a lower number), and `when` matches."""

    kind: Annotated[str, _pattern(KIND, "a kind like noun.verb")]
    events: Annotated[list[Literal["create", "enter", "change", "escalate"]], BeforeValidator(_listed)] = Field(
        min_length=1)
    state: Name | None = None
    field: Name | None = None
    when: Condition | None = None
    recipients: list[Literal[RECIPIENTS]] = Field(min_length=1)  # type: ignore[valid-type]


class Workflow(Strict):
    """One case type: its states, moves, fields, SLA and notifications."""

    key: Name
    name: Bilingual
    description: Bilingual | None = None
    initial: Name
    sla_hours: Hours | None = None
    sla_hours_by_level: dict[Annotated[int, Field(ge=1, le=5)], Hours] | None = None
    states: list[StateDef] = Field(min_length=1)
    fields: dict[Name, FieldDef] = Field(default_factory=dict)
    create: CreateDef = Field(default_factory=CreateDef)
    transitions: list[TransitionDef] = Field(min_length=1)
    notifications: list[NotificationDef] = Field(default_factory=list)

    def state(self, name: str | None) -> StateDef | None:
        """The state called `name`, else None."""
        return next((s for s in self.states if s.name == name), None)

    def field_kind(self, name: str) -> str | None:
        """How a field's value is read: a built-in kind, the workflow field's kind, or None (unknown)."""
        if name in BUILTIN_FIELDS:
            return BUILTIN_FIELDS[name]
        declared = self.fields.get(name)
        return declared.kind if declared else None
