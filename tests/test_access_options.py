"""The record rule's loader options are kept by the worker across requests, one set per shape of the rule.

A set is built for a shape (the form of the conditions: which branches of the rule a viewer takes) and binds each
viewer's ids when a statement runs. Kept options are only right if every field the rule branches on is part of
the shape and the ids really are the running viewer's: a viewer changed in any one field reads exactly what the
rule written out for it reads, and a statement built for one shape that runs for a viewer of another reads nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from sandbox import access
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from tests.test_access import make_group, set_sharing, visible_ids


def _different(name: str, value: Any, classroom: Any) -> Any:
    """A value of the same kind as `value` that is not equal to it (ids of the classroom where the rule reads
    ids, so the change shows in what is read)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, frozenset):  # emptied, or filled (a branch of the rule taken or not)
        return frozenset() if value else frozenset({u.id for u in classroom.users.values()}
                                                   | {p.id for p in classroom.classes.values()})
    if name == "sharing":
        return {**value, "lead": "read_only" if value.get("lead") != "read_only" else "private"}
    if isinstance(value, dict) and value:
        return {}
    if isinstance(value, dict):
        return {987654: frozenset({classroom.user("studentA2").id}) if name == "groups" else "x"}
    if value is None:
        return classroom.classes["B"].id
    raise AssertionError(f"no different value for {value!r}: extend this test with the new field's type")


def _read(statement: Any, viewer: Any, by_hand: Any) -> tuple[list[int], list[int]]:
    """Ids read through the kept options and through the rule written out for the viewer."""
    with access.viewing_as(viewer):
        kept = list(db.session.scalars(statement))
        hand = list(db.session.scalars(statement.where(by_hand).execution_options(skip_visibility=True)))
    return kept, hand


def test_a_viewer_changed_in_any_field_reads_what_its_own_rule_reads(classroom, make_lead):
    """Viewers of every role, each beside a copy changed in one field, read in both orders through kept sets: a
    set is built by the first viewer of its shape, so a branch of the rule the shape forgot hands one of the two
    the other's conditions, and it reads other rows than the rule written out for it."""
    for name in ("studentA", "studentA2", "peerA", "managerA", "teacher", "teacher2", "studentB", "studentC", "admin"):
        make_lead(classroom.user(name), name=f"L-{name}")
    make_group(classroom, "A", "studentA", "studentA2")
    set_sharing(classroom, "B", "read_only")

    def check(each: Any) -> None:
        for deleted in (False, True):
            leads = select(Lead.id).order_by(Lead.id).execution_options(include_deleted=deleted)
            kept, hand = _read(leads, each, access.criterion(Lead, each, include_deleted=deleted))
            assert kept == hand, each
        kept, hand = _read(select(LogEntry.id).order_by(LogEntry.id), each, access.log_criterion(each))
        assert kept == hand, each

    pairs = 0
    for name in ("peerA", "studentA", "managerA", "teacher", "readonlyA", "studentB", "admin"):
        viewer = access.viewer_for(classroom.user(name))
        for f in dataclasses.fields(viewer):
            changed = dataclasses.replace(viewer, **{f.name: _different(f.name, getattr(viewer, f.name), classroom)})
            for first, second in ((changed, viewer), (viewer, changed)):
                access._options_for.cache_clear()
                check(first)
                check(second)
            pairs += 1
    assert pairs == 7 * len(dataclasses.fields(access.Viewer))


def test_viewers_of_one_shape_share_one_set_and_flags_do_not(classroom):
    """Two students of other classes share the set (their ids are bound at run time); each flag has its own;
    a teacher's differs."""
    first = access.viewer_for(classroom.user("studentB"))
    other = access.viewer_for(classroom.user("studentC"))
    assert first.class_id != other.class_id and first.user_id != other.user_id
    kept = access._options_for(access._SameShape(first), False, False, False)
    assert access._options_for(access._SameShape(other), False, False, False) is kept
    for flags in ((True, False, False), (False, True, False), (False, False, True)):
        assert access._options_for(access._SameShape(other), *flags) is not kept
    teacher = access.viewer_for(classroom.user("teacher"))
    assert access._options_for(access._SameShape(teacher), False, False, False) is not kept
    # Nobody and the system are shapes of their own, whatever object stands for nobody.
    assert access._shape(None) == access._shape(object()) != access._shape(access.SYSTEM)
    assert access._shape(first) not in (access._shape(None), access._shape(access.SYSTEM))


def test_a_statement_built_for_one_shape_reads_nothing_for_another(classroom, make_lead):
    """The options a relationship load carries were built for its parent query's viewer: run for a viewer of
    another shape (the session's viewer changed meanwhile), their bound ids match no row, never another's."""
    for name in ("studentB", "studentC", "teacher"):
        make_lead(classroom.user(name), name=f"L-{name}")
    student_b = access.viewer_for(classroom.user("studentB"))
    built = select(Lead.id).options(*access._options_for(access._SameShape(student_b), False, False, False))
    built = built.execution_options(skip_visibility=True)  # only the options built for student B's shape
    for name in ("studentB", "studentC"):  # same shape: each reads its own
        with access.viewing_as(access.viewer_for(classroom.user(name))):
            assert set(db.session.scalars(built)) == visible_ids(classroom.user(name)) != set()
    with access.viewing_as(access.viewer_for(classroom.user("teacher"))):
        assert set(db.session.scalars(built)) == set()


