"""Nothing in process memory may break several workers (issue 9), proved with two real gunicorn servers
over one database: the sign-in throttle counts attempts on both together, and a session ended on one
server (sign out everywhere, a password change, a disabled account) is ended on the other at once.

Two separate servers rather than one with two workers: a request can never land on the same process by
luck, so a test that passes cannot be passing because of process memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.org.models import User
from sandbox.records.models import Attachment
from tests.conftest import PASSWORD
from tests.process_helpers import Server, csrf_token, form_post, signed_in, start_server


def release_database(app) -> str:
    """Commit and let go of the test's connections, so the servers see (and may lock) the database."""
    db.session.commit()
    db.session.remove()
    db.engine.dispose()
    return app.config["SQLALCHEMY_DATABASE_URI"]


@contextmanager
def two_servers(url: str, tmp_path: Path, **env: str) -> Iterator[tuple[Server, Server]]:
    """Two gunicorn servers over one database and one upload folder (shared storage), started at the same
    time (half the wait), both stopped afterwards."""
    with ThreadPoolExecutor(2) as pool:
        starting = [pool.submit(start_server, url, tmp_path, 1, tmp_path / "shared-uploads", **env)
                    for _ in range(2)]
        servers = [future.result() for future in starting if future.exception() is None]
    try:
        for future in starting:
            if future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


def sign_in_status(client: requests.Session, url: str, username: str, password: str) -> int:
    """POST the real sign-in form (after GETting it for its CSRF token); the status of the answer."""
    page = client.get(url + "/auth/login", timeout=30)
    answer = client.post(url + "/auth/login", data={"username": username, "password": password,
                                                    "csrf_token": csrf_token(page.text)},
                         allow_redirects=False, timeout=30)
    return answer.status_code


def signed_out(client: requests.Session, url: str) -> bool:
    """Whether the client's next page on this server sends it to the sign-in page."""
    answer = client.get(url + "/", allow_redirects=False, timeout=30)
    assert answer.status_code in (200, 302), answer.status_code
    return answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


def test_two_servers_share_the_sign_in_limit_and_the_end_of_sessions(app, classroom, make_lead, tmp_path):
    """Over one database and one upload folder, two servers count sign-in failures together, serve each
    other's uploads, and a session ended on one server (sign out everywhere, a password change, a disabled
    account) is ended on the other at its next request."""
    student = classroom.user("studentA")
    student_id, position_id = student.id, student.position_id
    lead_id = make_lead(student, name="Shared file").id
    url = release_database(app)
    limits = {"LOGIN_RATE_LIMIT": "4 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "100 per minute"}
    with two_servers(url, tmp_path, **limits) as (one, two):
        # The throttle: four wrong passwords alternated between the servers fill a limit of 4; the fifth
        # attempt is refused on either server, the right password included.
        clients = {one.url: requests.Session(), two.url: requests.Session()}
        statuses = [sign_in_status(clients[server.url], server.url, "peerA", "guess-12345")
                    for server in (one, two, one, two)]
        assert statuses == [401, 401, 401, 401]
        assert sign_in_status(clients[one.url], one.url, "peerA", "guess-12345") == 429
        assert sign_in_status(clients[two.url], two.url, "peerA", PASSWORD) == 429
        assert sign_in_status(requests.Session(), one.url, "studentB", PASSWORD) == 302  # another username

        # A session signed in on server one is good on server two (one SECRET_KEY, state in the cookie).
        there = signed_in(one.url, "studentA", PASSWORD)
        assert not signed_out(there, two.url)
        # A file attached through server one is downloaded through server two (UPLOAD_FOLDER shared).
        here = signed_in(two.url, "studentA", PASSWORD)
        token = csrf_token(there.get(f"{one.url}/leads/{lead_id}", timeout=30).text)
        answer = there.post(f"{one.url}/leads/{lead_id}/attachments", data={"csrf_token": token},
                            files={"file": ("quote.txt", b"price list v1\n", "text/plain")},
                            allow_redirects=False, timeout=30)
        assert answer.status_code == 302
        attachment_id = db.session.scalar(select(Attachment.id).where(Attachment.filename == "quote.txt"))
        db.session.rollback()
        download = here.get(f"{two.url}/leads/{lead_id}/attachments/{attachment_id}", timeout=30)
        assert download.status_code == 200 and download.content == b"price list v1\n"

        # Sign out everywhere on server two ends the session on server one.
        assert not signed_out(there, one.url)
        assert form_post(here, two.url, "/auth/logout", {}).status_code == 302
        assert signed_out(there, one.url)

        # A password change on server two: server one's session ends, server two's goes on.
        there = signed_in(one.url, "studentA", PASSWORD)
        here = signed_in(two.url, "studentA", PASSWORD)
        new_password = "Harbour-lantern-2026"
        answer = form_post(here, two.url, "/auth/password",
                           {"old_password": PASSWORD, "password": new_password, "confirm": new_password})
        assert answer.status_code == 302, answer.text[:2000]
        assert signed_out(there, one.url)
        assert not signed_out(here, two.url)

        # The instructor disables the account on server two.
        there = signed_in(one.url, "studentA", new_password)
        teacher = signed_in(two.url, "teacher", PASSWORD)
        answer = form_post(teacher, two.url, f"/admin/users/{student_id}", {
            "display_name": "Studenta", "student_number": "", "email": "studenta@example.com", "role": "student",
            "position_id": str(position_id), "status": "disabled"})
        assert answer.status_code == 302, answer.text[:2000]
        assert signed_out(there, one.url)
    assert db.session.scalar(select(User.status).where(User.id == student_id)) == "disabled"


def test_in_process_memory_would_let_each_server_count_alone(app, backend, classroom, tmp_path):
    """The control: with RATELIMIT_STORAGE_URI=memory:// each server counts only its own attempts, so the
    total passes the limit. This is what the database store prevents (the test above)."""
    if backend != "sqlite":
        pytest.skip("the memory store does not depend on the database: once is enough")
    url = release_database(app)
    limits = {"LOGIN_RATE_LIMIT": "2 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "100 per minute",
              "RATELIMIT_STORAGE_URI": "memory://"}
    with two_servers(url, tmp_path, **limits) as (one, two):
        statuses = [sign_in_status(requests.Session(), server.url, "studentA", "guess-12345")
                    for server in (one, two, one, two)]
        assert statuses == [401, 401, 401, 401]  # four refused sign-ins against a limit of two
        assert sign_in_status(requests.Session(), one.url, "studentA", "guess-12345") == 429
