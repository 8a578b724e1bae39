"""Objective checks: a registry of check kinds by name (like CTFd's challenge types), evaluated in batch.

A kind turns one scenario objective into an `Outcome` per student, for all students at once: one
aggregated query per objective, never one per student. Only a student's own entries count, in the run
that counts for them, at or before their deadline. log_count and manual live here; record_count in
records.py and sequence in sequence.py (imported at the bottom, so they register).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from flask_babel import gettext as _
from sqlalchemy import and_, case, false, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from seed.schema import LogCount, Objective

from ...extensions import db
from ...i18n import N_
from ...oplog import LogEntry
from ...org.models import User
from ..models import Run
from .effects import effect_conditions, subject_key

CENT = Decimal("0.01")
# Evidence lists stay readable; a student who logged 5,000 calls does not need all of them shown.
EVIDENCE_LIMIT = 200

# What a counted verb produces, for reasons such as "2 of 3 leads converted".
VERB_PHRASES = {
    "lead.convert": N_("leads converted"),
    "lead.create": N_("leads created"),
    "lead.update": N_("lead edits"),
    "activity.log_call": N_("calls to different records"),
    "activity.create": N_("activities created"),
    "activity.complete": N_("tasks completed"),
    "opportunity.add_line": N_("product lines added"),
    "opportunity.add_competitor": N_("competitors recorded on opportunities"),
    "opportunity.add_contact_role": N_("contact roles added"),
    "opportunity.stage_change": N_("stage changes"),
    "competitor.create": N_("competitors created"),
    "account.create": N_("accounts created"),
    "contact.create": N_("contacts created"),
    "segment.save": N_("customer segments saved as tags"),
    "opportunity.create": N_("opportunities created"),
    "note.create": N_("notes written"),
    "case.create": N_("cases opened"),
    "case.transition": N_("cases moved to another state"),
    "case.solved_by": N_("cases linked to the knowledge article that solved them"),
}
RECORD_PHRASES = {"lead": N_("leads"), "account": N_("accounts"), "contact": N_("contacts"),
                  "opportunity": N_("opportunities"), "product": N_("products"), "competitor": N_("competitors"),
                  "activity": N_("activities"), "case": N_("cases")}
# The same verbs counted per parent record (`per: parent`).
PARENT_PHRASES = {
    "opportunity.add_line": N_("opportunities given product lines"),
    "opportunity.add_competitor": N_("opportunities with a competitor recorded"),
    "opportunity.add_contact_role": N_("opportunities with contact roles"),
    "opportunity.add_partner": N_("opportunities with partners"),
    "note.create": N_("records with notes"),
}


def field_label(record_type: str, name: str) -> str:
    """A field as the record's form names it (Amount, 金额), falling back to its name (the registry's label)."""
    from ...records import registry

    return registry.field_label(record_type, name)


def field_change(check: LogCount) -> str:
    """The field a log_count watches, as the record's form names it, with its target value's label: "Status → Qualified"."""
    from seed.fields import RECORD_FIELDS

    from ...codes.services import label

    noun = check.object_type or check.verb.split(".", 1)[0]
    name = field_label(noun, check.field or "")
    if check.to is None:
        return name
    kind = RECORD_FIELDS.get(noun, {}).get(check.field or "", "")
    value = label(kind[5:], str(check.to)) if kind.startswith("code:") else str(check.to)
    return f"{name} → {value}"


@dataclass
class Document:
    """A note or attachment the student wrote in the run: what a manual objective is scored on."""

    kind: str  # note | attachment
    ident: int
    text: str
    parent_type: str
    parent_id: int
    parent_label: str
    at: datetime
    deleted_at: datetime | None = None
    deleted_by: str | None = None


@dataclass
class Outcome:
    """What one student achieved on one objective, with partial credit and (optionally) the evidence."""

    objective_id: str
    done: int
    needed: int
    fraction: float
    points: Decimal
    reason: str
    entry_ids: list[int] = field(default_factory=list)
    records: list[tuple[str, int, str]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)

    @property
    def met(self) -> bool:
        """Whether the objective is fully reached."""
        return self.fraction >= 1


@dataclass
class Context:
    """Who is graded in which class run: each student's counting run and deadline."""

    class_run: Run
    student_ids: list[int]
    run_ids: dict[int, int]
    deadlines: dict[int, datetime]
    evidence: bool = False
    cutoffs: dict[datetime, int] = field(default_factory=dict)  # deadline → id cutoff (see cutoff())
    # The run's records are the class's data now. A replaced or undone run's records are gone (a snapshot holds
    # them), so whether its effects still stand cannot be read: its grades count distinct effects from the log.
    live: bool = True


class CheckKind:
    """One kind of check; subclasses register by name and evaluate an objective for all students at once."""

    name: ClassVar[str] = ""

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """The outcome of `objective` for every student of the context."""
        raise NotImplementedError


