"""Helpers shared by the test modules: counting rows, reading pages, signing in, acting as a user."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from sandbox import access
from sandbox.extensions import db
from sandbox.oplog import LogEntry, set_actor
from sandbox.opportunities.items import PICKER_FIELDS
from sandbox.org.models import User

PASSWORD = "secret-2026x"
TRANSLATIONS = Path(__file__).resolve().parents[1] / "sandbox" / "translations"


def count(model: Any, *where: Any, skip_visibility: bool = False, include_deleted: bool = False,
          expire: bool = False) -> int:
    """The number of `model` rows matching `where`.

    skip_visibility: count every row, whoever may read it and recycle bin included (else the acting viewer's
    visibility rule applies); include_deleted: count records in the recycle bin too; expire: expire the session first, so objects
    read afterwards are loaded again (what the requests of a test client changed).
    """
    if expire:
        db.session.expire_all()
    options = {name: True for name, wanted in (("skip_visibility", skip_visibility),
                                               ("include_deleted", include_deleted)) if wanted}
    stmt = select(func.count()).select_from(model).where(*where)
    if options:
        stmt = stmt.execution_options(**options)
    return db.session.scalar(stmt) or 0


def entries(verb: str) -> list[LogEntry]:
    """The operation log's entries of one verb, oldest first (read afresh)."""
    db.session.expire_all()
    return list(db.session.scalars(select(LogEntry).where(LogEntry.verb == verb).order_by(LogEntry.id)))


def fresh(obj: Any) -> Any:
    """The object loaded again from the database (after requests changed it)."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def text(response: Any) -> str:
    """A response's body as text, HTML entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def flashed(client: Any, response: Any) -> str:
    """Follow a redirect and return the page it leads to (with its flashed messages)."""
    assert response.status_code == 302, response.status_code
    return text(client.get(response.headers["Location"]))


def field_error(page: str, name: str, form: str | None = None) -> str:
    """The error text rendered right under the form field `name` (Bootstrap-Flask's invalid-feedback);
    `form`: the action of the form to look in, when a page has several."""
    if form is not None:
        page = page[page.index(f'action="{form}"'):]
    field = rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(name)}"[^>]*>'
    match = re.search(field + r"(.*?)(?=<(?:input|select|textarea)\b[^>]*\bname=|</form>)", page, re.S)
    assert match, f"no field {name} in the page"
    return " ".join(html.unescape(e.strip()) for e in re.findall(r'class="invalid-feedback[^"]*">(.*?)</div>',
                                                                   match.group(1), re.S))


def csrf_token(page: str) -> str:
    """The CSRF token of the (first) form of a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the real form; returns the response."""
    return client.post("/auth/login", data={"username": username, "password": password})


def signed_in(client: FlaskClient, username: str, password: str = PASSWORD) -> FlaskClient:
    """The client, signed in as `username` through the real form (asserting the sign-in succeeded)."""
    response = login(client, username, password)
    assert response.status_code == 302, response.data[:500]
    return client


def act_as(user: User | None) -> None:
    """Make later service calls in this app context act and look as `user` (None: system)."""
    set_actor(user)
    access.use_viewer(access.viewer_for(user) if user is not None else access.SYSTEM)


def compile_translations(root: Path = TRANSLATIONS) -> list[Path]:
    """Compile every catalog (.po) whose .mo is missing or older, as install.sh does; returns the .mo files written.

    Written to a temporary file and renamed, so parallel test workers never read half a file.
    """
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with open(po, "rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        tmp = mo.with_name(f"{mo.stem}.{os.getpid()}.mo.tmp")
        with open(tmp, "wb") as fh:
            write_mo(fh, catalog)
        os.replace(tmp, mo)
        written.append(mo)
    return written


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every statement sent to the database while the block runs."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def grab(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


def opportunity_page(client: FlaskClient, opp_id: int, lang: str = "en") -> str:
    """A writer's opportunity page as the browser shows it once its pickers are filled
    (static/js/opportunity-pickers.js): the page's selects hold the placeholder alone, and the options come
    from /opportunities/<id>/pickers."""
    page = client.get(f"/opportunities/{opp_id}?lang={lang}")
    assert page.status_code == 200
    html_text = page.get_data(as_text=True)
    answer = client.get(f"/opportunities/{opp_id}/pickers?lang={lang}")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    choices = answer.get_json()
    assert sorted(choices) == sorted(PICKER_FIELDS)
    for field in PICKER_FIELDS:
        pattern = re.compile(rf'(<select[^>]*name="{field}"[^>]*>)(.*?)(</select>)', re.S)
        found = pattern.search(html_text)
        assert found is not None, f"no {field} picker on the page"
        assert found.group(2) == '<option value="0">—</option>', f"the page sent {field}'s choices itself"
        html_text = html_text[:found.start(2)] + choices[field] + html_text[found.end(2):]
    return html_text
