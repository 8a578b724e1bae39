"""The incremental gradebook: outcomes are kept, and only the students new log entries could affect are scored again.

Every change to data goes through an operation and leaves a log entry (oplog.py), so the entries written since
the last computation say what may have changed. For each of them (in the class, or in no class):

* verbs that change nothing graded but the actor's own entries (sign-ins, exports, notifications, overrides,
  which are applied after the outcomes anyway) make only the actor's outcomes stale;
* verbs on one record (create, update, delete, restore, transfer, convert, lines, roles, notes, stage moves,
  case moves, campaign members…) make stale the actor, every student who has an entry on that record or on a
  record the entry names (`<type>_id` in its params or changed fields), the record's owner and its owners
  before a transfer. Grading counts *net distinct effects* whose standing is read from the record an entry
  is about or from its child rows (effects.py), and every change to those is an entry on that record, so a
  later delete, undo or edit by anyone re-scores each student whose earlier work it could cancel;
* anything else (scenario load, reset, undo, late joiners, deadline extensions, imports, bulk changes, codes,
  the organisation, sharing, forecasts…) makes every student's outcomes stale.

Of those students, only the objectives the entry can change are stale (`_Reads`): the objectives that read the
record types it changed (its object, and every row its operation changed: `changes.related`) and, when it
updated known columns, one the objective reads (a log_count or sequence reads whether its records are deleted
and still hold the value set; record_count, child rows, notes and other kinds read any change); for its actor,
also the objectives counting its verb. So a student's new call re-scores their call objectives, and their kept
won-deal outcome, evidence included, is used as it is. A student's mark on one objective is kept as a
grade_cells row of the view MARKS (as_of = the mark); a mark on every objective is a GradeMark.

The class run's fingerprint (scenario text, deadline, whether it is the run in force, undone) and each
student's counting run and deadline are stored with each outcome: a change of any of them recomputes it.

Outcomes are kept per *view* (the reader's language, with or without evidence), because their reasons are
written in a language. A student is scored with the same check code as before, for a subset of the class:
every check gives a student the same outcome whoever else is scored with them (tests check it).

Validity: a kept outcome carries `as_of`, the newest entry id when it was computed; it is used only if `as_of`
is at least the student's marks (on every objective and on its own) and the class-wide mark (entry ids). Marks
only grow, so two workers refreshing at once may both recompute, never use a stale outcome. PostgreSQL may
commit a lower entry id after a higher one: the number of the class's entries up to the watermark is kept and
compared, and a difference makes everyone stale. What is kept is written in its own short transaction (a GET
never commits), or in the request's own when that one has already written (a POST export: a second writer
would wait for it); if writing fails the result is still right, only not kept.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, or_, select, text, tuple_, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from seed.schema import Objective

from ...extensions import db
from ...oplog import LogEntry
from ..models import Run
from ..objectives.checks import Context, Document, Outcome, evaluate
from ..objectives.effects import CHILD_VERBS, NOTE_VERBS, is_activity
from ..runs.gc_pause import no_cyclic_gc
from .state import GradeCell, GradeMark, GradeState

VERSION = "grades/3"  # bump when an outcome's stored form or the invalidation rules change
# Nouns whose entries are about one record (and the records their params name).
RECORD_NOUNS = {"lead", "account", "contact", "opportunity", "competitor", "activity", "case", "campaign", "note",
                "attachment", "product"}
# Verbs of those nouns that change several records at once: everyone is re-scored.
MANY = ("import", "import_members", "bulk_create", "bulk_transition")
ACTOR_ONLY_PREFIXES = ("auth.", "notification.", "calendar_feed.", "registration.")
ACTOR_ONLY = {"grade.override", "grade.clear_override"}
RELATED_TYPES = {"lead", "account", "contact", "opportunity", "case", "campaign", "competitor", "product", "activity"}
# The grade_cells rows that hold a (student, objective) mark instead of an outcome (no language takes this name).
MARKS = "marks"
MARK_DEADLINE = datetime(2000, 1, 1)


def variant(evidence: bool) -> str:
    """The view an outcome was written for: the reader's language and whether it has the evidence."""
    from flask_babel import get_locale

    locale = "zh_Hans_CN"
    try:  # the reasons' language: the request's, or the one forced for a CLI export
        locale = str(get_locale() or locale)
    except RuntimeError:  # no application context
        pass
    return f"{locale}|{int(evidence)}"


