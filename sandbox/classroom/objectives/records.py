"""The record_count check: the student's current records matching field conditions and having child rows.

Grading is a system computation over one class, so these queries skip the viewer's visibility rule
(`skip_visibility=True`) and are scoped explicitly: owner among the graded students, the run's class,
not in the recycle bin.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, NamedTuple

from flask_babel import gettext as _
from sqlalchemy import and_, case, false, func, literal, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from seed.fields import RECORD_FIELDS, WITH_CHILDREN
from seed.schema import Objective, RecordCount

from ...codes.services import label as code_label
from ...extensions import db
from ...i18n import N_
from ...money import format_money
from ...oplog import LogEntry
from ...records import registry
from .checks import (
    EVIDENCE_LIMIT,
    RECORD_PHRASES,
    CheckKind,
    Context,
    Outcome,
    Phrases,
    count_reason,
    counted,
    field_label,
    make_outcome,
    register_check,
)
from .effects import created_in_class

RECORD_SINGULAR = {"lead": N_("lead"), "account": N_("account"), "contact": N_("contact"),
                   "opportunity": N_("opportunity"), "product": N_("product"), "competitor": N_("competitor"),
                   "activity": N_("activity")}
CHILD_PHRASES = {"lines": N_("with product lines"), "competitors": N_("with competitors"),
                 "contact_roles": N_("with contact roles"), "partners": N_("with partners")}
SYMBOLS = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "in": "∈"}



def record_model(record_type: str) -> Any:
    """The mapped class of a record type name (lead → Lead), from the registry (KeyError if unknown)."""
    return registry.model_of(record_type)


def _typed(kind: str, value: Any) -> Any:
    """A scenario value as the column's Python type (money compares as a number, dates as dates)."""
    if value is None:
        return None
    if kind == "money":
        return Decimal(str(value))
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "date":
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if kind == "datetime":
        if isinstance(value, datetime):
            return value
        return datetime.combine(value, time()) if isinstance(value, date) else datetime.fromisoformat(str(value))
    return value if isinstance(value, str) else str(value)


def _term(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == "in":
        values = [v for v in value if v is not None]
        term = column.in_(values) if values else false()
        return or_(term, column.is_(None)) if None in value else term
    if value is None:
        return {"eq": column.is_(None), "ne": column.is_not(None)}.get(op, false())
    if op == "eq":
        return column == value
    if op == "ne":
        return or_(column != value, column.is_(None))  # an empty field is "not closed_lost" too
    return {"gt": column > value, "gte": column >= value, "lt": column < value, "lte": column <= value}[op]


def _shown(kind: str, value: Any, currency: str | None = None) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(kind, v, currency) for v in value)
    if value is None:
        return "—"
    if kind.startswith("code:"):
        return code_label(kind[5:], value)
    if kind == "money":
        return format_money(value, currency, whole=Decimal(str(value)) == Decimal(str(value)).to_integral_value())
    return str(value)


class Gap(NamedTuple):
    """An ordered condition a student's record may fall short of, to say by how much."""

    column: Any
    op: str
    kind: str
    field: str
    target: str


class Step(NamedTuple):
    """One condition of a record_count check: its words, its SQL and, for ordered fields, the gap to tell."""

    description: str
    condition: ColumnElement[bool]
    gap: Gap | None = None


def where_steps(model: Any, record_type: str, where: dict[str, Any], currency: str | None = None) -> list[Step]:
    """Each `where` clause in the reader's words ("Amount ≥ ¥50,000") with its SQL condition, in file order."""
    steps: list[Step] = []
    for name, condition in where.items():
        kind = RECORD_FIELDS[record_type][name]
        label = field_label(record_type, name)
        ops = condition if isinstance(condition, dict) else {"in" if isinstance(condition, list) else "eq": condition}
        for op, raw in ops.items():
            value = [_typed(kind, v) for v in raw] if op == "in" else _typed(kind, raw)
            target = f"{SYMBOLS[op]} {_shown(kind, raw, currency)}"
            column = getattr(model, name)
            gap = Gap(column, op, kind, label, target) if op in ("gt", "gte", "lt", "lte") else None
            steps.append(Step(f"{label} {target}", _term(column, op, value), gap))
    return steps


