"""Fixtures: an app per database backend (SQLite and a real PostgreSQL), clients, a classroom factory.

Every test runs on both backends. The schema is made once per backend by the real migrations; each
test then starts from empty tables (a copied SQLite file, or TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import contextvars
import importlib
import itertools
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import create_engine, make_url, select, text
from werkzeug.security import generate_password_hash

import sandbox.org.models as _org_models
from sandbox import access, create_app
from sandbox.extensions import db
from sandbox.oplog import set_actor
from sandbox.org.models import Position, PositionKind, Role, User
from tests.helpers import PASSWORD, act_as, compile_translations, login  # noqa: F401  (re-exported)

# The production hash (scrypt) costs ~0.3 s a user on this machine; tests create hundreds of users.
_org_models.generate_password_hash = lambda password: generate_password_hash(password, "pbkdf2:sha256:1000")

CI = os.environ.get("CI", "").lower() == "true"
PG_URL = os.environ.get("TEST_POSTGRES_URL", "")

BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "SERVER_NAME": "localhost",
    # Tests read messages in English; a test that checks Chinese asks for it (?lang=zh_Hans_CN, force_locale).
    "BABEL_DEFAULT_LOCALE": "en",
}


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context (g, session, current_user), as in
    production, even though the test itself holds an app context open for direct database access."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request from a fresh context, as a separate browser request would be."""
        def run() -> Any:
            _cv_app.set(None)
            return FlaskClient.open(self, *args, **kwargs)

        return contextvars.copy_context().run(run)


class _Heartbeat:
    """Every few minutes, a line naming the elapsed time and the tests still running (on each xdist worker).

    A CI log that stops at its time limit then says whether the suite was slow or one test hung, and which."""

    EVERY = 300.0

    def __init__(self, config: pytest.Config) -> None:
        self.config, self.started, self.running = config, time.monotonic(), {}
        self.next = self.started + self.EVERY

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running[nodeid] = time.monotonic()
        self.beat()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown":
            self.running.pop(report.nodeid, None)
        self.beat()

    def beat(self) -> None:
        now = time.monotonic()
        if now < self.next:
            return
        self.next = now + self.EVERY
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        running = ", ".join(f"{nodeid} ({now - since:.0f} s)" for nodeid, since in sorted(self.running.items()))
        reporter.write_line(f"[{(now - self.started) / 60:.0f} min] running: {running or 'nothing'}")


def pytest_configure(config: pytest.Config) -> None:
    """Register the heartbeat in the process that reports (the xdist controller, or the only process)."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_Heartbeat(config), "heartbeat")


def _backends() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    if PG_URL:
        params.append(pytest.param("postgresql", id="postgresql"))
    elif CI:
        # With CI=true a missing database is a failure (see _fresh_url), never a skip.
        params.append(pytest.param("postgresql", id="postgresql"))
    else:
        params.append(pytest.param("postgresql", id="postgresql",
                                   marks=pytest.mark.skip(reason="set TEST_POSTGRES_URL (make test does)")))
    return params


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    app.instance_path = str(instance)
    with app.app_context():
        upgrade(directory=str(Path(__file__).parent.parent / "migrations"))
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def compiled_translations() -> None:
    """The Chinese catalog compiled before any test reads it, so a bare `pytest` needs no `make translations`."""
    compile_translations()


@pytest.fixture(scope="session")
def schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrated template databases, one per backend."""
    root = tmp_path_factory.mktemp("schema")
    template = root / "template.db"
    _migrate(f"sqlite:///{template}", root)
    urls = {"sqlite_template": str(template)}
    if PG_URL:
        url = _worker_database(PG_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url, root)
        urls["postgresql"] = url
    yield urls


