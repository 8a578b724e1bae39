"""What a logged action left behind, so that objectives count net, distinct effects and never clicks.

An entry's *subject* is the one thing it counts for: the record it changed or created, the child row it
added (a product line, a contact role, a competitor on a deal, a note), or, for activities, the record the
activity is about (five calls to one lead reach one lead). An entry *stands* while its effect is still
there: the record is not in the recycle bin, the child row was not removed, the field still holds the value
it was set to. Counting distinct standing subjects makes undo-and-redo, repeats on one record and
add-then-remove loops earn nothing.

Everything here is SQL over `log_entries` (correlated EXISTS on the records), so grading stays one
aggregated query per objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, exists, func, literal, not_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from ...oplog import LogEntry

SOURCES = {"ui": ("ui",), "import": ("import",), "any": None}


@dataclass(frozen=True)
class Child:
    """A verb that adds (or points at) a child row named in the entry's params by `child_id`."""

    table: str
    still: tuple[str, Any] | None = None  # (column, value) the row must still have, e.g. still the primary


CHILD_VERBS: dict[str, Child] = {
    "opportunity.add_line": Child("opportunity_lines"),
    "opportunity.add_contact_role": Child("opportunity_contact_roles"),
    "opportunity.set_primary_contact": Child("opportunity_contact_roles", still=("is_primary", True)),
    "opportunity.add_partner": Child("opportunity_partners"),
    "opportunity.add_competitor": Child("opportunity_competitors"),
}
# Notes and attachments name the parent as the entry's object and themselves in params.
NOTE_VERBS: dict[str, tuple[str, str]] = {"note.create": ("notes", "note_id"),
                                          "attachment.upload": ("attachments", "attachment_id")}
# A later value that builds on the one the objective asked for instead of undoing it (a qualified lead converted).
SUPERSEDING: dict[tuple[str, str], tuple[str, ...]] = {("lead", "status"): ("converted",)}


def is_activity(verb: str) -> bool:
    """Whether the verb is an activity's (whose subject is the related record)."""
    return verb.startswith("activity.")


def _param_int(key: str) -> Any:
    return LogEntry.params[key].as_integer()


def _param_text(key: str) -> Any:
    return LogEntry.params[key].as_string()


def subject_parts(verb: str, per: str = "record") -> tuple[Any, Any]:
    """SQL (subject type, subject id) of an entry of `verb`."""
    if verb in CHILD_VERBS and per == "record":
        return literal(CHILD_VERBS[verb].table), _param_int("child_id")
    if verb in NOTE_VERBS and per == "record":
        table, key = NOTE_VERBS[verb]
        return literal(table), _param_int(key)
    if is_activity(verb):
        return (func.coalesce(_param_text("related_type"), LogEntry.object_type),
                func.coalesce(_param_int("related_id"), LogEntry.object_id))
    return LogEntry.object_type, LogEntry.object_id


def subject_key(verb: str, per: str = "record") -> ColumnElement[str]:
    """SQL: one text key per subject, for COUNT(DISTINCT …)."""
    kind, ident = subject_parts(verb, per)
    return cast(kind, String) + literal(":") + cast(ident, String)


def _model(object_type: str) -> Any:
    from .records import record_model

    try:
        return record_model(object_type)
    except KeyError:
        return None


def _table(name: str) -> Any:
    from ...extensions import db

    return db.metadata.tables[name]


def _value_holds(model: Any, object_type: str, field: str, to: Any) -> ColumnElement[bool]:
    from seed.fields import RECORD_FIELDS

    from .records import _typed

    kind = RECORD_FIELDS.get(object_type, {}).get(field, "text")
    column = getattr(model, field)
    later = SUPERSEDING.get((object_type, field), ())
    held = column == _typed(kind, to)
    return or_(held, column.in_(later)) if later else held


def standing(verb: str, object_type: str | None = None, field: str | None = None, to: Any = None
             ) -> ColumnElement[bool] | None:
    """SQL: the entry's effect is still there (None: nothing to check for this verb)."""
    if verb in CHILD_VERBS:
        child = CHILD_VERBS[verb]
        table = _table(child.table)
        terms = [table.c.id == _param_int("child_id")]
        if child.still:
            terms.append(table.c[child.still[0]] == child.still[1])
        return exists(select(table.c.id).where(*terms))
    if verb in NOTE_VERBS:
        name, key = NOTE_VERBS[verb]
        table = _table(name)
        return exists(select(table.c.id).where(table.c.id == _param_int(key), table.c.deleted_at.is_(None)))
    noun = object_type or verb.split(".", 1)[0]
    model = _model(noun)
    if model is None:
        return None
    terms = [model.id == LogEntry.object_id, model.deleted_at.is_(None)]
    if field is not None and to is not None and hasattr(model, field):
        terms.append(_value_holds(model, noun, field, to))
    return exists(select(model.id).where(*terms))


def source_condition(source: str) -> ColumnElement[bool] | None:
    """SQL: the entry came from an allowed source (entries from before sources were kept count as ui)."""
    allowed = SOURCES[source]
    if allowed is None:
        return None
    term = LogEntry.source.in_(allowed)
    return or_(term, LogEntry.source.is_(None)) if "ui" in allowed else term


def created_in_class(kind: Any, ident: Any, class_id: Any = LogEntry.class_id) -> ColumnElement[bool]:
    """SQL: the record (kind, ident) was made by someone in its class (typed, imported, converted), not generated.
    `class_id` defaults to the class of the entry being counted (a correlated log query).

    Generated books are bulk-inserted by a scenario load with no entry per record; every other way a record
    comes to be writes `<type>.create` on it, or a `<type>.import` entry whose params span its id.
    """
    made = aliased(LogEntry)
    typed = exists(select(made.id).where(made.class_id == class_id, made.object_type == kind,
                                         made.object_id == ident, made.verb == kind + literal(".create")))
    imported = exists(select(made.id).where(
        made.class_id == class_id, made.verb == kind + literal(".import"),
        made.params["first_id"].as_integer() <= ident, made.params["last_id"].as_integer() >= ident))
    return or_(typed, imported)


def origin_condition(verb: str, origin: str) -> ColumnElement[bool] | None:
    """SQL: the entry's subject record is of the wanted origin (generated for the student, or made in class)."""
    if origin == "any":
        return None
    kind, ident = subject_parts(verb, "parent")
    made = created_in_class(kind, ident)
    return made if origin == "created" else not_(made)


def effect_conditions(verb: str, *, object_type: str | None = None, field: str | None = None, to: Any = None,
                      source: str = "ui", origin: str = "any", live: bool = True) -> list[ColumnElement[bool]]:
    """Every condition an entry of `verb` must meet to count: still standing (only readable while the run's
    records are the class's data), allowed source and origin."""
    terms = [standing(verb, object_type, field, to) if live else None, source_condition(source),
             origin_condition(verb, origin)]
    return [t for t in terms if t is not None]