def fingerprint(class_run: Run, live: bool) -> str:
    """What of the class run every outcome depends on."""
    facts = [VERSION, class_run.id, class_run.class_id, class_run.scenario_text, class_run.deadline.isoformat(),
             class_run.undone_at.isoformat() if class_run.undone_at else None, live]
    return hashlib.sha256(json.dumps(facts, default=str).encode()).hexdigest()


# --- outcomes as text --------------------------------------------------------------------------------------------

_OUTCOME_FIELDS = tuple(f.name for f in fields(Outcome))
_DOCUMENT_FIELDS = tuple(f.name for f in fields(Document))


def dump(outcome: Outcome) -> str:
    """An outcome as JSON (points as text, times as ISO): what `asdict` gives, without its deep copy (a refresh
    of a class dumps hundreds of outcomes; their lists hold numbers, strings and flat tuples only)."""
    data = {name: getattr(outcome, name) for name in _OUTCOME_FIELDS}
    data["points"] = str(outcome.points)
    documents = []
    for document in outcome.documents:
        doc = {name: getattr(document, name) for name in _DOCUMENT_FIELDS}
        for key in ("at", "deleted_at"):
            if doc[key] is not None:
                doc[key] = doc[key].isoformat()
        documents.append(doc)
    data["documents"] = documents
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def load(raw: str) -> Outcome:
    """dump()'s text → the outcome."""
    return from_dict(json.loads(raw))


def from_dict(data: dict[str, Any]) -> Outcome:
    """dump()'s JSON, parsed → the outcome."""
    data["points"] = Decimal(data["points"])
    data["records"] = [tuple(r) for r in data["records"]]
    docs = []
    for doc in data["documents"]:
        for key in ("at", "deleted_at"):
            if doc[key] is not None:
                doc[key] = datetime.fromisoformat(doc[key])
        docs.append(Document(**doc))
    data["documents"] = docs
    return Outcome(**data)


# --- what new entries make stale ---------------------------------------------------------------------------------

def _class_entries(class_id: int) -> Any:
    return or_(LogEntry.class_id == class_id, LogEntry.class_id.is_(None))


def _kind(verb: str) -> str:
    """'actor', 'record' or 'all': whose outcomes an entry of `verb` can change."""
    if verb in ACTOR_ONLY or verb.startswith(ACTOR_ONLY_PREFIXES) or verb.endswith(".export"):
        return "actor"
    noun, _dot, action = verb.partition(".")
    if noun in RECORD_NOUNS and action not in MANY:
        return "record"
    return "all"


def _named(params: Any, changes: Any) -> set[tuple[str, int]]:
    """Records an entry names besides its object: `<type>_id` params and changed `<type>_id` fields."""
    found: set[tuple[str, int]] = set()
    if isinstance(params, dict):
        for key, value in params.items():
            if key.endswith("_id") and isinstance(value, int) and key[:-3] in RELATED_TYPES:
                found.add((key[:-3], value))
        kind, ident = params.get("related_type"), params.get("related_id")
        if isinstance(kind, str) and isinstance(ident, int):
            found.add((kind, ident))
    fields = (changes or {}).get("fields") if isinstance(changes, dict) else None
    if isinstance(fields, dict):
        for key, pair in fields.items():
            if key.endswith("_id") and key[:-3] in RELATED_TYPES and isinstance(pair, list):
                found.update((key[:-3], v) for v in pair if isinstance(v, int))
    return found


def _by_type(touched: Any) -> dict[str, list[int]]:
    by_type: dict[str, list[int]] = defaultdict(list)
    for kind, ident in touched:
        by_type[kind].append(ident)
    return by_type


