"""The one renderer of log entries: what an entry says, in the reader's language and time zone.

Entries store codes, ids, field names and UTC times (SPEC §8.1); this module turns them into text when
they are read, for the timeline, the dashboard, /log/, the gradebook and the CSV export alike:
field labels from the record registry, code labels, referenced records by their current name (looked
up for a whole page at once), money in the class's currency, times in the configured time zone without
microseconds, and verb summaries formatted from the verb's template and the entry's params.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from seed.fields import RECORD_FIELDS

from .. import labels
from ..codes.services import code_for_label
from ..codes.services import label as code_label
from ..extensions import db
from ..i18n import N_
from ..money import class_currency, format_money
from ..oplog import VERBS, LogEntry
from ..org.models import Position, User
from ..records import registry

# Record and object types as people call them (the object_type of an entry, the kind of evidence).
TYPES = {
    "lead": N_("Lead"), "account": N_("Account"), "contact": N_("Contact"), "opportunity": N_("Opportunity"),
    "product": N_("Product"), "product_category": N_("Product category"), "competitor": N_("Competitor"),
    "activity": N_("Activity"), "note": N_("Note"), "attachment": N_("Attachment"), "user": N_("User"),
    "position": N_("Position"), "code_value": N_("Picklist value"), "run": N_("Scenario run"),
    "scenario": N_("Scenario"), "grade": N_("Grades"), "grade_override": N_("Grade override"),
    "deadline_extension": N_("Deadline extension"), "organization": N_("Organisation"), "roster": N_("Roster"),
    "sharing": N_("Sharing"), "sharing_rule": N_("Sharing"), "sharing_group": N_("Sharing group"),
    "auth": N_("Sign-in"),
}

# The action part of a verb ("opportunity.stage_change" → "change the stage").
ACTIONS = {
    "create": N_("create"), "update": N_("edit"), "delete": N_("delete"), "restore": N_("restore"),
    "transfer": N_("transfer"), "import": N_("import"), "export": N_("export"), "convert": N_("convert"),
    "stage_change": N_("change the stage"), "reopen": N_("reopen"), "add_line": N_("add a product line"),
    "update_line": N_("change a product line"), "remove_line": N_("remove a product line"),
    "add_competitor": N_("add a competitor"), "remove_competitor": N_("remove a competitor"),
    "add_contact_role": N_("add a contact role"), "remove_contact_role": N_("remove a contact role"),
    "set_primary_contact": N_("set the primary contact"), "add_partner": N_("add a partner"),
    "remove_partner": N_("remove a partner"), "log_call": N_("log a call"), "complete": N_("complete a task"),
    "upload": N_("upload"), "login": N_("sign in"), "logout": N_("sign out"), "login_failed": N_("failed sign-in"),
    "register": N_("register"), "password_change": N_("change the password"),
    "preferences": N_("change the preferences"), "approve": N_("approve"), "reject": N_("reject"),
    "password_reset": N_("issue a temporary password"), "set": N_("set"), "add_member": N_("add a member"),
    "remove_member": N_("remove a member"), "load": N_("load"), "reset": N_("reset"), "undo": N_("undo"),
    "override": N_("override points"), "clear_override": N_("clear an override"),
    "extend_deadline": N_("extend a deadline"),
}

# Fields of any type whose label the record registry does not give.
FIELD_LABELS = {
    "owner_id": N_("Owner"), "created_by_id": N_("Created by"), "class_id": N_("Class"),
    "deleted_at": N_("Deleted"), "created_at": N_("Created"), "name": N_("Name"), "display_name": N_("Name"),
    "email": N_("Email"), "role": N_("Role"), "status": N_("Status"), "position_id": N_("Position"),
    "locale": N_("Language"), "active": N_("Active"), "points": N_("Points"), "comment": N_("Comment"),
    "deadline": N_("Deadline"), "reason": N_("Reason"), "converted_at": N_("Converted"),
    "closed_at": N_("Closed"), "probability": N_("Probability (%)"), "label_zh": N_("Label (Chinese)"),
    "label_en": N_("Label (English)"), "sort_order": N_("Order"),
}

# Params that hold a code of a table (newer entries) or its label (older ones).
PARAM_CODES = {"from_stage": "opportunity_stage", "to_stage": "opportunity_stage", "role": "contact_role"}

# (object type, param or field) -> how a feature renders its own values (a case's workflow state: its label).
VALUE_RENDERERS: dict[tuple[str, str], Callable[[LogEntry, Any], str]] = {}

# Params that hold an amount of money (features add theirs: sandbox/forecasts/services.py).
MONEY_PARAMS: set[str] = set()

# Reference fields whose target type is not their name without "_id".
REF_TYPES = {"owner_id": "user", "created_by_id": "user", "parent_id": None, "reports_to_id": "contact",
             "category_id": "product_category", "converted_account_id": "account",
             "converted_contact_id": "contact", "converted_opportunity_id": "opportunity",
             "position_id": "position", "class_id": "position"}

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMPTY = "—"


@dataclass
class FieldChange:
    """One changed field of an entry, as the reader reads it (label and values rendered)."""

    name: str
    label: str
    before: str
    after: str


@dataclass
class Rendered:
    """One entry as its reader sees it."""

    entry: LogEntry
    at: str
    actor: str
    summary: str
    action: str
    changes: list[FieldChange] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:  # templates read e.g. `.verb`, `.object_type` of the entry
        return getattr(self.entry, name)


def type_label(kind: str | None) -> str:
    """A record or object type's name ("opportunity" → "Opportunity" / "商机")."""
    if not kind:
        return ""
    if kind in TYPES:
        return _(TYPES[kind])
    found = registry.find(kind)
    return str(found.singular) if found is not None else kind.replace("_", " ")


