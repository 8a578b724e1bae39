"""The classroom fixture and the visibility rule, end to end through HTTP."""

from sandbox.leads.models import Lead


def test_owner_sees_lead_other_class_gets_404(app, classroom, make_lead):
    """The owner sees their lead; a student of another class gets 404."""
    lead = make_lead(classroom.user("studentA"))
    owner = classroom.client_for(app, "studentA")
    assert owner.get(f"/leads/{lead.id}").status_code == 200
    other = classroom.client_for(app, "studentB")
    assert other.get(f"/leads/{lead.id}").status_code == 404
    manager = classroom.client_for(app, "managerA")
    page = manager.get(f"/leads/{lead.id}")
    assert page.status_code == 200
    assert Lead.__tablename__ == "leads"