CHECKS: dict[str, CheckKind] = {}


def register_check(cls: type[CheckKind]) -> type[CheckKind]:
    """Class decorator: make a check kind available to scenarios under `cls.name`."""
    CHECKS[cls.name] = cls()
    return cls


def evaluate(objective: Objective, ctx: Context) -> dict[int, Outcome]:
    """Every student's outcome on one objective (a student missing from the kind's answer scores 0)."""
    kind = CHECKS.get(objective.check.kind)
    if kind is None:
        raise KeyError(f"no check kind {objective.check.kind!r}")
    return kind.evaluate(objective, ctx)


def make_outcome(objective: Objective, done: int, needed: int, reason: str, **evidence: Any) -> Outcome:
    """An outcome with partial credit done/needed (capped at 1) and its points to the cent."""
    fraction = min(1.0, done / needed) if needed > 0 else 0.0
    return scored(objective, done, needed, fraction, reason, **evidence)


def scored(objective: Objective, done: int, needed: int, fraction: float, reason: str, **evidence: Any) -> Outcome:
    """An outcome with an explicit fraction (sequences give credit for a partial run of steps)."""
    fraction = max(0.0, min(1.0, fraction))
    points = (Decimal(objective.points) * Decimal(str(fraction))).quantize(CENT, rounding=ROUND_HALF_UP)
    return Outcome(objective.id, done, needed, fraction, points, reason, **evidence)


def cutoff(ctx: Context, deadline: datetime) -> int:
    """The highest entry id below which every entry of the class is at or before `deadline` (cached per context).

    Ids grow with time, so `id <= cutoff` answers the deadline from the index (entry ids are in every
    SQLite index) and only the few entries past the cutoff are read to compare their time. The first
    entry after the deadline bounds it exactly, whatever the order in which concurrent requests wrote.
    """
    if deadline not in ctx.cutoffs:
        # id + 0: SQLite would otherwise walk the table by id instead of the (class_id, at) index.
        first_after = db.session.scalar(select(func.min(LogEntry.id + 0)).where(
            LogEntry.class_id == ctx.class_run.class_id, LogEntry.at > deadline))
        newest = db.session.scalar(select(func.max(LogEntry.id))) or 0
        ctx.cutoffs[deadline] = first_after - 1 if first_after is not None else newest
    return ctx.cutoffs[deadline]


def before(deadline: datetime, safe_id: Any) -> ColumnElement[bool]:
    """SQL: an entry at or before the deadline (the time is only read past the id cutoff)."""
    return case((LogEntry.id <= safe_id, true()), else_=LogEntry.at <= deadline)


def counted(ctx: Context, students: list[int] | None = None) -> ColumnElement[bool]:
    """SQL: a log entry that counts as student work: own, in the student's run, not after their deadline.

    Students are grouped by (run, deadline), so a class with a few re-runs and extensions stays a short
    OR of index-friendly `run_id = ? AND actor_id IN (...)` terms. Staff never act as students, so their
    entries (overrides included) are never among these actors'.
    """
    groups: dict[tuple[int, datetime], list[int]] = defaultdict(list)
    for student in ctx.student_ids if students is None else students:
        groups[(ctx.run_ids[student], ctx.deadlines[student])].append(student)
    terms = [
        and_(LogEntry.run_id == run_id, LogEntry.actor_id.in_(sorted(ids)), before(deadline, cutoff(ctx, deadline)))
        for (run_id, deadline), ids in sorted(groups.items())
    ]
    return or_(*terms) if terms else false()


def _by_student(column: Any, values: dict[int, Any], default: Any) -> Any:
    """SQL: `values[column]` for the students who differ from `default` (a CASE on the student id)."""
    special = {student: value for student, value in values.items() if value != default}
    return case(special, value=column, else_=literal(default)) if special else literal(default)


def counted_for(ctx: Context, student: Any) -> ColumnElement[bool]:
    """SQL: counted() for the student of an outer query row (`student` is its id column), for correlated reads."""
    class_run = ctx.class_run
    safe = {s: cutoff(ctx, d) for s, d in ctx.deadlines.items()}
    return and_(
        LogEntry.run_id == _by_student(student, ctx.run_ids, class_run.id),
        LogEntry.actor_id == student,
        before(_by_student(student, ctx.deadlines, class_run.deadline),
               _by_student(student, safe, cutoff(ctx, class_run.deadline))))


def new_value_is(path: tuple[str, ...], value: Any) -> ColumnElement[bool]:
    """SQL: the JSON value at `path` of an entry's changes equals `value` (numbers compare as numbers)."""
    element = LogEntry.changes[path]
    if isinstance(value, bool):
        return element.as_boolean() == value
    if isinstance(value, int | float | Decimal):
        # Money is logged as a string ("50000.00"), counts as JSON numbers: compare both as numbers.
        return element.as_float() == float(value)
    if value is None:
        return element.as_string().is_(None)
    return element.as_string() == str(value)


