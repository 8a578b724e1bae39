"""Read-only transactions end with COMMIT on PostgreSQL (sandbox/pg_statements.py), so psycopg's prepared
statements survive from one request to the next; anything that wrote or failed still rolls back, on both
engines. The pool holds one connection here, so "the connection the requests used" is the one inspected."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.records.services import create_record
from tests.helpers import act_as, signed_in


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}}


def prepared_on_the_pooled_connection() -> list[str]:
    db.session.remove()
    with db.engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars())


def test_statements_of_reading_requests_stay_prepared_across_requests(app, classroom, backend):
    client = signed_in(app.test_client(), "studentA")
    db.session.remove()
    for _ in range(8):
        assert client.get("/knowledge/").status_code == 200
    if backend == "sqlite":
        assert "do_rollback" not in vars(db.engine.dialect)  # nothing is installed for another driver
        return
    prepared = prepared_on_the_pooled_connection()
    # The organisation's version is read by every signed-in request: prepared after five of them, and still
    # there after the later ones (a ROLLBACK at the end of each request would have dropped it, and its count).
    assert any("FROM org_stamps" in s for s in prepared), prepared
    assert len(prepared) >= 3


def test_a_transaction_that_wrote_rolls_back(app, classroom, create_lead):
    lead = create_lead(classroom.user("studentA"), name="Kept")
    db.session.commit()
    before = db.session.scalar(select(Lead.name).where(Lead.id == lead.id))

    leads = db.session.scalar(select(func.count(Lead.id)))
    act_as(classroom.user("studentA"))
    create_record(Lead, {"name": "Flushed, then rolled back", "company": "Co.", "status": "new"})  # record + log entry
    db.session.flush()  # its INSERTs reached the database, inside the open transaction
    assert db.session.scalar(select(func.count(Lead.id))) == leads + 1
    db.session.rollback()
    assert db.session.scalar(select(func.count(Lead.id))) == leads
    assert db.session.scalar(select(Lead.name).where(Lead.id == lead.id)) == before == "Kept"

    # A Core statement after reads in the same transaction: the reads do not make it a read-only one.
    db.session.execute(select(Lead.id)).all()
    db.session.execute(text("UPDATE leads SET name = 'Core write' WHERE id = :i"), {"i": lead.id})
    db.session.rollback()
    assert db.session.scalar(select(Lead.name).where(Lead.id == lead.id)) == "Kept"


def test_a_failed_transaction_rolls_back_and_the_connection_serves_again(app, classroom, backend):
    db.session.execute(select(Lead.id)).all()
    driver = db.session.connection().connection.driver_connection
    with pytest.raises(Exception):  # noqa: B017, PT011  (the driver's own error class differs per engine)
        db.session.execute(text("SELECT no_such_column FROM leads"))
    if backend == "postgresql":
        assert driver.info.transaction_status.name == "INERROR"  # only a ROLLBACK ends it
    db.session.rollback()
    assert db.session.execute(text("SELECT 1")).scalar() == 1
    if backend == "postgresql":
        assert driver.info.transaction_status.name == "INTRANS"
        db.session.rollback()
        assert driver.info.transaction_status.name == "IDLE"  # the read-only one ended (by COMMIT)
