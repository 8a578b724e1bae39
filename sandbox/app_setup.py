"""What the factory wires together: config, extensions, blueprints, request hooks, headers."""

from __future__ import annotations

import secrets
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing.converters import IntegerConverter

from . import access, boundary, first_reads, health, kept_identity, labels, pg_statements
from .config import ASSETS, LOCAL_ASSET_FILES, LOCAL_BOOTSTRAP, LOCAL_BOOTSTRAP_BEFORE, Config, instance_secret_key
from .extensions import babel, bootstrap, csrf, db, limiter, login_manager, migrate
from .i18n import format_datetime, install_fast_gettext, select_locale
from .numbers import DB_INT_MAX
from .oplog import set_actor

# Endpoints anyone may open without signing in.
PUBLIC_ENDPOINTS = {"auth.login", "auth.register", "auth.language", "static", "bootstrap.static", "vendor_asset",
                    "health", "calendars.feed"}
# Endpoints that serve files or answer health checks: no viewer is computed for them.
STATIC_ENDPOINTS = {"static", "bootstrap.static", "vendor_asset", "health"}
# Endpoints a user who must change a generated password may still open.
PASSWORD_CHANGE_ENDPOINTS = {"auth.password", "auth.logout", "auth.language", "static", "bootstrap.static",
                             "vendor_asset"}


class DbIntConverter(IntegerConverter):
    """`<int:…>` URL parts that fit a database integer; a larger number is simply not found (404, not 500)."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = DB_INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def configure(app: Flask, overrides: dict[str, Any]) -> None:
    """Load the configuration (environment-driven defaults, then the caller's overrides)."""
    app.config.from_object(Config)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'sandbox.db'}"
    if not app.config["UPLOAD_FOLDER"]:
        app.config["UPLOAD_FOLDER"] = str(Path(app.instance_path) / "uploads")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 15}}
    else:
        # A server that restarted leaves dead connections in the pool: test each on checkout (one cheap
        # round trip) so the app recovers by itself instead of failing once per pooled connection.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]}
    app.config["BOOTSTRAP_SERVE_LOCAL"] = app.config["ASSET_BASE_URL"] == "local"
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)

    db.init_app(app)
    with app.app_context():
        pg_statements.install(db.engine)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(app.root_path) / "translations")
    babel.init_app(app, locale_selector=select_locale)
    install_fast_gettext(app, babel)  # the same text, the catalogue found once per request (i18n.py)
    bootstrap.init_app(app)
    from . import limiter_store  # noqa: F401  (registers the sandbox+db:// scheme before the limiter reads it)

    limiter.init_app(app)
    hops = int(app.config.get("FORWARDED_HOPS") or 0)
    if hops > 0:
        # Only behind a proxy that sets these headers: then request.remote_addr (the throttle's key, the log's
        # IP) is the client's address, not the proxy's. Off, a client's own X-Forwarded-For is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    app.url_map.converters["int"] = DbIntConverter
    _register_blueprints(app)
    _register_identity(app)
    _register_headers(app)
    _register_template_helpers(app)
    _register_errors(app)
    boundary.install(app)  # last: it wraps every registered view
    from .cli import register_cli

    register_cli(app)


