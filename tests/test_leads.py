"""Leads through the generic record pages: bad input, version conflicts, transfer, recycle bin, lists, CSRF
(SPEC §4.5–4.6, §5, §10.4–10.5)."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.org.models import SharingModeValue
from tests.conftest import PASSWORD, act_as
from tests.helpers import entries, field_error, text


def field_value(page: str, name: str) -> str | None:
    """The value an <input> or <textarea> shows."""
    area = re.search(rf'<textarea\b[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</textarea>', page, re.S)
    if area:
        return html.unescape(area.group(1)).lstrip("\r\n")
    tag = re.search(rf'<input\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no input {name} in the page"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def flashed(client: Any, response: Any) -> str:
    assert response.status_code == 302, response.status_code
    return text(client.get(response.headers["Location"]))


def lead_row(lead_id: int) -> Lead:
    """The lead as stored, whoever may see it and whether or not it is in the recycle bin."""
    db.session.expire_all()
    return db.session.scalars(select(Lead).where(Lead.id == lead_id)
                              .execution_options(skip_visibility=True, include_deleted=True)).one()


def lead_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Lead)
                             .execution_options(skip_visibility=True, include_deleted=True))


BLANK = {name: "" for name in ("company", "title", "phone", "mobile", "email", "website", "address", "industry",
                               "source", "rating", "annual_revenue", "employees", "description")}


def lead_form(**values: Any) -> dict[str, Any]:
    """The lead form as a browser submits it: every field present."""
    return {**BLANK, "name": "Han Meimei", "status": "new", **values}


def listed(page: str) -> list[str]:
    """Lead names in the list table, in order."""
    table = re.search(r'data-testid="record-table">(.*?)</table>', page, re.S).group(1)
    return re.findall(r'href="/leads/\d+">([^<]*)</a>', table)


# ---- create -----------------------------------------------------------------------------------------------------------


def test_create_lead(app, classroom):
    student = classroom.client_for(app, "studentA")
    response = student.post("/leads/new", data=lead_form(
        name="Han Meimei", company="West Lake Tea", email="han@tea.example", phone="+86 571 8888-1234",
        source="web", annual_revenue="1200000.50", employees="35", description="Met at the fair"))
    assert response.status_code == 302
    lead = db.session.scalar(select(Lead).where(Lead.name == "Han Meimei"))
    assert response.headers["Location"].endswith(f"/leads/{lead.id}")
    assert "created" in text(student.get(response.headers["Location"]))
    assert lead.owner_id == classroom.user("studentA").id
    assert lead.class_id == classroom.classes["A"].id
    assert (lead.company, lead.email, lead.source, lead.employees) == ("West Lake Tea", "han@tea.example", "web", 35)
    assert str(lead.annual_revenue) == "1200000.50"
    assert entries("lead.create")[-1].object_id == lead.id


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"email": "han@"}, "email", "Invalid email address."),
        ({"email": "not an email"}, "email", "Invalid email address."),
        ({"phone": "call me"}, "phone", "Enter a phone number of digits, spaces and dashes."),
        ({"phone": "12"}, "phone", "Enter a phone number of digits, spaces and dashes."),
        ({"mobile": "138-abc"}, "mobile", "Enter a phone number of digits, spaces and dashes."),
        ({"employees": "-4"}, "employees", "Must not be negative."),
        ({"employees": "many"}, "employees", "Not a valid integer value."),
        ({"annual_revenue": "lots"}, "annual_revenue", "Not a valid decimal value."),
        ({"status": "won-already"}, "status", "Not a valid choice"),
        ({"name": "x" * 101}, "name", "Field cannot be longer than 100 characters."),
    ],
)
def test_bad_lead_input_is_explained_next_to_the_field(app, classroom, changes, field, message):
    student = classroom.client_for(app, "studentA")
    before = lead_count()
    typed = lead_form(company="West Lake Tea", title="Buyer", description="Keep me", **changes)
    response = student.post("/leads/new", data=typed)
    assert response.status_code == 400
    page = text(response)
    assert message in field_error(page, field)
    # Nothing else the student typed is lost.
    assert field_value(page, "company") == "West Lake Tea"
    assert field_value(page, "title") == "Buyer"
    assert field_value(page, "description") == "Keep me"
    assert lead_count() == before
    assert entries("lead.create") == []


def test_read_only_observer_cannot_create(app, classroom):
    observer = classroom.client_for(app, "readonlyA")
    assert observer.get("/leads/new").status_code == 403
    assert observer.post("/leads/new", data=lead_form()).status_code == 403
    assert lead_count() == 0


# ---- edit and version conflicts --------------------------------------------------------------------------------------


def edit_form(lead: Lead, version: Any, **changes: Any) -> dict[str, Any]:
    return lead_form(**{"name": lead.name, "company": lead.company or "", "status": lead.status, "version": version,
                        **changes})


def test_edit_lead_with_the_current_version(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Li Lei", company="Tea Co")
    student = classroom.client_for(app, "studentA")
    page = text(student.get(f"/leads/{lead.id}/edit"))
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)
    assert version == "1"
    response = student.post(f"/leads/{lead.id}/edit", data=edit_form(lead, version, company="Green Tea Co",
                                                                     status="contacted"))
    assert "Changes saved." in flashed(student, response)
    saved = lead_row(lead.id)
    assert (saved.company, saved.status, saved.version) == ("Green Tea Co", "contacted", 2)
    entry = entries("lead.update")[-1]
    assert entry.changes["fields"]["company"] == ["Tea Co", "Green Tea Co"]


def test_stale_edit_is_refused_and_keeps_what_the_user_typed(app, classroom, make_lead):
    from sandbox.records.services import update_record

    lead = make_lead(classroom.user("studentA"), name="Li Lei", company="Tea Co")
    student = classroom.client_for(app, "studentA")
    student.get(f"/leads/{lead.id}/edit")  # opened at version 1
    # Meanwhile the manager saves a change.
    manager = classroom.user("managerA")
    act_as(manager)
    update_record(db.session.get(Lead, lead.id), {"company": "Manager's Tea"}, expected_version=1)
    db.session.commit()
    act_as(None)
    response = student.post(f"/leads/{lead.id}/edit", data=edit_form(
        lead, 1, company="My Typed Tea", title="Chief Buyer", description="My long notes"))
    assert response.status_code == 409
    page = text(response)
    conflict = re.search(r'data-testid="conflict">(.*?)</div>', page, re.S).group(1)
    assert "Someone else saved this record after you opened it." in conflict
    assert "your changes below were not saved" in conflict
    assert field_value(page, "company") == "My Typed Tea"
    assert field_value(page, "title") == "Chief Buyer"
    assert field_value(page, "description") == "My long notes"
    saved = lead_row(lead.id)
    assert (saved.company, saved.title, saved.version) == ("Manager's Tea", None, 2)
    assert len(entries("lead.update")) == 1


@pytest.mark.parametrize("version", ["abc", "-1", "1.5", "99999999999999999999999"])
def test_forged_version_is_a_conflict_not_an_error(app, classroom, make_lead, version):
    lead = make_lead(classroom.user("studentA"), name="Li Lei", company="Tea Co")
    student = classroom.client_for(app, "studentA")
    response = student.post(f"/leads/{lead.id}/edit", data=edit_form(lead, version, company="Forged"))
    assert response.status_code == 409
    assert "Someone else saved this record" in text(response)
    assert lead_row(lead.id).company == "Tea Co"


def test_bad_edit_input_is_explained_and_nothing_is_saved(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Li Lei", company="Tea Co")
    student = classroom.client_for(app, "studentA")
    response = student.post(f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="Typed", email="bad@"))
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "email") == "Invalid email address."
    assert field_value(page, "company") == "Typed"
    assert lead_row(lead.id).company == "Tea Co"


def test_edit_without_write_access(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    assert classroom.client_for(app, "studentB").post(
        f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="Hijack")).status_code == 404
    # Class-wide read-only sharing: peers read but do not write.
    act_as(None)
    from sandbox.org.services import set_sharing_mode

    set_sharing_mode(classroom.user("admin"), classroom.classes["A"], "lead", SharingModeValue.READ_ONLY)
    db.session.commit()
    peer = classroom.client_for(app, "peerA")
    assert peer.get(f"/leads/{lead.id}").status_code == 200
    assert peer.post(f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="Hijack")).status_code == 403
    assert peer.post(f"/leads/{lead.id}/delete").status_code == 403
    observer = classroom.client_for(app, "readonlyA")
    assert observer.post(f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="Hijack")).status_code == 403
    saved = lead_row(lead.id)
    assert (saved.company, saved.deleted_at) == ("Hangzhou Tea Co.", None)


# ---- transfer ---------------------------------------------------------------------------------------------------------


def test_transfer_to_a_classmate(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    student = classroom.client_for(app, "studentA")
    page = text(student.get(f"/leads/{lead.id}/transfer"))
    assert "Peera (peerA)" in page
    assert "Studentb" not in page and "Readonlya" not in page and "Pendinga" not in page
    response = student.post(f"/leads/{lead.id}/transfer", data={"owner_id": classroom.user("peerA").id})
    assert "Record transferred." in flashed(student, response)
    assert lead_row(lead.id).owner_id == classroom.user("peerA").id
    entry = entries("lead.transfer")[-1]
    assert (entry.params["old_owner"], entry.params["new_owner"]) == ("Studenta", "Peera")
    # The old owner lost access (same position, no other rule grants it).
    assert student.get(f"/leads/{lead.id}").status_code == 404
    assert classroom.client_for(app, "peerA").get(f"/leads/{lead.id}").status_code == 200


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("studentB", "Choose an active user of this record's class."),
        ("studentC", "Choose an active user of this record's class."),
        ("readonlyA", "Choose an active user of this record's class."),
        ("pendingA", "Choose an active user of this record's class."),
        ("admin", "Choose an active user of this record's class."),
        ("studentA", "The record already belongs to Studenta."),
        ("987654", "Choose an active user of this record's class."),
        ("99999999999999999999", "Choose an active user of this record's class."),
        ("-3", "Choose an active user of this record's class."),
        ("abc", "Choose an active user of this record's class."),
        ("", "This field is required."),
    ],
)
def test_tampered_transfer_is_refused_with_a_message(app, classroom, make_lead, target, message):
    lead = make_lead(classroom.user("studentA"))
    owner_id = classroom.user(target).id if target in classroom.users else target
    student = classroom.client_for(app, "studentA")
    response = student.post(f"/leads/{lead.id}/transfer", data={"owner_id": owner_id})
    assert response.status_code == 422
    assert message in field_error(text(response), "owner_id")
    assert lead_row(lead.id).owner_id == classroom.user("studentA").id
    assert entries("lead.transfer") == []


def test_disabled_user_cannot_receive_a_transfer(app, classroom, make_lead):
    from sandbox.org.services import update_user

    peer = classroom.user("peerA")
    act_as(classroom.user("admin"))
    update_user(classroom.user("admin"), peer, display_name=peer.display_name, email=peer.email, role=peer.role,
                position=peer.position, status="disabled")
    db.session.commit()
    lead = make_lead(classroom.user("studentA"))
    student = classroom.client_for(app, "studentA")
    response = student.post(f"/leads/{lead.id}/transfer", data={"owner_id": peer.id})
    assert response.status_code == 422
    assert lead_row(lead.id).owner_id == classroom.user("studentA").id


# ---- delete, recycle bin, restore ------------------------------------------------------------------------------------


def test_delete_goes_to_the_recycle_bin_and_restores(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Binned Lead")
    kept = make_lead(classroom.user("studentA"), name="Kept Lead")
    student = classroom.client_for(app, "studentA")
    assert student.get(f"/leads/{lead.id}/delete").status_code == 405
    page = flashed(student, student.post(f"/leads/{lead.id}/delete"))
    assert "Moved to the recycle bin" in page
    assert listed(page) == ["Kept Lead"]
    assert lead_row(lead.id).deleted_at is not None
    assert lead_count() == 2  # soft: the row stays
    bin_page = text(student.get("/leads/recycle-bin"))
    assert "Binned Lead" in bin_page and "Kept Lead" not in bin_page
    detail = text(student.get(f"/leads/{lead.id}"))
    assert "This record is in the recycle bin." in detail
    assert student.get(f"/leads/{lead.id}/edit").status_code == 404
    # Deleting twice is explained, not an error; another class never sees the bin.
    assert classroom.client_for(app, "studentB").get("/leads/recycle-bin").status_code == 200
    assert "Binned Lead" not in text(classroom.client_for(app, "studentB").get("/leads/recycle-bin"))
    assert classroom.client_for(app, "studentB").post(f"/leads/{lead.id}/restore").status_code == 404
    page = flashed(student, student.post(f"/leads/{lead.id}/restore"))
    assert "Record restored." in page
    assert lead_row(lead.id).deleted_at is None
    assert sorted(listed(text(student.get("/leads/")))) == ["Binned Lead", "Kept Lead"]
    assert "Binned Lead" not in text(student.get("/leads/recycle-bin"))
    assert [e.verb for e in entries("lead.delete") + entries("lead.restore")] == ["lead.delete", "lead.restore"]
    page = flashed(student, student.post(f"/leads/{kept.id}/restore"))
    assert "This record is not in the recycle bin." in page


def test_instructor_restores_a_students_deleted_lead(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Oops")
    student = classroom.client_for(app, "studentA")
    student.post(f"/leads/{lead.id}/delete")
    teacher = classroom.client_for(app, "teacher")
    assert "Oops" in text(teacher.get("/leads/recycle-bin"))
    assert teacher.post(f"/leads/{lead.id}/restore").status_code == 302
    assert lead_row(lead.id).deleted_at is None


# ---- lists ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def many_leads(app, classroom, make_lead):
    app.config["LIST_PAGE_SIZE"] = 3
    student = classroom.user("studentA")
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf"]
    for i, name in enumerate(names):
        make_lead(student, name=name, company=f"Company {i}", status="contacted" if i % 2 else "new")
    make_lead(student, name="Per%cent", company="100% Tea")
    make_lead(student, name="Under_score", company="A_B")
    make_lead(classroom.user("studentB"), name="Other class", company="100% Other")
    return names


def test_list_pages(app, classroom, many_leads):
    student = classroom.client_for(app, "studentA")
    pages = [listed(text(student.get("/leads/", query_string={"sort": "name", "page": n}))) for n in (1, 2, 3, 4)]
    assert pages[0] == ["Alpha", "Bravo", "Charlie"]
    assert pages[1] == ["Delta", "Echo", "Foxtrot"]
    assert pages[2] == ["Golf", "Per%cent", "Under_score"]
    assert pages[3] == []
    assert "9 records" in text(student.get("/leads/"))


def test_list_sorts(app, classroom, many_leads):
    student = classroom.client_for(app, "studentA")
    app.config["LIST_PAGE_SIZE"] = 50
    assert listed(text(student.get("/leads/?sort=-name")))[:3] == ["Under_score", "Per%cent", "Golf"]
    newest_first = listed(text(student.get("/leads/")))
    assert newest_first[0] == "Under_score" and newest_first[-1] == "Alpha"
    assert listed(text(student.get("/leads/?sort=created_at")))[0] == "Alpha"
    assert listed(text(student.get("/leads/?sort=company")))[:3] == ["Per%cent", "Under_score", "Alpha"]


def test_list_filters_and_searches(app, classroom, many_leads):
    student = classroom.client_for(app, "studentA")
    app.config["LIST_PAGE_SIZE"] = 50
    assert sorted(listed(text(student.get("/leads/?status=contacted")))) == ["Bravo", "Delta", "Foxtrot"]
    assert listed(text(student.get("/leads/?q=echo"))) == ["Echo"]
    assert listed(text(student.get("/leads/?q=company 3"))) == ["Delta"]
    # % and _ are literal characters, not wildcards; other classes never show up.
    assert listed(text(student.get("/leads/", query_string={"q": "%"}))) == ["Per%cent"]
    assert listed(text(student.get("/leads/", query_string={"q": "100%"}))) == ["Per%cent"]
    assert listed(text(student.get("/leads/", query_string={"q": "_"}))) == ["Under_score"]
    assert listed(text(student.get("/leads/", query_string={"q": "A_B"}))) == ["Under_score"]
    assert listed(text(student.get("/leads/", query_string={"q": "r_c"}))) == []
    assert listed(text(student.get("/leads/", query_string={"q": "Other"}))) == []
    assert listed(text(student.get("/leads/", query_string={"q": "\\"}))) == []
    assert "Other class" in listed(text(classroom.client_for(app, "studentB").get("/leads/")))


@pytest.mark.parametrize(
    "query",
    ["page=abc", "page=-1", "page=0", "page=99999999999999999999999", "sort=evil", "sort=-", "sort=--name",
     "sort=password_hash", "sort=owner.password_hash", "status=%3Cscript%3E", "status=", "owner=xyz",
     "owner=99999999999999999999", "q=" + "x" * 5000, "q=%00", "q=%27%22%3B--", "created_from=yesterday",
     "created_to=2026-13-45", "page=1&page=2", "source=nope&rating=nope"],
)
def test_malformed_list_queries_never_fail(app, classroom, many_leads, query):
    student = classroom.client_for(app, "studentA")
    response = student.get(f"/leads/?{query}")
    assert response.status_code == 200
    assert 'data-testid="record-table"' in text(response)
    assert student.get(f"/leads/recycle-bin?{query}").status_code == 200


@pytest.mark.parametrize("path", ["/leads/99999999999999999999", "/leads/0", "/leads/abc", "/leads/-1/edit",
                                  "/leads/99999999999999999999/edit", "/leads/99999999999999999999/transfer"])
def test_malformed_record_addresses_are_not_found(app, classroom, path):
    assert classroom.client_for(app, "studentA").get(path).status_code == 404


# ---- CSRF ---------------------------------------------------------------------------------------------------------------


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def signed_in(guarded: Any, username: str) -> Any:
    client = guarded.test_client()
    token = token_of(text(client.get("/auth/login")))
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return client


def expect_form_expired(response: Any) -> None:
    assert response.status_code == 400
    page = text(response)
    assert "The form expired" in page
    assert "nothing was saved" in page


def test_missing_or_forged_form_token_saves_nothing(app_factory, classroom, make_lead):
    guarded = app_factory(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
    lead = make_lead(classroom.user("studentA"), company="Tea Co")
    student = signed_in(guarded, "studentA")
    expect_form_expired(student.post("/leads/new", data=lead_form(name="No token")))
    expect_form_expired(student.post("/leads/new", data=lead_form(name="Forged", csrf_token="forged.token")))
    expect_form_expired(student.post(f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="No token")))
    expect_form_expired(student.post(f"/leads/{lead.id}/delete"))
    expect_form_expired(student.post(f"/leads/{lead.id}/transfer", data={"owner_id": classroom.user("peerA").id}))
    saved = lead_row(lead.id)
    assert (saved.company, saved.deleted_at, saved.owner_id, saved.version) == (
        "Tea Co", None, classroom.user("studentA").id, 1)
    assert lead_count() == 1
    # With the page's token the same form saves.
    token = token_of(text(student.get("/leads/new")))
    assert student.post("/leads/new", data=lead_form(name="With token", csrf_token=token)).status_code == 302
    assert lead_count() == 2


def test_expired_form_token_shows_the_friendly_page(app_factory, classroom, make_lead, monkeypatch):
    import itsdangerous.timed

    guarded = app_factory(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
    lead = make_lead(classroom.user("studentA"), company="Tea Co")
    student = signed_in(guarded, "studentA")
    token = token_of(text(student.get(f"/leads/{lead.id}/edit")))
    # The student leaves the page open longer than the token lives, then submits.
    later = int(time.time()) + guarded.config["WTF_CSRF_TIME_LIMIT"] + 60
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: later)
    response = student.post(f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="Too late", csrf_token=token))
    expect_form_expired(response)
    assert lead_row(lead.id).company == "Tea Co"
    monkeypatch.undo()
    # Reloading the page gives a fresh token that works.
    token = token_of(text(student.get(f"/leads/{lead.id}/edit")))
    response = student.post(f"/leads/{lead.id}/edit", data=edit_form(lead, 1, company="In time", csrf_token=token))
    assert response.status_code == 302
    assert lead_row(lead.id).company == "In time"


def test_nul_characters_in_input_are_dropped_not_a_failure(app, classroom):
    student = classroom.client_for(app, "studentA")
    response = student.post("/leads/new", data=lead_form(name="Han\x00 Meimei", company="Tea\x00"))
    assert response.status_code == 302
    lead = db.session.scalar(select(Lead).where(Lead.owner_id == classroom.user("studentA").id))
    assert (lead.name, lead.company) == ("Han Meimei", "Tea")
    assert listed(text(student.get("/leads/", query_string={"q": "Han\x00", "status": "new\x00"}))) == ["Han Meimei"]
