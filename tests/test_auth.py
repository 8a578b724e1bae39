"""Registration, sign-in, sessions, passwords, preferences, throttling and redirects (SPEC §3, §9.1, §10.4)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.org.models import Status, User
from sandbox.org.services import update_position, update_user
from tests.conftest import PASSWORD, act_as, login
from tests.helpers import entries, field_error, text


def field_value(page: str, name: str) -> str | None:
    """The value an <input> shows again after a refused submit."""
    tag = re.search(rf'<input\b[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    assert tag, f"no input {name} in the page"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def fresh(user: User) -> User:
    """The user as the database holds them now."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def user_count() -> int:
    """How many users exist."""
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


REGISTRATION = {
    "username": "newbie", "display_name": "New Student", "student_number": "2026001",
    "email": "newbie@example.com", "password": "tea4sale2026", "confirm": "tea4sale2026",
}


def register(client, **changes: Any) -> Any:
    """Submit the registration form (a valid one, changed by `changes`)."""
    return client.post("/auth/register", data={**REGISTRATION, **changes})


# ---- registration ---------------------------------------------------------------------------------------


def test_register_with_join_code_makes_a_pending_student(app, classroom, client):
    """Register with join code makes a pending student."""
    before = user_count()
    response = register(client, join_code=" joina ")  # any case, stray spaces
    assert response.status_code == 200
    assert "awaits approval" in text(response)
    assert "Class A" in text(response)
    assert user_count() == before + 1
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert user.status == Status.PENDING
    assert user.role == "student"
    assert user.class_id == classroom.classes["A"].id
    assert user.position_id is None
    assert user.student_number == "2026001"
    assert user.check_password("tea4sale2026")
    assert [e.object_id for e in entries("auth.register")][-1] == user.id


def test_register_choosing_an_open_class(app, classroom, client):
    """Register choosing an open class."""
    response = register(client, class_id=str(classroom.classes["B"].id), email="NewBie@Example.COM")
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert user.status == Status.PENDING
    assert user.class_id == classroom.classes["B"].id
    assert user.email == "newbie@example.com"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"username": "STUDENTa"}, "username", "This username is taken"),
        ({"email": "StudentA@EXAMPLE.com"}, "email", "An account with this email exists already."),
        ({"password": "tea4", "confirm": "tea4"}, "password", "Use at least 10 characters."),
        ({"password": "teaforsale", "confirm": "teaforsale"}, "password", "Use both letters and digits."),
        ({"password": "1234567890", "confirm": "1234567890"}, "password", "Use both letters and digits."),
        ({"password": "xNEWBIE42ab", "confirm": "xNEWBIE42ab"}, "password", "must not contain the username"),
        ({"confirm": "tea4sale2027"}, "confirm", "The passwords differ."),
        ({"join_code": "NOSUCH"}, "join_code", "No class has this join code"),
        ({}, "class_id", "Choose your class or type its join code."),
        ({"email": "not-an-address"}, "email", "Invalid email address."),
        ({"username": "a b"}, "username", "Use 3–64 letters"),
    ],
)
def test_bad_registration_is_explained_next_to_the_field_and_keeps_the_input(
    app, classroom, client, changes, field, message
):
    """Bad registration is explained next to the field and keeps the input."""
    data = {"join_code": "JOINA", **changes} if field != "class_id" else changes
    before = user_count()
    response = register(client, **data)
    assert response.status_code == 400
    page = text(response)
    assert message in field_error(page, field)
    # What the student typed is still there (passwords excepted), so they only fix one field.
    typed = {**REGISTRATION, **data}
    for name in ("username", "display_name", "student_number", "email"):
        assert field_value(page, name) == typed[name]
    assert user_count() == before


@pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999999"])
def test_forged_class_choice_is_refused_without_error(app, classroom, client, value):
    """Forged class choice is refused without error."""
    before = user_count()
    response = register(client, class_id=value)
    assert response.status_code == 400
    assert field_error(text(response), "class_id")
    assert user_count() == before