def log_conditions(check: LogCount) -> list[ColumnElement[bool]]:
    """SQL conditions of a log_count check besides who and when."""
    conditions: list[ColumnElement[bool]] = [LogEntry.verb == check.verb]
    if check.object_type:
        conditions.append(LogEntry.object_type == check.object_type)
    if check.field:
        if check.to is not None:
            conditions.append(new_value_is(("fields", check.field, 1), check.to))
        else:
            # The field is among the entry's changes ([before, after] list present).
            conditions.append(LogEntry.changes[("fields", check.field)].as_string().is_not(None))
    return conditions


class Phrases:
    """Translations looked up once per evaluation: flask-babel's gettext costs ~50 µs a call, and a reason is
    written for every student. Messages are marked with N_ where they are written, so they are extracted."""

    def __init__(self) -> None:
        self._found: dict[str, str] = {}

    def __call__(self, message: str, **values: Any) -> str:
        """The phrase in the reader's language, with its values filled in."""
        text = self._found.get(message)
        if text is None:
            text = self._found[message] = _(message)
        return text % values if values else text


def verb_phrase(verb: str, tr: Phrases) -> str:
    """"leads converted" for lead.convert; a neutral phrase for verbs without one."""
    phrase = VERB_PHRASES.get(verb)
    return tr(phrase) if phrase else tr(N_("matching actions (%(verb)s)"), verb=verb)


def count_reason(done: int, needed: int, what: str, tr: Phrases) -> str:
    """"2 of 3 leads converted; 1 more needed" (or just the count when met)."""
    if done >= needed:
        return tr(N_("%(done)d of %(needed)d %(what)s"), done=done, needed=needed, what=what)
    return tr(N_("%(done)d of %(needed)d %(what)s; %(left)d more needed"), done=done, needed=needed, what=what,
              left=needed - done)


def log_effects(check: LogCount, ctx: Context) -> list[ColumnElement[bool]]:
    """SQL: the entry still stands (while the run is live), came from an allowed source and is about a record of
    the wanted origin."""
    return effect_conditions(check.verb, object_type=check.object_type, field=check.field, to=check.to,
                             source=check.source, origin=check.origin, live=ctx.live)


def count_phrase(check: LogCount, tr: Phrases) -> str:
    """What a log_count counts, in words: "leads converted", "opportunities with a competitor recorded"."""
    if check.per == "parent" and check.verb in PARENT_PHRASES:
        return tr(PARENT_PHRASES[check.verb])
    if check.field:
        # Distinct records count, so name the records, not the edits: "leads set to Status → Qualified".
        noun = check.object_type or check.verb.split(".", 1)[0]
        records = tr(RECORD_PHRASES[noun]) if noun in RECORD_PHRASES else verb_phrase(check.verb, tr)
        if check.to is not None:
            return tr(N_("%(records)s set to %(change)s"), records=records, change=field_change(check))
        return tr(N_("%(records)s with %(field)s changed"), records=records, field=field_change(check))
    return verb_phrase(check.verb, tr)


