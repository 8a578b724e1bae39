"""Sign-in and session hardening (issue §3): one username normalisation, throttles on sign-in, registration and
join codes, equal hashing cost for unknown usernames, sessions that end everywhere, the password policy,
the secure-cookie switch and the exact asset files in the CSP."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from sandbox.auth import passwords
from sandbox.extensions import db
from sandbox.org.models import User
from tests.conftest import PASSWORD, login
from tests.test_auth import REGISTRATION, field_error, user_count

# ---- one normalisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [" studentA", "STUDENTA ", "\tStudentA"])
def test_sign_in_matches_the_username_stripped_and_in_any_case(app, classroom, client, typed):
    """Sign in matches the username stripped and in any case."""
    response = login(client, typed)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("typed", ["studentA ", " STUDENTA", "Studenta"])
def test_a_variant_of_the_username_does_not_bypass_the_lockout(app_factory, classroom, typed):
    """A variant of the username does not bypass the lockout."""
    throttled = app_factory(RATELIMIT_ENABLED=True, BABEL_DEFAULT_LOCALE="en")
    client = throttled.test_client()
    for _attempt in range(10):
        assert login(client, "studentA", "guess-12345").status_code == 401
    assert login(client, typed, "guess-12345").status_code == 429
    assert login(client, typed).status_code == 429


@pytest.mark.parametrize("typed", [" STUDENTa ", "studenta", "PEERA"])
def test_registration_refuses_a_username_that_normalises_to_an_existing_one(app, classroom, client, typed):
    """Registration refuses a username that normalises to an existing one."""
    before = user_count()
    response = client.post("/auth/register", data={**REGISTRATION, "username": typed, "join_code": "JOINA"})
    assert response.status_code == 400
    assert "This username is taken" in field_error(response.get_data(as_text=True), "username")
    assert user_count() == before


def test_registration_strips_the_username(app, classroom, client):
    """Registration strips the username."""
    response = client.post("/auth/register", data={**REGISTRATION, "username": "  newbie ", "join_code": "JOINA"})
    assert response.status_code == 200
    assert db.session.scalar(select(User.username).where(User.email == "newbie@example.com")) == "newbie"


def test_the_database_refuses_two_usernames_differing_only_by_case(app, classroom):
    """The database refuses two usernames differing only by case."""
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (username, display_name, password_hash, role, status, must_change_password, "
            "session_version, created_at) VALUES ('STUDENTA', 'Twin', '', 'student', 'active', false, 1, "
            "CURRENT_TIMESTAMP)"))
    assert db.session.scalar(select(func.count()).select_from(User).where(func.lower(User.username) == "studenta")) == 1


def test_migration_renames_later_accounts_whose_username_clashes_by_case(app):
    """Migration renames later accounts whose username clashes by case."""
    from flask_migrate import downgrade, upgrade

    downgrade(directory="migrations", revision="0011")
    names = ["Alice", "alice", "ALICE", "alice-2", "bob"]
    with db.engine.begin() as conn:
        for name in names:
            conn.execute(text(
                "INSERT INTO users (username, display_name, password_hash, role, status, must_change_password, "
                "session_version, created_at) VALUES (:u, :u, '', 'student', 'active', false, 1, CURRENT_TIMESTAMP)"),
                {"u": name})
    upgrade(directory="migrations")
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT username FROM users ORDER BY id")).scalars().all()
    # The oldest keeps its name, later ones get the first free suffix; names without a clash keep their spelling.
    assert rows == ["Alice", "alice-3", "ALICE-4", "alice-2", "bob"]
    assert len({r.lower() for r in rows}) == len(rows)


# ---- throttles ---------------------------------------------------------------------------------------------


def test_failed_sign_ins_from_one_address_are_capped_over_all_usernames(app_factory, classroom):
    """Failed sign ins from one address are capped over all usernames."""
    throttled = app_factory(RATELIMIT_ENABLED=True, BABEL_DEFAULT_LOCALE="en", LOGIN_ADDRESS_RATE_LIMIT="5 per minute")
    for name in ("studentA", "peerA", "managerA", "studentB", "nobody"):
        assert login(throttled.test_client(), name, "guess-12345").status_code == 401
    response = login(throttled.test_client(), "studentC", "guess-12345")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.get_data(as_text=True)
    # The cap holds for every username from that address, the right password included.
    assert login(throttled.test_client(), "teacher").status_code == 429


def test_successful_sign_ins_do_not_fill_the_address_cap(app_factory, classroom):
    """Successful sign ins do not fill the address cap."""
    throttled = app_factory(RATELIMIT_ENABLED=True, LOGIN_ADDRESS_RATE_LIMIT="3 per minute")
    for name in ("studentA", "peerA", "managerA", "studentB", "studentC", "teacher"):
        assert login(throttled.test_client(), name).status_code == 302


def test_registrations_from_one_address_are_throttled(app_factory, classroom):
    """Registrations from one address are throttled."""
    throttled = app_factory(RATELIMIT_ENABLED=True, BABEL_DEFAULT_LOCALE="en", REGISTER_RATE_LIMIT="2 per hour")
    with throttled.app_context():
        client = throttled.test_client()
        for i in (1, 2):
            data = {**REGISTRATION, "username": f"newbie{i}", "email": f"n{i}@example.com", "join_code": "JOINA"}
            assert client.post("/auth/register", data=data).status_code == 200
        before = user_count()
        data = {**REGISTRATION, "username": "newbie3", "email": "n3@example.com", "join_code": "JOINA"}
        response = client.post("/auth/register", data=data)
        assert response.status_code == 429
        assert "Too many registrations or wrong join codes" in response.get_data(as_text=True)
        assert user_count() == before
        assert client.get("/auth/register").status_code == 200  # reading the form is never throttled


def test_wrong_join_codes_are_throttled_but_right_ones_do_not_count(app_factory, classroom):
    """Wrong join codes are throttled but right ones do not count."""
    throttled = app_factory(RATELIMIT_ENABLED=True, BABEL_DEFAULT_LOCALE="en", JOIN_CODE_RATE_LIMIT="3 per hour")
    with throttled.app_context():
        client = throttled.test_client()
        for i in (1, 2, 3, 4):
            data = {**REGISTRATION, "username": f"ok{i}", "email": f"ok{i}@example.com", "join_code": "JOINA"}
            assert client.post("/auth/register", data=data).status_code == 200
        for code in ("JOINX", "JOINY", "JOINZ"):
            response = client.post("/auth/register", data={**REGISTRATION, "join_code": code})
            assert response.status_code == 400
            assert "No class has this join code" in field_error(response.get_data(as_text=True), "join_code")
        before = user_count()
        assert client.post("/auth/register", data={**REGISTRATION, "join_code": "JOINB"}).status_code == 429
        assert user_count() == before


# ---- hashing cost of unknown usernames -----------------------------------------------------------------


def test_unknown_username_costs_one_hash_of_the_same_kind(app, classroom, client, monkeypatch):
    """Unknown username costs one hash of the same kind."""
    checked: list[str] = []
    real = passwords.check_password_hash

    def spy(pwhash: str, password: str) -> bool:
        checked.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(passwords, "check_password_hash", spy)
    assert login(client, "studentA", "guess-12345").status_code == 401
    assert login(client, "nobody-at-all", "guess-12345").status_code == 401
    assert len(checked) == 2
    assert checked[0] == checked[1]  # the same method and cost for a known and an unknown name


# ---- sessions end everywhere ---------------------------------------------------------------------------


def _signed_out(response: Any) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login"


def _replay(app: Any, cookie: str) -> Any:
    """A new browser that presents a copied session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie, domain="localhost")
    return client


