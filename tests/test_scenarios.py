"""Scenario load, reset (class or one student), undo and their refusals (issue 4; SPEC §8.3)."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import select

from sandbox.accounts.models import Account
from sandbox.classroom.models import Run, RunSnapshot
from sandbox.classroom.runs import generation, services
from sandbox.classroom.runs.lookup import current_class_run, current_run
from sandbox.classroom.runs.services import ANY, ScenarioLoadError, latest_run, load_scenario, reset_scenario, undo_reset
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.opportunities.models import Opportunity
from sandbox.org.models import Position, User, utcnow
from sandbox.products.models import Product
from sandbox.records.services import update_record
from tests import helpers
from tests.conftest import act_as

SYSTEM = {"skip_visibility": True}


def rows(model, *where) -> list:
    db.session.expire_all()
    return list(db.session.scalars(select(model).where(*where).order_by(model.id).execution_options(**SYSTEM)))


count = partial(helpers.count, expire=True, skip_visibility=True)


def fingerprint(class_id: int) -> list[tuple]:
    """Everything a reset would replace in a class, by id (to prove a failed reset left it as it was)."""
    out = []
    for model in (Lead, Account, Opportunity, Product):
        out += [(model.__name__, r.id, r.name, r.owner_id, r.version) for r in rows(model, model.class_id == class_id)]
    return out


def load(classroom, name="sales-basics", klass="A", **kw):
    act_as(classroom.user("teacher"))
    result = load_scenario(classroom.classes[klass], name, **kw)
    db.session.commit()
    return result


def test_load_gives_every_student_their_own_book_and_opens_a_run(app, classroom, make_lead):
    other = make_lead(classroom.user("studentB"), name="Class B lead")
    result = load(classroom)
    klass = classroom.classes["A"]
    run = result.run
    assert current_class_run(klass.id).id == run.id and run.scenario_name == "sales-basics"
    students = ("managerA", "studentA", "peerA", "studentA2")
    for name in students:
        assert count(Lead, Lead.owner_id == classroom.user(name).id) == 100
    assert count(Lead, Lead.class_id == klass.id) == 400  # nobody else in the class got a book
    assert count(Product, Product.class_id == klass.id) == 15
    names = {name: {lead.name for lead in rows(Lead, Lead.owner_id == classroom.user(name).id)} for name in students}
    assert names["studentA"] != names["peerA"]  # each student has their own variant
    assert rows(Lead, Lead.id == other.id)[0].name == "Class B lead"  # another class untouched
    entry = db.session.scalar(select(LogEntry).where(LogEntry.verb == "scenario.load"))
    assert entry.run_id == run.id and entry.class_id == klass.id and entry.actor_id == classroom.user("teacher").id
    assert entry.as_teacher and result.rows == run.rows > 400 and result.seconds > 0
    # Work done after the load is logged in the new run.
    make_lead(classroom.user("studentA"), name="Fresh")
    assert db.session.scalar(select(LogEntry.run_id).where(LogEntry.verb == "lead.create")
                             .order_by(LogEntry.id.desc()).limit(1)) == run.id


def test_same_scenario_and_roster_give_the_same_books(app, classroom):
    load(classroom)
    student = classroom.user("studentA")
    first = [(r.name, r.company, r.phone) for r in rows(Lead, Lead.owner_id == student.id)]
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"])
    db.session.commit()
    again = [(r.name, r.company, r.phone) for r in rows(Lead, Lead.owner_id == student.id)]
    assert first == again and len(first) == 100


def test_reset_of_one_student_replaces_only_their_book(app, classroom):
    class_run = load(classroom).run
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    peer_ids = [r.id for r in rows(Lead, Lead.owner_id == peer.id)]
    act_as(student)
    lead = rows(Lead, Lead.owner_id == student.id)[0]
    update_record(lead, {"name": "Edited before the reset"})
    db.session.commit()
    lead_id = lead.id
    act_as(classroom.user("teacher"))
    result = reset_scenario(classroom.classes["A"], student)
    db.session.commit()
    assert [r.id for r in rows(Lead, Lead.owner_id == peer.id)] == peer_ids
    mine = rows(Lead, Lead.owner_id == student.id)
    assert len(mine) == 100 and lead_id not in {r.id for r in mine}
    assert "Edited before the reset" not in {r.name for r in mine}
    run = result.run
    assert run.parent_id == class_run.id and run.student_id == student.id and run.deadline == class_run.deadline
    assert current_run(classroom.classes["A"].id, student.id).id == run.id
    assert current_run(classroom.classes["A"].id, peer.id).id == class_run.id
    # Lines of the new book point at the class's existing catalogue, not at a second copy.
    assert count(Product, Product.class_id == classroom.classes["A"].id) == 15


def test_undo_puts_back_exactly_what_the_reset_replaced(app, classroom):
    load(classroom)
    student = classroom.user("studentA")
    act_as(student)
    lead = rows(Lead, Lead.owner_id == student.id)[0]
    update_record(lead, {"name": "My edited lead"})
    db.session.commit()
    lead_id = lead.id
    before = fingerprint(classroom.classes["A"].id)
    act_as(classroom.user("teacher"))
    run = reset_scenario(classroom.classes["A"]).run
    db.session.commit()
    assert fingerprint(classroom.classes["A"].id) != before
    undone = undo_reset(classroom.classes["A"], expected_run_id=run.id)
    db.session.commit()
    assert undone.id == run.id and undone.undone_at is not None
    assert fingerprint(classroom.classes["A"].id) == before
    assert rows(Lead, Lead.id == lead_id)[0].name == "My edited lead"
    assert current_class_run(classroom.classes["A"].id).id != run.id
    assert count(RunSnapshot, RunSnapshot.run_id == run.id) == 0
    assert db.session.scalar(select(LogEntry.verb).order_by(LogEntry.id.desc()).limit(1)) == "scenario.undo"


def test_undo_of_a_one_student_reset_restores_references_from_classmates(app, classroom):
    from sandbox.contacts.models import Contact
    from sandbox.records.services import create_record

    load(classroom)
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    account = rows(Account, Account.owner_id == student.id)[0]
    act_as(peer)
    contact = create_record(Contact, {"name": "Peer's contact", "account_id": account.id})
    db.session.commit()
    contact_id, account_id = contact.id, account.id
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"], student)
    db.session.commit()
    assert rows(Contact, Contact.id == contact_id)[0].account_id is None  # detached, not deleted
    undo_reset(classroom.classes["A"])
    db.session.commit()
    assert rows(Contact, Contact.id == contact_id)[0].account_id == account_id


def test_a_load_in_parts_of_one_student_gives_the_same_books(app, classroom, monkeypatch):
    load(classroom)
    klass = classroom.classes["A"]
    whole = {name: [(r.name, r.company) for r in rows(Lead, Lead.owner_id == classroom.user(name).id)]
             for name in ("managerA", "studentA", "peerA", "studentA2")}
    monkeypatch.setattr(generation, "STUDENTS_PER_PART", 1)
    progress: list[tuple[str, int]] = []
    act_as(classroom.user("teacher"))
    result = reset_scenario(klass, progress=lambda table, n: progress.append((table, n)))
    db.session.commit()
    for name, books in whole.items():
        assert [(r.name, r.company) for r in rows(Lead, Lead.owner_id == classroom.user(name).id)] == books
    assert count(Product, Product.class_id == klass.id) == 15  # the catalogue once, from the first part
    # Every opportunity line points at this class's catalogue, and every contact at its owner's account.
    from sandbox.contacts.models import Contact
    from sandbox.opportunities.related_models import OpportunityLine

    products = {p.id for p in rows(Product, Product.class_id == klass.id)}
    lines = rows(OpportunityLine, OpportunityLine.opportunity_id.in_(
        select(Opportunity.id).where(Opportunity.class_id == klass.id)))
    assert lines and {line.product_id for line in lines} <= products
    owners = {a.id: a.owner_id for a in rows(Account, Account.class_id == klass.id)}
    assert all(owners[c.account_id] == c.owner_id for c in rows(Contact, Contact.class_id == klass.id))
    # Progress is one line per table for the whole load, not one per part.
    tables = [table for table, _n in progress]
    assert len(tables) == len(set(tables)) and dict(progress)["leads"] == 400
    assert result.rows == sum(n for table, n in progress if table != "snapshot")


def _rewritten_snapshot_restores(classroom, unpack) -> None:
    """Reset class A, rewrite its packed snapshot with `unpack(meta, stored rows)`, undo: the class is as before."""
    import json
    import zlib

    from sandbox.classroom.models import SnapshotRow

    load(classroom)
    before = fingerprint(classroom.classes["A"].id)
    act_as(classroom.user("teacher"))
    run = reset_scenario(classroom.classes["A"]).run
    db.session.commit()
    snapshot = db.session.scalar(select(RunSnapshot).where(RunSnapshot.run_id == run.id))
    meta = json.loads(zlib.decompress(snapshot.data))
    stored = rows(SnapshotRow, SnapshotRow.snapshot_id == snapshot.id)
    # Packed: one snapshot row per table, holding every replaced row of it as an array of its columns.
    assert meta["packed"] is True and "id" in meta["columns"]["leads"]
    assert len({r.table_name for r in stored}) == len(stored)
    packed = {r.table_name: json.loads(r.data) for r in stored}
    assert sum(map(len, packed.values())) == snapshot.rows > 0
    assert all(len(row) == len(meta["columns"][name]) for name, part in packed.items() for row in part)
    assert len(packed["leads"]) == len(rows(Lead, Lead.class_id == classroom.classes["A"].id))
    snapshot.data = unpack(meta, stored, packed)
    db.session.commit()
    undo_reset(classroom.classes["A"])
    db.session.commit()
    assert fingerprint(classroom.classes["A"].id) == before


def test_a_snapshot_is_packed_per_table_and_undo_restores_it(app, classroom):
    _rewritten_snapshot_restores(classroom, lambda meta, stored, packed: zlib_json(meta))


def test_an_older_snapshot_of_one_array_per_row_still_restores(app, classroom):
    import json

    from sandbox.classroom.models import SnapshotRow

    def unpack(meta, stored, packed):
        # The second release: one snapshot row per replaced row, a JSON array; no `packed` in the metadata.
        snapshot_id = stored[0].snapshot_id
        for row in stored:
            db.session.delete(row)
        db.session.add_all(SnapshotRow(snapshot_id=snapshot_id, table_name=name, data=json.dumps(values))
                           for name, part in packed.items() for values in part)
        return zlib_json({"columns": meta["columns"], "references": meta["references"]})

    _rewritten_snapshot_restores(classroom, unpack)


def test_an_older_snapshot_of_objects_still_restores(app, classroom):
    import json

    from sandbox.classroom.models import SnapshotRow

    def unpack(meta, stored, packed):
        # The first release: one object per row, and the metadata was the references alone.
        snapshot_id = stored[0].snapshot_id
        for row in stored:
            db.session.delete(row)
        db.session.add_all(SnapshotRow(snapshot_id=snapshot_id, table_name=name,
                                       data=json.dumps(dict(zip(meta["columns"][name], values, strict=True))))
                           for name, part in packed.items() for values in part)
        return zlib_json(meta["references"])

    _rewritten_snapshot_restores(classroom, unpack)


def zlib_json(value) -> bytes:
    """A snapshot's metadata as RunSnapshot.data stores it."""
    import json
    import zlib

    return zlib.compress(json.dumps(value).encode())


