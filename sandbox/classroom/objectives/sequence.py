"""The sequence check: verbs in a given order, on one record (same_record) or anywhere in the student's stream.

The subject of an entry is its object, except for activity.* entries, which stand for the record the
activity is about (params related_type/related_id): a call logged on a lead, then `lead.convert` of it.
Only the step verbs' entries are read (id, actor, verb, subject) and matched in Python, in id order (one
student's entries are written one after the other, so id order is the order they acted in). The run is
read in slices of ids, oldest first, and a student who has met the objective drops out of the next
slices: a class that did the work early costs a small part of the run.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, null, or_, select

from seed.fields import DEFAULT_CODES
from seed.schema import Objective, Sequence

from ...activities.models import Activity
from ...extensions import db
from ...i18n import N_
from ...oplog import LogEntry
from ...opportunities.models import StageHistory
from .checks import EVIDENCE_LIMIT, CheckKind, Context, Outcome, Phrases, counted, register_check, scored
from .effects import source_condition, standing

Subject = tuple[str, int]
# Slice ends as shares of the run's id range: small first (most students finish early), then doubling.
SLICES = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
SLICED_FROM = 10_000  # a run spanning fewer ids is read in one go
FEW_STUDENTS = 20  # so are a few students' entries
STAGE_CHANGE = "opportunity.stage_change"
STAGE_VERBS = (STAGE_CHANGE, "opportunity.reopen")  # an edit of the stage is logged as a stage change
_STAGES = DEFAULT_CODES["opportunity_stage"]
# Won and lost are both the end of the road: moving from one to the other is not progress.
STAGE_RANK = {code: min(i, _STAGES.index("closed_won")) for i, code in enumerate(_STAGES)}


def forward_moves(ctx: Context, students: list[int]) -> set[int]:
    """Ids of the students' stage changes that moved a deal forward and were not undone by a later move back.

    Per student and opportunity, the stages reached form a rising stack: a move back (a stage change, a reopen,
    an edit of the stage) pops every stage at or above where the deal lands, so a forward move stands exactly
    when every later move of that deal lands higher. qualification → prospecting → qualification → prospecting
    leaves nothing. One window query: the lowest stage any later move of the same deal lands on.
    """
    top = len(_STAGES)
    new = case(STAGE_RANK, value=LogEntry.changes[("fields", "stage", 1)].as_string(), else_=top)
    old = case(STAGE_RANK, value=LogEntry.changes[("fields", "stage", 0)].as_string(), else_=None)
    later = func.min(new).over(partition_by=(LogEntry.actor_id, LogEntry.object_id), order_by=LogEntry.id,
                               rows=(1, None))
    moves = (select(LogEntry.id, LogEntry.verb, new.label("new"), old.label("old"), later.label("later"))
             .where(counted(ctx, students), LogEntry.verb.in_(STAGE_VERBS), LogEntry.object_type == "opportunity",
                    LogEntry.changes[("fields", "stage")].as_string().is_not(None))
             .subquery())
    return set(db.session.scalars(select(moves.c.id).where(
        moves.c.verb == STAGE_CHANGE, moves.c.old.is_not(None), moves.c.new > moves.c.old,
        or_(moves.c.later.is_(None), moves.c.new < moves.c.later))))


def moves_standing(ctx: Context, moves: list[int]) -> set[int]:
    """Which of these stage changes (log entry ids) moved their deal forward and still stand: forward_moves() for
    a done student's decisive moves, read from the deals' stage history (a small table, one index probe per
    deal) instead of a pass over the log: a later move by the same student landing at or below a move's stage
    takes it back."""
    top = len(_STAGES)
    entries = db.session.execute(
        select(LogEntry.id, LogEntry.actor_id, LogEntry.object_id, LogEntry.at,
               LogEntry.changes[("fields", "stage", 0)].as_string(), LogEntry.changes[("fields", "stage", 1)].as_string())
        .where(LogEntry.id.in_(moves))).all()
    # Per deal and student: the times of their moves and, from each one on, the lowest stage landed on.
    landings: dict[tuple[int, int], list[tuple[Any, int]]] = {}
    for opp, stage, actor, at in db.session.execute(
            select(StageHistory.opportunity_id, StageHistory.to_stage, StageHistory.changed_by_id,
                   StageHistory.changed_at)
            .where(StageHistory.opportunity_id.in_({e.object_id for e in entries}))):
        deadline = ctx.deadlines.get(actor)
        if deadline is None or at <= deadline:
            landings.setdefault((opp, actor), []).append((at, STAGE_RANK.get(stage, top)))
    lowest_after: dict[tuple[int, int], tuple[list[Any], list[int]]] = {}
    for key, moves_of in landings.items():
        moves_of.sort()
        lows = [rank for _at, rank in moves_of]
        for i in range(len(lows) - 2, -1, -1):
            lows[i] = min(lows[i], lows[i + 1])
        lowest_after[key] = ([at for at, _rank in moves_of], lows)
    stands: set[int] = set()
    for ident, actor, opp, at, old, new in entries:
        rank = STAGE_RANK.get(new, top)
        if old is None or rank <= STAGE_RANK.get(old, top):
            continue
        times, lows = lowest_after.get((opp, actor), ([], []))
        later = bisect_right(times, at)
        if later == len(times) or lows[later] > rank:
            stands.add(ident)
    return stands


def step_conditions(steps: list[str], source: str, live: bool = True) -> list[Any]:
    """SQL: an entry of one of the steps whose effect still stands (while the run is live), from an allowed source."""
    terms = []
    for verb in sorted(set(steps)):
        holds = standing(verb) if live else None
        terms.append(and_(LogEntry.verb == verb, holds) if holds is not None else LogEntry.verb == verb)
    allowed = source_condition(source)
    return [or_(*terms), *([allowed] if allowed is not None else [])]


@dataclass
class _Progress:
    """How far one subject (or one student's stream) got through the steps, and the entries that matched."""

    steps: int = 0
    entry_ids: list[int] = field(default_factory=list)


@dataclass
class _Student:
    """A student's matching state: per subject (same_record) or one stream with its complete runs."""

    subjects: dict[Subject, _Progress] = field(default_factory=dict)
    stream: _Progress = field(default_factory=_Progress)
    full: int = 0
    used: list[int] = field(default_factory=list)


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


def _slices(ctx: Context) -> list[tuple[int | None, int | None]]:
    """Id ranges (low exclusive, high inclusive; None = open) covering every entry, oldest first."""
    if len(ctx.student_ids) <= FEW_STUDENTS:
        # Slices let students who met the objective drop out of a whole class's reading; a few students (the
        # incremental gradebook's refresh) are read from the (run_id, actor_id, verb) index in one go.
        return [(None, None)]
    first = db.session.scalar(
        select(LogEntry.id).where(LogEntry.class_id == ctx.class_run.class_id, LogEntry.at >= ctx.class_run.started_at)
        .order_by(LogEntry.at, LogEntry.id).limit(1))
    last = db.session.scalar(select(func.max(LogEntry.id)))
    if first is None or last is None or last - first < SLICED_FROM:
        return [(None, None)]
    ends = sorted({first + int((last - first) * share) for share in SLICES})
    return list(zip([None, *ends], [*ends, None], strict=True))


def _labels(entry_ids: set[int]) -> dict[int, str]:
    """Entry id → the label of its subject (the related record's label for activity entries)."""
    if not entry_ids:
        return {}
    rows = db.session.execute(
        select(LogEntry.id, LogEntry.verb, LogEntry.object_label, LogEntry.params).where(LogEntry.id.in_(entry_ids)))
    return {ident: ((params or {}).get("related") if verb.startswith("activity.") else label) or ""
            for ident, verb, label, params in rows}


# How a step reads in a reason ("call logged → lead converted"); other verbs show as they are.
STEP_NAMES = {
    "activity.log_call": N_("call logged"),
    "activity.create": N_("activity created"),
    "activity.complete": N_("task completed"),
    "lead.create": N_("lead created"),
    "lead.update": N_("lead edited"),
    "lead.convert": N_("lead converted"),
    "account.create": N_("account created"),
    "contact.create": N_("contact created"),
    "opportunity.create": N_("opportunity created"),
    "opportunity.update": N_("opportunity edited"),
    "opportunity.stage_change": N_("stage changed"),
    "opportunity.add_line": N_("product line added"),
    "opportunity.add_competitor": N_("competitor recorded"),
    "opportunity.add_contact_role": N_("contact role added"),
    "note.create": N_("note written"),
}


def step_names(steps: list[str], tr: Phrases) -> str:
    """The steps in words, repeats folded: "call logged → lead converted", "stage changed ×4"."""
    parts: list[list[Any]] = []
    for step in steps:
        if parts and parts[-1][0] == step:
            parts[-1][1] += 1
        else:
            parts.append([step, 1])
    words = [(tr(STEP_NAMES[step]) if step in STEP_NAMES else step) + (f" ×{n}" if n > 1 else "") for step, n in parts]
    return " → ".join(words)


def _reason_same_record(check: Sequence, full: int, best: int, label: str, tr: Phrases) -> str:
    n, needed = len(check.steps), check.count
    if full >= needed:
        if needed == 1:
            return tr(N_("All %(steps)d steps done on “%(label)s”."), steps=n, label=label)
        return tr(N_("All %(steps)d steps done on %(done)d of %(needed)d records."), steps=n, done=full, needed=needed)
    if best == 0 and full == 0:
        return tr(N_("0 of %(steps)d steps done (%(sequence)s)."), steps=n, sequence=step_names(list(check.steps), tr))
    if needed == 1:
        return tr(N_("Best: %(done)d of %(steps)d steps on “%(label)s”."), done=best, steps=n, label=label)
    text = tr(N_("All steps done on %(done)d of %(needed)d records."), done=full, needed=needed)
    if best:
        text += " " + tr(N_("Best of the others: %(done)d of %(steps)d steps on “%(label)s”."), done=best, steps=n,
                         label=label)
    return text


@register_check
class SequenceCheck(CheckKind):
    """The steps happened in order, `count` times (per record with same_record)."""

    name = "sequence"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """How many of the steps each student did in order on one record."""
        check: Sequence = objective.check
        # Two passes: the fast one reads the steps as logged, dropping students once they are done; then only the
        # entries that decided a student's points are checked (still standing, allowed source, a stage move not
        # undone). Students whose decisive entries fail, and those still short, are matched again exactly.
        states = self._match(check, ctx, ctx.student_ids, exact=False)
        again = self._unsure(check, ctx, states)
        if again:
            states.update(self._match(check, ctx, sorted(again), exact=True))
        if check.same_record:
            return self._score_subjects(objective, check, ctx, states)
        return self._score_stream(objective, check, ctx, states)

    def _match(self, check: Sequence, ctx: Context, students: list[int], exact: bool) -> dict[int, _Student]:
        states = {student: _Student() for student in students}
        moves = forward_moves(ctx, students) if exact and STAGE_CHANGE in check.steps else None
        for rows in self._rows(check, ctx, states, exact):
            if moves is not None:
                rows = [row for row in rows if row[2] != STAGE_CHANGE or row[0] in moves]
            self._feed(check, states, rows)
        return states

    @staticmethod
    def _decisive(check: Sequence, state: _Student) -> list[int]:
        """The entries a done student's points rest on: the first `count` completed records (or runs)."""
        if not check.same_record:
            return state.used[: len(check.steps) * check.count]
        n = len(check.steps)
        full = sorted((p for p in state.subjects.values() if p.steps >= n), key=lambda p: p.entry_ids[-1])
        return [ident for p in full[: check.count] for ident in p.entry_ids]

    def _unsure(self, check: Sequence, ctx: Context, states: dict[int, _Student]) -> set[int]:
        """Students to match exactly: those still short, and those whose decisive entries no longer stand."""
        again = {student for student, state in states.items() if state.full < check.count}
        decisive = {ident: student for student, state in states.items() if student not in again
                    for ident in self._decisive(check, state)}
        if not decisive:
            return again
        ids = sorted(decisive)
        good = and_(*step_conditions(check.steps, check.source, ctx.live))
        for start in range(0, len(ids), 500):
            failed = db.session.scalars(select(LogEntry.id).where(LogEntry.id.in_(ids[start:start + 500]), ~good))
            again.update(decisive[ident] for ident in failed)
        if STAGE_CHANGE in check.steps and ctx.live:  # a replaced run's stage history is gone with its deals
            moved = [ident for ident, verb in db.session.execute(
                select(LogEntry.id, LogEntry.verb).where(LogEntry.id.in_(ids), LogEntry.verb == STAGE_CHANGE))]
            if moved:
                stands = moves_standing(ctx, moved)
                again.update(decisive[ident] for ident in moved if ident not in stands)
        return again

    def _rows(self, check: Sequence, ctx: Context, states: dict[int, _Student], exact: bool) -> Iterator[list[Any]]:
        """The step verbs' entries slice by slice, without the students who have met the objective (in the exact
        pass: only entries that still stand, and nobody drops out)."""
        # The stream needs no subject: then the index (run_id, actor_id, verb) answers without reading entries.
        subject_type, subject_id = _subject_columns(check.steps) if check.same_record else (
            null().label("subject_type"), null().label("subject_id"))
        for low, high in _slices(ctx):
            # Evidence wants every matched entry of a met objective, so nobody drops out then.
            active = [s for s, state in states.items() if exact or ctx.evidence or state.full < check.count]
            if not active:
                return
            stmt = select(LogEntry.id, LogEntry.actor_id, LogEntry.verb, subject_type, subject_id).where(
                counted(ctx, active), LogEntry.verb.in_(sorted(set(check.steps))),
                *(step_conditions(check.steps, check.source, ctx.live) if exact else ()))
            if low is not None:
                stmt = stmt.where(LogEntry.id > low)
            if high is not None:
                stmt = stmt.where(LogEntry.id <= high)
            # Core execution: plain tuples, without the ORM's per-row work (this is the hot loop of grading).
            rows = [tuple(row) for row in db.session.connection().execute(stmt).all()]
            rows.sort()
            yield _fill_missing_subjects(rows) if check.same_record else rows

    @staticmethod
    def _feed(check: Sequence, states: dict[int, _Student], rows: list[tuple[Any, ...]]) -> None:
        """Greedy in-order matching: the longest prefix of the steps each subject (or the stream) reached."""
        steps, n = check.steps, len(check.steps)
        first = steps[0]
        for ident, actor, verb, kind, rid in rows:
            state = states[actor]
            if not check.same_record:
                progress = state.stream
                if verb == steps[progress.steps]:
                    progress.steps += 1
                    progress.entry_ids.append(ident)
                    if progress.steps == n:
                        state.full += 1
                        state.used.extend(progress.entry_ids)
                        state.stream = _Progress()
                continue
            if rid is None:
                continue
            progress = state.subjects.get((kind, rid))
            if progress is None:
                if verb != first or kind is None:
                    continue
                progress = state.subjects[(kind, rid)] = _Progress()
            if progress.steps < n and verb == steps[progress.steps]:
                progress.steps += 1
                progress.entry_ids.append(ident)
                if progress.steps == n:
                    state.full += 1

    def _score_subjects(self, objective: Objective, check: Sequence, ctx: Context,
                        states: dict[int, _Student]) -> dict[int, Outcome]:
        n, needed = len(check.steps), check.count
        picks: dict[int, tuple[list[Subject], Subject | None]] = {}
        wanted: set[int] = set()
        for student, state in states.items():
            subjects = state.subjects
            # In the order they were completed: the same subjects whether or not the student dropped out early.
            full = sorted((s for s, p in subjects.items() if p.steps >= n), key=lambda s: subjects[s].entry_ids[-1])
            others = [s for s, p in subjects.items() if p.steps < n]
            best = max(others, key=lambda s: (subjects[s].steps, -subjects[s].entry_ids[0]), default=None)
            picks[student] = (full, best)
            shown = full if ctx.evidence else full[:1]
            wanted.update(subjects[s].entry_ids[0] for s in [*shown, *([best] if best is not None else [])])
        labels = _labels(wanted)
        tr = Phrases()
        result: dict[int, Outcome] = {}
        for student, (full, best) in picks.items():
            subjects = states[student].subjects
            best_steps = subjects[best].steps if best is not None else 0
            shown = full[0] if len(full) >= needed else best
            label = labels.get(subjects[shown].entry_ids[0], "") if shown is not None else ""
            done_full = min(len(full), needed)
            fraction = (done_full + (best_steps / n if done_full < needed else 0)) / needed
            done, of = (best_steps, n) if needed == 1 and not full else (done_full, needed)
            outcome = scored(objective, done, of, fraction, _reason_same_record(check, len(full), best_steps, label, tr))
            if ctx.evidence:
                chosen = full + ([best] if best is not None and len(full) < needed else [])
                for subject in chosen[:EVIDENCE_LIMIT]:
                    outcome.records.append((*subject, labels.get(subjects[subject].entry_ids[0], "")))
                    outcome.entry_ids.extend(subjects[subject].entry_ids)
                outcome.entry_ids = outcome.entry_ids[:EVIDENCE_LIMIT]
            result[student] = outcome
        return result

    @staticmethod
    def _score_stream(objective: Objective, check: Sequence, ctx: Context,
                      states: dict[int, _Student]) -> dict[int, Outcome]:
        """Disjoint in-order runs of the steps anywhere in each student's stream."""
        steps, n, needed = check.steps, len(check.steps), check.count
        tr = Phrases()
        result: dict[int, Outcome] = {}
        for student, state in states.items():
            done, partial = min(state.full, needed), state.stream.steps
            fraction = (done + (partial / n if done < needed else 0)) / needed
            if done >= needed:
                reason = tr(N_("The steps were done in order %(done)d of %(needed)d times."), done=done, needed=needed)
            else:
                reason = tr(N_("The steps were done in order %(done)d of %(needed)d times; next: %(next)s "
                               "(%(steps)d of %(all)d steps of the next run done)."), done=done, needed=needed,
                            next=step_names([steps[partial]], tr), steps=partial, all=n)
            outcome = scored(objective, done, needed, fraction, reason)
            if ctx.evidence:
                outcome.entry_ids = (state.used + (state.stream.entry_ids if done < needed else []))[:EVIDENCE_LIMIT]
            result[student] = outcome
        return result
