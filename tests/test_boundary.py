"""The request boundary, the permission door and the one clock (issue 8: one way through for every request)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, get_flashed_messages, request
from flask_babel import force_locale
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden, NotFound
from wtforms import StringField

from sandbox import access, boundary, clock
from sandbox.errors import Conflict, NotAllowed, ServiceError
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import Position, PositionKind
from sandbox.records.services import create_record
from tests.conftest import act_as


def lead_count() -> int:
    with access.viewing_as(access.SYSTEM):
        return db.session.scalar(select(func.count()).select_from(Lead)) or 0


def entry_count() -> int:
    return db.session.scalar(select(func.count()).select_from(LogEntry)) or 0


class NameForm(FlaskForm):
    """A one-field form for the attempt() tests."""

    name = StringField("Name")


def add_view(app: Flask, rule: str, view: Any, methods: tuple[str, ...] = ("GET", "POST")) -> None:
    """Register a test page inside the boundary, as `boundary.install` wraps the real ones."""
    app.add_url_rule(rule, rule.strip("/"), boundary.bounded(view), methods=list(methods))


@pytest.fixture
def signed_in(app: Flask, classroom: Any) -> Any:
    """Sign in studentA (call it after adding the test pages) and a helper that makes a lead inside a view."""
    def make_lead(name: str) -> Lead:
        act_as(classroom.user("studentA"))
        return create_record(Lead, {"name": name, "status": "new"})

    return (lambda: classroom.client_for(app, "studentA")), make_lead


def test_a_successful_post_commits_once_and_a_get_never_commits(app: Flask, signed_in: Any) -> None:
    sign_in, make_lead = signed_in
    add_view(app, "/t/make", lambda: (make_lead(request.args["name"]), "made")[1])
    client = sign_in()
    before, entries = lead_count(), entry_count()
    assert client.get("/t/make?name=by-get").status_code == 200
    assert lead_count() == before and entry_count() == entries  # a GET's changes are discarded
    assert client.post("/t/make?name=by-post").status_code == 200
    assert lead_count() == before + 1 and entry_count() == entries + 1  # the record and its entry, together


def test_an_error_answer_rolls_back_what_the_view_did(app: Flask, signed_in: Any) -> None:
    sign_in, make_lead = signed_in
    add_view(app, "/t/fail", lambda: (make_lead("half-done"), ("refused", 400))[1])
    client = sign_in()
    before = lead_count()
    assert client.post("/t/fail").status_code == 400
    assert lead_count() == before


def test_keep_changes_commits_a_recorded_failure(app: Flask, signed_in: Any) -> None:
    sign_in, make_lead = signed_in

    def view() -> Any:
        make_lead("kept")
        boundary.keep_changes()
        return "recorded, but refused", 401

    add_view(app, "/t/keep", view)
    client = sign_in()
    before = lead_count()
    assert client.post("/t/keep").status_code == 401
    assert lead_count() == before + 1


def test_a_service_error_that_escapes_is_rolled_back_and_flashed(app: Flask, signed_in: Any) -> None:
    sign_in, make_lead = signed_in

    def view() -> Any:
        make_lead("undone")
        raise ServiceError("That cannot be done now.")

    add_view(app, "/t/refuse", view)
    client = sign_in()
    before = lead_count()
    response = client.post("/t/refuse", headers={"Referer": "http://localhost/leads/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/leads/")
    assert lead_count() == before
    page = client.get("/leads/").get_data(as_text=True)
    assert "That cannot be done now." in page


def test_a_referrer_from_another_site_is_not_followed(app: Flask, signed_in: Any) -> None:
    sign_in, _make_lead = signed_in

    def view() -> Any:
        raise ServiceError("No.")

    add_view(app, "/t/elsewhere", view)
    client = sign_in()
    response = client.post("/t/elsewhere", headers={"Referer": "https://evil.example/phish"})
    assert response.status_code == 302 and "evil.example" not in response.headers["Location"]


def test_not_allowed_is_the_403_page_in_one_place(app: Flask, signed_in: Any) -> None:
    sign_in, make_lead = signed_in

    def view() -> Any:
        make_lead("forbidden")
        raise NotAllowed("read-only")

    add_view(app, "/t/forbidden", view)
    client = sign_in()
    before = lead_count()
    response = client.post("/t/forbidden")
    assert response.status_code == 403 and '<small class="text-muted">403</small>' in response.get_data(as_text=True)
    assert lead_count() == before


def test_attempt_puts_the_refusal_next_to_its_field_and_rolls_back(app: Flask, signed_in: Any) -> None:
    sign_in, make_lead = signed_in
    seen: dict[str, Any] = {}

    def view() -> Any:
        form = NameForm(meta={"csrf": False})
        with boundary.attempt(form, "name") as outcome:
            make_lead("tried")
            raise ServiceError("Choose another name.")
        seen.update(errors=list(form.name.errors), failed=outcome.failed)
        return "form again", outcome.status

    add_view(app, "/t/attempt", view)
    client = sign_in()
    before = lead_count()
    assert client.post("/t/attempt", data={"name": "x"}).status_code == 400
    assert seen == {"errors": ["Choose another name."], "failed": True}
    assert lead_count() == before


def test_attempt_names_the_field_the_service_chose_and_flashes_without_one(app: Flask) -> None:
    with app.test_request_context("/", method="POST", data={"name": "x"}):
        form = NameForm(meta={"csrf": False})
        with boundary.attempt(form, "missing") as outcome:
            raise ServiceError("Bad name.", field="name")
        assert form.name.errors == ["Bad name."] and outcome.status == 400
        with boundary.attempt(form) as outcome:
            raise Conflict("Someone was faster.")
        assert outcome.status == 409 and get_flashed_messages() == ["Someone was faster."]
        with boundary.attempt() as outcome:
            pass
        assert not outcome.failed and outcome.status == 200


def test_attempt_lets_not_allowed_and_bugs_through(app: Flask) -> None:
    with app.test_request_context("/", method="POST"):
        with pytest.raises(NotAllowed), boundary.attempt():
            raise NotAllowed("no")
        with pytest.raises(KeyError), boundary.attempt():
            raise KeyError("a bug is not a refusal")


def test_every_view_of_the_app_is_inside_the_boundary(app: Flask) -> None:
    unwrapped = [e for e, view in app.view_functions.items() if getattr(view, "__wrapped__", None) is None]
    assert len(app.view_functions) > 50 and unwrapped == []


def test_the_door_refuses_observers_first_hides_the_invisible_and_forbids_the_unwritable(
        app: Flask, classroom: Any, make_lead: Any) -> None:
    mine = make_lead(classroom.user("studentA"))
    other = make_lead(classroom.user("studentB"))
    peer = make_lead(classroom.user("studentA2"))
    with app.test_request_context("/"):
        act_as(classroom.user("readonlyA"))
        with pytest.raises(Forbidden):
            access.get_writable_or_404(Lead, 10**6)  # 403 before any lookup: an observer learns nothing
        act_as(classroom.user("studentA"))
        assert access.get_writable_or_404(Lead, mine.id).id == mine.id
        with pytest.raises(NotFound):
            access.get_writable_or_404(Lead, other.id)  # another class: invisible, so 404
        with pytest.raises(NotFound):
            access.get_writable_or_404(Lead, 10**6)
        act_as(classroom.user("managerA"))
        assert access.get_writable_or_404(Lead, mine.id).id == mine.id  # a superior changes a subordinate's
        set_read_only_sharing(classroom)
        act_as(classroom.user("studentA"))
        assert access.get_visible_or_404(Lead, peer.id).id == peer.id
        with pytest.raises(Forbidden):
            access.get_writable_or_404(Lead, peer.id)  # visible through class sharing, not writable
        act_as(None)
        with access.viewing_as(None), pytest.raises(Forbidden):
            access.get_writable_or_404(Lead, mine.id)  # nobody signed in: nothing fails open


def set_read_only_sharing(classroom: Any) -> None:
    from sandbox.org.models import SharingModeValue
    from sandbox.org.services import set_sharing_mode

    act_as(None)
    set_sharing_mode(classroom.user("teacher"), classroom.classes["A"], "lead", SharingModeValue.READ_ONLY)
    db.session.commit()


def test_the_viewer_knows_its_managed_and_readable_classes(app: Flask, classroom: Any) -> None:
    every = set(db.session.scalars(select(Position.id).where(Position.kind == PositionKind.CLASS)))
    a, b, c = (classroom.classes[k].id for k in "ABC")
    assert every >= {a, b, c}

    def classes(name: str) -> tuple[set[int], set[int]]:
        v = access.viewer_for(classroom.user(name))
        return set(v.managed_class_ids), set(v.readable_class_ids)

    assert classes("admin") == (every, every)
    assert classes("teacher") == ({a, b}, {a, b})
    assert classes("teacher2") == ({c}, {c})
    assert classes("readonlyA") == (set(), {a})
    assert classes("studentA") == (set(), set())
    assert classes("managerA") == (set(), set())


def test_static_files_and_health_checks_compute_no_viewer(app: Flask, classroom: Any, monkeypatch: Any) -> None:
    client = classroom.client_for(app, "teacher")
    calls: list[int] = []
    real = access.build_viewer
    monkeypatch.setattr(access, "build_viewer", lambda user: calls.append(user.id) or real(user))
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200
    assert calls == []
    assert client.get("/").status_code == 200
    assert len(calls) == 1  # built for the first page (the sign-in changed the organisation: its time)
    assert client.get("/").status_code == 200
    assert len(calls) == 1  # kept by the worker for the next ones (kept_identity)


def test_today_is_the_configured_time_zones_day(app: Flask, monkeypatch: Any) -> None:
    late_evening_utc = datetime(2026, 12, 2, 20, 30)  # 04:30 on the 3rd in Shanghai (the default zone)
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    expected = late_evening_utc.replace(tzinfo=UTC).astimezone(zone).date()
    assert clock.utcnow().tzinfo is None
    monkeypatch.setattr(clock, "utcnow", lambda: late_evening_utc)
    with app.test_request_context("/"), force_locale("en"):
        assert clock.today() == expected
    if app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai":
        assert expected == late_evening_utc.date() + timedelta(days=1)


def test_no_actor_is_refused_unless_the_system_runs_the_service(app: Flask, classroom: Any) -> None:
    from sandbox.classroom.models import Run
    from sandbox.classroom.runs.services import load_scenario
    from sandbox.codes.services import check_scope
    from sandbox.oplog import set_actor

    klass = classroom.classes["A"]
    runs = db.session.scalar(select(func.count()).select_from(Run))
    set_actor(None)
    with access.viewing_as(None):  # a fresh context that forgot to say who acts: never the system
        with pytest.raises(NotAllowed):
            load_scenario(klass, "sales-basics")
        with pytest.raises(NotAllowed):
            check_scope(klass.id)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Run)) == runs
    act_as(None)  # the system, said explicitly (seeding, the CLI)
    check_scope(klass.id)
    assert load_scenario(klass, "sales-basics").run.class_id == klass.id