def test_a_failed_reset_leaves_the_class_as_it_was(app, classroom, monkeypatch):
    load(classroom)
    before = fingerprint(classroom.classes["A"].id)
    runs, entries = count(Run), count(LogEntry)

    def crash(name: str) -> None:
        if name == "reset.inserted":
            raise RuntimeError("power cut")

    monkeypatch.setattr(services.faults, "checkpoint", crash)
    act_as(classroom.user("teacher"))
    with pytest.raises(RuntimeError):
        reset_scenario(classroom.classes["A"])
    db.session.rollback()
    assert fingerprint(classroom.classes["A"].id) == before
    assert (count(Run), count(LogEntry)) == (runs, entries)


def test_a_generator_that_fails_midway_leaves_the_class_as_it_was(app, classroom, monkeypatch):
    load(classroom)
    before = fingerprint(classroom.classes["A"].id)
    runs, entries = count(Run), count(LogEntry)
    real = generation.generate_parts

    def fails_after_the_first_part(*args, **kwargs):
        parts = real(*args, **kwargs)
        yield next(parts)
        raise KeyError("industry")

    monkeypatch.setattr(generation, "STUDENTS_PER_PART", 1)  # several parts: the forked child builds them
    monkeypatch.setattr(generation, "generate_parts", fails_after_the_first_part)
    monkeypatch.setitem(app.config, "SCENARIO_BOOK_CACHE", False)  # the books must be generated to fail
    act_as(classroom.user("teacher"))
    with pytest.raises(ScenarioLoadError) as refused:
        reset_scenario(classroom.classes["A"])
    db.session.rollback()
    assert "could not be generated" in refused.value.message and "KeyError" in refused.value.message
    assert fingerprint(classroom.classes["A"].id) == before
    assert (count(Run), count(LogEntry)) == (runs, entries)