def test_sign_out_ends_every_session_of_the_user_and_old_cookies(app, classroom):
    """Sign out ends every session of the user and old cookies."""
    here, there = classroom.client_for(app, "studentA"), classroom.client_for(app, "studentA")
    copied = here.get_cookie("session").value
    assert _replay(app, copied).get("/").status_code == 200  # a copy works while signed in
    assert here.post("/auth/logout").status_code == 302
    assert _signed_out(there.get("/"))
    assert _signed_out(_replay(app, copied).get("/"))
    # Signing in again works, with a new session.
    assert login(app.test_client(), "studentA").status_code == 302


def test_password_change_refuses_old_cookies_of_this_very_session(app, classroom):
    """Password change refuses old cookies of this very session."""
    here = classroom.client_for(app, "studentA")
    copied = here.get_cookie("session").value
    response = here.post("/auth/password", data={
        "old_password": PASSWORD, "password": "fresh4tea2026", "confirm": "fresh4tea2026"})
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert _signed_out(_replay(app, copied).get("/"))


def test_disable_refuses_old_cookies(app, classroom):
    """Disable refuses old cookies."""
    student = classroom.client_for(app, "studentA")
    copied = student.get_cookie("session").value
    teacher = classroom.client_for(app, "teacher")
    target = classroom.user("studentA")
    response = teacher.post(f"/admin/users/{target.id}", data={
        "display_name": target.display_name, "email": target.email, "role": "student",
        "position_id": target.position_id, "status": "disabled"})
    assert response.status_code == 302
    assert _signed_out(_replay(app, copied).get("/"))


# ---- password policy ------------------------------------------------------------------------------------


COMMON = ["password123", "qwerty123456", "1q2w3e4r5t", "abc123456789", "iloveyou12", "Password2024"]


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused_at_registration(app, classroom, client, password):
    """Common passwords are refused at registration."""
    before = user_count()
    response = client.post("/auth/register", data={**REGISTRATION, "password": password, "confirm": password,
                                                   "join_code": "JOINA"})
    assert response.status_code == 400
    assert "too common or too easy to guess" in field_error(response.get_data(as_text=True), "password")
    assert user_count() == before