def _worker_database(url: str) -> str:
    """With pytest-xdist each worker gets its own PostgreSQL database (created on first use)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base = make_url(url)
    name = f"{base.database}_{worker}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _fresh_url(backend: str, schema: dict[str, str], tmp_path: Path) -> str:
    if backend == "sqlite":
        target = tmp_path / "test.db"
        shutil.copy(schema["sqlite_template"], target)
        return f"sqlite:///{target}"
    if "postgresql" not in schema:
        pytest.fail("PostgreSQL is required here but TEST_POSTGRES_URL is not set")
    engine = create_engine(schema["postgresql"])
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))]
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # The migrations insert the organisation stamp's row and the default picklists; put them back as the
        # SQLite template has them.
        conn.execute(text("INSERT INTO org_stamps (id, version) VALUES (1, 0)"))
        from sandbox.codes.defaults import default_rows

        conn.execute(text(
            "INSERT INTO code_values (table_name, code, label_zh, label_en, sort_order, active, extra) "
            "VALUES (:table_name, :code, :label_zh, :label_en, :sort_order, :active, CAST(:extra AS JSON))"),
            [{**row, "extra": json.dumps(row["extra"]) if row["extra"] is not None else None} for row in default_rows()])
    engine.dispose()
    return schema["postgresql"]


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend of this test run: sqlite or postgresql."""
    return request.param