def test_a_changed_group_or_sharing_mode_shows_at_once(classroom, make_lead):
    """Kept options never hold a viewer's old rights: the next query after a change sees the change."""
    mine = make_lead(classroom.user("studentA"), name="mine")
    theirs = make_lead(classroom.user("studentA2"), name="theirs")
    peer = make_lead(classroom.user("peerA"), name="peer's")
    student = classroom.user("studentA")
    assert visible_ids(student) >= {mine.id} and not visible_ids(student) & {theirs.id, peer.id}
    make_group(classroom, "A", "studentA", "studentA2")
    assert theirs.id in visible_ids(student) and peer.id not in visible_ids(student)
    set_sharing(classroom, "A", "read_only")
    assert {mine.id, theirs.id, peer.id} <= visible_ids(student)
    set_sharing(classroom, "A", "private")
    assert peer.id not in visible_ids(student)


def test_nobody_reads_nothing_and_the_system_reads_all(classroom, make_lead):
    """The two viewers that are not users keep their own options."""
    lead = make_lead(classroom.user("studentA"), name="x")
    assert visible_ids(None) == set()
    with access.viewing_as(access.SYSTEM):
        assert lead.id in set(access.db.session.scalars(select(Lead.id)))
    assert visible_ids(None) == set()


def test_the_signed_in_user_reaches_no_business_record(app):
    """The user is loaded without the record rule on every request: that is only safe while nothing ruled can
    be loaded from a User (or its Position) through a relationship, which would then carry no rule."""
    from sqlalchemy.orm import class_mapper

    from sandbox.oplog import LogEntry
    from sandbox.org.models import User
    from sandbox.owned import owned_classes

    ruled = {*owned_classes(), LogEntry}
    seen: set[type] = set()
    todo: list[type] = [User]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(rel.mapper.class_ for rel in class_mapper(cls).relationships)
    assert not seen & ruled, seen & ruled


def test_kept_cache_keys_bind_each_viewers_own_values(classroom, make_lead):
    """The rule's cache key is kept with its bound values: statements of one shape share the compiled SQL, and
    each execution still binds its own viewer's values and the statement's own, in their places."""
    from sqlalchemy import or_

    names = ("studentA", "peerA", "managerA", "studentA2", "studentB", "studentC", "teacher", "admin")
    for name in names:
        make_lead(classroom.user(name), name=f"L-{name}")
    make_group(classroom, "A", "studentA", "studentA2")

    def shaped(wanted: list[str]) -> Any:
        # Bound values of the statement on both sides of the rule's (an IN list, a LIKE, a limit).
        return (select(Lead.id).where(Lead.name.in_([f"L-{n}" for n in wanted]), or_(Lead.name.like("L-%"),
                Lead.id < 0)).order_by(Lead.id).limit(len(wanted) + 5))

    def by_hand(viewer: Any, wanted: list[str]) -> list[int]:
        statement = shaped(wanted).where(access.criterion(Lead, viewer)).execution_options(skip_visibility=True)
        return list(db.session.scalars(statement))

    viewers = {name: access.viewer_for(classroom.user(name)) for name in names}
    for round_ in range(2):
        for i, name in enumerate(names):
            wanted = list(names[i % 3:]) if round_ else list(names[: i + 2])
            with access.viewing_as(viewers[name]):
                got = list(db.session.scalars(shaped(wanted)))
            assert got == by_hand(viewers[name], wanted), (name, wanted)
    # The statement's key is the same for two viewers of one rule shape: the SQL is compiled once for both.
    keys = set()
    for name in ("studentB", "studentC"):
        with access.viewing_as(viewers[name]):
            statement = shaped(["x"]).options(*access._options_for(access._SameShape(viewers[name]),
                                                                    False, False, False))
            keys.add(statement._generate_cache_key().key)
    assert len(keys) == 1


def test_a_kept_statement_keeps_one_copy_with_the_rule_per_set_and_binds_each_viewer(classroom, make_lead):
    """A statement built once per process gets one copy with each kept set of the rule (its cache key is then
    walked once): viewers of one shape run the same copy, each reading its own rows; a set of another shape makes
    another copy; a statement built for one request takes its copies with it."""
    import gc
    import weakref

    names = ("studentA", "peerA", "studentB", "studentC", "teacher")
    for name in names:
        make_lead(classroom.user(name), name=f"L-{name}")
    kept = select(Lead.id).where(Lead.name.like("L-%")).order_by(Lead.id)
    for round_ in range(2):
        for name in names:
            user = classroom.user(name)
            with access.viewing_as(access.viewer_for(user)):
                got = set(db.session.scalars(kept))
            assert got == visible_ids(user) and got, (round_, name)
    copies = access._WITH_RULE[kept]
    # Students of one class and of two others share one shape; the teacher's is another: two copies, reused.
    assert len(copies) == 2, copies
    first = {id(copy) for _options, copy in copies.values()}
    with access.viewing_as(access.viewer_for(classroom.user("studentB"))):
        db.session.scalars(kept).all()
    assert {id(copy) for _options, copy in copies.values()} == first
    once = select(Lead.id).where(Lead.name == "L-studentA")
    with access.viewing_as(access.viewer_for(classroom.user("studentA"))):
        assert len(db.session.scalars(once).all()) == 1
    assert once in access._WITH_RULE
    gone = weakref.ref(once)
    del once
    gc.collect()
    assert gone() is None  # neither the kept copies nor the table hold it
