"""The record rule's loader options are kept by the worker across requests, per viewer and flags.

Kept options are only right if two viewers share them exactly when the rule says the same to both: every field
of a Viewer is part of the key, and a changed group, sharing mode or position gives new options at once.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select

from sandbox import access
from sandbox.leads.models import Lead
from tests.test_access import make_group, set_sharing, visible_ids


def _different(value: Any) -> Any:
    """A value of the same kind as `value` that is not equal to it."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, frozenset):
        return value | {987654}
    if isinstance(value, dict):
        return {**value, 987654: frozenset({1})}
    if value is None:
        return 1
    raise AssertionError(f"no different value for {value!r}: extend this test with the new field's type")


def test_every_field_of_the_viewer_is_in_the_key(classroom):
    """A viewer that differs in any one field never shares the kept options of another."""
    viewer = access.viewer_for(classroom.user("studentA"))
    key = access._viewer_key(viewer)
    for field in dataclasses.fields(viewer):
        other = dataclasses.replace(viewer, **{field.name: _different(getattr(viewer, field.name))})
        assert access._viewer_key(other) != key, field.name
        assert access._SameRule(other) != access._SameRule(viewer), field.name


def test_equal_viewers_share_one_set_and_flags_do_not(classroom):
    """The viewer built again (next request) reuses the set; each flag has its own."""
    first = access.viewer_for(classroom.user("studentA"))
    again = access.viewer_for(classroom.user("studentA"))
    assert first is not again
    kept = access._options_for(access._SameRule(first), False, False, False)
    assert access._options_for(access._SameRule(again), False, False, False) is kept
    for flags in ((True, False, False), (False, True, False), (False, False, True)):
        assert access._options_for(access._SameRule(again), *flags) is not kept
    # Nobody and the system are viewers of their own, whatever object stands for nobody.
    assert access._viewer_key(None) == access._viewer_key(object()) != access._viewer_key(access.SYSTEM)
    assert access._viewer_key(first) not in (access._viewer_key(None), access._viewer_key(access.SYSTEM))


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

    from sandbox.extensions import db

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
            statement = shaped(["x"]).options(*access._options_for(access._SameRule(viewers[name]),
                                                                    False, False, False))
            keys.add(statement._generate_cache_key().key)
    assert len(keys) == 1
