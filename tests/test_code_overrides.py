"""Code tables: the school's defaults plus per-class overrides (issue "sealed class" §2; SPEC §7).

An instructor's edit reaches only the classes below them; the admin edits the defaults.
"""

from __future__ import annotations

from flask_babel import force_locale
from sqlalchemy import func, select

from sandbox.codes.models import CodeValue
from sandbox.codes.services import SCHOOL, choices, label
from sandbox.extensions import db
from tests.conftest import act_as


def default(table: str, code: str) -> CodeValue:
    return db.session.scalar(select(CodeValue).where(CodeValue.table_name == table, CodeValue.code == code,
                                                     CodeValue.class_id.is_(None)))


def offered(client, url: str = "/leads/new?lang=en") -> str:
    return client.get(url).get_data(as_text=True)


def edit(client, value: CodeValue, class_id, **fields):
    data = {"label_zh": value.label_zh, "label_en": value.label_en, "sort_order": str(value.sort_order),
            "active": "y", "class_id": "" if class_id is None else str(class_id), **fields}
    if fields.get("active") is False:
        data.pop("active")
    return client.post(f"/admin/code-tables/{value.id}", data=data)


def test_one_teachers_deactivated_code_leaves_another_teachers_class_unchanged(app, classroom, make_lead):
    a, c = classroom.classes["A"], classroom.classes["C"]
    web = default("lead_source", "web")
    teacher = classroom.client_for(app, "teacher")
    assert edit(teacher, web, a.id, active=False).status_code == 302
    assert edit(teacher, default("lead_source", "phone"), a.id, label_en="Hotline").status_code == 302
    db.session.expire_all()
    # The default itself is untouched; class A has its overrides.
    assert default("lead_source", "web").active and default("lead_source", "phone").label_en == "Phone inquiry"
    assert {(v.code, v.active) for v in db.session.scalars(select(CodeValue).where(CodeValue.class_id == a.id))} == {
        ("web", False), ("phone", True)}
    # Class A no longer offers "web" and calls "phone" Hotline; teacher2's class C is unchanged.
    page_a = offered(classroom.client_for(app, "studentA"))
    assert 'value="web"' not in page_a and "Hotline" in page_a
    page_c = offered(classroom.client_for(app, "studentC"))
    assert 'value="web"' in page_c and "Hotline" not in page_c and "Phone inquiry" in page_c
    # A record shows its class's label, to its students and to the instructor above the class.
    lead_a = make_lead(classroom.user("studentA"), source="phone")
    lead_c = make_lead(classroom.user("studentC"), source="phone")
    assert "Hotline" in classroom.client_for(app, "studentA").get(f"/leads/{lead_a.id}?lang=en").get_data(as_text=True)
    assert "Hotline" in teacher.get(f"/leads/{lead_a.id}?lang=en").get_data(as_text=True)
    page = classroom.client_for(app, "studentC").get(f"/leads/{lead_c.id}?lang=en").get_data(as_text=True)
    assert "Hotline" not in page and "Phone inquiry" in page
    # The two-argument lookup still works: the viewer's class, or the defaults without one.
    with app.test_request_context("/"), force_locale("en"):
        act_as(classroom.user("studentA"))
        assert label("lead_source", "phone") == "Hotline"
        assert "web" not in dict(choices("lead_source"))
        assert label("lead_source", "phone", c.id) == "Phone inquiry"
        assert label("lead_source", "phone", SCHOOL) == "Phone inquiry"
    act_as(None)