def test_reset_never_touches_accounts_positions_or_other_classes(app, classroom, make_lead):
    other = make_lead(classroom.user("studentB"))
    users = [(u.id, u.username, u.position_id, u.status) for u in rows(User)]
    positions = [(p.id, p.path, p.name) for p in rows(Position)]
    load(classroom)
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"])
    db.session.commit()
    assert [(u.id, u.username, u.position_id, u.status) for u in rows(User)] == users
    assert [(p.id, p.path, p.name) for p in rows(Position)] == positions
    assert [r.id for r in rows(Lead, Lead.class_id == classroom.classes["B"].id)] == [other.id]


# ---- refusals: a clear message, nothing changed ---------------------------------------------------------------


def refused(classroom, action, *args, **kw) -> ScenarioLoadError:
    before = fingerprint(classroom.classes["A"].id)
    runs = count(Run)
    with pytest.raises(ScenarioLoadError) as caught:
        action(*args, **kw)
    db.session.rollback()
    assert fingerprint(classroom.classes["A"].id) == before and count(Run) == runs
    return caught.value


def test_unknown_and_malformed_scenarios_are_refused(app, classroom, tmp_path):
    act_as(classroom.user("teacher"))
    error = refused(classroom, load_scenario, classroom.classes["A"], "no-such-scenario")
    assert "no scenario named no-such-scenario" in error.message
    (tmp_path / "broken.yaml").write_text("title: {zh: 坏}\nseed: three\n", encoding="utf-8")
    app.config["SCENARIO_DIR"] = str(tmp_path)
    error = refused(classroom, load_scenario, classroom.classes["A"], "broken")
    assert "not valid" in error.message
    assert any(line.startswith("broken.yaml: seed: expected") for line in error.details), error.details


