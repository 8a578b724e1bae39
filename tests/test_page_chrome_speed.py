"""What every signed-in page pays around its own work, kept small and exact.

The user comes with their position in one query, the viewer in one more statement (access.viewer_for), both
kept by the worker while the organisation's version holds (one statement reads it), the
layout's position label from the viewer's rows; template gettext and the `datetime` filter find the language
once per request and give Flask-Babel's own text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import flask_babel
import pytest
from flask import Flask, render_template_string
from sqlalchemy import update

from sandbox import access, create_app
from sandbox.extensions import db
from sandbox.i18n import format_datetime
from sandbox.org.models import Position, User
from sandbox.org.services import add_group_member, create_group, set_sharing_mode

from .helpers import act_as, statements

FORMATS = ("short", "medium", "long", "full", "yyyy-MM-dd HH:mm", "MM-dd HH:mm:ss zzz", "EEEE d MMMM y")


def _instants() -> list[datetime]:
    start = datetime(2026, 1, 1, 0, 0, 0, 123456)
    naive = [start + timedelta(days=d, hours=h, minutes=7 * h) for d in range(0, 365, 29) for h in (0, 5, 13, 23)]
    aware = [datetime(2026, 3, 29, 1, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=timezone(timedelta(hours=-5)))]
    return naive + aware


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York"])
def test_datetime_filter_writes_flask_babels_text(zone: str) -> None:
    """The filter's text is flask_babel.format_datetime's for every format, language and instant (DST too)."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x",
                      "BABEL_DEFAULT_TIMEZONE": zone})
    shown = app.jinja_env.filters["datetime"]
    for locale in ("zh_Hans_CN", "en"):
        with app.test_request_context("/"), flask_babel.force_locale(locale):
            for fmt in FORMATS:
                for value in _instants():
                    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
                    assert shown(value, fmt) == flask_babel.format_datetime(aware, fmt), (locale, fmt, value)
            assert shown(None) == ""
            assert shown(datetime(2026, 1, 2, 3, 4, 5)) == flask_babel.format_datetime(
                datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "medium")


def test_datetime_filter_values_in_both_languages(app: Flask) -> None:
    """Exact texts (Asia/Shanghai): the same instant in Chinese and in English, switched inside one request."""
    value = datetime(2026, 1, 2, 3, 4, 5)
    with app.test_request_context("/?lang=zh_Hans_CN"):
        with flask_babel.force_locale("zh_Hans_CN"):
            assert format_datetime(value, "short") == "2026/1/2 11:04"
            assert format_datetime(value, "medium") == "2026年1月2日 11:04:05"
        with flask_babel.force_locale("en"):
            assert format_datetime(value, "short") == "1/2/26, 11:04\u202fAM"
        with flask_babel.force_locale("zh_Hans_CN"):  # back again: nothing kept from the English block
            assert format_datetime(value, "short") == "2026/1/2 11:04"


def test_gettext_follows_the_language_of_the_moment(app: Flask) -> None:
    """Template and Python gettext: the request's language, a forced block's, then the request's again."""
    template = "{{ _('Leads') }}|{{ _('%(n)s records', n=3) }}|{{ ngettext('%(num)d item', '%(num)d items', 2) }}"
    with app.test_request_context("/"), flask_babel.force_locale("zh_Hans_CN"):
        chinese = render_template_string(template)
        assert chinese == "线索|共 3 条记录|2 items" and flask_babel.gettext("Leads") == "线索"
        with flask_babel.force_locale("en"):
            assert render_template_string(template) == "Leads|3 records|2 items"
            assert flask_babel.gettext("Leads") == "Leads"
            assert str(flask_babel.lazy_gettext("Leads")) == "Leads"
        assert render_template_string(template) == chinese
        assert flask_babel.gettext("Leads") == "线索"
        # Escaping is the i18n extension's as before: a variable is escaped, the translated text is not.
        assert render_template_string("{{ _('%(n)s records', n='<b>') }}") == "共 &lt;b&gt; 条记录"


