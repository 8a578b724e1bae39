"""Configuration: everything from environment variables, with safe defaults."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

# Versions and SRI hashes of the third-party assets served from the CDN base.
# The hashes are of the files exactly as published in the npm packages.
ASSETS: dict[str, tuple[str, str]] = {
    "bootstrap_css": (
        "bootstrap@5.3.8/dist/css/bootstrap.min.css",
        "sha384-sRIl4kxILFvY47J16cr9ZwB07vP4J8+LH7qKQnuqkuIAvNWLzeN8tE5YBujZqJLB",
    ),
    "bootstrap_js": (
        "bootstrap@5.3.8/dist/js/bootstrap.bundle.min.js",
        "sha384-FKyoEForCGlyvwx9Hj09JcYn3nv7wiPVlz7YYwJrWVcXK/BmnVDxM+D2scQbITxI",
    ),
    "chartjs": (
        "chart.js@4.4.7/dist/chart.umd.js",
        "sha384-zYPBGXwO4633CABX/5Spf6emCKUJCfoOkhOMYyxMsatqQZPnDblmmOewfjsIVWCM",
    ),
    # FullCalendar's global bundle (all standard plugins, the CSS injected by the script itself).
    "fullcalendar": (
        "fullcalendar@6.1.22/index.global.min.js",
        "sha384-a9qx08ufzJ+0qbHzdqA+GYiSayQQB5BK2YGS/HQT9cxhQm+GhiXFj1ByVXa93ZRR",
    ),
}

# With ASSET_BASE_URL=local: Bootstrap comes from the Bootstrap-Flask package (its static folder) ...
# (which ships Bootstrap's JavaScript without Popper bundled, so Popper comes first from the same package) ...
LOCAL_BOOTSTRAP = {"bootstrap_css": "css/bootstrap.min.css", "bootstrap_js": "js/bootstrap.min.js"}
LOCAL_BOOTSTRAP_BEFORE = {"bootstrap_js": ["umd/popper.min.js"]}
# ... and Chart.js from the npm package that scripts/install.sh unpacks under LOCAL_ASSET_DIR (never committed).
LOCAL_ASSET_FILES = {"chartjs": "chart.js/package/dist/chart.umd.js",
                     "fullcalendar": "fullcalendar/package/index.global.min.js"}


def instance_secret_key(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or one generated once into the instance folder.

    Several workers starting at once must agree on it (a session signed by one is read by another): each
    writes its candidate to a private temporary file and publishes it with `os.link`, which like
    O_CREAT|O_EXCL fails when the name exists, so exactly one candidate wins and every loser reads the
    winner's key, complete (a link appears with its content, never half written).
    """
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        handle, candidate = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(handle, "w") as out:
                out.write(secrets.token_hex(32))
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process won the race: its key is the key
        finally:
            os.unlink(candidate)
    return path.read_text().strip()


class Config:
    """Defaults for a classroom deployment; every value can be overridden by the environment."""

    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "")  # empty: SQLite in the instance folder
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    ASSET_BASE_URL = os.environ.get("ASSET_BASE_URL", "https://cdn.jsdelivr.net/npm").rstrip("/")
    # Where scripts/install.sh unpacks the npm copies of third-party assets (default: .cache/assets of the installation).
    LOCAL_ASSET_DIR = os.environ.get("LOCAL_ASSET_DIR", "")
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", "")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024)))
    ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(10 * 1024 * 1024)))
    ATTACHMENT_EXTENSIONS = os.environ.get(
        "ATTACHMENT_EXTENSIONS", "pdf,doc,docx,xls,xlsx,ppt,pptx,txt,csv,png,jpg,jpeg,gif,zip").split(",")
    LANGUAGES = ["zh_Hans_CN", "en"]
    BABEL_DEFAULT_LOCALE = os.environ.get("DEFAULT_LOCALE", "zh_Hans_CN")
    BABEL_DEFAULT_TIMEZONE = os.environ.get("TIMEZONE", "Asia/Shanghai")
    WTF_CSRF_TIME_LIMIT = int(os.environ.get("CSRF_TIME_LIMIT", "7200"))
    # The throttle's counters: in the database by default (sandbox/limiter_store.py), so every worker and
    # machine counts together; "redis://host:6379" uses Redis instead. Never "memory://" with several workers.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "sandbox+db://")
    # Behind a reverse proxy: how many proxies set X-Forwarded-For / -Proto (werkzeug ProxyFix). 0 (the
    # default) ignores those headers, since without a proxy any client could write them to dodge the throttle.
    FORWARDED_HOPS = int(os.environ.get("FORWARDED_HOPS", "0") or 0)
    # Failed sign-ins per address and username, then per address over all usernames (one classroom behind
    # one NAT address shares the second), registrations per address, and wrong join codes per address.
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    LOGIN_ADDRESS_RATE_LIMIT = os.environ.get("LOGIN_ADDRESS_RATE_LIMIT", "60 per 10 minutes")
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "150 per hour")
    JOIN_CODE_RATE_LIMIT = os.environ.get("JOIN_CODE_RATE_LIMIT", "30 per hour")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Behind HTTPS set SESSION_COOKIE_SECURE=1: the browser then never sends the session cookie over plain HTTP.
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "").strip().lower() in ("1", "true", "yes", "on")
    REMEMBER_COOKIE_HTTPONLY = True
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    # Email of notifications (Flask-Mail): sent only when MAIL_SERVER is set; without it the inbox alone works.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25") or 25)
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "").strip().lower() in ("1", "true", "yes", "on")
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "").strip().lower() in ("1", "true", "yes", "on")
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "sandbox@localhost")
    # The due events (overdue tasks, a deadline near) are looked for at most this often per user on page loads.
    NOTIFICATION_SCAN_MINUTES = int(os.environ.get("NOTIFICATION_SCAN_MINUTES", "10"))
    # "The scenario deadline is near": this many hours before it.
    NOTIFICATION_DEADLINE_HOURS = int(os.environ.get("NOTIFICATION_DEADLINE_HOURS", "24"))
    LIST_PAGE_SIZE = 50
    # A list's total is counted exactly up to this many rows, then shown as "10,000+".
    LIST_COUNT_CAP = 10_000
    BENCH_ROUTES = False
    # Where scenario files are read from (default: the scenarios/ folder of the installation).
    SCENARIO_DIR = os.environ.get("SCENARIO_DIR", "")
    # Most records one scenario load may write into a class (students x the scenario's worst-case book).
    SCENARIO_MAX_RECORDS = int(os.environ.get("SCENARIO_MAX_RECORDS", "200000"))
    # Undo snapshots kept per class (older ones are dropped; only the latest resets can be undone).
    SNAPSHOTS_KEPT = int(os.environ.get("SNAPSHOTS_KEPT", "3"))
    # Forked processes that generate a class's books during a load or reset (see classroom/runs/generation.py).
    SCENARIO_GENERATORS = int(os.environ.get("SCENARIO_GENERATORS", "1"))