def test_volumes_over_the_ceiling_are_refused(app, classroom):
    app.config["SCENARIO_MAX_RECORDS"] = 500
    act_as(classroom.user("teacher"))
    error = refused(classroom, load_scenario, classroom.classes["A"], "sales-basics")
    assert "ceiling is 500" in error.message and "SCENARIO_MAX_RECORDS" in error.message


def test_a_class_without_students_is_refused(app, classroom):
    from sandbox.org.services import class_wizard

    act_as(classroom.user("teacher"))
    empty = class_wizard(None, classroom.teacher_node, "Empty class", ["E1"], "JOINE", True, "Sales")
    db.session.commit()
    error = refused(classroom, load_scenario, empty, "sales-basics")
    assert "has no active students" in error.message


def test_reset_before_any_load_and_undo_without_snapshot_are_refused(app, classroom):
    act_as(classroom.user("teacher"))
    assert "No scenario has been loaded" in refused(classroom, reset_scenario, classroom.classes["A"]).message
    assert "no reset of this class that can be undone" in refused(classroom, undo_reset, classroom.classes["A"]).message


def test_another_classes_instructor_is_refused(app, classroom):
    load(classroom)
    act_as(classroom.user("teacher2"))
    assert "do not teach" in refused(classroom, reset_scenario, classroom.classes["A"]).message