def with_steps(model: Any, children: list[str]) -> list[Step]:
    """(description, EXISTS child row) for each child list the record must have."""
    steps: list[Step] = []
    for child in children:
        table = db.metadata.tables[WITH_CHILDREN[child]]
        steps.append(Step(_(CHILD_PHRASES[child]), select(table.c.id).where(table.c.opportunity_id == model.id).exists()))
    return steps


def touched_step(model: Any, record_type: str, ctx: Context) -> Step:
    """The record has an entry by its owner in their run before their deadline (seeded data untouched by the
    student never counts); used to explain what is missing."""
    entry = select(LogEntry.id).where(
        LogEntry.object_type == record_type, LogEntry.object_id == model.id, LogEntry.actor_id == model.owner_id,
        counted(ctx))
    return Step(_("worked on in this run"), entry.exists())


def _base(model: Any, ctx: Context, students: list[int]) -> list[ColumnElement[bool]]:
    return [model.owner_id.in_(students), model.class_id == ctx.class_run.class_id, model.deleted_at.is_(None)]


def _prefix_counts(model: Any, base: list[ColumnElement[bool]], steps: list[Any]) -> list[dict[int, int]]:
    """Per owner, how many records meet `base` and then the first 0, 1, 2… of the steps' conditions: `_counts` of
    each prefix, in one statement (a sum of CASE per prefix over the owners' records)."""
    sums = []
    for i in range(1, len(steps) + 1):
        both = and_(*[step.condition for step in steps[:i]])
        sums.append(func.sum(case((both, 1), else_=0)))
    rows = db.session.execute(select(model.owner_id, func.count(model.id), *sums).where(*base)
                              .group_by(model.owner_id).execution_options(skip_visibility=True)).all()
    found: list[dict[int, int]] = [{} for _ in range(len(steps) + 1)]
    for owner, *counts in rows:
        for i, n in enumerate(counts):
            if n:
                found[i][owner] = int(n)
    return found


# Entries that move or file a record without working on it: a transfer in earns nothing.
NOT_WORK = ("transfer", "export", "delete", "restore")


def _counts_for(ctx: Context, row: Any, source: str) -> bool:
    """Does this entry (actor_id, run_id, at, source) count as its actor's own work in the graded run?"""
    student = row.actor_id
    if student not in ctx.deadlines or row.run_id != ctx.run_ids.get(student) or row.at > ctx.deadlines[student]:
        return False
    return source == "any" or (row.source or "ui") == source


def _chunks(ids: list[int], size: int = 500) -> Any:
    return (ids[start:start + size] for start in range(0, len(ids), size))


def credited_students(check: RecordCount, ctx: Context, record_type: str, records: list[Any]) -> dict[int, set[int]]:
    """Record id → the students who earned it: credit follows the actor in the log, not the current owner.

    With `where` fields, the students whose counted entry last set one of those fields (the deal's win, its
    amount) earned it; a transfer never sets them, so taking over a won deal earns nothing and the student who
    won it keeps it. Without `where`, every student who worked on the record in the run earned it. With
    `touched_in_run: false`, the record's owner before any transfer earns it as well.
    """
    model = record_model(record_type)
    on_records = (LogEntry.object_type == record_type, LogEntry.class_id == ctx.class_run.class_id)
    credit: dict[int, set[int]] = {}
    if check.where:
        _credit_setters(credit, check, ctx, model, records, on_records)
    else:
        _credit_workers(credit, check, ctx, records, on_records)
    if not check.touched_in_run:
        _credit_first_owners(credit, ctx, record_type, records, on_records)
    return credit


def _credit_setters(credit: dict[int, set[int]], check: RecordCount, ctx: Context, model: Any, records: list[Any],
                    on_records: tuple[Any, ...]) -> None:
    """Credit the students whose counted entry last set one of the `where` fields of each record."""
    # Per record and field, the newest entry that set it: read backwards along the record's index, so a
    # record with a long history costs the few entries since its last stage move, not all of them.
    newest = [select(LogEntry.id).where(*on_records, LogEntry.object_id == model.id,
                                        LogEntry.changes[("fields", name)].as_string().is_not(None))
              .order_by(LogEntry.id.desc()).limit(1).correlate(model).scalar_subquery()
              for name in check.where]
    last: set[int] = set()
    for chunk in _chunks([r.id for r in records]):
        for _record_id, *found in db.session.execute(
                select(model.id, *newest).where(model.id.in_(chunk)).execution_options(skip_visibility=True)):
            last.update(ident for ident in found if ident is not None)
    for chunk in _chunks(sorted(last)):
        for row in db.session.execute(select(LogEntry.object_id, LogEntry.actor_id, LogEntry.run_id, LogEntry.at,
                                             LogEntry.source).where(LogEntry.id.in_(chunk))):
            if _counts_for(ctx, row, check.source):
                credit.setdefault(row.object_id, set()).add(row.actor_id)