def _owners(touched: Any) -> dict[tuple[str, int], set[int]]:
    """Each touched record → its current owner and its owners before any transfer."""
    from ..objectives.records import record_model

    owners: dict[tuple[str, int], set[int]] = defaultdict(set)
    for kind, ids in _by_type(touched).items():
        try:
            model = record_model(kind)
        except KeyError:
            continue
        if not hasattr(model, "owner_id"):
            continue
        for ident, owner in db.session.execute(select(model.id, model.owner_id).where(model.id.in_(sorted(ids)))
                                               .execution_options(skip_visibility=True)):
            owners[(kind, ident)].add(owner)
        for ident, changes in db.session.execute(select(LogEntry.object_id, LogEntry.changes).where(
                LogEntry.object_type == kind, LogEntry.object_id.in_(sorted(ids)), LogEntry.verb == f"{kind}.transfer")):
            pair = ((changes or {}).get("fields") or {}).get("owner_id")
            if isinstance(pair, list):
                owners[(kind, ident)].update(v for v in pair if isinstance(v, int))
    return owners


def _workers(run_ids: list[int], touched: Any) -> dict[tuple[str, int], set[int]]:
    """Each touched record → everyone with an entry on it in these runs."""
    found: dict[tuple[str, int], set[int]] = defaultdict(set)
    for kind, ids in _by_type(touched).items():
        for ident, actor in db.session.execute(select(LogEntry.object_id, LogEntry.actor_id).where(
                LogEntry.object_type == kind, LogEntry.object_id.in_(sorted(ids)), LogEntry.run_id.in_(run_ids))
                .distinct()):
            if actor is not None:
                found[(kind, ident)].add(actor)
    return found


def _noun(verb: str) -> str:
    return verb.partition(".")[0]


def depends_on(objective: Objective) -> frozenset[str] | None:
    """The record types (nouns) whose entries can change an objective's outcomes, evidence included (None: any).

    What each check kind reads: log_count, the entries of its verb and whether their effect stands on the record
    (or child row, note, attachment) they are about, the records' own entries for `origin`; record_count, the
    records of its type, their children (an opportunity's) and their entries; sequence, its steps' entries and
    records; manual, the student's notes and attachments. Every change to one of those is an entry whose verb,
    object or related changes (`_touches`) name that type. Other kinds read more: any entry.
    """
    check = objective.check
    if check.kind == "log_count":
        if check.origin != "any" and (is_activity(check.verb) or check.verb in NOTE_VERBS):
            return None  # the subject is a record of any type, whose own entries decide its origin
        return frozenset({_noun(check.verb), *([check.object_type] if check.object_type else [])})
    if check.kind == "record_count":
        return frozenset({check.record_type, *(["opportunity"] if check.with_ else [])})
    if check.kind == "sequence":
        return frozenset(_noun(step) for step in check.steps)
    if check.kind == "manual":
        return frozenset({"note", "attachment"})
    if check.kind == "case_resolved":
        # Its transitions' entries and the cases themselves (every change to a case is an entry on it).
        return frozenset({"case"})
    if check.kind == "campaign_members":
        # The member rows (audited: every add, status change and removal is a campaign entry naming them) and
        # their campaigns (class, owner, recycle bin); the responded flag is a code, whose changes re-score all.
        return frozenset({"campaign", "campaign_member"})
    return None


def fields_read(objective: Objective) -> frozenset[str] | None:
    """The columns of the records of `depends_on` whose change can alter the objective (None: any change).

    log_count reads whether its entries' effect stands: the record is not in the recycle bin and still holds the
    value set (`field`; a later value that supersedes it is that field too); sequence reads the same of its steps'
    records, and how far a deal's stage went. A child row or a note (removed by the parent's own verbs, or marked
    deleted) and record_count's conditions (any column, the owner, the children) take any change.
    """
    check = objective.check
    if check.kind == "log_count":
        if check.verb in CHILD_VERBS or check.verb in NOTE_VERBS:
            return None
        return frozenset({"deleted_at", *([check.field] if check.field else [])})
    if check.kind == "sequence":
        if any(step in CHILD_VERBS or step in NOTE_VERBS for step in check.steps):
            return None
        return frozenset({"deleted_at", "stage"})
    return None


def verbs_of(objective: Objective) -> frozenset[str]:
    """The verbs whose entries an objective counts: a new one is always read."""
    check = objective.check
    if check.kind == "log_count":
        return frozenset({check.verb})
    if check.kind == "sequence":
        return frozenset(check.steps)
    return frozenset()


