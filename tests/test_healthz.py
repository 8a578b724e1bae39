"""/healthz: no session, user or viewer; exactly one `SELECT 1`; 503 when the database is away."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox import access, create_app
from sandbox.extensions import db

from .conftest import BASE_CONFIG
from .helpers import statements


def test_health_answers_ok_with_one_select_and_no_session(app, classroom, monkeypatch):
    """Signed in, the health check still reads no user, builds no viewer and writes no cookie."""
    client = classroom.client_for(app, "studentA")
    built: list[Any] = []
    real_build = access.build_viewer
    monkeypatch.setattr(access, "build_viewer", lambda user: built.append(user) or real_build(user))
    loaded: list[str] = []
    real_loader = app.login_manager._user_callback
    monkeypatch.setattr(app.login_manager, "_user_callback", lambda ident: loaded.append(ident) or real_loader(ident))
    with statements(app) as seen:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert seen == ["SELECT 1"]
    assert built == [] and loaded == []
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    # The same client's next page still has its session: the health check left the cookie alone.
    assert client.get("/").status_code == 200
    assert built and loaded


def test_health_ignores_a_forged_session_cookie(app):
    """A garbage or tampered session cookie neither breaks the check nor gets a new cookie back."""
    client = app.test_client()
    client.set_cookie("session", "not-a-signed-session.at-all")
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_health_is_not_rate_limited(app_factory):
    """Hundreds of checks a minute from one address are never refused (the limiter exempts it)."""
    limited = app_factory(RATELIMIT_ENABLED=True)
    client = limited.test_client()
    assert {client.get("/healthz").status_code for _ in range(80)} == {200}


def test_health_says_503_when_the_sqlite_file_cannot_be_opened(tmp_path: Path):
    """A database that cannot be reached answers 503 with a plain message, never a 500 or a traceback."""
    missing = tmp_path / "no-such-folder" / "sandbox.db"
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}",
                      "UPLOAD_FOLDER": str(tmp_path / "up")})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unavailable"
    assert response.headers["Retry-After"] == "5"


def test_health_says_503_when_postgresql_is_away(tmp_path: Path):
    """A PostgreSQL server that does not answer (nothing listens on the port) gives 503, then 200 once it is back."""
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://app:app@127.0.0.1:9/app",
                      "UPLOAD_FOLDER": str(tmp_path / "up")})
    assert app.test_client().get("/healthz").status_code == 503


def test_health_recovers_without_a_restart(app, monkeypatch):
    """The check fails while connecting fails and answers ok again as soon as the database does."""
    with app.app_context():
        engine = db.engine
    from sqlalchemy.exc import OperationalError

    real_connect = engine.connect
    away = {"now": True}

    def connect(*args: Any, **kwargs: Any) -> Any:
        if away["now"]:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real_connect(*args, **kwargs)

    monkeypatch.setattr(engine, "connect", connect)
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    away["now"] = False
    assert client.get("/healthz").status_code == 200