def test_a_reset_based_on_a_stale_page_is_refused(app, classroom):
    first = load(classroom).run
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"], expected_run_id=first.id)  # the first click goes through
    db.session.commit()
    # A second click made from the same (now stale) page must not reset again.
    error = refused(classroom, reset_scenario, classroom.classes["A"], expected_run_id=first.id)
    assert "while you were deciding" in error.message
    assert latest_run(classroom.classes["A"].id).id != first.id


def test_a_deadline_in_the_past_loads_with_a_warning(app, classroom):
    result = load(classroom, deadline=utcnow() - timedelta(days=1))
    assert result.run.deadline < utcnow()
    assert any("already past" in w for w in result.warnings)


def test_expected_run_any_is_the_cli_default():
    assert ANY == -1


@pytest.mark.parametrize("name", [p.stem for p in __import__("seed").scenario_files()])
def test_every_shipped_scenario_loads_and_grades(app, classroom, name):
    from sandbox.classroom.grading.gradebook import gradebook

    run = load(classroom, name).run
    book = gradebook(run)
    assert [r.student.username for r in book.rows] == ["managerA", "studentA", "peerA", "studentA2"] or \
        {r.student.username for r in book.rows} == {"managerA", "studentA", "peerA", "studentA2"}
    assert book.max_total == run.scenario.total_points
    # Generated data meets no objective: every student starts from zero.
    assert all(r.total == 0 for r in book.rows)
    assert count(Lead, Lead.owner_id == classroom.user("studentA").id) == run.scenario.volumes.per_student.leads


def test_two_resets_of_one_class_at_once_never_interleave(app, classroom):
    """Two instructors press Reset on the same page at the same moment: one wins, the other is refused."""
    import threading

    first = load(classroom).run
    class_id = classroom.classes["A"].id
    teacher_id = classroom.user("teacher").id
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def press() -> None:
        with app.app_context():
            from sandbox.oplog import set_actor

            teacher = db.session.get(User, teacher_id)
            act_as(teacher)
            set_actor(teacher)
            klass = db.session.get(Position, class_id)
            barrier.wait()
            try:
                reset_scenario(klass, expected_run_id=first.id)
                db.session.commit()
                outcomes.append("done")
            except ScenarioLoadError as exc:
                db.session.rollback()
                outcomes.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes.count("done") == 1, outcomes
    refusal = next(o for o in outcomes if o != "done")
    assert "while you were deciding" in refusal or "Another reset of this class is running" in refusal
    # Exactly one new run, and exactly one book per student (nothing doubled or half-replaced).
    assert count(Run) == 2
    assert count(Lead, Lead.class_id == class_id) == 400
    for name in ("managerA", "studentA", "peerA", "studentA2"):
        assert count(Lead, Lead.owner_id == classroom.user(name).id) == 100