def _touches(verb: str, object_type: str | None, changes: Any) -> tuple[set[str], set[str], set[str] | None]:
    """What an entry may have changed: (the record types of its object: its verb's noun and its object's type;
    the types of the other rows the same operation changed, `changes.related`, as the oplog writes every audited
    row an operation touched; the object's changed columns: none for a creation, None when unknown). Records
    it only names (`<type>_id`) are not changed by it: their students are re-scored, on these types' objectives."""
    main = {_noun(verb)}
    if object_type:
        main.add(object_type)
    others: set[str] = set()
    columns: set[str] | None = None
    if isinstance(changes, dict):
        related = changes.get("related")
        if isinstance(related, list):
            others = {r["type"] for r in related if isinstance(r, dict) and isinstance(r.get("type"), str)}
        fields = changes.get("fields")
        if changes.get("action") == "update" and isinstance(fields, dict) and fields:
            columns = set(fields)
        elif changes.get("action") == "create":
            columns = set()  # a new record: no earlier entry is about it, so nothing read of one changed
    return main, others, columns


class _Reads:
    """What one objective reads (depends_on, fields_read, verbs_of), to tell which entries can change it."""

    def __init__(self, objective: Objective) -> None:
        self.nouns, self.fields, self.verbs = depends_on(objective), fields_read(objective), verbs_of(objective)

    def changed_by(self, own: bool, verb: str, main: set[str], others: set[str], columns: set[str] | None) -> bool:
        """Whether an entry of `verb` that changed these (see _touches) can change the objective's outcomes for
        its actor (`own`: an entry of a counted verb is read) or for another student (only what it changed)."""
        if self.nouns is None or (own and verb in self.verbs) or not self.nouns.isdisjoint(others):
            return True
        if self.nouns.isdisjoint(main):
            return False
        return self.fields is None or columns is None or not self.fields.isdisjoint(columns)


Marks = dict[int, dict[str, int]]  # student → objective id (or ALL) → newest entry id that may have changed it
ALL = "*"


def _mark(marks: Marks, student: int, objectives: frozenset[str], ident: int) -> None:
    mine = marks.setdefault(student, {})
    for objective in objectives:
        if mine.get(objective, 0) < ident:
            mine[objective] = ident


def stale_students(class_run: Run, after: int, upto: int, objectives: list[Objective] | None = None
                   ) -> tuple[Marks, int, int]:
    """(student → objective id → newest entry id that may have changed that outcome, ALL for every objective;
    newest entry id that may have changed everyone's outcomes, 0 if none; how many entries were read) for the
    entries of the class (or of no class) with after < id <= upto. Without `objectives` every mark is ALL."""
    rows = db.session.execute(
        select(LogEntry.id, LogEntry.actor_id, LogEntry.verb, LogEntry.object_type, LogEntry.object_id,
               LogEntry.params, LogEntry.changes)
        .where(LogEntry.id > after, LogEntry.id <= upto, _class_entries(class_run.class_id))
        .order_by(LogEntry.id)).all()
    needs = {o.id: _Reads(o) for o in objectives} if objectives is not None else None
    every = frozenset({ALL})

    def reached(own: bool, verb: str, touched: tuple[set[str], set[str], set[str] | None]) -> frozenset[str]:
        if needs is None:
            return every
        found = frozenset(o for o, need in needs.items() if need.changed_by(own, verb, *touched))
        return every if len(found) == len(needs) else found

    marks: Marks = {}
    everyone = 0
    touched_at: dict[tuple[str, int], tuple[int, frozenset[str]]] = {}
    for ident, actor, verb, object_type, object_id, params, changes in rows:
        kind = _kind(verb)
        if kind == "all":
            everyone = ident
            continue
        names = _named(params, changes) if kind == "record" else set()
        if kind == "record" and object_type and object_id is not None:
            names.add((object_type, object_id))
        touched = _touches(verb, object_type, changes)
        if actor is not None and (mine := reached(True, verb, touched)):
            _mark(marks, actor, mine, ident)
        objs = reached(False, verb, touched) if names else frozenset()
        if not objs:
            continue  # no objective of the records' other students reads what this entry changed
        for name in names:
            _at, before = touched_at.get(name, (0, frozenset()))
            touched_at[name] = (ident, before | objs)
    if touched_at and not everyone:
        run_ids = [class_run.id, *db.session.scalars(select(Run.id).where(Run.parent_id == class_run.id))]
        workers, owners = _workers(run_ids, touched_at), _owners(touched_at)
        for name, (at, objs) in touched_at.items():
            for student in workers.get(name, set()) | owners.get(name, set()):
                _mark(marks, student, every if ALL in objs else objs, at)
    for mine in marks.values():  # an ALL mark covers the objectives' own
        if ALL in mine:
            top = mine[ALL]
            for objective in [o for o, at in mine.items() if o != ALL and at <= top]:
                del mine[objective]
    return marks, everyone, len(rows)