def _sql(app: Flask, client, url: str) -> list[str]:
    assert client.get(url).status_code == 200
    with statements(app) as seen:
        assert client.get(url).status_code == 200
    return [" ".join(s.split()) for s in seen]


@pytest.mark.parametrize("who", ["studentA", "managerA", "readonlyA", "teacher", "admin"])
def test_the_page_chrome_is_three_statements(app: Flask, classroom, who: str) -> None:
    """The first reads (the organisation's version, the picklists' stamp and the badge, one statement:
    sandbox.first_reads), user with position, viewer: the inbox (two statements of its own) issues exactly five
    on the first page after a change of the organisation (the sign-in is one); on the next ones the worker keeps
    the user and the viewer (kept_identity), so three."""
    client = classroom.client_for(app, who)
    with statements(app) as seen:
        assert client.get("/notifications/").status_code == 200
    sql = [" ".join(s.split()) for s in seen]
    assert len(sql) == 5, sql
    assert sql[0].startswith("SELECT (SELECT org_stamps.version") and "FROM code_values" in sql[0]
    assert "notifications.read_at IS NULL" in sql[0]  # the badge
    assert sql[1].startswith("SELECT users.id") and "JOIN positions" in sql[1]
    assert sql[2].startswith("SELECT 'a' AS tag") or who == "admin"  # the admin on the root has a position too
    assert sum("FROM positions" in s and "tag" not in s for s in sql) == 0  # no label query of the layout
    kept = _sql(app, client, "/notifications/")
    assert len(kept) == 3, kept
    assert kept[0].startswith("SELECT (SELECT org_stamps.version")
    assert not any("FROM users" in s or "tag" in s for s in kept)
    assert not [s for s in kept[1:] if "org_stamps" in s or "FROM code_values" in s or "read_at IS NULL" in s]


def test_a_write_reads_its_first_values_in_its_own_transaction(app: Flask, classroom) -> None:
    """A POST does not read the first values together: the picklists' stamp is read in its transaction when a
    kept table is used (codes.services.kept_for_write), and the version and badge on their own."""
    client = classroom.client_for(app, "studentA")
    assert client.get("/leads/new").status_code == 200
    with statements(app) as seen:
        response = client.post("/leads/new", data={"name": "Chrome lead", "status": "new", "version": ""})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert not [s for s in seen if s.startswith("SELECT (SELECT org_stamps.version")]


def test_the_user_menu_names_the_position_as_before_and_escapes_it(app: Flask, classroom) -> None:
    """The label is Position.path_label; a renamed department (another worker's change) shows on the next page,
    escaped."""
    for who in ("studentA", "managerA", "readonlyA", "teacher"):
        page = classroom.client_for(app, who).get("/notifications/").get_data(as_text=True)
        user = db.session.get(User, classroom.user(who).id)
        assert f" · {user.position.path_label}</span>" in page.replace("&gt;", ">").replace("&lt;", "<"), who
    client = classroom.client_for(app, "studentA")
    assert "A1 › " in client.get("/notifications/").get_data(as_text=True)
    department = classroom.departments["A1"]
    db.session.execute(update(Position).where(Position.id == department.id).values(name="<script>x</script>"))
    db.session.commit()
    page = client.get("/notifications/").get_data(as_text=True)
    assert "&lt;script&gt;x&lt;/script&gt; › " in page and "<script>x</script>" not in page