def _register_blueprints(app: Flask) -> None:
    from . import shared_state as _shared_state  # noqa: F401  (mapped before the first query)
    from .accounts import bp as accounts_bp
    from .activities import bp as activities_bp
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .calendars import bp as calendars_bp
    from .campaigns import bp as campaigns_bp
    from .cases import bp as cases_bp
    from .classroom import BLUEPRINTS as classroom_bps
    from .codes import models as _codes  # noqa: F401  (mapped before the first query)
    from .competitors import bp as competitors_bp
    from .contacts import bp as contacts_bp
    from .documents import bp as documents_bp
    from .forecasts import bp as forecasts_bp
    from .home import bp as home_bp
    from .knowledge import bp as knowledge_bp
    from .leads import bp as leads_bp
    from .log import bp as log_bp
    from .notifications import bp as notifications_bp
    from .opportunities import bp as opportunities_bp
    from .products import bp as products_bp
    from .reports import bp as reports_bp

    for bp in (home_bp, auth_bp, admin_bp, leads_bp, accounts_bp, contacts_bp, opportunities_bp, activities_bp,
               competitors_bp, products_bp, log_bp, reports_bp, forecasts_bp, calendars_bp, campaigns_bp, cases_bp,
               knowledge_bp, documents_bp, notifications_bp, *classroom_bps):
        app.register_blueprint(bp)
    if app.config.get("BENCH_ROUTES"):
        from bench.routes import bp as bench_bp

        app.register_blueprint(bench_bp)

    health.install(app)  # /healthz: no session, user or viewer; one SELECT 1 (503 when the database is away)

    @app.get("/vendor/<name>.js")
    def vendor_asset(name: str) -> Any:
        """Chart.js for offline classrooms (ASSET_BASE_URL=local), as fetched from npm by scripts/install.sh."""
        path = local_asset_file(app, name)
        if path is None or not path.is_file():
            abort(404)
        response = send_file(path, mimetype="text/javascript", max_age=86400)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets readers and one writer work at once; foreign keys are off by default in SQLite.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that read first and then writes gets SQLITE_BUSY at once, with no busy wait,
    # when another process committed in between ("database is locked" under a class of writers). A write
    # request (POST, PUT, DELETE...) therefore takes the write lock at BEGIN, where busy_timeout waits its
    # turn. Everything else keeps pysqlite's own handling (reads see the latest commit, the first write
    # begins), so readers never queue; pysqlite sees the open transaction and commits it as its own.
    if conn.dialect.name == "sqlite" and boundary.writing_request():
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _register_identity(app: Flask) -> None:
    """Who is signed in, who acts and who looks, once per request (and the clean-up of forged input)."""
    from .org.models import User

    @login_manager.user_loader
    def load_user(ident: str) -> User | None:
        # The id carries the session version: a password change or disable ends other sessions.
        try:
            user_id, version = (int(x) for x in ident.split(":"))
        except ValueError:
            return None
        # As this worker keeps them while the organisation is unchanged (kept_identity), else with the
        # position in the same query: the viewer and the layout read it on every page. Users and positions are
        # not business records and reach none (tests/test_access_options.py checks it), so the record rule,
        # whose options cost more than this query, is not attached: nobody's rule would filter nothing here,
        # and nothing loaded from the user could carry it.
        first_reads.read_for(user_id)  # the version the kept user is checked against, with the page's other firsts
        user = kept_identity.kept_user(user_id) or db.session.get(
            User, user_id, options=[joinedload(User.position)], execution_options={"skip_visibility": True})
        if user is None or not user.is_active or user.session_version != version:
            return None
        return user

    @app.before_request
    def drop_nul_characters() -> None:
        # PostgreSQL text cannot hold NUL: a forged "\x00" in any value failed in the database (a 500).
        # Nobody types it, so it is removed from every query and form value before anything reads them.
        for name in ("args", "form"):
            values = getattr(request, name)
            if any("\x00" in v for _k, v in values.items(multi=True)):
                setattr(request, name, ImmutableMultiDict(
                    [(k, v.replace("\x00", "")) for k, v in values.items(multi=True)]))

    @app.before_request
    def identify() -> Any:
        g.request_id = uuid.uuid4().hex
        if "lang" in request.args and request.args["lang"] in app.config["LANGUAGES"]:
            g.force_locale = request.args["lang"]
        endpoint = request.endpoint or ""
        if endpoint in STATIC_ENDPOINTS:
            return None  # files and health checks read no records: no user, viewer or actor to compute
        if current_user.is_authenticated:
            set_actor(current_user._get_current_object())
            access.use_viewer(kept_identity.viewer_of(current_user._get_current_object()))
            if current_user.must_change_password and endpoint not in PASSWORD_CHANGE_ENDPOINTS:
                return redirect(url_for("auth.password"))
        else:
            set_actor(None)
            access.use_viewer(None)
            if endpoint not in PUBLIC_ENDPOINTS and request.endpoint is not None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return None


def _register_headers(app: Flask) -> None:
    """Security headers on every response."""

    @app.after_request
    def security_headers(response: Any) -> Any:
        # A page whose script injects a <style> element (FullCalendar v6) asked for a nonce: only that
        # element, marked with it, is allowed, never inline styles in general.
        response.headers["Content-Security-Policy"] = content_security_policy(
            app.config["ASSET_BASE_URL"], g.get("style_nonce"))
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response


@lru_cache(maxsize=8)
def _policy_without_nonce(base: str) -> str:
    return content_security_policy(base, None, kept=False)


