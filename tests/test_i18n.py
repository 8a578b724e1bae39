"""The Chinese catalog is complete and well-formed, and the UI language follows ?lang= and the browser.

Strings are re-extracted from the source exactly as `make translations` does (babel.cfg, keywords N_
and _l), so a string added without a Chinese translation fails here.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "sandbox" / "translations"
PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_l": None}  # as `pybabel extract -k N_ -k _l`
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifroxXeEgGc%]")
HINT = "run `make translations` and translate them in " + str(PO.relative_to(ROOT))


def _key(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


@cache
def extracted() -> dict[tuple[str | None, str], list[str]]:
    """(context, msgid) -> source locations, for every string the source marks for translation."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[tuple[str | None, str], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault((context, _key(message)), []).append(f"{filename}:{lineno}")
    return found


@cache
def catalog() -> Catalog:
    """The Chinese catalog as the repository holds it."""
    with open(PO, "rb") as fh:
        return read_po(fh, locale="zh_Hans_CN")


def _strings(value: str | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def test_extraction_finds_the_ui() -> None:
    """Extraction finds the strings of the UI."""
    found = extracted()
    assert len(found) > 50
    assert (None, "Sign in") in found


def test_every_extracted_string_has_a_chinese_translation() -> None:
    """Every string the source marks for translation has a Chinese translation."""
    cat = catalog()
    missing = []
    for (context, msgid), where in sorted(extracted().items(), key=lambda item: item[1][0]):
        entry = cat.get(msgid, context=context)
        if entry is None:
            missing.append(f"  {msgid!r} ({where[0]}): not in the catalog")
        elif entry.fuzzy:
            missing.append(f"  {msgid!r} ({where[0]}): marked fuzzy")
        elif not (strings := _strings(entry.string)) or not all(s.strip() for s in strings):
            missing.append(f"  {msgid!r} ({where[0]}): no translation")
    assert not missing, f"{len(missing)} string(s) lack a Chinese translation; {HINT}:\n" + "\n".join(missing)


def test_no_entry_is_left_fuzzy() -> None:
    """No catalog entry is left fuzzy."""
    fuzzy = [m.id for m in catalog() if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries (check the translation, then drop the flag): {fuzzy}"


def test_placeholders_survive_translation() -> None:
    """Placeholders are the same in each message and its translation."""
    wrong = []
    for m in catalog():
        if not m.id or not m.string:
            continue
        expected = Counter(PLACEHOLDER.findall(_key(m.id)))
        for translation in _strings(m.string):
            if Counter(PLACEHOLDER.findall(translation)) != expected:
                wrong.append(f"  {_key(m.id)!r} -> {translation!r}")
    assert not wrong, "placeholders differ between msgid and translation:\n" + "\n".join(wrong)


def test_the_catalog_compiles() -> None:
    """The catalog compiles without errors."""
    cat = catalog()
    problems = [f"  {m.id!r}: {err}" for m, errors in cat.check() for err in errors]
    assert not problems, "the catalog does not compile cleanly:\n" + "\n".join(problems)


def _page(client: FlaskClient, url: str, **headers: str) -> str:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_lang_parameter_chooses_the_language(client: FlaskClient) -> None:
    """?lang= chooses the page's language."""
    chinese = _page(client, "/auth/login?lang=zh_Hans_CN")
    assert 'lang="zh-CN"' in chinese
    assert "登录" in chinese
    assert ">Sign in<" not in chinese
    english = _page(client, "/auth/login?lang=en")
    assert 'lang="en"' in english
    assert "Sign in" in english
    assert "登录" not in english


def test_browser_language_chooses_chinese(app: Flask, client: FlaskClient) -> None:
    """With an English default, a Chinese browser gets Chinese pages."""
    # An English default makes the browser header the deciding factor.
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    assert "Sign in" in _page(client, "/auth/login")
    chinese = _page(client, "/auth/login", **{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "登录" in chinese
    assert ">Sign in<" not in chinese
    english = _page(client, "/auth/login", **{"Accept-Language": "en-US,en;q=0.9"})
    assert "Sign in" in english
    assert "登录" not in english


def test_browser_language_with_the_shipped_default(client: FlaskClient) -> None:
    """A browser asking for Chinese gets Chinese pages."""
    assert "登录" in _page(client, "/auth/login", **{"Accept-Language": "zh-CN"})


def test_the_installation_default_is_chinese(app_factory) -> None:
    """Tests run in English by default (tests/conftest.py); the installation's default stays Chinese."""
    from sandbox.config import Config

    if "DEFAULT_LOCALE" not in os.environ:
        assert Config.BABEL_DEFAULT_LOCALE == "zh_Hans_CN"
    shipped = app_factory(BABEL_DEFAULT_LOCALE=Config.BABEL_DEFAULT_LOCALE)
    page = _page(shipped.test_client(), "/auth/login")
    assert ("登录" in page) == (Config.BABEL_DEFAULT_LOCALE == "zh_Hans_CN")
