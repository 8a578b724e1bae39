"""The sequence check: verbs in a given order, on one record (same_record) or anywhere in the student's stream.

The subject of an entry is its object, except for activity.* entries, which stand for the record the
activity is about (params related_type/related_id): a call logged on a lead, then `lead.convert` of it.
Only the step verbs' entries are read (id, actor, verb, subject), oldest first, and matched in Python;
a sequence of one repeated verb (4 × opportunity.stage_change) is counted per record in SQL instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, func, select

from seed.schema import Objective, Sequence

from ..activities.models import Activity
from ..extensions import db
from ..oplog import LogEntry
from .objectives import EVIDENCE_LIMIT, CheckKind, Context, Outcome, counted, register_check, scored

Subject = tuple[str, int]


@dataclass
class _Progress:
    """How far one subject (or one student's stream) got through the steps."""

    steps: int = 0
    entry_ids: list[int] = field(default_factory=list)


def _subject_columns(steps: list[str]) -> tuple[Any, Any]:
    """SQL (subject type, subject id) of an entry: the related record for activity.* verbs."""
    activity = sorted({s for s in steps if s.startswith("activity.")})
    if not activity:
        return LogEntry.object_type, LogEntry.object_id
    is_activity = LogEntry.verb.in_(activity)
    return (case((is_activity, LogEntry.params["related_type"].as_string()), else_=LogEntry.object_type),
            case((is_activity, LogEntry.params["related_id"].as_integer()), else_=LogEntry.object_id))


def _fill_missing_subjects(rows: list[Any]) -> list[Any]:
    """Activity entries without related params (edits, older entries): take the activity's current record."""
    missing = {row[4] for row in rows if row[2].startswith("activity.") and row[3] is None and row[4] is not None}
    if not missing:
        return rows
    related = {ident: (kind, rid) for ident, kind, rid in db.session.execute(
        select(Activity.id, Activity.related_type, Activity.related_id).where(Activity.id.in_(missing))
        .execution_options(skip_visibility=True))}
    filled = []
    for row in rows:
        if row[2].startswith("activity.") and row[3] is None:
            kind, rid = related.get(row[4], (None, None))
            row = (row[0], row[1], row[2], kind, rid)
        filled.append(row)
    return filled


def _labels(entry_ids: set[int]) -> dict[int, str]:
    """Entry id → the label of its subject (the related record's label for activity entries)."""
    if not entry_ids:
        return {}
    rows = db.session.execute(
        select(LogEntry.id, LogEntry.verb, LogEntry.object_label, LogEntry.params).where(LogEntry.id.in_(entry_ids)))
    return {ident: ((params or {}).get("related") if verb.startswith("activity.") else label) or ""
            for ident, verb, label, params in rows}


def _reason_same_record(check: Sequence, full: int, best: int, label: str) -> str:
    n, needed = len(check.steps), check.count
    if full >= needed:
        if needed == 1:
            return _("All %(steps)d steps done on “%(label)s”.", steps=n, label=label)
        return _("All %(steps)d steps done on %(done)d of %(needed)d records.", steps=n, done=full, needed=needed)
    if best == 0 and full == 0:
        return _("0 of %(steps)d steps done (%(sequence)s).", steps=n, sequence=" → ".join(check.steps))
    if needed == 1:
        return _("Best: %(done)d of %(steps)d steps on “%(label)s”.", done=best, steps=n, label=label)
    text = _("All steps done on %(done)d of %(needed)d records.", done=full, needed=needed)
    if best:
        text += " " + _("Best of the others: %(done)d of %(steps)d steps on “%(label)s”.", done=best, steps=n,
                        label=label)
    return text


@register_check
class SequenceCheck(CheckKind):
    """The steps happened in order, `count` times (per record with same_record)."""

    name = "sequence"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        check: Sequence = objective.check
        if check.same_record and len(set(check.steps)) == 1:
            progress = self._repeated(check, ctx)
        elif check.same_record:
            progress = self._per_subject(check, ctx)
        else:
            return self._stream(objective, check, ctx)
        return self._score_subjects(objective, check, ctx, progress)

    def _rows(self, check: Sequence, ctx: Context, students: list[int] | None = None) -> list[Any]:
        subject_type, subject_id = _subject_columns(check.steps)
        return db.session.execute(
            select(LogEntry.id, LogEntry.actor_id, LogEntry.verb, subject_type, subject_id)
            .where(counted(ctx, students), LogEntry.verb.in_(sorted(set(check.steps))))
            .order_by(LogEntry.at, LogEntry.id)).all()

    def _per_subject(self, check: Sequence, ctx: Context) -> dict[int, dict[Subject, _Progress]]:
        """Greedy in-order matching per (student, subject): the longest prefix of the steps each reached."""
        steps, n = check.steps, len(check.steps)
        found: dict[int, dict[Subject, _Progress]] = defaultdict(dict)
        for ident, actor, verb, kind, rid in _fill_missing_subjects(self._rows(check, ctx)):
            if kind is None or rid is None:
                continue
            progress = found[actor].get((kind, rid))
            if progress is None:
                if verb != steps[0]:
                    continue
                progress = found[actor][(kind, rid)] = _Progress()
            if progress.steps < n and verb == steps[progress.steps]:
                progress.steps += 1
                progress.entry_ids.append(ident)
        return found

    def _repeated(self, check: Sequence, ctx: Context) -> dict[int, dict[Subject, _Progress]]:
        """One verb n times on a record: count per record in SQL (first entry id kept for the label)."""
        subject_type, subject_id = _subject_columns(check.steps)
        rows = db.session.execute(
            select(LogEntry.actor_id, subject_type, subject_id, func.count(), func.min(LogEntry.id))
            .where(counted(ctx), LogEntry.verb == check.steps[0])
            .group_by(LogEntry.actor_id, subject_type, subject_id)).all()
        found: dict[int, dict[Subject, _Progress]] = defaultdict(dict)
        for actor, kind, rid, count, first in rows:
            if kind is not None and rid is not None:
                found[actor][(kind, rid)] = _Progress(min(count, len(check.steps)), [first])
        if ctx.evidence:  # the entries themselves, oldest first, for the students shown
            entries: dict[tuple[int, Subject], list[int]] = defaultdict(list)
            for ident, actor, _verb, kind, rid in self._rows(check, ctx):
                entries[(actor, (kind, rid))].append(ident)
            for (actor, subject), ids in entries.items():
                if subject in found[actor]:
                    found[actor][subject].entry_ids = ids[:len(check.steps)]
        return found

    def _score_subjects(self, objective: Objective, check: Sequence, ctx: Context,
                        found: dict[int, dict[Subject, _Progress]]) -> dict[int, Outcome]:
        n, needed = len(check.steps), check.count
        picks: dict[int, tuple[list[Subject], Subject | None]] = {}
        for student in ctx.student_ids:
            subjects = found.get(student, {})
            full = [s for s, p in subjects.items() if p.steps >= n]
            others = [s for s, p in subjects.items() if p.steps < n]
            best = max(others, key=lambda s: (subjects[s].steps, -subjects[s].entry_ids[0]), default=None)
            picks[student] = (full, best)
        wanted = set()
        for student, (full, best) in picks.items():
            subjects = found.get(student, {})
            if best is not None:
                wanted.add(subjects[best].entry_ids[0])
            if full:
                wanted.add(subjects[full[0]].entry_ids[0])
            if ctx.evidence:
                wanted.update(subjects[s].entry_ids[0] for s in full)
        labels = _labels(wanted)
        result: dict[int, Outcome] = {}
        for student, (full, best) in picks.items():
            subjects = found.get(student, {})
            best_steps = subjects[best].steps if best is not None else 0
            shown = full[0] if len(full) >= needed else best
            label = labels.get(subjects[shown].entry_ids[0], "") if shown is not None else ""
            done_full = min(len(full), needed)
            fraction = (done_full + (best_steps / n if done_full < needed else 0)) / needed
            done, of = (best_steps, n) if needed == 1 and not full else (len(full), needed)
            outcome = scored(objective, done, of, fraction, _reason_same_record(check, len(full), best_steps, label))
            if ctx.evidence:
                chosen = full + ([best] if best is not None and len(full) < needed else [])
                for subject in chosen[:EVIDENCE_LIMIT]:
                    outcome.records.append((*subject, labels.get(subjects[subject].entry_ids[0], "")))
                    outcome.entry_ids.extend(subjects[subject].entry_ids)
                outcome.entry_ids = outcome.entry_ids[:EVIDENCE_LIMIT]
            result[student] = outcome
        return result

    def _stream(self, objective: Objective, check: Sequence, ctx: Context) -> dict[int, Outcome]:
        """Disjoint in-order runs of the steps anywhere in each student's stream."""
        steps, n, needed = check.steps, len(check.steps), check.count
        full: dict[int, int] = defaultdict(int)
        current: dict[int, _Progress] = defaultdict(_Progress)
        used: dict[int, list[int]] = defaultdict(list)
        for ident, actor, verb, _kind, _rid in self._rows(check, ctx):
            progress = current[actor]
            if verb == steps[progress.steps]:
                progress.steps += 1
                progress.entry_ids.append(ident)
                if progress.steps == n:
                    full[actor] += 1
                    used[actor].extend(progress.entry_ids)
                    current[actor] = _Progress()
        result: dict[int, Outcome] = {}
        for student in ctx.student_ids:
            done, partial = full.get(student, 0), current[student].steps if student in current else 0
            fraction = (min(done, needed) + (partial / n if done < needed else 0)) / needed
            if done >= needed:
                reason = _("The steps were done in order %(done)d of %(needed)d times.", done=done, needed=needed)
            else:
                reason = _("The steps were done in order %(done)d of %(needed)d times; next: %(next)s "
                           "(%(steps)d of %(all)d steps of the next run done).", done=done, needed=needed,
                           next=steps[partial], steps=partial, all=n)
            outcome = scored(objective, done, needed, fraction, reason)
            if ctx.evidence:
                outcome.entry_ids = (used.get(student, []) + (current[student].entry_ids if done < needed else []))[
                    :EVIDENCE_LIMIT]
            result[student] = outcome
        return result