def test_class_closed_for_registration_cannot_be_chosen_but_its_code_works(app, classroom, client):
    """Class closed for registration cannot be chosen but its code works."""
    klass = classroom.classes["C"]
    admin = classroom.user("admin")
    act_as(admin)
    update_position(admin, klass, klass.name, "JOINC", registration_open=False)
    db.session.commit()
    act_as(None)
    response = register(client, class_id=str(klass.id))
    assert response.status_code == 400
    assert field_error(text(response), "class_id")
    assert db.session.scalar(select(User).where(User.username == "newbie")) is None
    assert f'value="{klass.id}"' not in text(client.get("/auth/register"))
    response = register(client, join_code="JOINC")
    assert response.status_code == 200
    assert db.session.scalar(select(User).where(User.username == "newbie")).class_id == klass.id


# ---- sign-in refusals -------------------------------------------------------------------------------------


def test_pending_user_is_told_the_account_awaits_approval(app, classroom, client):
    """Pending user is told the account awaits approval."""
    response = login(client, "pendingA")
    assert response.status_code == 401
    # Information, not an error: an info alert, no red field.
    assert re.search(r'class="alert alert-info[^"]*"[^>]*>[^<]*awaits approval', text(response))
    assert field_error(text(response), "password") == "" and "alert-danger" not in text(response)
    assert client.get("/").status_code == 302  # not signed in
    failed = entries("auth.login_failed")[-1]
    assert failed.params["reason"] == "pending"


def test_registered_student_signs_in_only_after_approval(app, classroom, client):
    """Registered student signs in only after approval."""
    register(client, join_code="JOINA")
    assert login(client, "newbie", "tea4sale2026").status_code == 401
    teacher = classroom.client_for(app, "teacher")
    newbie = db.session.scalar(select(User).where(User.username == "newbie"))
    response = teacher.post("/admin/approvals", data={
        "user_ids": [newbie.id], "decision": "approve", "position_id": classroom.positions["A1"].id, "role": "student"})
    assert response.status_code == 302
    response = login(client, "newbie", "tea4sale2026")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_rejected_user_is_told_the_reason(app, classroom, client):
    """Rejected user is told the reason."""
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/approvals", data={
        "user_ids": [classroom.user("pendingA").id], "decision": "reject", "reason": "Not in this course",
        "position_id": "0", "role": "student"})
    assert response.status_code == 302
    response = login(client, "pendingA")
    assert response.status_code == 401
    message = field_error(text(response), "password")
    assert "rejected" in message
    assert "Not in this course" in message