# --- writing -------------------------------------------------------------------------------------------------------

def _session_wrote() -> bool:
    """Whether the request's transaction has written (then a second connection would wait for it)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return conn.scalar(text("SELECT txid_current_if_assigned()")) is not None
    dbapi = conn.connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


@contextmanager
def _writer() -> Iterator[Connection | None]:
    """A connection to keep outcomes with: the session's own if it has written, else a short transaction."""
    if _session_wrote():
        with db.session.begin_nested():
            yield db.session.connection()
        return
    try:
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Keeping outcomes is worth no wait: if another writer holds the database, skip it this time.
                conn.exec_driver_sql("PRAGMA busy_timeout=200")
            try:
                yield conn
            finally:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA busy_timeout=15000")
    except (IntegrityError, DBAPIError):
        return


def _save(class_run_id: int, state: dict[str, int], marks: Marks, cells: list[dict[str, Any]],
          done: list[tuple[int, str]], view: str) -> None:
    try:
        with _writer() as conn:
            if conn is None:
                return
            _write(conn, class_run_id, state, marks, cells, done, view)
    except (IntegrityError, DBAPIError):
        pass  # a concurrent refresh wrote the same: nothing is lost, the result already returned is right


def _pairs_in(table: Any, pairs: list[tuple[int, str]]) -> Any:
    return tuple_(table.c.student_id, table.c.objective_id).in_(pairs)


def _write(conn: Connection, class_run_id: int, state: dict[str, int], marks: Marks,
           cells: list[dict[str, Any]], done: list[tuple[int, str]], view: str) -> None:
    states, mark_table, cell_table = GradeState.__table__, GradeMark.__table__, GradeCell.__table__
    have = conn.execute(select(states.c.watermark, states.c.all_dirty_at).where(
        states.c.class_run_id == class_run_id)).first()
    if have is None:
        conn.execute(states.insert(), [{"class_run_id": class_run_id, **state}])
    else:
        conn.execute(update(states).where(states.c.class_run_id == class_run_id).values(
            watermark=max(have.watermark, state["watermark"]), seen=state["seen"],
            all_dirty_at=max(have.all_dirty_at, state["all_dirty_at"])))
    whole = {student: mine[ALL] for student, mine in marks.items() if ALL in mine}
    if whole:
        old = dict(conn.execute(select(mark_table.c.student_id, mark_table.c.dirty_at).where(
            mark_table.c.class_run_id == class_run_id, mark_table.c.student_id.in_(sorted(whole)))).all())
        for student, at in whole.items():
            if student not in old:
                conn.execute(mark_table.insert(), [{"class_run_id": class_run_id, "student_id": student, "dirty_at": at}])
            elif at > old[student]:
                conn.execute(update(mark_table).where(mark_table.c.class_run_id == class_run_id,
                                                      mark_table.c.student_id == student).values(dirty_at=at))
    _write_objective_marks(conn, class_run_id, {(student, objective): at for student, mine in marks.items()
                                                for objective, at in mine.items() if objective != ALL})
    for start in range(0, len(done), 500):
        conn.execute(delete(cell_table).where(cell_table.c.class_run_id == class_run_id, cell_table.c.variant == view,
                                              _pairs_in(cell_table, done[start:start + 500])))
    if cells:
        conn.execute(cell_table.insert(), cells)


