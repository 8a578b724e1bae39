"""Case rules beyond the graph: required fields, who moves, locked states, SLA, satisfaction, notifications,
spare parts, the knowledge article, and the pages (refusals next to the field, foreign ids, lists)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.cases import services
from sandbox.cases.models import Case
from sandbox.errors import NotAllowed, ServiceError
from sandbox.extensions import db
from sandbox.notifications.models import Notification
from sandbox.products.models import Product, StockMovement
from sandbox.records.services import VersionConflict
from tests.helpers import act_as, count, entries, field_error, fresh, text

COMPLAINT = {"subject": "Gas smell at Lane 5", "channel": "phone", "target": "company"}


def make(user: Any, workflow: str, **data: Any) -> Case:
    """A case created by `user` (committed)."""
    act_as(user)
    case = services.create_case(workflow, data)
    db.session.commit()
    return case


def move(user: Any, case: Case, to: str, **values: Any) -> Case:
    """Move a case as `user` (committed)."""
    act_as(user)
    services.transition_case(case, to, values)
    db.session.commit()
    return case


def refused(user: Any, call: Any, *args: Any, **kwargs: Any) -> ServiceError:
    """The refusal of a service call as `user` (rolled back, as the request boundary does)."""
    act_as(user)
    with pytest.raises(ServiceError) as error:
        call(*args, **kwargs)
    db.session.rollback()
    return error.value


def notes(kind: str) -> list[tuple[int, int]]:
    """(user id, case id) of the notifications of one kind."""
    db.session.expire_all()
    return sorted((n.user_id, n.record_id) for n in db.session.scalars(select(Notification).where(
        Notification.kind == kind)))


# ---- complaints ----------------------------------------------------------------------------------------------
def test_complaint_creation_requires_level_channel_target(classroom: Any) -> None:
    student = classroom.user("studentA")
    error = refused(student, services.create_case, "complaint", {"subject": "No level", "channel": "phone",
                                                                 "target": "company"})
    assert error.field == "level" and "Complaint level" in error.message and "Complaint" in error.message
    assert refused(student, services.create_case, "complaint", {**COMPLAINT, "level": 6}).field == "level"
    assert refused(student, services.create_case, "complaint", {**COMPLAINT, "level": 2, "channel": "fax"}).field \
        == "channel"
    assert count(Case, skip_visibility=True) == 0
    case = make(student, "complaint", **COMPLAINT, level="2")
    assert (case.state, case.level, case.channel, case.target) == ("new", 2, "phone", "company")
    assert case.due_at == case.created_at + timedelta(hours=48)
    assert [e.verb for e in entries("case.create")] == ["case.create"]


def test_level1_agreed_needs_the_supervision_opinion(classroom: Any) -> None:
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    case = make(student, "complaint", **COMPLAINT, level=1)
    move(student, case, "assigned", assignee_id=peer.id)
    move(student, case, "received")
    move(student, case, "investigated", investigation="Leak in the riser")
    version = case.version
    error = refused(student, services.transition_case, case, "agreed", {"measure": "Replaced", "result": "OK"})
    assert error.field == "supervision_opinion"
    assert "Service-supervision opinion" in error.message and "Complaint level = 1" in error.message
    case = fresh(case)
    assert (case.state, case.version, case.resolved_at) == ("investigated", version, None)
    move(student, case, "agreed", measure="Replaced", result="OK", supervision_opinion="Checked by supervision")
    assert case.state == "agreed" and case.resolved_at is not None
    assert case.data["supervision_opinion"] == "Checked by supervision"


def test_level2_agreed_without_the_opinion(classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "complaint", **COMPLAINT, level=2)
    for to, values in (("assigned", {"assignee_id": student.id}), ("received", {}),
                       ("investigated", {"investigation": "x"}), ("agreed", {"measure": "m", "result": "r"})):
        move(student, case, to, **values)
    assert case.state == "agreed"
    assert refused(student, services.transition_case, case, "investigated").field == "to"  # never back


def test_level1_complaint_notifies_instructors_and_superiors(classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "complaint", **COMPLAINT, level=1)
    teacher, manager = classroom.user("teacher"), classroom.user("managerA")
    assert notes("complaint.level1") == sorted([(teacher.id, case.id), (manager.id, case.id)])
    other = make(student, "complaint", **COMPLAINT, level=3)
    assert len(notes("complaint.level1")) == 2
    act_as(student)
    services.update_case(other, {"level": 1})
    db.session.commit()
    assert notes("complaint.level1") == sorted([(teacher.id, case.id), (manager.id, case.id),
                                                (teacher.id, other.id), (manager.id, other.id)])
    assert other.due_at == other.created_at + timedelta(hours=24)  # the SLA follows the level
    note = db.session.scalar(select(Notification).where(Notification.record_id == other.id).limit(1))
    assert (note.record_type, note.params["label"], note.class_id) == ("case", other.subject, other.class_id)


def test_level2_at_assigned_notifies_the_supervisor_and_the_assignee(classroom: Any) -> None:
    student, peer, manager = classroom.user("studentA"), classroom.user("peerA"), classroom.user("managerA")
    case = make(student, "complaint", **COMPLAINT, level=2)
    assert notes("complaint.level1") == [] and notes("case.supervise") == []
    move(student, case, "assigned", assignee_id=peer.id, supervisor_id=manager.id)
    assert notes("case.supervise") == [(manager.id, case.id)]
    assert notes("case.assigned") == [(peer.id, case.id)]


def test_an_escalated_complaint_notifies_its_owner_assignee_and_supervisor_but_not_a_milder_one(classroom: Any) -> None:
    """Escalated = the level made more severe (a lower number); making it milder or editing other fields is no news,
    and whoever escalates is not told of it."""
    student, peer, manager = classroom.user("studentA"), classroom.user("peerA"), classroom.user("managerA")
    case = make(student, "complaint", **COMPLAINT, level=4)
    move(student, case, "assigned", assignee_id=peer.id, supervisor_id=manager.id)
    for level in (5, 4):  # 4 → 5 is milder (no news); 5 → 4 is more severe (news)
        act_as(student)
        services.update_case(case, {"level": level})
        db.session.commit()
    # The owner escalated it: the assignee and the supervisor are told, not the owner who did it.
    assert notes("case.escalated") == sorted([(peer.id, case.id), (manager.id, case.id)])
    act_as(student)
    services.update_case(case, {"subject": "Still rude at the counter"})
    db.session.commit()
    assert len(notes("case.escalated")) == 2
    act_as(manager)  # the superior escalates: now the owner hears of it too
    services.update_case(case, {"level": 2})
    db.session.commit()
    assert len(notes("case.escalated")) == 4
    assert (student.id, case.id) in notes("case.escalated")
    note = db.session.scalar(select(Notification).where(Notification.kind == "case.escalated").limit(1))
    assert note.params["level"] in (4, 2)


def test_the_assignee_must_be_of_the_class(classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "complaint", **COMPLAINT, level=2)
    for forged in (classroom.user("studentB").id, 999_999, "abc", 2**40):
        error = refused(student, services.transition_case, case, "assigned", {"assignee_id": forged})
        assert error.field == "assignee_id"
    assert fresh(case).state == "new"


# ---- suggestions, information flow, visit orders ---------------------------------------------------------------
def test_suggestion_code_group_and_outcomes(classroom: Any) -> None:
    student = classroom.user("studentA")
    assert refused(student, services.create_case, "suggestion", {"subject": "s"}).field == "code_group"
    assert refused(student, services.create_case, "suggestion", {"subject": "s", "code_group": 6}).field == "code_group"
    case = make(student, "suggestion", subject="Longer hours", code_group=5)
    move(student, case, "assigned", assignee_id=student.id)
    move(student, case, "received")
    assert refused(student, services.transition_case, case, "not_adopted", {}).field == "reason"
    assert refused(student, services.transition_case, case, "adopted", {}).field == "measure"
    move(student, case, "not_adopted", reason="Budget", satisfaction=4)
    assert (case.state, case.satisfaction, case.data["reason"]) == ("not_adopted", 4, "Budget")
    assert case.closed_at is not None and case.resolved_at is not None


def test_info_flow_only_the_creator_closes_and_closed_is_locked(classroom: Any) -> None:
    student, teacher = classroom.user("studentA"), classroom.user("teacher")
    case = make(student, "info_flow", subject="Price change notice")
    move(student, case, "assigned", assignee_id=student.id)
    assert refused(student, services.transition_case, case, "replied", {"reply": "x"}).field == "to"  # received first
    move(student, case, "received")
    assert case.received_at is not None
    move(student, case, "replied", reply="Done")
    error = refused(teacher, services.transition_case, case, "closed", {})
    assert "only its creator" in error.message
    move(student, case, "closed", satisfaction=5)
    assert case.closed_at is not None and case.satisfaction == 5
    version = case.version
    assert "locked" in refused(student, services.update_case, case, {"subject": "changed"}).message
    assert "locked" in refused(student, services.transition_case, case, "assigned", {"assignee_id": student.id}).message
    assert "locked" in refused(teacher, services.transition_case, case, "assigned", {}).message
    case = fresh(case)
    assert (case.subject, case.state, case.version) == ("Price change notice", "closed", version)


def test_visit_order_never_back_to_unprocessed(classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "visit_order", subject="Visit the mayor's office")
    move(student, case, "completed")
    assert case.resolved_at is not None
    error = refused(student, services.transition_case, case, "rejected", {})
    assert "cannot move" in error.message and "Processing" in error.message
    assert refused(student, services.transition_case, case, "unprocessed", {}).field == "to"
    move(student, case, "processing")
    assert case.resolved_at is None  # reopened: no longer resolved
    move(student, case, "rejected")
    move(student, case, "completed")
    assert case.state == "completed"


def test_satisfaction_is_read_on_closing_only(classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "feedback", subject="Bill too high")
    move(student, case, "in_progress", satisfaction=5)  # not a closing move: the score is not taken
    assert case.satisfaction is None
    move(student, case, "resolved", solution="Explained the tariff")
    assert refused(student, services.transition_case, case, "closed", {"satisfaction": 6}).field == "satisfaction"
    assert refused(student, services.transition_case, case, "closed", {"satisfaction": "great"}).field == "satisfaction"
    move(student, case, "closed", satisfaction="3")
    assert case.satisfaction == 3 and case.due_at == case.created_at + timedelta(hours=72)


def test_stale_version_is_a_conflict(classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "feedback", subject="Bill")
    act_as(student)
    with pytest.raises(VersionConflict):
        services.transition_case(case, "in_progress", {}, expected_version=case.version + 1)
    db.session.rollback()
    assert fresh(case).state == "new"


def test_another_class_cannot_move_a_case(classroom: Any) -> None:
    case = make(classroom.user("studentA"), "feedback", subject="Bill")
    act_as(classroom.user("studentB"))
    with pytest.raises(NotAllowed):
        services.transition_case(case, "in_progress", {})
    db.session.rollback()
    assert fresh(case).state == "new"


# ---- repair orders and spare parts -----------------------------------------------------------------------------
def _repair_at_dispatched(classroom: Any) -> tuple[Case, Product]:
    from sandbox.products.services import create_product
    from sandbox.products.stock import move_stock

    teacher, student = classroom.user("teacher"), classroom.user("studentA")
    act_as(teacher)
    product = create_product(Product, {"name": "Valve", "code": "V-1", "list_price": 5, "active": True,
                                       "class_id": student.class_id})
    move_stock(product, "in", 3, to_location="main")
    db.session.commit()
    case = make(student, "repair_order", subject="Boiler leaks")
    move(student, case, "order")
    move(student, case, "dispatched", technician="Master Wang")
    assert case.stamps and "dispatched_at" in case.stamps
    return case, product


def test_repair_completion_consumes_parts(classroom: Any) -> None:
    case, product = _repair_at_dispatched(classroom)
    student = classroom.user("studentA")
    move(student, case, "completed", solution="New valve", parts="V-1 2")
    assert fresh(product).stock_on_hand == 1
    movement = db.session.scalar(select(StockMovement).where(StockMovement.case_id == case.id))
    assert (movement.kind, movement.quantity) == ("out", 2)
    assert case.data["parts"] == [{"product_id": product.id, "code": "V-1", "quantity": 2}]
    entry = entries("case.transition")[-1]
    assert entry.params == {"workflow": "repair_order", "from": "dispatched", "to": "completed"}


def test_repair_parts_never_below_zero(classroom: Any) -> None:
    case, product = _repair_at_dispatched(classroom)
    student = classroom.user("studentA")
    logged = len(entries("case.transition"))
    error = refused(student, services.transition_case, case, "completed", {"solution": "x", "parts": "V-1 4"})
    assert error.field == "parts" and "below zero" in error.message
    assert refused(student, services.transition_case, case, "completed", {"solution": "x", "parts": "NOPE 1"}).field \
        == "parts"
    assert refused(student, services.transition_case, case, "completed", {"solution": "x", "parts": "V-1 two"}).field \
        == "parts"
    assert fresh(product).stock_on_hand == 3 and fresh(case).state == "dispatched"
    assert count(StockMovement, StockMovement.case_id == case.id, skip_visibility=True) == 0
    assert len(entries("case.transition")) == logged


def test_repair_review_by_a_superior_only(classroom: Any) -> None:
    case, _product = _repair_at_dispatched(classroom)
    student, manager = classroom.user("studentA"), classroom.user("managerA")
    move(student, case, "completed", solution="Fixed")
    error = refused(student, services.transition_case, case, "reviewed", {"review_opinion": "ok"})
    assert "superiors" in error.message
    move(manager, case, "reviewed", review_opinion="Good work")
    for to, values in (("settled", {"cost": "1,200.5"}), ("called_back", {"callback_note": "Happy"}),
                       ("signed_off", {"satisfaction": 5})):
        move(student, case, to, **values)
    assert case.data["cost"] == "1200.50" and case.closed_at is not None and case.satisfaction == 5
    assert "locked" in refused(student, services.transition_case, case, "settled", {"cost": "-1"}).message


# ---- knowledge article ----------------------------------------------------------------------------------------
def _article(user: Any, title: str) -> Any:
    from sandbox.knowledge.models import Article
    from sandbox.records.services import create_record

    act_as(user)
    article = create_record(Article, {"title": title, "body": "Check the valve.", "status": "published"})
    db.session.commit()
    return article


def test_solved_by_a_visible_article(classroom: Any) -> None:
    student = classroom.user("studentA")
    article = _article(classroom.user("managerA"), "Gas smell checklist")  # class-readable: the whole class reads it
    foreign = _article(classroom.user("studentB"), "Another class's article")
    case = make(student, "feedback", subject="Smell")
    for bad in (foreign.id, "x", 0, 2**40):
        assert refused(student, services.link_article, case, bad).field == "article_id"
    act_as(student)
    services.link_article(case, article.id)
    db.session.commit()
    assert fresh(case).solved_by_id == article.id
    assert entries("case.solved_by")[-1].params == {"article_id": article.id}


# ---- pages ------------------------------------------------------------------------------------------------------
def test_move_page_shows_the_rule_next_to_the_field(app: Any, classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "complaint", **COMPLAINT, level=1)
    move(student, case, "assigned", assignee_id=student.id)
    move(student, case, "received")
    move(student, case, "investigated", investigation="Leak")
    client = classroom.client_for(app, "studentA")
    page = client.get(f"/cases/{case.id}/move/agreed")
    assert page.status_code == 200 and "Service-supervision opinion *" in text(page)
    response = client.post(f"/cases/{case.id}/move/agreed", data={"measure": "m", "result": "r",
                                                                  "version": str(fresh(case).version)})
    assert response.status_code == 400
    assert "requires Service-supervision opinion when Complaint level = 1" in field_error(text(response),
                                                                                          "supervision_opinion")
    assert fresh(case).state == "investigated"
    response = client.post(f"/cases/{case.id}/move/agreed", data={"measure": "m", "result": "r",
                                                                  "supervision_opinion": "ok",
                                                                  "version": str(fresh(case).version)})
    assert response.status_code == 302 and fresh(case).state == "agreed"
    detail = text(client.get(f"/cases/{case.id}"))
    assert "Agreed with customer" in detail and 'data-testid="move-closed"' in detail


def test_forged_values_on_pages_are_400_not_500(app: Any, classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "complaint", **COMPLAINT, level=2)
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/cases/{case.id}/move/assigned", data={"assignee_id": "99999999999",
                                                                    "version": str(fresh(case).version)})
    assert response.status_code == 400 and "active user" in field_error(text(response), "assignee_id")
    response = client.post("/cases/new/complaint", data={"subject": "x", "level": "9", "channel": "phone",
                                                          "target": "company"})
    assert response.status_code == 400 and "from 1 to 5" in field_error(text(response), "level")
    response = client.post(f"/cases/{case.id}/move/closed", data={"version": str(fresh(case).version)})
    assert response.status_code == 302 and fresh(case).state == "new"
    assert "cannot move" in text(client.get(response.headers["Location"]))
    assert client.get("/cases/new/no_such_workflow").status_code == 404
    response = client.post(f"/cases/{case.id}/solved-by", data={"article_id": "abc"})
    assert response.status_code == 302 and fresh(case).solved_by_id is None


def test_foreign_ids_are_404(app: Any, classroom: Any) -> None:
    case = make(classroom.user("studentA"), "feedback", subject="Bill")
    client = classroom.client_for(app, "studentB")
    for method, path in (("get", f"/cases/{case.id}"), ("get", f"/cases/{case.id}/edit"),
                         ("post", f"/cases/{case.id}/edit"), ("get", f"/cases/{case.id}/move/in_progress"),
                         ("post", f"/cases/{case.id}/move/in_progress"), ("post", f"/cases/{case.id}/solved-by")):
        assert getattr(client, method)(path).status_code == 404, path
    assert fresh(case).state == "new"


def test_editing_a_locked_case_is_refused(app: Any, classroom: Any) -> None:
    student = classroom.user("studentA")
    case = make(student, "feedback", subject="Bill")
    for to, values in (("in_progress", {}), ("resolved", {"solution": "s"}), ("closed", {})):
        move(student, case, to, **values)
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/cases/{case.id}/edit", data={"subject": "Changed", "version": str(fresh(case).version)})
    assert response.status_code == 302
    assert "locked state" in text(client.get(response.headers["Location"]))
    assert fresh(case).subject == "Bill"
    assert 'data-testid="locked"' in text(client.get(f"/cases/{case.id}"))


def test_create_edit_and_list_filters(app: Any, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    assert client.get("/cases/new").status_code == 200
    response = client.post("/cases/new/complaint", data={"subject": "Noisy meter", "level": "3", "channel": "other",
                                                         "target": "call_centre"})
    assert response.status_code == 302
    case = db.session.scalar(select(Case).execution_options(skip_visibility=True))
    assert (case.workflow, case.state, case.level, case.owner_id) == ("complaint", "new", 3,
                                                                      classroom.user("studentA").id)
    response = client.post(f"/cases/{case.id}/edit", data={"subject": "Very noisy meter", "level": "3",
                                                            "channel": "other", "target": "call_centre",
                                                            "version": str(fresh(case).version)})
    assert response.status_code == 302 and fresh(case).subject == "Very noisy meter"
    make(classroom.user("studentA"), "feedback", subject="Kind words")
    make(classroom.user("peerA"), "feedback", subject="Peer's feedback")
    make(classroom.user("studentB"), "complaint", **COMPLAINT, level=3)

    page = text(client.get("/cases/?workflow=complaint"))
    assert "Very noisy meter" in page and "Kind words" not in page and "Gas smell" not in page
    page = text(client.get("/cases/?workflow=feedback&state=new"))
    assert "Kind words" in page and "Peer's feedback" not in page and "Very noisy meter" not in page
    assert "Very noisy meter" in text(client.get("/cases/?level=3"))
    assert "Very noisy meter" not in text(client.get("/cases/?level=1"))
    assert "Kind words" in text(client.get("/cases/?q=kind"))
    teacher = classroom.client_for(app, "teacher")
    page = text(teacher.get("/cases/?workflow=complaint&level=3"))
    assert "Very noisy meter" in page and "Gas smell at Lane 5" in page  # classes A and B
    assert "Gas smell at Lane 5" not in text(classroom.client_for(app, "teacher2").get("/cases/"))


def test_the_log_reads_state_labels_not_codes(app: Any, classroom: Any) -> None:
    from sandbox.log.render import Names, field_changes

    student = classroom.user("studentA")
    case = make(student, "repair_order", subject="Boiler")
    move(student, case, "order")
    move(student, case, "dispatched", technician="Master Wang")
    entry = entries("case.transition")[-1]
    assert entry.changes["fields"]["data"] == [None, {"technician": "Master Wang"}]  # JSON, as grading reads it
    with app.test_request_context("/"):
        assert entry.summary == "moved case Boiler from Take the order to Dispatched".replace("Take the order", "Order")
        changes = {c.name: (c.before, c.after) for c in field_changes(entry, Names())}
    assert changes["state"] == ("Order", "Dispatched")
    assert changes["data"][1] == "Technician: Master Wang"
    assert changes["stamps"][1].startswith("Dispatched: ")


def test_sla_breach(classroom: Any) -> None:
    from sandbox.cases.rules import set_stamp

    student = classroom.user("studentA")
    case = make(student, "complaint", **COMPLAINT, level=1)
    assert not case.sla_breached
    case.due_at = case.created_at - timedelta(hours=1)  # a deadline passed (set on the object only, not saved)
    assert case.sla_breached
    set_stamp(case, "resolved_at", case.due_at - timedelta(minutes=1))
    assert not case.sla_breached  # resolved in time
    db.session.rollback()


def test_a_task_about_a_case_shows_on_the_case_page_and_only_there(app: Any, classroom: Any, create_activity: Any) -> None:
    """Activities may be about a case (SPEC §5.7): the case page lists them, another student never sees them."""
    owner = classroom.user("studentA")
    case = make(owner, "feedback", subject="Meter reads too high")
    db.session.commit()
    create_activity(owner, subject="Call back about the meter", related_type="case", related_id=case.id)
    db.session.commit()
    page = text(classroom.client_for(app, "studentA").get(f"/cases/{case.id}?lang=en"))
    assert "Call back about the meter" in page
    assert classroom.client_for(app, "studentB").get(f"/cases/{case.id}").status_code == 404