def test_an_instructor_edits_only_the_classes_below_them(app, classroom):
    web = default("lead_source", "web")
    c = classroom.classes["C"]
    teacher = classroom.client_for(app, "teacher")
    # Another teacher's class is not found; nothing changes.
    assert edit(teacher, web, c.id, active=False).status_code == 404
    assert teacher.get(f"/admin/code-tables?table=lead_source&class_id={c.id}").status_code == 404
    # Without a class the instructor edits their first class, never the defaults.
    assert edit(teacher, web, None, label_en="Web A").status_code == 302
    db.session.expire_all()
    assert default("lead_source", "web").label_en == "Website"
    assert db.session.scalar(select(CodeValue.class_id).where(CodeValue.label_en == "Web A")) in (
        classroom.classes["A"].id, classroom.classes["B"].id)
    assert db.session.scalar(select(CodeValue).where(CodeValue.class_id == c.id)) is None
    # A value added by the instructor exists in their class only.
    a = classroom.classes["A"]
    response = teacher.post("/admin/code-tables/add", data={"table": "lead_source", "code": "wechat",
                                                            "label_zh": "微信", "label_en": "WeChat",
                                                            "sort_order": "5", "class_id": str(a.id)})
    assert response.status_code == 302
    assert 'value="wechat"' in offered(classroom.client_for(app, "studentA"))
    assert 'value="wechat"' not in offered(classroom.client_for(app, "studentB"))
    assert 'value="wechat"' not in offered(classroom.client_for(app, "studentC"))
    # A default cannot be deleted for one class.
    teacher.post(f"/admin/code-tables/{web.id}/delete", data={"class_id": str(a.id)})
    assert default("lead_source", "web") is not None


def test_the_admin_edits_the_defaults_and_an_override_goes_back_to_them(app, classroom):
    a = classroom.classes["A"]
    web = default("lead_source", "web")
    teacher = classroom.client_for(app, "teacher")
    assert edit(teacher, web, a.id, label_en="Web of A").status_code == 302
    admin = classroom.client_for(app, "admin")
    assert edit(admin, web, None, label_en="Web site").status_code == 302
    db.session.expire_all()
    assert default("lead_source", "web").label_en == "Web site"
    assert "Web site" in offered(classroom.client_for(app, "studentB"))
    assert "Web of A" in offered(classroom.client_for(app, "studentA"))
    page = teacher.get(f"/admin/code-tables?table=lead_source&class_id={a.id}&lang=en").get_data(as_text=True)
    assert "Web of A" in page and 'data-testid="class-value"' in page
    override = db.session.scalar(select(CodeValue).where(CodeValue.class_id == a.id))
    assert teacher.post(f"/admin/code-tables/{override.id}/delete", data={"class_id": str(a.id)}).status_code == 302
    assert db.session.scalar(select(CodeValue).where(CodeValue.class_id == a.id)) is None
    assert "Web site" in offered(classroom.client_for(app, "studentA"))


def test_a_refused_picklist_change_is_a_service_error_the_boundary_shows(app, classroom):
    """CodeError is one of the ServiceError family: attempt() rolls it back and puts it by its field."""
    from flask_wtf import FlaskForm
    from wtforms import StringField

    from sandbox.boundary import attempt
    from sandbox.codes.services import create_value
    from sandbox.oplog import LogEntry

    class ValueForm(FlaskForm):
        code = StringField()

    before = db.session.scalar(select(func.count()).select_from(LogEntry))
    values = db.session.scalar(select(func.count()).select_from(CodeValue))
    with app.test_request_context("/admin/code-tables/add", method="POST", data={"code": "Bad Code!"}), \
            force_locale("en"):
        act_as(classroom.user("admin"))
        form = ValueForm()
        form.validate()
        with attempt(form, "label_zh") as outcome:
            create_value("lead_source", "ok_code", "中文", "English", 1)  # accepted, flushed, logged
            create_value("lead_source", "Bad Code!", "坏", "Bad", 2)
        act_as(None)
    assert outcome.failed and outcome.status == 400
    assert form.code.errors == ["A code has lowercase letters, digits and underscores (at most 40)."]
    assert db.session.scalar(select(func.count()).select_from(LogEntry)) == before
    assert db.session.scalar(select(func.count()).select_from(CodeValue)) == values