def _attach(classroom, app, owner: str, name: str):
    from pathlib import Path

    from sandbox.records import notes

    act_as(classroom.user(owner))
    lead = rows(Lead, Lead.owner_id == classroom.user(owner).id)[0]
    att = notes.upload_attachment(lead, name, b"quote for " + name.encode())
    db.session.commit()
    return Path(app.config["UPLOAD_FOLDER"]) / "attachments" / att.stored_name


def test_an_attachments_file_lives_as_long_as_an_undo_could_bring_it_back(app, classroom):
    app.config["SNAPSHOTS_KEPT"] = 2
    load(classroom)
    before_reset = _attach(classroom, app, "studentA", "quote-1.pdf")
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"])
    db.session.commit()
    assert before_reset.is_file()  # its row is in the reset's snapshot
    after_reset = _attach(classroom, app, "studentA", "quote-2.pdf")
    act_as(classroom.user("teacher"))
    undo_reset(classroom.classes["A"])
    db.session.commit()
    assert before_reset.is_file()  # restored with its row
    assert not after_reset.exists()  # attached during the undone run: no snapshot holds it
    # The next reset's snapshot holds quote-1 again; the file goes when that snapshot is pruned, two
    # resets later (SNAPSHOTS_KEPT = 2), and not before.
    for still_there in (True, True, False):
        act_as(classroom.user("teacher"))
        reset_scenario(classroom.classes["A"])
        db.session.commit()
        assert before_reset.is_file() == still_there


def test_a_rolled_back_change_keeps_the_files_it_would_have_removed(app, classroom):
    from sandbox.records.notes import remove_files_after_commit

    load(classroom)
    path = _attach(classroom, app, "studentA", "keep.pdf")
    remove_files_after_commit([path.name])
    db.session.rollback()
    db.session.commit()
    assert path.is_file()
    remove_files_after_commit([path.name])
    db.session.commit()
    assert not path.exists()


def test_both_ways_of_reading_a_child_table_select_the_same_rows(app, classroom):
    # SQLite reads a child table (roles, lines, notes...) row by row where it is smaller than the scope's records
    # it points at, by looking up the scope's records otherwise (reset_scope.Plan): both forms, every child table,
    # a class and a student scope, with a second class beside it, select exactly the same rows.
    from sandbox.classroom.runs import reset_scope
    from sandbox.records import notes

    load(classroom)
    load(classroom, klass="B")
    for owner in ("studentA", "peerA", "studentB"):
        act_as(classroom.user(owner))
        lead = rows(Lead, Lead.owner_id == classroom.user(owner).id)[0]
        notes.add_note(lead, f"note of {owner}")
        account = rows(Account, Account.owner_id == classroom.user(owner).id)[0]
        notes.add_note(account, f"account note of {owner}")
    db.session.commit()
    conn = db.session.connection()
    tables = db.metadata.tables
    for scope in (reset_scope.Scope(classroom.classes["A"].id),
                  reset_scope.Scope(classroom.classes["A"].id, classroom.user("studentA").id)):
        plan = reset_scope.Plan(scope)  # no connection: every child table by looking up the scope's records
        assert set(plan.children) == set(plan.row_by_row)
        chosen = reset_scope.Plan(scope, conn)
        seen = 0
        for name, by_records in plan.children.items():
            ids = [set(conn.scalars(select(tables[name].c.id).where(where)))
                   for where in (by_records, plan.row_by_row[name], chosen.children[name])]
            assert ids[0] == ids[1] == ids[2], (scope, name)
            seen += len(ids[0])
        assert seen > 100
        note_ids = set(conn.scalars(select(tables["notes"].c.id).where(plan.children["notes"])))
        assert len(note_ids) == (4 if scope.student_id is None else 2)
    if conn.dialect.name == "sqlite":
        # The notes table (6 rows) is far smaller than the class's records: read row by row.
        assert chosen.children["notes"] is chosen.row_by_row["notes"]