@pytest.fixture
def app_factory(backend: str, schema: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """Build an app on a fresh database of the current backend (extra config allowed)."""
    url = _fresh_url(backend, schema, tmp_path)
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_FOLDER": str(tmp_path / "up"), **config})
        app.test_client_class = IsolatedClient
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Configuration the `app` fixture adds to the test config (the browser tests override it)."""
    return {}


@pytest.fixture
def app(app_factory: Any, app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app on a fresh database with its organisation, an app context held open, acting as the system."""
    application = app_factory(**app_config)
    with application.app_context():
        access.use_viewer(access.SYSTEM)
        set_actor(None)
        from sandbox.org.services import create_organization

        create_organization("测试学校")
        db.session.commit()
        yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the app (anonymous until it signs in)."""
    return app.test_client()


@dataclass
class Classroom:
    """Two classes under one teacher, each with two departments; users by nickname."""

    root: Position
    teacher_node: Position
    classes: dict[str, Position]
    departments: dict[str, Position]
    positions: dict[str, Position]
    users: dict[str, User]

    def user(self, name: str) -> User:
        """The user of the classroom with this nickname."""
        return self.users[name]

    def client_for(self, app: Flask, name: str) -> FlaskClient:
        """A test client signed in as the user with this nickname."""
        c = app.test_client()
        response = login(c, self.users[name].username)
        assert response.status_code == 302, response.data[:500]
        return c


@pytest.fixture
def classroom(app: Flask) -> Classroom:
    """admin; teacher (instructor of classes A and B); teacher2 over class C; in A: managerA (dept A1),
    studentA and peerA (same salesperson position in A1), studentA2 (dept A2), readonlyA; in B: studentB;
    in C: studentC; pending user pendingA asking for class A."""
    from sandbox.auth.services import register_user
    from sandbox.org.services import class_wizard, create_position, create_user

    act_as(None)
    root = db.session.scalar(select(Position).where(Position.parent_id.is_(None)))
    teacher_node = create_position(None, root, PositionKind.TEACHER, "Teacher Li")
    teacher2_node = create_position(None, root, PositionKind.TEACHER, "Teacher Wang")
    classes, departments, positions = {}, {}, {}
    for key, parent in (("A", teacher_node), ("B", teacher_node), ("C", teacher2_node)):
        klass = class_wizard(None, parent, f"Class {key}", [f"{key}1", f"{key}2"], f"JOIN{key}", True, "Sales")
        classes[key] = klass
        for dept in db.session.scalars(select(Position).where(Position.parent_id == klass.id)):
            departments[dept.name] = dept
            positions[dept.name] = db.session.scalar(select(Position).where(Position.parent_id == dept.id))
    users = {}

    def add(name: str, role: str, position: Position) -> None:
        users[name] = create_user(None, name, name.title(), PASSWORD, role, position, email=f"{name}@example.com")

    add("admin", Role.ADMIN, root)
    add("teacher", Role.INSTRUCTOR, teacher_node)
    add("teacher2", Role.INSTRUCTOR, teacher2_node)
    add("managerA", Role.STUDENT, departments["A1"])
    add("studentA", Role.STUDENT, positions["A1"])
    add("peerA", Role.STUDENT, positions["A1"])
    add("studentA2", Role.STUDENT, positions["A2"])
    add("readonlyA", Role.READONLY, classes["A"])
    add("studentB", Role.STUDENT, positions["B1"])
    add("studentC", Role.STUDENT, positions["C1"])
    users["pendingA"] = register_user("pendingA", "Pending A", "pendinga@example.com", PASSWORD, classes["A"], None)
    db.session.commit()
    return Classroom(root, teacher_node, classes, departments, positions, users)


# Record type -> (model, create service, fields a valid record needs); the factories below fill in the rest.
RECORD_FACTORY_TYPES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "lead": ("sandbox.leads.models:Lead", "sandbox.records.services:create_record",
             {"name": "Li Lei", "company": "Hangzhou Tea Co.", "status": "new"}),
    "account": ("sandbox.accounts.models:Account", "sandbox.accounts.services:create_account", {"name": "Tea Co."}),
    "contact": ("sandbox.contacts.models:Contact", "sandbox.contacts.services:create_contact", {"name": "Han Meimei"}),
    "opportunity": ("sandbox.opportunities.models:Opportunity", "sandbox.opportunities.services:create_opportunity",
                    {"name": "Tea deal", "stage": "prospecting", "close_date": date(2030, 1, 1)}),
    "activity": ("sandbox.activities.models:Activity", "sandbox.activities.services:create_activity",
                 {"kind": "task", "subject": "Call back", "due_date": date(2030, 1, 1)}),
    "competitor": ("sandbox.competitors.models:Competitor", "sandbox.records.services:create_record",
                   {"name": "Rival Ltd", "threat_level": "high"}),
    # Products belong to a class (the maker's, unless class_id is given) and need a unique code.
    "product": ("sandbox.products.models:Product", "sandbox.products.services:create_product",
                {"name": "Notebook", "list_price": 10, "active": True}),
}


def _named(path: str) -> Any:
    module, _colon, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def record_factory(kind: str) -> Any:
    """A callable `make(owner, **fields)` that creates a record of `kind` as `owner` through its real create
    service (committed, logged), with valid defaults for the fields not given; returns the record."""
    model_path, service_path, defaults = RECORD_FACTORY_TYPES[kind]
    codes = itertools.count(1)

    def make(owner: User, **fields: Any) -> Any:
        data = {**defaults, **fields}
        if kind == "product":
            data.setdefault("class_id", owner.class_id)
            data.setdefault("code", f"P-{next(codes):04d}")
        act_as(owner)
        obj = _named(service_path)(_named(model_path), data)
        db.session.commit()
        act_as(None)
        return obj

    return make


@pytest.fixture
def create_lead(app: Flask) -> Any:
    """Create a lead owned by a user, through the real service; returns it."""
    return record_factory("lead")


@pytest.fixture
def make_lead(create_lead: Any) -> Any:
    """The older name of `create_lead`, which many tests still use."""
    return create_lead


@pytest.fixture
def create_account(app: Flask) -> Any:
    """Create an account owned by a user, through the real service; returns it."""
    return record_factory("account")


@pytest.fixture
def create_contact(app: Flask) -> Any:
    """Create a contact owned by a user, through the real service; returns it."""
    return record_factory("contact")


@pytest.fixture
def create_opportunity(app: Flask) -> Any:
    """Create an opportunity owned by a user, through the real service; returns it."""
    return record_factory("opportunity")


@pytest.fixture
def create_activity(app: Flask) -> Any:
    """Create an activity (a task by default) owned by a user, through the real service; returns it."""
    return record_factory("activity")


@pytest.fixture
def create_competitor(app: Flask) -> Any:
    """Create a competitor owned by a user, through the real service; returns it."""
    return record_factory("competitor")


@pytest.fixture
def create_product(app: Flask) -> Any:
    """Create a product of the maker's class (an instructor's: pass class_id), through the real service."""
    return record_factory("product")


@pytest.fixture
def create_run(app: Flask) -> Any:
    """A callable `make(klass, by, scenario="sales-basics")`: `by` loads the scenario into class `klass`
    (every student gets the scenario's data); returns the class's new run."""
    from sandbox.classroom.runs.services import load_scenario

    def make(klass: Position, by: User, scenario: str = "sales-basics") -> Any:
        act_as(by)
        run = load_scenario(klass, scenario).run
        db.session.commit()
        act_as(None)
        return run

    return make