def _write_objective_marks(conn: Connection, class_run_id: int, marks: dict[tuple[int, str], int]) -> None:
    """Raise the (student, objective) marks, kept as MARKS rows of grade_cells (as_of = the mark, no outcome)."""
    if not marks:
        return
    cell_table = GradeCell.__table__
    pairs = sorted(marks)
    where = [cell_table.c.class_run_id == class_run_id, cell_table.c.variant == MARKS]
    for start in range(0, len(pairs), 500):
        chunk = pairs[start:start + 500]
        for student, objective, at in conn.execute(select(
                cell_table.c.student_id, cell_table.c.objective_id, cell_table.c.as_of)
                .where(*where, _pairs_in(cell_table, chunk))):
            marks[(student, objective)] = max(marks[(student, objective)], at)
        conn.execute(delete(cell_table).where(*where, _pairs_in(cell_table, chunk)))
    conn.execute(cell_table.insert(), [
        {"class_run_id": class_run_id, "variant": MARKS, "student_id": student, "objective_id": objective,
         "run_id": 0, "deadline": MARK_DEADLINE, "fingerprint": "", "as_of": at, "outcome": ""}
        for (student, objective), at in sorted(marks.items())])


# --- the computation ---------------------------------------------------------------------------------------------

def outcomes(ctx: Context, objectives: list[Objective]) -> dict[str, dict[int, Outcome]]:
    """Objective id → student → outcome for the context's students: kept outcomes still valid, the rest computed."""
    with no_cyclic_gc():  # thousands of kept outcomes parsed at once (gc_pause.py)
        return _outcomes(ctx, objectives)


def _outcomes(ctx: Context, objectives: list[Objective]) -> dict[str, dict[int, Outcome]]:
    class_run = ctx.class_run
    ids = list(ctx.student_ids)
    if not ids:
        return {o.id: {} for o in objectives}
    view = variant(ctx.evidence)
    print_ = fingerprint(class_run, ctx.live)
    # The newest entry id, read before any outcome or mark (see as_of), and the run's state, in one statement.
    newest, *kept = db.session.execute(_NEWEST_AND_STATE, {"class_run_id": class_run.id}).one()  # flushes first
    newest = newest or 0
    postgres = db.session.connection().dialect.name == "postgresql"
    state = _State(*kept) if kept[0] is not None else None
    marks: Marks = {}
    if state is None:
        watermark, all_dirty_at = newest, newest
        seen = _seen(class_run, newest) if postgres else 0
    else:
        watermark, all_dirty_at, seen = state.watermark, state.all_dirty_at, state.seen
        if postgres and _seen(class_run, watermark) != state.seen:
            # An entry below the watermark was committed after it was set (PostgreSQL gives ids before commit).
            all_dirty_at, seen = newest, _seen(class_run, newest)
        elif newest > watermark:
            marks, everyone, read = stale_students(class_run, watermark, newest, objectives)
            all_dirty_at = max(all_dirty_at, everyone)
            # Exactly the entries read: one committed later below `newest` makes the next count differ.
            seen = state.seen + read if postgres else 0
        watermark = max(watermark, newest)
    few = len(ids) <= 50
    params = {"class_run_id": class_run.id, "variants": [view, MARKS], "ids": ids}
    stored = dict(db.session.execute(_MARKS_OF[few], params).all())
    wanted = {o.id for o in objectives}
    # The kept outcomes of this view and the (student, objective) marks, in one read.
    rows = db.session.execute(_CELLS_OF[few], params).all()
    dirty = {(row[1], row[2]): row[6] for row in rows if row[0] == MARKS}
    _merge(marks, stored, dirty)
    usable: list[tuple[int, str]] = []
    raws: list[str] = []
    for cell_view, student, objective_id, run_id, deadline, cell_print, as_of, raw in rows:
        if (cell_view == view and student in ctx.run_ids and objective_id in wanted and cell_print == print_
                and as_of >= all_dirty_at and as_of >= stored.get(student, 0)
                and as_of >= dirty.get((student, objective_id), 0) and run_id == ctx.run_ids[student]
                and deadline == ctx.deadlines[student]):
            usable.append((student, objective_id))
            raws.append(raw)
    result: dict[str, dict[int, Outcome]] = {o.id: {} for o in objectives}
    # One parse for all of them: a class's 2,000 outcomes cost a few milliseconds instead of tens.
    for (student, objective_id), data in zip(usable, json.loads("[" + ",".join(raws) + "]"), strict=True):
        result[objective_id][student] = from_dict(data)
    cells, done = _compute(ctx, objectives, result, view, print_, newest)
    if cells or marks or state is None or watermark != state.watermark or all_dirty_at != state.all_dirty_at:
        _save(class_run.id, {"watermark": watermark, "seen": seen, "all_dirty_at": all_dirty_at}, marks, cells,
              done, view)
    return result