@register_check
class LogCountCheck(CheckKind):
    """At least `count` distinct standing effects of a verb (on a record type, changing a field, to a value).

    Distinct: five calls to one lead reach one lead; the same lead qualified five times is one lead.
    Standing: a removed line, a deleted record, a value set back earns nothing (see effects.py).
    """

    name = "log_count"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """Count each student's matching log entries (net effects when the check asks for them)."""
        check = objective.check
        conditions = log_conditions(check) + log_effects(check, ctx)
        key = subject_key(check.verb, check.per)
        # With the evidence, each student's matching entries are read anyway: when they are all read (fewer than
        # EVIDENCE_LIMIT), their distinct subjects are the count and the counting statement is not sent.
        evidence = {student: self._evidence_rows(check, conditions, ctx, student)
                    for student in ctx.student_ids} if ctx.evidence else {}
        counts = {student: min(len({row[4] for row in rows}), check.count) for student, rows in evidence.items()
                  if len(rows) < EVIDENCE_LIMIT}
        if len(counts) < len(ctx.student_ids):
            # Distinct subjects, capped at `count` per student (a correlated DISTINCT … LIMIT): points stop there
            # anyway, and a student who has met the objective costs a few index probes instead of a pass over the run.
            found = (select(key.label("subject")).where(counted_for(ctx, User.id), *conditions)
                     .distinct().limit(check.count))
            capped = select(func.count()).select_from(found.correlate(User).subquery()).scalar_subquery()
            todo = [student for student in ctx.student_ids if student not in counts]
            counts.update(db.session.execute(
                select(User.id, capped).where(User.id.in_(todo)).execution_options(skip_visibility=True)).all())
        tr = Phrases()
        what = count_phrase(check, tr)
        result: dict[int, Outcome] = {}
        for student in ctx.student_ids:
            done = counts.get(student, 0)
            result[student] = make_outcome(objective, done, check.count, count_reason(done, check.count, what, tr))
        if ctx.evidence:
            self._evidence(result, check, evidence, ctx, tr)
        return result

    @staticmethod
    def _evidence_rows(check: LogCount, conditions: list[Any], ctx: Context, student: int) -> list[Any]:
        """The student's matching entries (the first EVIDENCE_LIMIT), oldest first, with each one's subject."""
        key = subject_key(check.verb, check.per)
        return db.session.execute(
            select(LogEntry.id, LogEntry.object_type, LogEntry.object_id, LogEntry.object_label, key)
            .where(counted(ctx, [student]), *conditions)
            .order_by(LogEntry.at, LogEntry.id).limit(EVIDENCE_LIMIT).execution_options(skip_visibility=True)).all()

    @staticmethod
    def _evidence(result: dict[int, Outcome], check: LogCount, evidence: dict[int, list[Any]], ctx: Context,
                  tr: Phrases) -> None:
        for student, outcome in result.items():
            rows = evidence[student]
            subjects: set[str] = set()
            seen: dict[tuple[str, int], str] = {}
            for row in rows:
                if row[4] in subjects or len(subjects) >= check.count:
                    continue
                subjects.add(row[4])
                outcome.entry_ids.append(row.id)
                if row.object_type and row.object_id is not None:
                    seen.setdefault((row.object_type, row.object_id), row.object_label or "")
            outcome.records = [(kind, ident, label) for (kind, ident), label in seen.items()]
            if outcome.done >= check.count:
                continue  # met: nothing to say about what did not count (the count below is not read)
            # Say what did not count, so a student who repeated or undid work knows why.
            tried = db.session.scalar(select(func.count()).select_from(
                select(LogEntry.id).where(counted(ctx, [student]), *log_conditions(check))
                .limit(EVIDENCE_LIMIT).subquery()))
            if tried and tried > outcome.done:
                outcome.reason = tr(N_("%(sentence)s. %(next)s"), sentence=outcome.reason, next=tr(N_(
                    "%(n)d of your actions did not count: repeated on the same record, undone since, imported, or on records "
                    "this objective does not count"),
                    n=tried - outcome.done))


@register_check
class ManualCheck(CheckKind):
    """Scored by the instructor: no automatic points, only an override gives them. The evidence is what the
    student wrote in the run, deleted notes and attachments included (marked), so deleting a student's note
    never takes away what the instructor grades."""

    name = "manual"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """The instructor's score: zero until an override gives one."""
        reason = _("Awaiting the instructor's score.")
        result = {student: make_outcome(objective, 0, 1, reason) for student in ctx.student_ids}
        if ctx.evidence:
            for student, outcome in result.items():
                outcome.documents = written_documents(ctx, student)
        return result


def written_documents(ctx: Context, student: int) -> list[Document]:
    """The notes and attachments `student` added in their run, oldest first, with who deleted them and when."""
    from ...records.models import Attachment, Note

    rows = db.session.execute(
        select(LogEntry.verb, LogEntry.object_type, LogEntry.object_id, LogEntry.object_label, LogEntry.params)
        .where(counted(ctx, [student]), LogEntry.verb.in_(("note.create", "attachment.upload")))
        .order_by(LogEntry.at, LogEntry.id).limit(EVIDENCE_LIMIT)).all()
    wanted = {"note": {}, "attachment": {}}
    for verb, kind, ident, label, params in rows:
        key = "note" if verb == "note.create" else "attachment"
        child = (params or {}).get(f"{key}_id")
        if child is not None:
            wanted[key][child] = (kind, ident, label or "")
    deleters: dict[int, str] = {}
    found: list[Document] = []
    for key, model, text in (("note", Note, Note.body), ("attachment", Attachment, Attachment.filename)):
        if not wanted[key]:
            continue
        for ident, body, at, deleted_at, deleted_by in db.session.execute(
                select(model.id, text, model.created_at, model.deleted_at, model.deleted_by_id)
                .where(model.id.in_(list(wanted[key])))):
            kind, parent_id, label = wanted[key][ident]
            if deleted_by is not None and deleted_by not in deleters:
                deleters[deleted_by] = db.session.scalar(select(User.display_name).where(User.id == deleted_by)) or ""
            found.append(Document(key, ident, body, kind, parent_id, label, at, deleted_at,
                                  deleters.get(deleted_by) if deleted_by is not None else None))
    return sorted(found, key=lambda d: (d.at, d.kind, d.ident))


from . import forecasts, records, sequence, service  # noqa: E402,F401  (they register their kinds)
