"""Language helpers: the marker for strings translated later, and the locale selector."""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from flask_login import current_user


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated where it is shown (pybabel keyword N_)."""
    return message


def select_locale() -> str:
    """The signed-in user's choice, else a ?lang= or cookie choice, else the browser's, else the default."""
    choices = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and jobs: the configured default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    forced = g.get("force_locale")
    if forced in choices:
        return forced
    if current_user and current_user.is_authenticated and current_user.locale in choices:
        return current_user.locale
    cookie = request.cookies.get("lang")
    if cookie in choices:
        return cookie
    best = request.accept_languages.best_match(["zh", "zh_CN", "zh_Hans_CN", "en"])
    if best and best.startswith("zh"):
        return "zh_Hans_CN"
    if best == "en":
        return "en"
    return current_app.config["BABEL_DEFAULT_LOCALE"]
