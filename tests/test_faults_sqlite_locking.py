"""SQLite under write contention: several server processes, many writers, no "database is locked".

Four gunicorn workers over one SQLite file; eight threads (six students, two of them twice) create and
edit leads at once. In WAL a deferred transaction that read first (the signed-in user) and writes later
failed at once with SQLITE_BUSY when another process committed in between; write requests now BEGIN
IMMEDIATE and wait their turn (busy_timeout). Every answer is a success, a redirect or a 409 conflict.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from tests.helpers import PASSWORD
from tests.process_helpers import csrf_token, running_server, signed_in

VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"')
WRITERS = ("studentA", "studentA", "peerA", "studentA2", "managerA", "studentB", "studentB", "studentC")
CREATES, EDITS = 6, 4


@pytest.mark.parametrize("backend", ["sqlite"])
def test_many_writers_over_one_sqlite_file_never_see_database_is_locked(app: Any, classroom: Any, create_lead: Any,
                                                                         tmp_path: Path) -> None:
    shared_id = create_lead(classroom.user("studentA"), name="Shared lead", company="Edited by two").id
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    answers: list[tuple[str, int, str]] = []
    failures: list[BaseException] = []

    def write(server_url: str, client: requests.Session, who: str, index: int) -> None:
        try:
            def post(path: str, data: dict[str, str]) -> requests.Response:
                page = client.get(server_url + path, timeout=60)
                answer = client.post(server_url + path, data={"csrf_token": csrf_token(page.text), **data},
                                     allow_redirects=False, timeout=60)
                answers.append((path, answer.status_code, answer.text))
                return answer

            mine: list[int] = []
            for n in range(CREATES):
                answer = post("/leads/new", {"name": f"{who}-{index}-{n}", "company": f"Co {index}.{n}",
                                             "status": "new", "confirm_duplicate": "1"})
                if answer.status_code == 302:
                    mine.append(int(answer.headers["Location"].rstrip("/").split("/")[-1]))
            for n in range(EDITS):
                if n >= len(mine):  # a create failed: reported below with its status
                    break
                target = shared_id if who == "studentA" and n % 2 == 0 else mine[n]
                edit = client.get(f"{server_url}/leads/{target}/edit", timeout=60).text
                version = VERSION.search(edit).group(1)
                answer = client.post(f"{server_url}/leads/{target}/edit", data={
                    "csrf_token": csrf_token(edit), "name": f"{who}-{index}-edited-{n}", "company": "Edited",
                    "status": "contacted", "version": version}, allow_redirects=False, timeout=60)
                answers.append(("edit", answer.status_code, answer.text))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    with running_server(url, tmp_path, workers=4) as server:
        clients = [signed_in(server.url, who, PASSWORD) for who in WRITERS]
        threads = [threading.Thread(target=write, args=(server.url, client, who, i))
                   for i, (client, who) in enumerate(zip(clients, WRITERS, strict=True))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        log = server.output()
    assert not failures, failures
    assert len(answers) == len(WRITERS) * (CREATES + EDITS)
    bad = [(path, status) for path, status, text in answers
           if status not in (200, 302, 409) or "locked" in text.lower()]
    assert not bad, f"{bad[:5]}\n{log[-3000:]}"
    assert "database is locked" not in log
    # Every create answered with a redirect made its lead, and nothing else was made.
    created = sum(1 for path, status, _text in answers if path == "/leads/new" and status == 302)
    assert created == len(WRITERS) * CREATES
    names = set(db.session.scalars(select(Lead.name).execution_options(skip_visibility=True)))
    assert len(names) == len(WRITERS) * CREATES + 1
    shared_names = {f"studentA-{i}-edited-{n}" for i, who in enumerate(WRITERS) if who == "studentA" for n in (0, 2)}
    for i, who in enumerate(WRITERS):
        for n in range(CREATES):
            renamed = n < EDITS and (who != "studentA" or n % 2 == 1)  # own leads: no one else edits them
            if renamed:
                assert f"{who}-{i}-edited-{n}" in names and f"{who}-{i}-{n}" not in names
            else:
                assert f"{who}-{i}-{n}" in names
    # The lead two sessions edited at once holds one of their saves; a refused one was told (409).
    assert len(names & shared_names) == 1