def test_disabled_user_is_refused(app, classroom, client):
    """Disabled user is refused."""
    admin = classroom.user("admin")
    act_as(admin)
    student = classroom.user("studentA")
    update_user(admin, student, display_name=student.display_name, email=student.email, role=student.role,
                position=student.position, status=Status.DISABLED)
    db.session.commit()
    act_as(None)
    response = login(client, "studentA")
    assert response.status_code == 401
    assert "disabled" in field_error(text(response), "password")
    assert client.get("/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_message(app, classroom, client):
    """Wrong password and unknown user get the same message."""
    for username, password in (("studentA", "wrong-pass1"), ("nobody", PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 401
        assert field_error(text(response), "password") == "Wrong username or password."
    assert [e.params["reason"] for e in entries("auth.login_failed")] == ["credentials", "credentials"]


def test_empty_sign_in_form_is_explained(app, classroom, client):
    """Empty sign in form is explained."""
    response = client.post("/auth/login", data={"username": "", "password": ""})
    assert response.status_code == 400
    page = text(response)
    assert "This field is required." in field_error(page, "username")
    assert "This field is required." in field_error(page, "password")


def test_sign_in_is_case_insensitive_on_the_username_and_logged(app, classroom, client):
    """Sign in is case insensitive on the username and logged."""
    response = login(client, "STUDENTA")
    assert response.status_code == 302
    assert fresh(classroom.user("studentA")).last_login_at is not None
    assert entries("auth.login")[-1].actor_id == classroom.user("studentA").id


# ---- sessions -----------------------------------------------------------------------------------------------


def test_disabled_users_open_session_ends_at_the_next_request(app, classroom):
    """Disabled users open session ends at the next request."""
    student = classroom.client_for(app, "studentA")
    assert student.get("/").status_code == 200
    teacher = classroom.client_for(app, "teacher")
    target = classroom.user("studentA")
    response = teacher.post(f"/admin/users/{target.id}", data={
        "display_name": target.display_name, "email": target.email, "role": "student",
        "position_id": target.position_id, "status": "disabled"})
    assert response.status_code == 302
    assert fresh(target).status == Status.DISABLED
    response = student.get("/leads/")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    assert student.get("/").status_code == 302


def test_sign_in_starts_a_fresh_session(app, classroom, client):
    """Sign in starts a fresh session."""
    client.get("/auth/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone before sign-in"
        session["_user_id"] = "999:1"
    before = client.get_cookie("session").value
    assert login(client, "studentA").status_code == 302
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{classroom.user('studentA').id}:1"
    assert client.get("/").status_code == 200


def test_sign_out_ends_the_session(app, classroom):
    """Sign out ends the session."""
    student = classroom.client_for(app, "studentA")
    assert student.get("/auth/logout").status_code == 200  # a confirmation page, nothing changes on GET
    assert student.get("/").status_code == 200
    response = student.post("/auth/logout")
    assert response.status_code == 302
    assert student.get("/").status_code == 302
    assert entries("auth.logout")[-1].actor_id == classroom.user("studentA").id


# ---- own password -----------------------------------------------------------------------------------------


def test_change_password_requires_the_old_one(app, classroom):
    """Change password requires the old one."""
    student = classroom.client_for(app, "studentA")
    user = classroom.user("studentA")
    hash_before = fresh(user).password_hash

    response = student.post("/auth/password", data={"old_password": "", "password": "fresh4tea2026", "confirm": "fresh4tea2026"})
    assert response.status_code == 400
    assert "This field is required." in field_error(text(response), "old_password")

    response = student.post("/auth/password", data={
        "old_password": "not-mine9", "password": "fresh4tea2026", "confirm": "fresh4tea2026"})
    assert response.status_code == 400
    assert field_error(text(response), "old_password") == "The current password is wrong."
    assert fresh(user).password_hash == hash_before


@pytest.mark.parametrize(
    ("new", "confirm", "field", "message"),
    [
        ("tea4", "tea4", "password", "Use at least 10 characters."),
        ("onlyletters", "onlyletters", "password", "Use both letters and digits."),
        ("studenta9999", "studenta9999", "password", "must not contain the username"),
        (PASSWORD, PASSWORD, "password", "different from the current one"),
        ("fresh4tea2026", "fresh4tea2027", "confirm", "The passwords differ."),
    ],
)
def test_weak_new_password_is_refused(app, classroom, new, confirm, field, message):
    """Weak new password is refused."""
    student = classroom.client_for(app, "studentA")
    user = classroom.user("studentA")
    response = student.post("/auth/password", data={"old_password": PASSWORD, "password": new, "confirm": confirm})
    assert response.status_code == 400
    assert message in field_error(text(response), field)
    assert fresh(user).check_password(PASSWORD)
    assert fresh(user).session_version == 1


def test_password_change_ends_other_sessions_but_keeps_this_one(app, classroom):
    """Password change ends other sessions but keeps this one."""
    here = classroom.client_for(app, "studentA")
    elsewhere = classroom.client_for(app, "studentA")
    response = here.post("/auth/password", data={
        "old_password": PASSWORD, "password": "fresh4tea2026", "confirm": "fresh4tea2026"})
    assert response.status_code == 302
    page = here.get("/")
    assert page.status_code == 200
    assert "Your password was changed." in text(page)
    assert elsewhere.get("/").status_code == 302
    user = fresh(classroom.user("studentA"))
    assert user.check_password("fresh4tea2026")
    assert entries("auth.password_change")[-1].object_id == user.id
    assert login(here.application.test_client(), "studentA").status_code == 401
    assert login(here.application.test_client(), "studentA", "fresh4tea2026").status_code == 302


def test_temporary_password_forces_a_change_before_anything_else(app, classroom):
    """Temporary password forces a change before anything else."""
    teacher = classroom.client_for(app, "teacher")
    target = classroom.user("studentA")
    response = teacher.post(f"/admin/users/{target.id}/password-reset")
    assert response.status_code == 200
    temporary = re.search(r'data-testid="temporary-password">([^<]+)<', text(response)).group(1).strip()
    client = app.test_client()
    response = login(client, "studentA", temporary)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/password"
    for path in ("/", "/leads/", "/auth/profile", "/log/"):
        blocked = client.get(path)
        assert blocked.status_code == 302, path
        assert urlsplit(blocked.headers["Location"]).path == "/auth/password"
    page = text(client.get("/auth/password"))
    assert "Choose your own before you continue" in page
    response = client.post("/auth/password", data={
        "old_password": temporary, "password": "mine4now2026", "confirm": "mine4now2026"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert client.get("/leads/").status_code == 200
    assert fresh(target).must_change_password is False


# ---- profile and language -----------------------------------------------------------------------------------


def test_choosing_chinese_switches_the_interface(app, classroom):
    """Choosing chinese switches the interface."""
    student = classroom.client_for(app, "studentA")
    assert '<html lang="en">' in text(student.get("/"))
    response = student.post("/auth/profile", data={
        "display_name": "Student A", "email": "studenta@example.com", "locale": "zh_Hans_CN",
        "email_signature": "Li Lei\nSales"})
    assert response.status_code == 302
    user = fresh(classroom.user("studentA"))
    assert user.locale == "zh_Hans_CN"
    assert user.email_signature == "Li Lei\nSales"
    page = text(student.get("/"))
    assert '<html lang="zh-CN">' in page
    with app.test_request_context(), force_locale("zh_Hans_CN"):
        dashboard = gettext("Dashboard")
    if dashboard != "Dashboard":  # the catalog translates it: the menu must show the translation
        assert dashboard in page
        assert ">Dashboard<" not in page
    # Back to English.
    student.post("/auth/profile", data={"display_name": "Student A", "email": "studenta@example.com", "locale": "en"})
    page = text(student.get("/"))
    assert '<html lang="en">' in page
    assert ">Dashboard<" in page


def test_profile_refuses_a_taken_email_and_changes_nothing(app, classroom):
    """Profile refuses a taken email and changes nothing."""
    student = classroom.client_for(app, "studentA")
    response = student.post("/auth/profile", data={
        "display_name": "Renamed", "email": "PEERA@example.com", "locale": "en"})
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "email") == "An account with this email exists already."
    assert field_value(page, "display_name") == "Renamed"
    user = fresh(classroom.user("studentA"))
    assert user.display_name == "Studenta"
    assert user.email == "studenta@example.com"


def test_profile_refuses_an_unknown_language(app, classroom):
    """Profile refuses an unknown language."""
    student = classroom.client_for(app, "studentA")
    response = student.post("/auth/profile", data={"display_name": "Student A", "locale": "klingon"})
    assert response.status_code == 400
    assert field_error(text(response), "locale")
    assert fresh(classroom.user("studentA")).locale is None


# ---- redirects after sign-in -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["//evil.com", "//evil.com/path", "https://evil.com/", "http:evil.com", "/\t/evil.com", "/\\evil.com",
     "\\\\evil.com", "/\r\n/evil.com", "javascript:alert(1)", " //evil.com"],
)
def test_sign_in_never_redirects_off_the_site(app, classroom, client, target):
    """Sign in never redirects off the site."""
    response = client.post("/auth/login", query_string={"next": target},
                           data={"username": "studentA", "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    # As a browser reads it: backslashes are slashes, tabs and newlines vanish.
    as_browser = re.sub(r"[\t\r\n]", "", location).replace("\\", "/")
    parts = urlsplit(as_browser)
    assert parts.netloc in ("", "localhost"), location
    assert parts.scheme in ("", "http"), location
    assert not as_browser.startswith("//"), location
    assert "evil.com" not in parts.netloc


def test_sign_in_follows_a_local_next(app, classroom, client):
    """Sign in follows a local next."""
    response = client.post("/auth/login", query_string={"next": "/leads/?q=tea"},
                           data={"username": "studentA", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/leads/?q=tea")


def test_language_switch_before_sign_in_stays_on_the_site(app, client):
    """Language switch before sign in stays on the site."""
    response = client.get("/auth/language/en", query_string={"next": "//evil.com"})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
    assert "lang=en" in response.headers["Set-Cookie"]


def test_anonymous_visit_is_sent_to_sign_in_and_back(app, classroom, client):
    """Anonymous visit is sent to sign in and back."""
    response = client.get("/leads/?status=new")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).path == "/auth/login"
    response = client.post(location, data={"username": "studentA", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/leads/?status=new")


# ---- throttling -----------------------------------------------------------------------------------------------


def test_repeated_failed_sign_ins_are_throttled(app_factory, classroom):
    """Repeated failed sign ins are throttled."""
    throttled = app_factory(RATELIMIT_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
    client = throttled.test_client()
    for _attempt in range(10):
        assert login(client, "studentA", "guess-123").status_code == 401
    response = login(client, "studentA", "guess-123")
    assert response.status_code == 429
    page = text(response)
    assert "Too many attempts" in page
    assert "Wait a minute and try again." in page
    # Still refused with the right password while throttled: guessing cannot continue.
    assert login(client, "studentA").status_code == 429
    # Another account from the same place is not locked out by it.
    assert login(throttled.test_client(), "peerA").status_code == 302


def test_successful_sign_ins_do_not_count_against_the_throttle(app_factory, classroom):
    """Successful sign ins do not count against the throttle."""
    throttled = app_factory(RATELIMIT_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
    for _attempt in range(15):
        assert login(throttled.test_client(), "studentA").status_code == 302
    client = throttled.test_client()
    for _attempt in range(9):
        assert login(client, "studentA", "guess-123").status_code == 401
    assert login(client, "studentA").status_code == 302
    assert login(throttled.test_client(), "studentA", "guess-123").status_code == 401


# ---- CSRF ---------------------------------------------------------------------------------------------------------


def test_registration_without_a_valid_form_token_saves_nothing(app_factory, classroom):
    """Registration without a valid form token saves nothing."""
    guarded = app_factory(WTF_CSRF_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
    client = guarded.test_client()
    client.get("/auth/register")
    before = user_count()
    response = client.post("/auth/register", data={**REGISTRATION, "join_code": "JOINA"})
    assert response.status_code == 400
    page = text(response)
    assert "The form expired" in page
    assert "nothing was saved" in page
    assert user_count() == before
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(client.get("/auth/register"))).group(1)
    response = client.post("/auth/register", data={**REGISTRATION, "join_code": "JOINA", "csrf_token": token})
    assert response.status_code == 200
    assert user_count() == before + 1


def test_nul_characters_in_sign_in_and_registration_are_no_failure(app, classroom, client):
    """Nul characters in sign in and registration are no failure."""
    response = client.post("/auth/login", data={"username": "student\x00A", "password": PASSWORD + "\x00x"})
    assert response.status_code == 401
    assert field_error(text(response), "password") == "Wrong username or password."
    response = register(client, username="new\x00bie", display_name="New\x00 Student", join_code="JOIN\x00A")
    assert response.status_code == 200
    user = db.session.scalar(select(User).where(User.username == "newbie"))
    assert (user.display_name, user.class_id) == ("New Student", classroom.classes["A"].id)