@pytest.mark.parametrize("password", ["password123", "aaaaaaaaa1", "1234567890abc"])
def test_common_passwords_are_refused_on_change(app, classroom, password):
    """Common passwords are refused on change."""
    student = classroom.client_for(app, "studentA")
    response = student.post("/auth/password", data={"old_password": PASSWORD, "password": password,
                                                     "confirm": password})
    assert response.status_code == 400
    assert "too common or too easy to guess" in field_error(response.get_data(as_text=True), "password")
    assert db.session.get(User, classroom.user("studentA").id).check_password(PASSWORD)


def test_nine_characters_are_too_few(app, classroom, client):
    """Nine characters are too few."""
    response = client.post("/auth/register", data={**REGISTRATION, "password": "tea4sale9", "confirm": "tea4sale9",
                                                   "join_code": "JOINA"})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "password") == "Use at least 10 characters."


def test_a_password_too_long_for_the_estimator_is_judged_without_it():
    """A password too long for the estimator is judged without it."""
    assert passwords.password_problem("tea4" * 50) is None


@pytest.mark.parametrize(("password", "message"), [
    ("Demo2026", "Use at least 10 characters."),
    ("password123", "too common or too easy to guess"),
    ("teacher2026x", "must not contain the username"),
])
def test_demo_password_follows_the_policy(app, password, message):
    """Demo password follows the policy."""
    result = app.test_cli_runner().invoke(args=["demo", "--password", password])
    assert result.exit_code != 0
    assert message in result.stderr
    assert result.stdout == ""
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


# ---- cookies and CSP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "secure"), [("1", True), ("true", True), ("yes", True), ("", False), ("0", False)])
def test_session_cookie_secure_comes_from_the_environment(value, secure):
    """Session cookie secure comes from the environment."""
    env = {**os.environ, "SESSION_COOKIE_SECURE": value}
    out = subprocess.run([sys.executable, "-c", "from sandbox.config import Config; print(Config.SESSION_COOKIE_SECURE)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(secure)


def test_secure_session_cookie_is_marked_secure(app_factory, classroom):
    """Secure session cookie is marked secure."""
    secure = app_factory(SESSION_COOKIE_SECURE=True)
    response = login(secure.test_client(), "studentA")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


def _csp(response: Any) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in response.headers["Content-Security-Policy"].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_csp_names_the_exact_asset_files_of_the_cdn(app, classroom):
    """Csp names the exact asset files of the cdn."""
    from sandbox.config import ASSETS

    csp = _csp(classroom.client_for(app, "studentA").get("/"))
    cdn = "https://cdn.jsdelivr.net/npm"
    assert csp["script-src"] == ["'self'", f"{cdn}/{ASSETS['bootstrap_js'][0]}", f"{cdn}/{ASSETS['chartjs'][0]}",
                                 f"{cdn}/{ASSETS['fullcalendar'][0]}"]
    assert csp["style-src"] == ["'self'", f"{cdn}/{ASSETS['bootstrap_css'][0]}"]
    for sources in csp.values():
        assert not any(s.endswith("/") for s in sources), sources  # never a whole folder of the CDN


def test_csp_with_local_assets_allows_only_this_site(app_factory, classroom):
    """Csp with local assets allows only this site."""
    local = app_factory(ASSET_BASE_URL="local")
    csp = _csp(local.test_client().get("/auth/login"))
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]


# ---- offline assets --------------------------------------------------------------------------------------


def test_local_assets_serve_chart_js_from_the_npm_copy_with_its_sri(app_factory, classroom):
    """Local assets serve chart js from the npm copy with its sri."""
    import base64
    import hashlib

    from sandbox.app_setup import local_asset_file
    from sandbox.config import ASSETS

    local = app_factory(ASSET_BASE_URL="local")
    client = local.test_client()
    assert login(client, "studentA").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'src="/vendor/chartjs.js"' in page
    assert "cdn.jsdelivr.net" not in page
    assert '/bootstrap/static/css/bootstrap.min.css' in page
    response = client.get("/vendor/chartjs.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    body = response.get_data()
    assert body == local_asset_file(local, "chartjs").read_bytes()
    # The page keeps the integrity check: the npm file is the very file the CDN serves.
    digest = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert digest == ASSETS["chartjs"][1]
    assert f'integrity="{digest}"' in page


def test_unknown_or_missing_vendor_files_are_not_found(app_factory, tmp_path):
    """Unknown or missing vendor files are not found."""
    empty = app_factory(LOCAL_ASSET_DIR=str(tmp_path / "nothing"))
    client = empty.test_client()
    assert client.get("/vendor/chartjs.js").status_code == 404
    assert client.get("/vendor/bootstrap_js.js").status_code == 404
    assert client.get("/vendor/..%2Fsecret_key.js").status_code == 404
