"""The migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from sandbox.extensions import db


def test_migrated_schema_matches_models(app):
    """The migrated schema matches the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ: {diff}"


def test_log_triggers_installed(app):
    """The migrations install the operation log's triggers."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'"))}
            assert {"log_entries_no_update", "log_entries_no_delete"} <= names
        else:
            names = {r[0] for r in conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'log_entries'::regclass AND NOT tgisinternal"))}
            assert "log_entries_no_update" in names


def test_downgrade_and_upgrade_again(app):
    """The migrations downgrade and upgrade again cleanly."""
    from flask_migrate import downgrade, upgrade

    downgrade(directory="migrations", revision="base")
    assert "leads" not in inspect(db.engine).get_table_names()
    upgrade(directory="migrations")
    assert "leads" in inspect(db.engine).get_table_names()


def test_an_upgrade_leaves_the_apps_own_loggers_working(app):
    """Alembic's logging setup runs inside the app's process (`sandbox init`, the tests): it must not switch
    off the loggers the app already made, or their warnings (a stuck generator, a mail that failed) vanish."""
    import logging

    from flask_migrate import upgrade

    import sandbox.classroom.runs.generation as generation
    import sandbox.notifications.mail as mail

    upgrade(directory="migrations")
    assert not generation.log.disabled and not mail.log.disabled
    assert generation.log.isEnabledFor(logging.WARNING)
