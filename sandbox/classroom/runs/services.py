"""Load a scenario into a class, reset a class or one student, undo the last reset: each one operation.

Each runs in the caller's one transaction: lock the class, snapshot the data it replaces, delete it,
generate and bulk-insert the new rows, open the run, write one log entry. A failure anywhere rolls
all of it back, so the class keeps its previous data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from seed import SCENARIO_DIR, Scenario, ScenarioError, parse_scenario, scenario_files
from seed.checks import volume_parts
from seed.generate import CLASS_TABLES as SEED_CLASS_TABLES

from ... import faults
from ...access import acting_as_system
from ...clock import utcnow
from ...errors import ServiceError
from ...extensions import db
from ...forecasts.scenario import fill_default_quotas
from ...i18n import N_
from ...oplog import current_actor, current_op, operation, register_verbs
from ...org.models import Position, User
from ...org.scope import manages
from ...records.notes import remove_files_after_commit
from ..models import Run, RunSnapshot
from . import reset_scope as scopes
from .book_cache import DEFAULT_MB, CachedBooks, book_time
from .gc_pause import no_cyclic_gc
from .generation import Books, GenerationError
from .loader import LoadError, Prepared, Progress, insert_rows
from .lookup import class_students, current_class_run, forget_run_ids
from .page_cache import wide_page_cache

ANY = -1  # expected_run_id when the caller does not care which run is current (the CLI)

register_verbs({
    "scenario.load": N_("loaded scenario %(scenario)s for %(students)s students (%(rows)s records, %(seconds)s s)"),
    "scenario.reset": N_("reset scenario %(scenario)s for %(who)s (%(rows)s records, %(seconds)s s)"),
    "scenario.undo": N_("undid run %(label)s (%(rows)s records restored)"),
    "scenario.join": N_("gave %(who)s their books of run %(label)s (%(rows)s records, %(seconds)s s)"),
})


class ScenarioLoadError(ServiceError):
    """A load, reset or undo that was refused; nothing was changed (`details`: a scenario file's problems)."""

    def __init__(self, message: str, details: list[str] | None = None, field: str | None = None) -> None:
        super().__init__(message, field)
        self.details = details or []


@dataclass
class LoadResult:
    """What a load, reset or late joiners' books did: the run, rows inserted and replaced, time, warnings."""
    run: Run
    rows: int
    replaced: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


def scenario_dir() -> Path:
    """The folder scenario files are read from."""
    return Path(current_app.config.get("SCENARIO_DIR") or SCENARIO_DIR)


def read_scenario(name: str) -> tuple[Scenario, str]:
    """Scenario NAME (file stem) and its text; ScenarioLoadError with every problem if it is unknown or malformed."""
    for path in scenario_files(scenario_dir()):
        if path.stem == name:
            try:
                text = path.read_text(encoding="utf-8")
                return parse_scenario(text, path.name), text
            except (OSError, UnicodeDecodeError) as exc:
                raise ScenarioLoadError(_("Cannot read scenario file %(name)s: %(error)s", name=path.name,
                                          error=exc), field="scenario") from None
            except ScenarioError as exc:
                raise ScenarioLoadError(_("Scenario %(name)s is not valid; nothing was loaded.", name=name),
                                        exc.lines(), field="scenario") from None
    raise ScenarioLoadError(_("There is no scenario named %(name)s.", name=name), field="scenario")


def latest_run(class_id: int) -> Run | None:
    """The newest run of the class not undone (class or student): the one an undo would take back."""
    return db.session.scalar(select(Run).where(Run.class_id == class_id, Run.undone_at.is_(None))
                             .order_by(Run.id.desc()).limit(1))


def _check_actor(klass: Position) -> None:
    actor = current_actor()
    if not acting_as_system(actor) and not manages(actor, klass):
        raise ScenarioLoadError(_("You do not teach this class."))


def _lock(klass: Position, expected_run_id: int) -> None:
    """Serialise resets of one class; refuse if the class changed since the instructor looked."""
    positions = Position.__table__
    try:
        if db.session.connection().dialect.name == "postgresql":
            db.session.execute(select(positions.c.id).where(positions.c.id == klass.id).with_for_update())
        else:
            # SQLite has no row locks: a write takes the database write lock now, so a second reset waits
            # here (busy_timeout) or is refused, and never interleaves with this one.
            db.session.execute(update(positions).where(positions.c.id == klass.id).values(id=positions.c.id))
    except OperationalError:
        db.session.rollback()
        raise ScenarioLoadError(_("Another reset of this class is running. Nothing was changed; try again "
                                  "in a moment.")) from None
    if expected_run_id != ANY:
        latest = latest_run(klass.id)
        if (latest.id if latest else 0) != expected_run_id:
            raise ScenarioLoadError(_("This class was reset or loaded by someone else while you were deciding. "
                                      "Nothing was changed; look at the page again before you retry."))


def _ceiling(scenario: Scenario, students: int) -> None:
    per_student = sum(volume_parts(scenario).values())
    total = per_student * students + len(scenario.products) + scenario.volumes.per_class.competitors
    ceiling = int(current_app.config.get("SCENARIO_MAX_RECORDS", 200_000))
    if total > ceiling:
        raise ScenarioLoadError(_("This scenario would create up to %(total)s records for %(students)s students; "
                                  "the ceiling is %(ceiling)s (SCENARIO_MAX_RECORDS). Reduce its volumes.",
                                  total=f"{total:,}", students=students, ceiling=f"{ceiling:,}"), field="scenario")


def _roster(students: list[User]) -> list[dict[str, Any]]:
    return [{"username": s.username, "user_id": s.id, "class_id": s.class_id} for s in students]


def _catalogue_ids(klass: Position, part: Prepared) -> dict[str, int]:
    """Keys of the generated catalogue → ids of the class's existing rows (a one-student reset keeps them)."""
    tables = db.metadata.tables
    known: dict[str, int] = {}
    for name, natural in (("product_categories", "name"), ("products", "code"), ("competitors", "name")):
        batch = part.get(name)
        if batch is None:
            continue
        table = tables[name]
        have = dict(db.session.execute(
            select(table.c[natural], table.c.id).where(table.c.class_id == klass.id)).all())
        at = batch.columns.index(natural)
        for key, values in zip(batch.keys, batch.values, strict=True):
            if values[at] in have:
                known[key] = have[values[at]]
    return known


def _snapshot(run: Run, plan: scopes.Plan) -> RunSnapshot:
    snapshot = RunSnapshot(run_id=run.id, data=b"", rows=0)
    db.session.add(snapshot)
    db.session.flush()
    snapshot.data = scopes.take_snapshot(db.session.connection(), plan, snapshot.id)
    return snapshot


def _prune_snapshots(class_id: int) -> None:
    keep = int(current_app.config.get("SNAPSHOTS_KEPT", 3))
    recent = select(Run.id).where(Run.class_id == class_id).order_by(Run.id.desc()).limit(keep)
    old = list(db.session.scalars(select(RunSnapshot.id).where(
        RunSnapshot.run_id.in_(select(Run.id).where(Run.class_id == class_id)),
        RunSnapshot.run_id.not_in(recent.scalar_subquery()))))
    if old:
        conn = db.session.connection()
        # Attachments kept only for an undo that can no longer happen: their files go with the snapshot.
        kept = scopes.snapshot_files(conn, list(db.session.execute(
            select(RunSnapshot.id, RunSnapshot.data).where(RunSnapshot.id.in_(old))).tuples()))
        remove_files_after_commit(kept - scopes.live_files(conn, kept))
        scopes.drop_snapshot_rows(conn, old)
        db.session.execute(delete(RunSnapshot).where(RunSnapshot.id.in_(old)))


def _books(scenario: Scenario, text: str, students: list[User], started_at: datetime, klass: Position,
           owner_id: int) -> Books | CachedBooks:
    """The students' books as of the run's book time: from the book cache (SCENARIO_BOOK_CACHE, on by default),
    else all generated. Either way the same rows (book_cache.py)."""
    config = current_app.config
    workers = int(config.get("SCENARIO_GENERATORS", 1))
    conn = db.session.connection()
    if config.get("SCENARIO_BOOK_CACHE", True):
        return CachedBooks(scenario, text, _roster(students), started_at, klass.id, owner_id, conn, workers=workers,
                           cap_mb=float(config.get("BOOK_CACHE_MB", DEFAULT_MB)))
    return Books(scenario, _roster(students), book_time(started_at), klass.id, owner_id, conn.dialect, workers=workers)


def _store_books(books: Books | CachedBooks) -> None:
    if isinstance(books, CachedBooks):
        books.store(db.session.connection())


def _insert_parts(klass: Position, books: Books | CachedBooks, *, keep_catalogue: bool, progress: Progress | None) -> int:
    """Insert the parts in order as they are ready; progress is reported per table once all are in."""
    conn = db.session.connection()
    known: dict[str, int] = {}
    following: dict[str, int] = {}  # ids are given table by table after the previous part's (loader.allocate_ids)
    counts: dict[str, int] = {}

    def count(table: str, rows: int) -> None:
        counts[table] = counts.get(table, 0) + rows

    inserted = 0
    for i, rows in enumerate(books):
        if i == 0 and keep_catalogue:
            known.update(_catalogue_ids(klass, rows))
        try:
            # Part 0 brings the catalogue (later parts have none); a one-student reset keeps the class's.
            inserted += insert_rows(conn, rows, known=known, skip=SEED_CLASS_TABLES[1:] if keep_catalogue else (),
                                    progress=count, following=following)
        except (LoadError, IntegrityError) as exc:
            raise ScenarioLoadError(_("The class catalogue no longer matches the scenario (%(error)s); reset the "
                                      "whole class instead.", error=str(exc).splitlines()[0][:200])) from None
    if progress is not None:
        for table, rows in counts.items():
            progress(table, rows)
    return inserted


def _replace_books(klass: Position, scenario: Scenario, name: str, text: str, *, student: User | None,
                   parent: Run | None, deadline: datetime | None, roster: list[User], now: datetime, owner_id: int,
                   progress: Progress | None) -> tuple[int, int, Run]:
    """The bulk part of _replace(): open the run, snapshot and delete the scope, insert the books.
    Returns (rows inserted, rows replaced, the run)."""
    actor = current_actor()
    books = _books(scenario, text, roster, now, klass, owner_id)
    try:
        run = Run(class_id=klass.id, student_id=student.id if student else None,
                  parent_id=parent.id if parent else None, scenario_name=name, scenario_text=text, seed=scenario.seed,
                  started_at=now, deadline=deadline or (parent.deadline if parent else now + scenario.default_deadline),
                  started_by_id=getattr(actor, "id", None))
        db.session.add(run)
        db.session.flush()
        plan = scopes.Plan(scopes.Scope(klass.id, student.id if student else None), db.session.connection())
        snapshot = _snapshot(run, plan)
        replaced = scopes.delete_scope(db.session.connection(), plan)
        snapshot.rows = replaced  # the snapshot holds exactly the rows deleted (take_snapshot)
        if progress:
            progress("snapshot", snapshot.rows)
        faults.checkpoint("reset.deleted")
        inserted = _insert_parts(klass, books, keep_catalogue=student is not None, progress=progress)
        _store_books(books)
    except GenerationError as exc:
        raise ScenarioLoadError(_("The scenario's data could not be generated (%(error)s). Nothing was changed.",
                                  error=str(exc)[:200]), field="scenario") from None
    finally:
        books.close()
    return inserted, replaced, run


def _replace(klass: Position, scenario: Scenario, name: str, text: str, *, student: User | None,
             parent: Run | None, deadline: datetime | None, expected_run_id: int,
             progress: Progress | None) -> LoadResult:
    _check_actor(klass)
    started = time.perf_counter()
    everyone = class_students(klass.id)
    if not everyone:
        raise ScenarioLoadError(_("%(name)s has no active students yet: approve or import students first.",
                                  name=klass.name))
    roster = [student] if student is not None else everyone
    _ceiling(scenario, len(roster))
    _lock(klass, expected_run_id)
    # From here the transaction holds the class's lock: its pages stay in memory until the commit (page_cache.py).
    with wide_page_cache(db.session.connection()):
        now = utcnow().replace(microsecond=0)
        actor = current_actor()
        owner_id = getattr(actor, "id", None) or _class_owner(klass)
        # The books are built part by part beside this transaction (generation.py) while the database
        # snapshots and deletes the old data, then each part is inserted while the next one is built.
        with no_cyclic_gc():
            inserted, replaced, run = _replace_books(klass, scenario, name, text, student=student, parent=parent,
                                                     deadline=deadline, roster=roster, now=now, owner_id=owner_id,
                                                     progress=progress)
        faults.checkpoint("reset.inserted")
        # Scenario quotas: only where none exists yet (a trainer's quotas survive resets and are never overwritten).
        inserted += fill_default_quotas(scenario, roster, now, owner_id)
        seconds = time.perf_counter() - started
        run.rows, run.duration_ms = inserted, int(seconds * 1000)
        _prune_snapshots(klass.id)
        op = current_op()
        op.run_id, op.class_id = run.id, klass.id
        op.target(run, scenario=scenario.title.zh if scenario.language == "zh" else scenario.title.en,
                  students=len(roster), rows=f"{inserted:,}", seconds=f"{seconds:.1f}",
                  who=student.display_name if student else klass.name, replaced=replaced)
        forget_run_ids()
        warnings = []
        if run.deadline <= now:
            warnings.append(_("The deadline is already past: actions from now on will not count towards grades."))
        return LoadResult(run, inserted, replaced, seconds, warnings)


def _class_owner(klass: Position) -> int:
    """Who owns a class's catalogue when no instructor is acting (CLI): its first instructor, else an admin."""
    from ...org.models import Role

    candidates = select(User.id).where(User.role.in_([Role.INSTRUCTOR, Role.ADMIN])).order_by(User.role.desc(), User.id)
    owner = db.session.scalar(candidates.where(User.class_id == klass.id)) or db.session.scalar(candidates)
    if owner is None:
        raise ScenarioLoadError(_("Create an instructor or administrator first: class catalogues need an owner."))
    return owner


@operation("scenario.load")
def load_scenario(klass: Position, name: str, deadline: datetime | None = None, expected_run_id: int = ANY,
                  progress: Progress | None = None) -> LoadResult:
    """Give the whole class scenario NAME: new data for every student, a new class run."""
    scenario, text = read_scenario(name)
    return _replace(klass, scenario, name, text, student=None, parent=None, deadline=deadline,
                    expected_run_id=expected_run_id, progress=progress)


@operation("scenario.reset")
def reset_scenario(klass: Position, student: User | None = None, deadline: datetime | None = None,
                   expected_run_id: int = ANY, progress: Progress | None = None) -> LoadResult:
    """Start the class's current scenario again, for the whole class or for one student."""
    class_run = current_class_run(klass.id)
    if class_run is None:
        raise ScenarioLoadError(_("No scenario has been loaded into %(name)s yet: load one first.", name=klass.name))
    if student is not None and (student.class_id != klass.id or student not in class_students(klass.id)):
        raise ScenarioLoadError(_("%(name)s is not an active student of this class.", name=student.display_name),
                                field="student_id")
    return _replace(klass, class_run.scenario, class_run.scenario_name, class_run.scenario_text, student=student,
                    parent=class_run if student is not None else None, deadline=deadline,
                    expected_run_id=expected_run_id, progress=progress)


@operation("scenario.undo")
def undo_reset(klass: Position, expected_run_id: int = ANY) -> Run:
    """Put back the data the latest load or reset replaced; that run is marked undone (its log stays)."""
    _check_actor(klass)
    run = latest_run(klass.id)
    snapshot = db.session.scalar(select(RunSnapshot).where(RunSnapshot.run_id == run.id)) if run else None
    if run is None or snapshot is None:
        raise ScenarioLoadError(_("There is no reset of this class that can be undone."))
    _lock(klass, expected_run_id)
    conn = db.session.connection()
    plan = scopes.Plan(scopes.Scope(klass.id, run.student_id), conn)
    # Files attached during the undone run are not in any snapshot: they go when the undo commits.
    doomed = scopes.scope_files(conn, plan) - scopes.snapshot_files(conn, [(snapshot.id, snapshot.data)])
    scopes.delete_scope(conn, plan)
    try:
        restored = scopes.restore_snapshot(conn, snapshot.id, snapshot.data, klass.id)
    except IntegrityError as exc:
        raise ScenarioLoadError(_("The saved data no longer fits the class (%(error)s); it cannot be restored.",
                                  error=str(exc.orig).splitlines()[0][:200])) from None
    remove_files_after_commit(doomed)
    run.undone_at, run.undone_by_id = utcnow(), getattr(current_actor(), "id", None)
    scopes.drop_snapshot_rows(conn, [snapshot.id])
    db.session.delete(snapshot)
    op = current_op()
    op.run_id, op.class_id = run.id, klass.id
    op.target(run, rows=f"{restored:,}")
    forget_run_ids()
    return run


def late_joiners(klass: Position, students: list[User]) -> list[User]:
    """Those of `students` who join `klass` while a scenario runs there and need a book (active students of it)."""
    if current_class_run(klass.id) is None:
        return []
    return [s for s in students if s.class_id == klass.id and s.role == "student" and s.status == "active"]


@operation("scenario.join")
def give_books(klass: Position, students: list[User]) -> LoadResult:
    """Late joiners: new students of a class with a running scenario get their books of the current class run.

    The books are generated as the class load would have made them (same scenario text, the run's start
    time), part by part in one Books as a reset does, and belong to the class run itself: the joiners' log
    entries count there, and a later reset or undo of the class treats them like everyone else. Nothing is
    replaced, so there is no snapshot. Callers pick the students with late_joiners().
    """
    class_run = current_class_run(klass.id)
    joiners = late_joiners(klass, students)
    if class_run is None or not joiners:
        raise ScenarioLoadError(_("No scenario is running in %(name)s, or nobody there needs a book.", name=klass.name))
    _check_actor(klass)
    started = time.perf_counter()
    scenario = class_run.scenario
    _ceiling(scenario, len(joiners))
    _lock(klass, ANY)
    actor = current_actor()
    owner_id = getattr(actor, "id", None) or _class_owner(klass)
    books = _books(scenario, class_run.scenario_text, joiners, class_run.started_at, klass, owner_id)
    try:
        inserted = _insert_parts(klass, books, keep_catalogue=True, progress=None)
        _store_books(books)
    except GenerationError as exc:
        raise ScenarioLoadError(_("The scenario's data could not be generated (%(error)s). Nothing was changed.",
                                  error=str(exc)[:200]), field="scenario") from None
    finally:
        books.close()
    inserted += fill_default_quotas(scenario, joiners, class_run.started_at, owner_id)
    seconds = time.perf_counter() - started
    op = current_op()
    op.run_id, op.class_id = class_run.id, klass.id
    op.target(class_run, who=", ".join(s.display_name for s in joiners[:5]) + (" …" if len(joiners) > 5 else ""),
              students=len(joiners), student_ids=",".join(str(s.id) for s in joiners), rows=f"{inserted:,}",
              seconds=f"{seconds:.1f}")
    return LoadResult(class_run, inserted, 0, seconds)


def can_undo(class_id: int) -> Run | None:
    """The run an undo would take back, if its snapshot is still kept."""
    run = latest_run(class_id)
    if run is None:
        return None
    has = db.session.scalar(select(RunSnapshot.id).where(RunSnapshot.run_id == run.id))
    return run if has else None