def verb_label(verb: str) -> str:
    """A verb as a choice in the action filter: "Opportunity · change the stage"."""
    noun, _dot, action = verb.partition(".")
    text = _(ACTIONS[action]) if action in ACTIONS else action.replace("_", " ")
    return f"{type_label(noun)} · {text}"


def local_time(value: datetime | str | None, fmt: str = "medium") -> str:
    """A stored UTC time (naive, aware or ISO text) in the configured time zone, to the second."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return format_datetime(aware.replace(microsecond=0), fmt)


def iso_local(value: datetime) -> str:
    """ISO 8601 in the configured time zone with its offset, to the second (exports)."""
    from flask_babel import get_timezone

    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return aware.astimezone(get_timezone()).isoformat(timespec="seconds")


class Names:
    """Current names of the records a page of entries refers to, loaded with one query per type."""

    def __init__(self) -> None:
        self.wanted: dict[str, set[int]] = {}
        self.found: dict[tuple[str, int], str] = {}

    def want(self, kind: str | None, ident: Any) -> None:
        """Note a referenced record whose name the page will show."""
        if kind and isinstance(ident, int):
            self.wanted.setdefault(kind, set()).add(ident)

    def load(self) -> None:
        """Load the names of every wanted record, one query per type (visibility applies)."""
        models = {t.name: t.model for t in registry.all_types()}
        for kind, ids in self.wanted.items():
            if kind == "user":
                rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all()
            elif kind == "position":
                rows = db.session.execute(select(Position.id, Position.name).where(Position.id.in_(ids))).all()
            elif kind in models:
                model = models[kind]
                # Visibility applies (the listener filters this select); deleted records keep their names.
                objs = db.session.scalars(select(model).where(model.id.in_(ids))
                                          .execution_options(include_deleted=True))
                rows = [(o.id, o.audit_label) for o in objs]
            else:
                continue
            self.found.update({(kind, i): str(n) for i, n in rows})

    def name(self, kind: str | None, ident: Any) -> str:
        """A referenced record's name, or a placeholder when it is gone or not visible."""
        if ident is None or ident == "":
            return EMPTY
        found = self.found.get((kind or "", ident)) if isinstance(ident, int) else None
        return found if found is not None else _("(not visible to you)")


def _ref_type(object_type: str | None, name: str, fields: dict[str, Any]) -> str | None:
    """The record type a reference field points to, or None when the field is no reference."""
    found = registry.find(object_type)
    if found is not None and name in found.references:
        return found.references[name].__audit_type__
    if name == "related_id":
        related = fields.get("related_type")
        return (related[1] or related[0]) if isinstance(related, list) else None
    if name in REF_TYPES:
        return REF_TYPES[name] or object_type
    if RECORD_FIELDS.get(object_type or "", {}).get(name) == "ref":
        return name.removesuffix("_id")
    return None


def _field_label(object_type: str | None, name: str) -> str:
    text = registry.field_label(object_type, name)
    if text != name:
        return text
    if name in FIELD_LABELS:
        return _(FIELD_LABELS[name])
    return name.removesuffix("_id").replace("_", " ").capitalize()


def _code_table(object_type: str | None, name: str) -> str | None:
    kind = RECORD_FIELDS.get(object_type or "", {}).get(name, "")
    if kind.startswith("code:"):
        return kind[5:]
    found = registry.find(object_type)
    return found.codes.get(name) if found is not None else None


def _value(entry: LogEntry, name: str, value: Any, names: Names, fields: dict[str, Any]) -> str:
    """One before or after value as text."""
    if value is None or value == "":
        return EMPTY
    object_type = entry.object_type
    if (render := VALUE_RENDERERS.get((object_type or "", name))) is not None:
        return render(entry, value)
    if (ref := _ref_type(object_type, name, fields)) is not None:
        return names.name(ref, value)
    if (table := _code_table(object_type, name)) is not None:
        return code_label(table, str(value))
    if object_type == "user" and name == "role":
        return labels.role_label(str(value))
    if object_type == "user" and name == "status":
        return labels.status_label(str(value))
    kind = RECORD_FIELDS.get(object_type or "", {}).get(name, "")
    if kind == "money":
        return format_money(value, class_currency(entry.class_id))
    if isinstance(value, bool) or kind == "bool":
        return _("Yes") if value in (True, "true", "True", 1) else _("No")
    if isinstance(value, str) and (kind == "date" or ISO_DATE.match(value)):
        try:
            return format_date(date.fromisoformat(value), "medium")
        except ValueError:
            return value
    if isinstance(value, str) and (kind == "datetime" or ISO_DATETIME.match(value)):
        return local_time(value, "short")
    return str(value)