def content_security_policy(base: str, nonce: str | None, kept: bool = True) -> str:
    """The Content-Security-Policy of a response: the same text for every response of one asset base (kept once
    per process) unless the page asked for a style nonce."""
    if nonce is None and kept:
        return _policy_without_nonce(base)
    # Exactly the third-party files the pages load, never a whole CDN folder (a CSP source with a full
    # path matches that one file); with ASSET_BASE_URL=local every asset comes from this site.
    local = base == "local"
    scripts = "" if local else " ".join(f"{base}/{ASSETS[n][0]}" for n in ("bootstrap_js", "chartjs", "fullcalendar"))
    styles = "" if local else f"{base}/{ASSETS['bootstrap_css'][0]}"
    fonts = "'self'"
    if nonce:
        styles = f"{styles} 'nonce-{nonce}'".strip()
        fonts = "'self' data:"  # FullCalendar's arrow icons are a font embedded in that stylesheet
    return (
        f"default-src 'self'; script-src 'self'{' ' + scripts if scripts else ''}; "
        f"style-src 'self'{' ' + styles if styles else ''}; img-src 'self' data:; font-src {fonts}; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    )


def _register_template_helpers(app: Flask) -> None:
    """Globals and filters every template may use (assets, labels, money, local times)."""

    @app.context_processor
    def template_globals() -> dict[str, Any]:
        return {
            "asset": asset_tag_data, "current_locale": select_locale, "style_nonce": style_nonce,
            "role_label": labels.role_label, "status_label": labels.status_label, "kind_label": labels.kind_label,
            "position_label": position_label, "nav_url": nav_url, "nav_menu": nav_menu,
        }

    menus: dict[tuple[str, str, str], Markup] = {}

    def nav_menu() -> Markup:
        # The signed-in menu (~50 links and labels) depends only on the role and the language: rendered once
        # per worker for each, not on every page.
        key = (request.script_root, str(get_locale()), current_user.role)
        html = menus.get(key)
        if html is None:
            html = menus[key] = Markup(render_template("_nav_menu.html"))
        return html

    urls: dict[tuple[str, str], str] = {}

    def nav_url(endpoint: str) -> str:
        # url_for(endpoint) of a link without arguments (the layout's navigation: ~30 per page): the same
        # path for every request under one script root, so it is built once per process.
        key = (request.script_root, endpoint)
        url = urls.get(key)
        if url is None:
            url = urls[key] = url_for(endpoint)
        return url

    @app.template_filter("money")
    def money_filter(amount: Any, where: Any = None, whole: bool = False) -> str:
        from .money import money_of

        return money_of(amount, where, whole=whole)

    @app.template_filter("datetime")
    def datetime_filter(value: Any, fmt: str = "medium") -> str:
        if value is None:
            return ""
        # Stored naive UTC; shown in the configured time zone (Flask-Babel's text, patterns parsed once).
        return format_datetime(value, fmt)


def position_label() -> str:
    """The signed-in user's position as `Position.path_label` names it, for the layout's user menu.

    The viewer read the ancestors with the rest of itself (access.viewer_for), so the layout asks nothing more;
    a position the viewer was not built from (changed during this request) is labelled the usual way.
    """
    position = current_user.position
    viewer = access.current_viewer()
    if (isinstance(viewer, access.Viewer) and viewer.position_label and viewer.position_id == position.id
            and viewer.position_path == position.path):
        return viewer.position_label
    return position.path_label


def style_nonce() -> str:
    """A nonce for this response's Content-Security-Policy style-src, for a script that injects its own
    <style> element (FullCalendar reads it from <meta name="csp-nonce">); one per request, made on first use."""
    if "style_nonce" not in g:
        g.style_nonce = secrets.token_urlsafe(16)
    return g.style_nonce


def asset_tag_data(name: str) -> dict[str, Any]:
    """URL and SRI hash of a third-party asset: under the configured CDN base, or served by this app."""
    from flask import current_app

    path, sri = ASSETS[name]
    base = current_app.config["ASSET_BASE_URL"]
    if base != "local":
        return {"url": f"{base}/{path}", "sri": sri}
    if name in LOCAL_BOOTSTRAP:
        before = [url_for("bootstrap.static", filename=f) for f in LOCAL_BOOTSTRAP_BEFORE.get(name, [])]
        return {"url": url_for("bootstrap.static", filename=LOCAL_BOOTSTRAP[name]), "sri": "", "before": before}
    # The npm file fetched at install time is byte-identical to the CDN's, so its SRI hash still holds.
    return {"url": url_for("vendor_asset", name=name), "sri": sri}


def local_asset_file(app: Flask, name: str) -> Path | None:
    """Where install.sh put the npm copy of a non-Bootstrap asset (None: not one of them)."""
    if name not in LOCAL_ASSET_FILES:
        return None
    folder = Path(app.config["LOCAL_ASSET_DIR"] or Path(app.root_path).parent / ".cache" / "assets")
    return folder / LOCAL_ASSET_FILES[name]


def _register_errors(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from .errors import register_database_errors

    register_database_errors(app)  # the database away: the "try again" page (503), not a 500

    def page(code: int, title: str, message: str) -> tuple[str, int]:
        return render_template("error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> tuple[str, int]:
        return page(400, _("The form expired"), _(
            "This page was open too long or was submitted twice. Go back, reload the page and submit again; "
            "nothing was saved."))

    @app.errorhandler(403)
    def forbidden(exc: Any) -> tuple[str, int]:
        return page(403, _("Not allowed"), _(
            "Your role or position does not allow this. Ask your instructor if you think it should."))

    @app.errorhandler(404)
    def not_found(exc: Any) -> tuple[str, int]:
        return page(404, _("Not found"), _("There is no such page or record, or it is not visible to you."))

    @app.errorhandler(405)
    def bad_method(exc: Any) -> tuple[str, int]:
        return page(405, _("Not allowed"), _("This address does not accept that kind of request."))

    @app.errorhandler(413)
    def too_large(exc: Any) -> tuple[str, int]:
        return page(413, _("File too large"), _("The file is larger than the upload limit."))

    @app.errorhandler(429)
    def too_many(exc: Any) -> tuple[str, int]:
        if request.endpoint == "auth.register":
            return page(429, _("Too many attempts"), _(
                "Too many registrations or wrong join codes from this network. Wait a while and try again, "
                "or ask your instructor for the join code."))
        return page(429, _("Too many attempts"), _("Too many failed sign-ins. Wait a minute and try again."))

    @app.errorhandler(500)
    def server_error(exc: Any) -> tuple[str, int]:
        db.session.rollback()
        return page(500, _("Something went wrong"), _("The error was recorded. Nothing was saved; please try again."))
