"""`kill -9` of a real server in the middle of a CSV import and of a lead conversion: afterwards the data
is exactly as before (and the same request then runs to its end: exactly as after), never half.

A gunicorn server over the test's database (SQLite and PostgreSQL) runs with SANDBOX_PAUSE_AT naming a
checkpoint inside the operation, after its rows are written and before the request commits; the test's
HTTP client waits on the POST while the server is killed with SIGKILL (the whole process group). The
reset's kill test is `tests/test_scenario_pages.py::test_killing_the_process_mid_reset_leaves_the_previous_data`.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import MetaData, select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from tests.helpers import PASSWORD
from tests.process_helpers import csrf_token, running_server, signed_in

# Every table a conversion or an import writes (plus the log): compared whole, row by row.
TABLES = ("leads", "accounts", "contacts", "opportunities", "activities", "log_entries", "notifications")
CSV = ("name,company,status\n" + "".join(f"Imported {n},Company {n},new\n" for n in range(40))).encode()
CONVERT = {"account_mode": "new", "contact_id": "0", "create_opportunity": "y", "opportunity_name": "Tea deal",
           "stage": "prospecting", "close_date": "2030-01-01"}


def tables() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the compared tables, read past the visibility rule (Core, on the raw connection)."""
    db.session.commit()  # end any read transaction: see what is committed now
    meta = MetaData()
    meta.reflect(db.engine, only=TABLES)
    with db.engine.connect() as conn:
        return {name: sorted(conn.execute(select(meta.tables[name])).all(), key=lambda row: row[0])
                for name in TABLES}


def killed_mid_request(url: str, tmp_path: Path, pause_at: str, form_path: str, data: dict[str, str],
                       files: dict[str, tuple[str, bytes]] | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """POST a form to a server that pauses at `pause_at`; SIGKILL it there, while the client waits.

    Returns the tables as they were just before the POST (after the sign-in and the form's page, whose
    page loads may write a notification scan of their own)."""
    with running_server(url, tmp_path, workers=1, SANDBOX_PAUSE_AT=pause_at) as server:
        client = signed_in(server.url, "studentA", PASSWORD)
        token = csrf_token(client.get(server.url + form_path, timeout=30).text)
        answers: list[Any] = []
        before = tables()

        def send() -> None:
            try:
                answers.append(client.post(server.url + form_path, data={"csrf_token": token, **data}, files=files,
                                           allow_redirects=False, timeout=120))
            except requests.RequestException as exc:  # the server died under the request: expected
                answers.append(exc)

        sender = threading.Thread(target=send)
        sender.start()
        server.wait_for(f"paused at {pause_at}")
        server.kill()
        sender.join(timeout=60)
    assert len(answers) == 1 and isinstance(answers[0], requests.RequestException), answers
    return before


def test_killing_the_server_mid_conversion_leaves_the_lead_unconverted(app, classroom, create_lead, tmp_path):
    lead = create_lead(classroom.user("studentA"), name="Zhao Min", company="Ningbo Porcelain")
    lead_id = lead.id
    before = killed_mid_request(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "convert.done",
                       f"/leads/{lead_id}/convert", CONVERT)
    assert tables() == before
    # Nothing was left locked or half-made: the same conversion now runs to its end, once.
    student = classroom.client_for(app, "studentA")
    assert student.post(f"/leads/{lead_id}/convert", data=CONVERT).status_code == 302
    after = tables()
    assert len(after["accounts"]) == 1 and len(after["contacts"]) == 1 and len(after["opportunities"]) == 1
    assert len(after["log_entries"]) > len(before["log_entries"])
    converted = db.session.scalar(select(Lead).where(Lead.id == lead_id).execution_options(skip_visibility=True))
    assert converted.status == "converted" and converted.converted_account_id is not None


def test_killing_the_server_mid_import_imports_nothing(app, classroom, create_lead, tmp_path):
    create_lead(classroom.user("studentA"), name="Already here", company="Old Co")
    before = killed_mid_request(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "import.inserted", "/leads/import",
                       {"mode": "all"}, files={"file": ("leads.csv", CSV)})
    assert tables() == before
    # The same file imports whole afterwards: all 40 rows, each once.
    student = classroom.client_for(app, "studentA")
    response = student.post("/leads/import?lang=en", data={"file": (io.BytesIO(CSV), "leads.csv"), "mode": "all"},
                            content_type="multipart/form-data")
    assert response.status_code == 200
    names = sorted(row.name for row in tables()["leads"])
    assert names == sorted(["Already here", *(f"Imported {n}" for n in range(40))])