def field_changes(entry: LogEntry, names: Names) -> list[FieldChange]:
    """The field-level before → after of an edit, labelled and rendered."""
    changes = entry.changes or {}
    if changes.get("action") != "update":
        return []
    fields: dict[str, Any] = changes.get("fields") or {}
    return [
        FieldChange(name, _field_label(entry.object_type, name),
                    _value(entry, name, ba[0], names, fields), _value(entry, name, ba[1], names, fields))
        for name, ba in fields.items()
        if isinstance(ba, list) and len(ba) == 2 and name != "related_type"
    ]


def _want_refs(entry: LogEntry, names: Names) -> None:
    changes = entry.changes or {}
    if changes.get("action") != "update":
        return
    fields = changes.get("fields") or {}
    for name, ba in fields.items():
        ref = _ref_type(entry.object_type, name, fields) if isinstance(ba, list) else None
        if ref is not None:
            for v in ba:
                names.want(ref, v)


def _param(entry: LogEntry, key: str, value: Any, objectives: dict[tuple[int, str], str]) -> Any:
    """A summary param in the reader's language (codes → labels, UTC → local time, ids → names)."""
    if (render := VALUE_RENDERERS.get((entry.object_type or "", key))) is not None:
        return render(entry, value)
    if key in PARAM_CODES and isinstance(value, str):
        table = PARAM_CODES[key]
        return code_label(table, code_for_label(table, value) or value)
    if key == "type" and isinstance(value, str) and (found := registry.find(value)) is not None:
        return str(found.plural)
    if key == "format" and isinstance(value, str):
        return value.upper()
    if key == "report" and isinstance(value, str):
        from ..reports.registry import find as find_report

        report = find_report(value)
        return f"“{report.title}”" if report is not None else value
    if key == "deadline" and isinstance(value, str):
        return local_time(value, "short")
    if key in MONEY_PARAMS and isinstance(value, str | int | float):
        return format_money(value, class_currency(entry.class_id))
    if key == "objective" and isinstance(value, str):
        return objectives.get((entry.run_id or 0, value), value)
    return value


def summary(entry: LogEntry, objectives: dict[tuple[int, str], str] | None = None) -> str:
    """The entry's summary from its verb and params, in the current language."""
    template = VERBS.get(entry.verb)
    if template is None:
        return f"{verb_label(entry.verb)} {entry.object_label or ''}".strip()
    values = {k: _param(entry, k, v, objectives or {}) for k, v in (entry.params or {}).items()}
    values["label"] = entry.object_label or ""
    try:
        return _(template, **values)
    except (KeyError, ValueError, TypeError):  # an old entry lacking a param the wording gained later
        return f"{verb_label(entry.verb)} {entry.object_label or ''}".strip()


def _objective_titles(entries: list[LogEntry]) -> dict[tuple[int, str], str]:
    """(run id, objective id) → the objective's title in the reader's language, for grading entries."""
    run_ids = {e.run_id for e in entries if e.verb.startswith("grade.") and e.run_id and (e.params or {}).get("objective")}
    if not run_ids:
        return {}
    from ..classroom.models import Run  # the classroom feature reads the log; imported where needed

    zh = _locale().startswith("zh")
    titles = {}
    for run in db.session.scalars(select(Run).where(Run.id.in_(run_ids))):
        try:
            objectives = run.scenario.objectives
        except Exception:  # a stored scenario that no longer parses keeps its ids
            continue
        for o in objectives:
            titles[(run.id, o.id)] = o.title.zh if zh else o.title.en
    return titles


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "zh_Hans_CN")


def actor_text(entry: LogEntry) -> str:
    """Who made the entry, as the log shows it (anonymous for sign-in attempts, else the system)."""
    if entry.actor_label:
        return entry.actor_label
    return _("anonymous") if entry.verb.startswith("auth.") else _("system")


def render_entries(entries: Iterable[LogEntry], fmt: str = "medium") -> list[Rendered]:
    """Render a page of entries; referenced names are loaded once for the whole page."""
    entries = list(entries)
    names = Names()
    for e in entries:
        _want_refs(e, names)
    names.load()
    objectives = _objective_titles(entries)
    return [
        Rendered(e, local_time(e.at, fmt), actor_text(e), summary(e, objectives), verb_label(e.verb),
                 field_changes(e, names))
        for e in entries
    ]
