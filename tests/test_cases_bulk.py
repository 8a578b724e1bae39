"""Visit orders in bulk: creation from CSV and status changes (chosen rows or CSV) apply the workflow's rules
row by row, report each row, and log one entry per changed row (rows from a file carry the import source)."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select

from sandbox.cases import services
from sandbox.cases.models import Case
from sandbox.extensions import db
from tests.helpers import act_as, count, entries, fresh, text


def _orders(user: Any, *states: str) -> list[Case]:
    act_as(user)
    made = []
    for i, state in enumerate(states):
        case = services.create_case("visit_order", {"subject": f"Visit {i}"})
        if state != "unprocessed":
            services.transition_case(case, state)
        made.append(case)
    db.session.commit()
    act_as(None)
    return made


def test_bulk_creation_reports_each_row(app: Any, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    csv = ("subject,description,priority,assignee\n"
           "Visit Ningbo Gas,Yearly visit,high,peerA\n"
           ",No subject,,\n"
           "Visit the depot,,,nobody\n"
           "Visit Hangzhou Gas,,,\n")
    response = client.post("/cases/visit-orders/import", data={"file": (io.BytesIO(csv.encode()), "v.csv")})
    page = text(response)
    assert response.status_code == 200
    assert "changed: 2" in page and "refused: 2" in page
    assert "Give the case a subject." in page and "No user “nobody” in your class." in page
    made = db.session.scalars(select(Case).order_by(Case.id).execution_options(skip_visibility=True)).all()
    assert [(c.subject, c.state, c.workflow) for c in made] == [("Visit Ningbo Gas", "unprocessed", "visit_order"),
                                                                ("Visit Hangzhou Gas", "unprocessed", "visit_order")]
    assert (made[0].assignee_id, made[0].priority) == (classroom.user("peerA").id, "high")
    assert [e.source for e in entries("case.create")] == ["import", "import"]
    assert entries("case.bulk_create")[0].params == {"count": 2, "refused": 2}


def test_bulk_status_change_applies_the_rules_row_by_row(app: Any, classroom: Any) -> None:
    student = classroom.user("studentA")
    done, fresh_one, rejected = _orders(student, "completed", "unprocessed", "rejected")
    foreign = _orders(classroom.user("studentB"), "unprocessed")[0]
    before = len(entries("case.transition"))
    client = classroom.client_for(app, "studentA")
    csv = (f"id,state\n{done.id},rejected\n{fresh_one.id},Processing\n{rejected.id},completed\n"
           f"{foreign.id},processing\n{done.id},unprocessed\nx,processing\n{rejected.id},nonsense\n")
    page = text(client.post("/cases/visit-orders/status", data={"csv": csv}))
    assert "changed: 2" in page and "refused: 5" in page
    assert "cannot move to “Rejected” (allowed: “Processing”)" in page
    assert page.count("that you can see") == 2 and "Unknown state “nonsense”" in page
    assert (fresh(done).state, fresh(fresh_one).state, fresh(rejected).state, fresh(foreign).state) == \
        ("completed", "processing", "completed", "unprocessed")
    moved = entries("case.transition")[before:]
    assert [(e.object_id, e.params["to"], e.source) for e in moved] == [(fresh_one.id, "processing", "import"),
                                                                        (rejected.id, "completed", "import")]


def test_bulk_status_change_of_chosen_rows(app: Any, classroom: Any) -> None:
    first, second = _orders(classroom.user("studentA"), "unprocessed", "completed")
    client = classroom.client_for(app, "studentA")
    page = text(client.post("/cases/visit-orders/status", data={"ids": [str(first.id), str(second.id)],
                                                                "to": "rejected"}))
    assert "changed: 1" in page and "refused: 1" in page
    assert (fresh(first).state, fresh(second).state) == ("rejected", "completed")
    assert entries("case.transition")[-1].source == "ui"
    response = client.post("/cases/visit-orders/status", data={})
    assert response.status_code == 400 and "Choose the visit orders" in text(response)
    assert classroom.client_for(app, "readonlyA").post("/cases/visit-orders/status", data={}).status_code == 403
    assert count(Case, skip_visibility=True) == 2
