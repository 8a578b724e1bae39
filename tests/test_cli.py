"""The `sandbox` command line (SPEC §9.2, §11): init-db, create-admin, demo. Errors go to stderr, exit non-zero."""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import delete, select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import Organization, Position, Role, Status, User
from tests import helpers
from tests.conftest import login


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


count = partial(helpers.count, expire=True)


def empty_database() -> None:
    """Back to a database with the schema but no organisation (as right after the migrations)."""
    db.session.execute(delete(Position))
    db.session.execute(delete(Organization))
    db.session.commit()


# ---- init-db --------------------------------------------------------------------------------------------------------


def test_init_db_is_idempotent(app):
    before = count(Position)
    for _run in range(2):
        result = run(app, "init-db")
        assert result.exit_code == 0, result.output
        assert "database ready:" in result.stdout
        assert "error" not in result.stderr.lower()  # alembic's progress lines only
    assert count(Organization) == 1
    assert count(Position) == before
    db.session.expire_all()
    assert db.session.scalar(select(Organization)).name == "测试学校"  # an existing organisation is kept


def test_init_db_creates_the_organisation_once(app):
    empty_database()
    result = run(app, "init-db", "--organization", "Hangzhou Business School")
    assert result.exit_code == 0, result.output
    assert run(app, "init-db", "--organization", "Another School").exit_code == 0
    db.session.expire_all()
    assert [o.name for o in db.session.scalars(select(Organization))] == ["Hangzhou Business School"]
    roots = list(db.session.scalars(select(Position).where(Position.parent_id.is_(None))))
    assert [(r.kind, r.name, r.path) for r in roots] == [("organization", "Hangzhou Business School", f"/{roots[0].id}/")]
    assert db.session.scalar(select(LogEntry).where(LogEntry.verb == "organization.create")) is not None


def test_init_db_hides_the_database_password(app):
    result = run(app, "init-db")
    assert result.exit_code == 0
    assert ":app@" not in result.stdout  # the test PostgreSQL URL's password never shows


# ---- create-admin ---------------------------------------------------------------------------------------------------


def test_create_admin(app):
    result = run(app, "create-admin", "--username", "boss", "--password", "Str0ng-enough")
    assert result.exit_code == 0, result.output
    assert "administrator boss created" in result.stdout
    db.session.expire_all()
    boss = db.session.scalar(select(User).where(User.username == "boss"))
    root = db.session.scalar(select(Position).where(Position.parent_id.is_(None)))
    assert (boss.role, boss.status, boss.position_id) == (Role.ADMIN, Status.ACTIVE, root.id)
    assert boss.check_password("Str0ng-enough")
    client = app.test_client()
    assert login(client, "boss", "Str0ng-enough").status_code == 302
    assert client.get("/admin/organization").status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "error: Use at least 10 characters."),
        ("onlyletters", "error: Use both letters and digits."),
        ("1234567890", "error: Use both letters and digits."),
        ("xboss2026x", "error: The password must not contain the username."),
    ],
)
def test_create_admin_refuses_a_weak_password(app, password, message):
    result = run(app, "create-admin", "--username", "boss", "--password", password)
    assert result.exit_code != 0
    assert message in result.stderr
    assert result.stdout == ""
    assert count(User) == 0


def test_create_admin_refuses_a_taken_username(app):
    assert run(app, "create-admin", "--username", "boss", "--password", "Str0ng-enough").exit_code == 0
    result = run(app, "create-admin", "--username", "BOSS", "--password", "0ther-pass")
    assert result.exit_code != 0
    assert "error: The username BOSS is taken." in result.stderr
    assert count(User) == 1
    db.session.expire_all()
    assert db.session.scalar(select(User)).check_password("Str0ng-enough")


def test_create_admin_before_init_db(app):
    empty_database()
    result = run(app, "create-admin", "--username", "boss", "--password", "Str0ng-enough")
    assert result.exit_code != 0
    assert "run `sandbox init-db` first" in result.stderr
    assert count(User) == 0


def test_create_admin_requires_its_options(app):
    result = run(app, "create-admin", "--username", "boss")
    assert result.exit_code != 0
    assert "--password" in result.stderr
    assert count(User) == 0


# ---- demo -----------------------------------------------------------------------------------------------------------


def test_demo_refuses_a_database_with_users(app, classroom):
    users, leads, positions = count(User), count(Lead), count(Position)
    result = run(app, "demo", "--password", "Demo2026xy")
    assert result.exit_code != 0
    assert "error: the database already has users" in result.stderr
    assert result.stdout == ""
    assert (count(User), count(Lead), count(Position)) == (users, leads, positions)