def test_the_viewer_reads_groups_modes_and_subordinates_in_its_statement(app: Flask, classroom) -> None:
    """The one statement's rows make the same viewer the separate queries made (exact sets)."""
    student, peer, manager = (classroom.user(n) for n in ("studentA", "peerA", "managerA"))
    klass = classroom.classes["A"]
    teacher_user = classroom.user("teacher")
    act_as(teacher_user)
    group = create_group(teacher_user, klass, "Pair")
    add_group_member(teacher_user, group, student)
    add_group_member(teacher_user, group, peer)
    set_sharing_mode(teacher_user, klass, "lead", "read_only")
    db.session.commit()
    act_as(None)
    viewer = access.viewer_for(db.session.get(User, student.id))
    assert viewer.groups == {group.id: frozenset({peer.id})} and viewer.group_names == {group.id: "Pair"}
    assert viewer.sharing == {"lead": "read_only"} and viewer.subordinate_ids == frozenset()
    assert viewer.position_label == db.session.get(User, student.id).position.path_label
    boss = access.viewer_for(db.session.get(User, manager.id))
    assert boss.subordinate_ids == {student.id, peer.id} and boss.below_class_ids == frozenset()
    assert boss.position_label == "A1"
    teacher = access.viewer_for(db.session.get(User, classroom.user("teacher").id))
    assert teacher.below_class_ids == {classroom.classes["A"].id, classroom.classes["B"].id}
    assert teacher.managed_class_ids == teacher.below_class_ids and teacher.position_label == "Teacher Li"
    admin = access.viewer_for(db.session.get(User, classroom.user("admin").id))
    assert admin.managed_class_ids == {k.id for k in classroom.classes.values()} == admin.readable_class_ids
    observer = access.viewer_for(db.session.get(User, classroom.user("readonlyA").id))
    assert observer.whole_class and observer.readable_class_ids == {klass.id}
    assert observer.position_label == "Teacher Li › Class A"


def test_a_macro_speaks_each_requests_language(app: Flask, classroom) -> None:
    """The pager macro (imported once per process, without context) follows each request's language."""
    client = classroom.client_for(app, "studentA")
    for _round in range(2):
        chinese = client.get("/leads/?lang=zh_Hans_CN").get_data(as_text=True)
        assert 'data-testid="total">共 0 条记录<' in chinese and ">上一页<" in chinese
        english = client.get("/leads/?lang=en").get_data(as_text=True)
        assert 'data-testid="total">0 records<' in english and ">Previous<" in english and "条记录" not in english


def _menu(page: str) -> str:
    start = page.index('<ul class="navbar-nav me-auto">')
    return page[start:page.index('<ul class="navbar-nav">', start)]


def test_the_menu_is_kept_per_role_and_language_and_is_each_ones_own(app: Flask, classroom, monkeypatch) -> None:
    """The signed-in menu is rendered once per role and language in a worker; each role and language still gets
    its own (a student never gets the instructor's Classroom menu, a Chinese page never an English menu)."""
    import sandbox.app_setup as app_setup

    rendered: list[str] = []
    real = app_setup.render_template

    def counting(name: str, **context):  # type: ignore[no-untyped-def]
        rendered.append(name)
        return real(name, **context)

    monkeypatch.setattr(app_setup, "render_template", counting)
    menus: dict[tuple[str, str], str] = {}
    for _round in range(2):
        for who in ("teacher", "studentA", "admin", "readonlyA", "studentB"):
            client = classroom.client_for(app, who)
            for lang in ("en", "zh_Hans_CN"):
                menu = _menu(client.get(f"/notifications/?lang={lang}").get_data(as_text=True))
                assert menus.setdefault((who, lang), menu) == menu
    # Four roles × two languages, each rendered once; the second student and the second round reuse them.
    assert rendered.count("_nav_menu.html") == 8
    assert "Classroom" in menus["teacher", "en"] and "Classroom" not in menus["studentA", "en"]
    assert "Organisation" in menus["admin", "en"] and "Organisation" not in menus["teacher", "en"]
    assert "My progress" in menus["studentA", "en"] and "Gradebook" in menus["readonlyA", "en"]
    assert menus["studentA", "en"] == menus["studentB", "en"] != menus["studentA", "zh_Hans_CN"]
    assert "线索" in menus["studentA", "zh_Hans_CN"] and "Leads" not in menus["studentA", "zh_Hans_CN"]