class _State(NamedTuple):
    watermark: int
    seen: int
    all_dirty_at: int


def _state_column(column: Any) -> Any:
    states = GradeState.__table__
    return select(column).where(states.c.class_run_id == bindparam("class_run_id")).scalar_subquery()


# One row: the newest log entry id and the class run's kept state (NULLs when none is kept: watermark is NOT NULL).
# Built once; grading tables and the whole log's newest id are no records of the visibility rule.
_NEWEST_AND_STATE = select(
    select(func.max(LogEntry.__table__.c.id)).scalar_subquery(),
    *(_state_column(GradeState.__table__.c[name]) for name in ("watermark", "seen", "all_dirty_at")))


# The kept marks and outcomes of a class run: of a few students (True) or the whole class (False). Built once.
_MARKS_OF = {few: select(GradeMark.student_id, GradeMark.dirty_at).where(
    GradeMark.class_run_id == bindparam("class_run_id"),
    *([GradeMark.student_id.in_(bindparam("ids", expanding=True))] if few else [])) for few in (True, False)}
_CELLS_OF = {few: select(
    GradeCell.variant, GradeCell.student_id, GradeCell.objective_id, GradeCell.run_id, GradeCell.deadline,
    GradeCell.fingerprint, GradeCell.as_of, GradeCell.outcome).where(
    GradeCell.class_run_id == bindparam("class_run_id"), GradeCell.variant.in_(bindparam("variants", expanding=True)),
    *([GradeCell.student_id.in_(bindparam("ids", expanding=True))] if few else [])) for few in (True, False)}


def _merge(marks: Marks, stored: dict[int, int], dirty: dict[tuple[int, str], int]) -> None:
    """Add the new marks to the kept ones: a student's (ALL) and a student's on one objective."""
    for student, mine in marks.items():
        for objective, at in mine.items():
            if objective == ALL:
                stored[student] = max(stored.get(student, 0), at)
            else:
                dirty[(student, objective)] = max(dirty.get((student, objective), 0), at)


def _compute(ctx: Context, objectives: list[Objective], result: dict[str, dict[int, Outcome]], view: str,
             print_: str, newest: int) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Score each objective for the students it has no usable outcome of (into `result`); the cells to keep."""
    class_run = ctx.class_run
    cells: list[dict[str, Any]] = []
    done: list[tuple[int, str]] = []
    contexts: dict[tuple[int, ...], Context] = {}  # one per set of students scored together
    for objective in objectives:
        kept = result[objective.id]
        todo = tuple(s for s in ctx.student_ids if s not in kept)
        if not todo:
            continue
        sub = contexts.get(todo)
        if sub is None:
            sub = contexts[todo] = Context(
                class_run=class_run, student_ids=list(todo), run_ids={s: ctx.run_ids[s] for s in todo},
                deadlines={s: ctx.deadlines[s] for s in todo}, evidence=ctx.evidence, live=ctx.live,
                cutoffs=ctx.cutoffs)  # a deadline's cutoff is the class's, whoever is scored: read once
        computed = evaluate(objective, sub)
        for student in todo:
            outcome = computed[student]
            kept[student] = outcome
            done.append((student, objective.id))
            cells.append({"class_run_id": class_run.id, "variant": view, "student_id": student,
                          "objective_id": objective.id, "run_id": ctx.run_ids[student],
                          "deadline": ctx.deadlines[student], "fingerprint": print_, "as_of": newest,
                          "outcome": dump(outcome)})
    return cells, done


def _seen(class_run: Run, watermark: int) -> int:
    return db.session.scalar(select(func.count()).select_from(LogEntry).where(
        LogEntry.id <= watermark, _class_entries(class_run.class_id))) or 0


def forget(class_run_id: int | None = None) -> None:
    """Drop what is kept (of one class run, or all): the next gradebook computes everything."""
    for model in (GradeCell, GradeMark, GradeState):
        stmt = delete(model)
        if class_run_id is not None:
            stmt = stmt.where(model.class_run_id == class_run_id)
        db.session.execute(stmt)
