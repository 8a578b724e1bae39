"""Out-of-range and malformed numbers never cause a server error (SPEC §10; issue "sealed class" §2).

The walk is written over `app.url_map`: every rule, its path arguments filled with bad values, every
query and form argument the app reads filled with bad values, GET and POST, as an admin, an instructor
and a student, on SQLite and PostgreSQL. A route added later is walked without touching this file.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.routing import IntegerConverter

from sandbox.extensions import db
from sandbox.oplog import operation
from sandbox.org.models import Status
from tests.conftest import PASSWORD, login

HUGE = "99999999999999999999"
# Path values: too large for any database integer, just beyond PostgreSQL's integer, negative, not a number.
PATH_VALUES = (HUGE, "2147483648", "-1", "abc")
# Query and form values; "1" in the path then reaches the view itself.
BAD_VALUES = (HUGE, "-1", "abc", "1e400")
# Every query or form argument the app reads (grep request.args / request.form / args.get in sandbox/),
# plus the *_id prefills of the record forms.
ARGUMENTS = (
    "page", "class_id", "run", "minutes", "actor", "owner", "related_id", "related_type", "status", "q", "sort",
    "desc", "department", "created_from", "created_to", "from", "to", "verb", "object_type", "table", "view",
    "date", "kind", "user_id", "user_ids", "position_id", "student_id", "parent_id", "account_id", "contact_id",
    "opportunity_id", "product_id", "competitor_id", "category_id", "owner_id", "sort_order", "amount",
    "quantity", "unit_price", "discount", "probability", "list_price", "stock_on_hand", "reorder_level",
    "employees", "annual_revenue", "close_date", "due_date", "deadline", "expected_run_id", "version", "role",
    "mode", "decision", "stage", "active", "code", "label_zh", "label_en", "next", "count", "extension",
    "points", "score", "minutes_before", "name", "subject", "body", "display_name",
)
PERSONAS = ("admin", "teacher", "studentA")
SKIP = {"static", "bootstrap.static"}


def _paths(rule: Any) -> list[str]:
    """URLs of a rule: each path argument filled with each bad value, and once with "1" (a real id)."""
    converters = rule._converters
    found = []
    for bad in ("1", *PATH_VALUES):
        url = rule.rule
        for name in rule.arguments:
            converter = converters.get(name)
            value = bad
            if converter is not None and not isinstance(converter, IntegerConverter) and bad == "1":
                value = "1"
            if hasattr(converter, "items") and bad != HUGE:  # an any(...) rule: one of its words
                value = sorted(converter.items)[0] if bad == "1" else bad
            url = re.sub(rf"<(?:[^<>:]+:)?{name}>", value, url)
        found.append(url)
        if not rule.arguments:
            break
    return found


def _bad_query(value: str) -> str:
    return urlencode([(name, value) for name in ARGUMENTS] + [("page", HUGE), ("page", "-1"), ("page", "abc")])


@operation("test.repair")
def _repair(user: Any) -> None:
    db.session.refresh(user)
    user.set_password(PASSWORD)
    user.status, user.must_change_password = Status.ACTIVE, False


def _walk(app: Any, classroom: Any, persona: str) -> list[str]:
    failures: list[str] = []
    client = classroom.client_for(app, persona)

    def visit(method: str, url: str, **kw: Any) -> None:
        nonlocal client
        try:
            response = client.open(url, method=method, **kw)
            status = response.status_code
        except Exception as exc:  # TESTING propagates errors: each is a 500 a user would have seen
            status, response = 500, None
            failures.append(f"{persona} {method} {url[:160]}: {type(exc).__name__}: {str(exc)[:200]}")
            return
        if status >= 500:
            failures.append(f"{persona} {method} {url[:160]}: {status}")
        if response is not None and response.status_code == 302 and "/auth/login" in response.headers.get("Location", ""):
            # The walk signed the persona out (logout, a password reset of user 1...): put them back.
            _repair(classroom.user(persona))
            db.session.commit()
            client = classroom.client_for(app, persona)

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "auth.logout", r.rule)):
        if rule.endpoint in SKIP:
            continue
        methods = [m for m in ("GET", "POST") if m in (rule.methods or ())]
        for url in _paths(rule):
            real = "/1" in url or not rule.arguments
            for method in methods:
                visit(method, url)
                if not real:
                    continue
                for value in BAD_VALUES:
                    if method == "GET":
                        visit("GET", f"{url}?{_bad_query(value)}")
                    else:
                        visit("POST", f"{url}?{_bad_query(value)}", data={name: value for name in ARGUMENTS})
    return failures


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_rule_answers_bad_numbers_without_a_server_error(app, classroom, make_lead, persona):
    """Bad numbers in every rule's path, query and form arguments answer without a server error."""
    for owner in ("studentA", "studentB", "teacher"):
        make_lead(classroom.user(owner))
    failures = _walk(app, classroom, persona)
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:60])


def test_the_walk_covers_every_rule_with_numbers(app):
    """The walk builds URLs for every rule with an id, so a new route is covered automatically."""
    int_rules = [r for r in app.url_map.iter_rules() if any(isinstance(c, IntegerConverter) for c in r._converters.values())]
    assert int_rules
    for rule in int_rules:
        urls = _paths(rule)
        assert any(HUGE in u for u in urls) and any("-1" in u for u in urls) and any("/1" in u for u in urls), rule


def test_with_csrf_a_forged_post_is_refused_not_an_error(app_factory):
    """With CSRF on (production), a POST without a token gets 400 on every rule, never a 500."""
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    with app.app_context():
        for rule in app.url_map.iter_rules():
            if "POST" in (rule.methods or ()) and rule.endpoint not in SKIP:
                for url in _paths(rule):
                    assert client.post(url, data={"page": HUGE}).status_code < 500, url
    assert login(client, "nobody", "x").status_code == 400


def test_an_amount_beyond_its_column_is_refused_next_to_the_field(app, classroom):
    """An amount too large for its column is refused next to the field."""
    from sqlalchemy import func, select

    from sandbox.leads.models import Lead

    student = classroom.client_for(app, "studentA")
    for value in (HUGE, "1e400", "NaN"):
        response = student.post("/leads/new?lang=en", data={"name": "Too rich", "status": "new",
                                                             "annual_revenue": value})
        page = response.get_data(as_text=True)
        assert response.status_code == 400, value
        assert "Not a valid amount" in page or "Not a valid decimal" in page, value
    response = student.post("/leads/new?lang=en", data={"name": "Too many", "status": "new", "employees": HUGE})
    assert response.status_code == 400 and "Not a valid whole number (too large)." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
    # The prefill of a new record reads its values the same way: a bad one is left out, the page opens.
    page = student.get(f"/leads/new?annual_revenue=1e400&employees={HUGE}&name=Kept&lang=en")
    assert page.status_code == 200 and 'value="Kept"' in page.get_data(as_text=True)