def test_demo_builds_a_classroom_with_one_password(app):
    result = run(app, "demo", "--password", "Demo2026xy")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "username, role, class, position, password"
    accounts = [line.split(", ") for line in lines[1:]]
    assert {a[0] for a in accounts} >= {"admin", "teacher", "a_manager", "a_s01", "b_observer"}
    assert all(a[4] == "Demo2026xy" for a in accounts)
    assert count(User) == len(accounts)
    db.session.expire_all()
    roles = dict(db.session.execute(select(User.username, User.role)).all())
    assert {username: role for username, role, *_rest in accounts} == roles
    classes = list(db.session.scalars(select(Position).where(Position.kind == "class")))
    assert len(classes) == 2
    for klass in classes:
        departments = list(db.session.scalars(select(Position).where(Position.parent_id == klass.id)))
        assert len(departments) == 3
    assert count(Lead) > 0
    # Every lead belongs to a student of its own class.
    owners = db.session.execute(select(Lead.class_id, User.class_id, User.role).join(User, User.id == Lead.owner_id)
                                .execution_options(skip_visibility=True)).all()
    assert all(lead_class == user_class and role == "student" for lead_class, user_class, role in owners)
    # The first class has Sales basics loaded, the second the Service desk: one run each, and a book of its own
    # for every student of the class (the service desk's with open cases).
    from sandbox.cases.models import Case
    from sandbox.classroom.models import Run

    runs = list(db.session.scalars(select(Run)))
    assert sorted(r.class_id for r in runs) == sorted(c.id for c in classes)
    assert sorted(r.scenario_name for r in runs) == ["sales-basics", "service-desk"]
    b_s01 = db.session.scalar(select(User.id).where(User.username == "b_s01"))
    assert count(Case, Case.owner_id == b_s01) > 0
    assert count(Lead, Lead.owner_id == db.session.scalar(select(User.id).where(User.username == "a_s01"))) == 100
    client = app.test_client()
    assert login(client, "a_s01", "Demo2026xy").status_code == 302
    assert client.get("/leads/").status_code == 200
    # A second run refuses and changes nothing.
    users = count(User)
    again = run(app, "demo")
    assert again.exit_code != 0
    assert "already has users" in again.stderr
    assert count(User) == users


def test_demo_without_a_password_prints_a_random_one_each(app):
    result = run(app, "demo")
    assert result.exit_code == 0, result.output
    accounts = [line.split(", ") for line in result.stdout.strip().splitlines()[1:]]
    passwords = [a[4] for a in accounts]
    assert len(set(passwords)) == len(passwords)
    username, password = accounts[-1][0], accounts[-1][4]
    assert login(app.test_client(), username, password).status_code == 302


def test_demo_before_init_db(app):
    empty_database()
    result = run(app, "demo", "--password", "Demo2026xy")
    assert result.exit_code != 0
    assert "run `sandbox init-db` first" in result.stderr
    assert count(User) == 0


# ---- the CLI's transaction boundary ----------------------------------------------------------------------------------


def test_a_command_commits_once_and_prints_after_or_rolls_back_everything(app):
    import click

    from sandbox.cli import fail, in_transaction
    from sandbox.errors import ServiceError
    from sandbox.org.services import create_organization

    @app.cli.command("probe")
    @click.argument("outcome")
    @in_transaction
    def probe(outcome: str) -> list[str]:
        create_organization("Probe School")
        db.session.flush()
        if outcome == "refused":
            raise ServiceError("The probe was refused.")
        if outcome == "fail":
            fail("the probe cannot go on")
        if outcome == "crash":
            raise RuntimeError("probe crashed")
        return ["probe done", "second line"]

    probes = (Organization.name == "Probe School",)
    logged = count(LogEntry, LogEntry.verb == "organization.create")
    refused = run(app, "probe", "refused")
    assert refused.exit_code == 2 and refused.stderr.strip() == "error: The probe was refused."
    assert "probe done" not in refused.stdout and count(Organization, *probes) == 0
    failed = run(app, "probe", "fail")
    assert failed.exit_code == 2 and "error: the probe cannot go on" in failed.stderr
    assert count(Organization, *probes) == 0 and count(LogEntry, LogEntry.verb == "organization.create") == logged
    crashed = run(app, "probe", "crash")
    assert crashed.exit_code != 0 and isinstance(crashed.exception, RuntimeError)
    assert count(Organization, *probes) == 0
    done = run(app, "probe", "ok")
    assert done.exit_code == 0 and done.stdout.splitlines() == ["probe done", "second line"]
    db.session.rollback()  # what the command committed stays
    assert count(Organization, *probes) == 1 and count(LogEntry, LogEntry.verb == "organization.create") == logged + 1


def test_a_refused_scenario_command_changes_nothing_and_says_why_on_stderr(app, classroom):
    before = count(LogEntry)
    result = run(app, "scenario", "undo", "--class", classroom.classes["A"].name)  # nothing loaded: nothing to undo
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and result.stdout == ""
    assert count(LogEntry) == before
