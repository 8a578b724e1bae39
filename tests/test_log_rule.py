"""The log's read rule applies by default, as the record rule does (issue 8, item 3): a page that selects log
entries without thinking of the rule gets only what the viewer may read."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from sandbox import access
from sandbox.extensions import db
from sandbox.oplog import LogEntry
from tests.conftest import act_as


def everything() -> set[int]:
    """Every entry id, read as system jobs do (the explicit escape)."""
    return set(db.session.scalars(select(LogEntry.id).execution_options(skip_visibility=True)))


def by_hand(viewer: object) -> set[int]:
    """The entries the rule lets `viewer` read, applied by hand as the pages used to."""
    return set(db.session.scalars(
        select(LogEntry.id).where(access.log_criterion(viewer)).execution_options(skip_visibility=True)))


def test_a_page_that_forgets_the_rule_still_reads_only_what_the_viewer_may(app, classroom):
    """A new view selecting LogEntry with no filter answers each viewer only their readable entries."""

    @app.get("/test-only/log-ids")
    def naive_log_page() -> str:
        return json.dumps(sorted(db.session.scalars(select(LogEntry.id))))

    for name in ("studentA", "studentB", "teacher", "admin"):
        classroom.client_for(app, name)  # each signs in once: the log holds entries of several people and classes
    act_as(None)
    for name in ("studentA", "teacher", "readonlyA", "admin"):
        client = classroom.client_for(app, name)
        seen = set(json.loads(client.get("/test-only/log-ids").get_data(as_text=True)))
        viewer = access.viewer_for(classroom.user(name))
        assert seen == by_hand(viewer), name
        if name != "admin":
            assert seen < everything(), name  # something is hidden from everyone but the admin
    student = classroom.client_for(app, "studentA")
    own = set(json.loads(student.get("/test-only/log-ids").get_data(as_text=True)))
    actors = set(db.session.scalars(select(LogEntry.actor_id).where(LogEntry.id.in_(own))
                                    .execution_options(skip_visibility=True)))
    assert actors == {classroom.user("studentA").id}


def test_counts_and_columns_of_the_log_are_filtered_too(app, classroom):
    """Not only whole entries: a count or a column select of LogEntry applies the rule as well."""
    for name in ("studentA", "studentB"):
        classroom.client_for(app, name)
    act_as(classroom.user("studentA"))
    viewer = access.current_viewer()
    assert db.session.scalar(select(func.count(LogEntry.id))) == len(by_hand(viewer))
    assert set(db.session.scalars(select(LogEntry.actor_id).distinct())) == {classroom.user("studentA").id}
    act_as(None)
    assert db.session.scalar(select(func.count(LogEntry.id))) == len(everything())


def test_without_a_viewer_nothing_is_read_and_the_escapes_read_all(app, classroom):
    """No viewer fails closed; `skip_visibility` and `reading_whole_log()` are the two explicit ways around."""
    classroom.client_for(app, "studentB")
    act_as(None)
    whole = everything()
    access.use_viewer(None)
    assert list(db.session.scalars(select(LogEntry.id))) == []
    act_as(classroom.user("studentA"))
    assert set(db.session.scalars(select(LogEntry.id))) < whole
    with access.reading_whole_log():
        assert set(db.session.scalars(select(LogEntry.id))) == whole
    assert set(db.session.scalars(select(LogEntry.id))) < whole
