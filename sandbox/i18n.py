"""Language helpers: the marker for strings translated later, the locale selector, and the fast paths.

Every page calls gettext a few hundred times (templates, lazy labels) and formats dates; Flask-Babel resolves
the locale and the catalogue through three context-local lookups on each call. The helpers below resolve
them once per request (and again whenever `force_locale` switches the language) and give the same text.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import flask_babel
from babel import Locale
from babel.dates import DateTimePattern, get_date_format, get_datetime_format, get_time_format, parse_pattern
from babel.support import NullTranslations
from flask import current_app, g, has_request_context, request
from flask_babel import Domain, get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

STANDARD_FORMATS = ("full", "long", "medium", "short")


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


def _kept_translations() -> NullTranslations | None:
    """The catalogue kept for the request's current Locale object, if one was kept (else None)."""
    try:
        space = g._flask_babel
        kept = space.sandbox_translations
    except (AttributeError, RuntimeError):  # not resolved yet in this request, or no application context
        return None
    return kept[1] if kept[0] is getattr(space, "babel_locale", None) else None


def current_translations() -> NullTranslations:
    """The catalogue of the current language, looked up once per request and language.

    Flask-Babel keeps the chosen `Locale` object in its per-request namespace (`g._flask_babel.babel_locale`)
    and `force_locale` swaps that object for the block it covers; the catalogue found for one object is kept
    next to it (by `RequestDomain`), so a forced block and the rest of the request each find their own.
    """
    kept = _kept_translations()
    return kept if kept is not None else get_translations()


class RequestDomain(Domain):
    """Flask-Babel's message domain, keeping the catalogue it finds for the request's language (same text)."""

    def get_translations(self) -> NullTranslations:
        """The current catalogue; Flask-Babel's own lookup only the first time for a request and language."""
        kept = _kept_translations()
        if kept is not None:
            return kept
        translations = super().get_translations()
        try:
            space = g._flask_babel
            space.sandbox_translations = (space.babel_locale, translations)
        except (AttributeError, RuntimeError):  # outside a request: answered, nothing to keep it in
            pass
        return translations


def install_fast_gettext(app: Any, babel: Any) -> None:
    """Route template and Python gettext through `current_translations` (after `babel.init_app`).

    Templates: Jinja's i18n extension (newstyle) wraps these callables, marking the result safe under
    autoescape and applying `%(name)s` variables, exactly as with Flask-Babel's own callables.
    """
    babel.domain_instance = RequestDomain()
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: current_translations().ugettext(s),
        ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: current_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
    )
    # `_()` and `gettext()` are most of a page's calls: Jinja's newstyle wrapper, without its alias and inner
    # `context.call` layers (two lookups per call).
    app.jinja_env.globals.update(gettext=_template_gettext, _=_template_gettext)


@pass_context
def _template_gettext(__context: Context, __string: str, **variables: Any) -> str:
    """Jinja's newstyle gettext (jinja2.ext._make_new_gettext) over `current_translations`: the text is
    marked safe under autoescape and always used as a format string, so variables are escaped into it."""
    # Not kept on the render's context: a macro module imported without context is built once per process and
    # keeps its first context (and evaluation context) for every later request, in any language.
    text = current_translations().ugettext(__string)
    if __context.eval_ctx.autoescape:
        text = Markup(text)
    if not variables and "%" not in text:
        return text  # formatting would give the same text ("%%" is the one thing it changes)
    return text % variables  # type: ignore[no-any-return]


# -- dates: Flask-Babel's format_datetime with the patterns parsed once per process -----------------------------

@lru_cache(maxsize=256)
def _datetime_plan(locale_id: str, fmt: str) -> tuple[Locale, str | None, DateTimePattern, DateTimePattern | None]:
    """What babel.dates.format_datetime looks up for one language and format: (locale, the datetime
    pattern joining {0} time and {1} date or None, the time or whole pattern, the date pattern or None)."""
    locale = Locale.parse(locale_id)
    if fmt in STANDARD_FORMATS:
        joined = get_datetime_format(fmt, locale=locale).replace("'", "")
        return (locale, joined, parse_pattern(get_time_format(fmt, locale=locale)),
                parse_pattern(get_date_format(fmt, locale=locale)))
    return locale, None, parse_pattern(fmt), None


def _request_zone() -> tuple[str, Any] | None:
    """(locale identifier, time zone) of this request, looked up once per request and language (None: none)."""
    try:
        space = g._flask_babel
        kept = space.sandbox_zone
        if kept[0] is space.babel_locale:
            return kept[1]  # type: ignore[no-any-return]
    except (AttributeError, RuntimeError):
        pass
    locale = get_locale()
    if locale is None:
        return None
    answer = (str(locale), get_timezone())
    try:
        g._flask_babel.sandbox_zone = (locale, answer)
    except (AttributeError, RuntimeError):
        pass
    return answer


def format_datetime(value: datetime, fmt: str = "medium") -> str:
    """`flask_babel.format_datetime(value, fmt)`, the same text: naive values are UTC, shown in the request's
    time zone and language. Babel's steps, with the locale and the patterns looked up once per process (the app
    configures no `date_formats` overrides, so a standard name is the locale's own pattern)."""
    zone_of_request = _request_zone()
    if zone_of_request is None:
        return flask_babel.format_datetime(value, fmt)
    locale_id, zone = zone_of_request
    locale, joined, first, date_pattern = _datetime_plan(locale_id, fmt)
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    value = value.astimezone(zone)
    if hasattr(zone, "normalize"):  # pytz, as babel.dates._ensure_datetime_tzinfo
        value = zone.normalize(value)
    if joined is None:
        return first.apply(value, locale)  # type: ignore[no-any-return]
    assert date_pattern is not None
    time_text = first.apply(value.timetz(), locale, reference_date=value.date())
    return joined.replace("{0}", time_text).replace("{1}", date_pattern.apply(value.date(), locale))


__all__ = ["N_", "current_translations", "format_datetime", "install_fast_gettext", "select_locale"]