def _credit_workers(credit: dict[int, set[int]], check: RecordCount, ctx: Context, records: list[Any],
                    on_records: tuple[Any, ...]) -> None:
    """Credit every student who worked on each record in the run (a counted entry that is work)."""
    work = [~LogEntry.verb.endswith(f".{verb}") for verb in NOT_WORK]
    for chunk in _chunks([r.id for r in records]):
        for row in db.session.execute(
                select(LogEntry.object_id, LogEntry.actor_id, LogEntry.run_id, LogEntry.at, LogEntry.source)
                .where(*on_records, LogEntry.object_id.in_(chunk), counted(ctx), *work).distinct()):
            if _counts_for(ctx, row, check.source):
                credit.setdefault(row.object_id, set()).add(row.actor_id)


def _credit_first_owners(credit: dict[int, set[int]], ctx: Context, record_type: str, records: list[Any],
                         on_records: tuple[Any, ...]) -> None:
    """Credit each record's owner before any transfer (a student of the run)."""
    first_owner = {r.id: r.owner_id for r in records}
    for chunk in _chunks([r.id for r in records]):
        for object_id, changes in db.session.execute(
                select(LogEntry.object_id, LogEntry.changes).where(
                    *on_records, LogEntry.object_id.in_(chunk), LogEntry.verb == f"{record_type}.transfer")
                .order_by(LogEntry.id.desc())):
            before = ((changes or {}).get("fields") or {}).get("owner_id")
            if before:
                first_owner[object_id] = before[0]  # the earliest transfer is read last
    for record_id, owner in first_owner.items():
        if owner in ctx.deadlines:
            credit.setdefault(record_id, set()).add(owner)


# Up to this many students, only the records they could have earned are read (see _candidates).
FEW_STUDENTS = 20


def _candidates(check: RecordCount, model: Any, ctx: Context) -> list[ColumnElement[bool]]:
    """SQL narrowing the class's records to those a few students could have earned (none for a whole class).

    Credit goes to a student with a counted entry on the record (credited_students: the last setter of a `where`
    field, or a worker), and, without `touched_in_run`, to its owner before any transfer: its owner now or, for a
    record transferred since, the owner its transfer entries name. Any other record earns these students nothing,
    so leaving it out changes no outcome; the incremental gradebook's refresh of one student no longer reads the
    whole class's records and their histories.
    """
    if len(ctx.student_ids) > FEW_STUDENTS:
        return []
    worked = select(LogEntry.object_id).where(LogEntry.object_type == check.record_type, counted(ctx))
    terms: list[ColumnElement[bool]] = [model.id.in_(worked)]
    if not check.touched_in_run:
        transferred = select(LogEntry.object_id).where(
            LogEntry.object_type == check.record_type, LogEntry.class_id == ctx.class_run.class_id,
            LogEntry.verb == f"{check.record_type}.transfer")
        terms += [model.owner_id.in_(ctx.student_ids), model.id.in_(transferred)]
    return [or_(*terms)]


