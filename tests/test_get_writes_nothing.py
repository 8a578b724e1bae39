"""GET requests write nothing that grading reads (issue §3): a student who opens every page of the app (the
route × role matrix's GET of every rule) leaves the operation log and every table exactly as they were."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.oplog import LogEntry
from tests.conftest import PASSWORD
from tests.test_matrix import ROUTES, World, _methods, visits


def _table_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def test_a_student_opening_every_page_writes_nothing(app, classroom, make_lead):
    """Opening every page (GET) as a student leaves the database unchanged."""
    world = World(app, classroom, make_lead)
    make_lead(classroom.user("studentA"))
    student = classroom.client_for(app, "studentA")
    # Every page's request is planned (and its objects made) first, so the counts see only what the GETs write.
    planned = [visits(world, rule.endpoint, "GET", "studentA") for rule in app.url_map.iter_rules()
               if "GET" in _methods(rule) and rule.endpoint in ROUTES]
    db.session.commit()
    before = _table_counts()
    answered = []
    for visit in planned:
        response = student.get(visit.path)
        answered.append(response.status_code)
        response.close()
    assert len(answered) > 50 and answered.count(200) > 40
    after = _table_counts()
    changed = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
    written = db.session.scalars(select(LogEntry.verb).order_by(LogEntry.id).offset(before["log_entries"])).all()
    assert changed == {}, f"GET requests wrote rows: {changed}; log entries: {written}"


def test_an_export_is_a_post_and_is_logged(app, classroom, make_lead):
    """An export is a POST and leaves an entry in the operation log."""
    make_lead(classroom.user("studentA"))
    student = classroom.client_for(app, "studentA")
    before = db.session.scalar(select(func.count()).select_from(LogEntry))
    assert student.get("/leads/export.csv").status_code == 405
    assert db.session.scalar(select(func.count()).select_from(LogEntry)) == before
    response = student.post("/leads/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    verbs = db.session.scalars(select(LogEntry.verb).order_by(LogEntry.id).offset(before)).all()
    assert verbs == ["lead.export"]


def test_the_list_page_exports_through_a_form_with_its_filters(app_factory, classroom):
    """The list page exports through a form that carries its filters."""
    guarded = app_factory(WTF_CSRF_ENABLED=True)
    client = guarded.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/auth/login").get_data(as_text=True))
    assert client.post("/auth/login", data={"username": "studentA", "password": PASSWORD,
                                            "csrf_token": token.group(1)}).status_code == 302
    page = client.get("/leads/?status=new&page=2").get_data(as_text=True)
    assert 'method="post" action="/leads/export.csv?status=new"' in page
    assert 'method="post" action="/leads/export.xlsx?status=new"' in page
    token = re.search(r'action="/leads/export.csv\?status=new"><input type="hidden" name="csrf_token" value="([^"]+)"', page)
    assert client.post("/leads/export.csv?status=new", data={"csrf_token": token.group(1)}).status_code == 200
    assert client.post("/leads/export.csv?status=new").status_code == 400  # no token: refused