@register_check
class RecordCountCheck(CheckKind):
    """At least `count` records of the class match `where` and have the `with` children, earned by the student."""

    name = "record_count"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """Count each student's records of the type that match the check, made in class."""
        check: RecordCount = objective.check
        model = record_model(check.record_type)
        steps = (where_steps(model, check.record_type, check.where, ctx.class_run.scenario.currency)
                 + with_steps(model, check.with_))
        records = db.session.execute(
            select(model.id, model.owner_id, model).where(*_class_base(model, ctx), *[step.condition for step in steps],
                                                          *_candidates(check, model, ctx))
            .order_by(model.id).execution_options(skip_visibility=True)).all()
        credit = credited_students(check, ctx, check.record_type, records)
        if check.origin != "any" and credit:
            made = created_in_class(literal(check.record_type), model.id, ctx.class_run.class_id)
            kept = set(db.session.scalars(select(model.id).where(
                model.id.in_(list(credit)), made if check.origin == "created" else not_(made))
                .execution_options(skip_visibility=True)))
            credit = {rid: who for rid, who in credit.items() if rid in kept}
        earned: dict[int, list[Any]] = {}
        for row in records:
            for student in sorted(credit.get(row.id, ())):
                earned.setdefault(student, []).append(row)
        tr = Phrases()
        what = tr(N_("%(records)s meeting all the conditions"), records=tr(RECORD_PHRASES[check.record_type]))
        result = {s: make_outcome(objective, len(earned.get(s, [])), check.count,
                                  count_reason(len(earned.get(s, [])), check.count, what, tr)) for s in ctx.student_ids}
        if ctx.evidence:
            base = _base(model, ctx, ctx.student_ids)
            self._explain(result, model, check, base, steps, ctx)
            for student, rows in earned.items():
                outcome = result[student]
                outcome.records = [(check.record_type, row.id, row[2].audit_label) for row in rows[:EVIDENCE_LIMIT]]
                outcome.entry_ids = list(db.session.scalars(
                    select(LogEntry.id).where(LogEntry.object_type == check.record_type,
                                              LogEntry.object_id.in_([row.id for row in rows[:EVIDENCE_LIMIT]]),
                                              counted(ctx, [student]))
                    .order_by(LogEntry.at, LogEntry.id).limit(EVIDENCE_LIMIT)))
        return result

    @staticmethod
    def _explain(result: dict[int, Outcome], model: Any, check: RecordCount, base: list[Any], steps: list[Step],
                 ctx: Context) -> None:
        currency = ctx.class_run.scenario.currency
        """Say what is missing: the first condition that drops a record the student needed (their own records)."""
        short = {s for s, o in result.items() if o.done < check.count}
        if not short:
            return
        conditions = list(base)
        every = [*steps, *([touched_step(model, check.record_type, ctx)] if check.touched_in_run else [])]
        prefixes = _prefix_counts(model, base, every)  # each student's records meeting the first 0, 1, 2… steps
        before = prefixes[0]
        for step, after in zip(every, prefixes[1:], strict=True):
            if not short:
                return
            conditions.append(step.condition)
            for student in sorted(short):
                if after.get(student, 0) < min(before.get(student, 0), check.count):
                    outcome = result[student]
                    missing = _(
                        "Missing: %(condition)s (%(have)d of your %(records)s meet the conditions before it).",
                        condition=step.description, have=before.get(student, 0),
                        records=_(RECORD_PHRASES[check.record_type]))
                    closest = _closest(model, check.record_type, step.gap, conditions[:-1], student, currency)
                    if closest:
                        missing = _("%(sentence)s %(next)s", sentence=missing, next=closest)
                    # Two sentences joined the way the language joins them (Chinese ends a sentence with 。).
                    outcome.reason = _("%(sentence)s. %(next)s", sentence=outcome.reason, next=missing)
                    short.discard(student)
            before = after


def _closest(model: Any, record_type: str, gap: Gap | None, conditions: list[Any], student: int,
             currency: str | None) -> str | None:
    """"Your closest opportunity's Amount is ¥38,320; this objective needs ≥ ¥50,000." (None: nothing to say)."""
    if gap is None or gap.kind not in ("money", "int", "date", "datetime"):
        return None
    best = (func.max if gap.op in ("gt", "gte") else func.min)(gap.column)
    value = db.session.scalar(select(best).where(*conditions, model.owner_id == student)
                              .execution_options(skip_visibility=True))
    if value is None:
        return None
    shown = _shown(gap.kind, value, currency)
    return _("Your closest %(record)s's %(field)s is %(value)s; this objective needs %(target)s.",
             record=_(RECORD_SINGULAR[record_type]), field=gap.field, value=shown, target=gap.target)


def _class_base(model: Any, ctx: Context) -> list[ColumnElement[bool]]:
    return [model.class_id == ctx.class_run.class_id, model.deleted_at.is_(None)]
