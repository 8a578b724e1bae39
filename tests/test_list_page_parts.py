"""The list pages' and the create form's parts written in Python write exactly what the templates wrote.

The create form's fresh fields come from kept HTML (records/rendered.py `fresh_form_fields`), the list's sort
links from one `url_for` (`sort_url_builder`), its filter options in one pass (`options_html`) and its created
times from a page formatter (`times_formatter`). Each test builds the old way and compares byte for byte.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from flask import render_template_string, url_for

import sandbox.records.views as record_views
from sandbox.campaigns.models import Campaign
from sandbox.campaigns.services import create_campaign
from sandbox.extensions import db
from sandbox.records.views import options_html, sort_url_builder, times_formatter

from .helpers import act_as

CSRF = re.compile(r'name="csrf_token"( type="hidden")? value="[^"]*"')
SCRIPT = "<script>alert('x')</script>"


@pytest.mark.parametrize("lang", ["en", "zh_Hans_CN"])
def test_a_fresh_create_form_is_written_as_render_field_writes_it(app, classroom, lang):
    """Every type's create page, fresh, prefilled and after a refused POST: the same page as the macro's."""
    act_as(classroom.user("studentA"))
    create_campaign(Campaign, {"name": f"Spring {SCRIPT} & \"co\"", "status": "in_progress"})
    db.session.commit()
    act_as(None)
    client = classroom.client_for(app, "studentA")
    real = record_views.fresh_form_fields
    kept: list[Any] = []

    def spy(form: Any) -> Any:
        kept.append(real(form))
        return kept[-1]

    for url in ("/leads/new", "/accounts/new", "/contacts/new", "/opportunities/new", "/competitors/new",
                "/leads/new?company=Acme%20%3Cb%3E&employees=12", "/accounts/new?lang=" + lang):
        pages = []
        for patch in (spy, lambda form: None):
            with mock.patch.object(record_views, "fresh_form_fields", patch):
                response = client.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
            assert response.status_code == 200, url
            pages.append(CSRF.sub("", response.get_data(as_text=True)))
        assert pages[0] == pages[1], url
    assert kept and all(fields is not None for fields in kept)  # the fresh pages took the kept way
    assert len(kept) == 6  # the prefilled page renders its fields itself
    refused = client.post(f"/leads/new?lang={lang}", data={"name": "", "employees": "-3"})
    assert refused.status_code == 400 and "is-invalid" in refused.get_data(as_text=True)


def test_fresh_fields_change_with_the_language(app, classroom):
    """The kept HTML is kept per language: the labels follow the reader's language."""
    client = classroom.client_for(app, "studentA")
    english = client.get("/leads/new?lang=en").get_data(as_text=True)
    chinese = client.get("/leads/new?lang=zh_Hans_CN").get_data(as_text=True)
    assert ">Company</label>" in english and ">公司</label>" in chinese and ">Company</label>" not in chinese


def test_sort_links_are_those_url_for_builds(app):
    """The header's links for any sort, with query strings that need quoting, and a sort url_for must quote."""
    queries = ["", "q=%3Cb%3E%22x%27+%26y&page=3", "sort=-name&status=new&owner=me", "q=sandboxsortprobe7f3a",
               "q=%E4%B8%AD%E6%96%87&created_from=2024-01-01&report=x&a=1&a=2"]
    for query in queries:
        with app.test_request_context(f"/leads/?{query}"):
            from flask import request

            request.url_rule = app.url_map._rules_by_endpoint["leads.index"][0]
            build = sort_url_builder()
            for sort in ("name", "-name", "created_at", "-created_at", "x y", "a&b", "中"):
                assert build(sort) == url_for("leads.index", **dict(request.args.to_dict(), sort=sort, page=1))


def test_filter_options_are_those_the_template_loop_wrote(app):
    """Escaping, the chosen value, labels that are lazy strings or empty."""
    from flask_babel import lazy_gettext

    loop = ("{% for value, label in choices %}<option value=\"{{ value }}\" "
            "{{ 'selected' if chosen == value }}>{{ label }}</option>{% endfor %}")
    choices = [("new", "New"), ("a&b", SCRIPT), ("3", lazy_gettext("Status")), ("", ""), ("x\"y", "<b>")]
    with app.test_request_context("/?lang=en"):
        for chosen in (None, "new", "a&b", "", "x\"y", "missing"):
            assert str(options_html(choices, chosen)) == render_template_string(loop, choices=choices, chosen=chosen)


@pytest.mark.parametrize("lang", ["en", "zh_Hans_CN"])
def test_list_times_are_the_datetime_filters(app, lang):
    """Short and medium times over many days and minutes (seconds, midnight, year ends), and no time."""
    start = datetime(2023, 12, 31, 15, 59, 59)
    values = [start + timedelta(minutes=37 * i, seconds=i) for i in range(400)] + [None, datetime(2024, 2, 29)]
    with app.test_request_context(f"/?lang={lang}"):
        shown = app.jinja_env.filters["datetime"]
        for fmt in ("short", "medium"):
            write = times_formatter(fmt)
            assert [write(v) for v in values] == [shown(v, fmt) for v in values]
            again = times_formatter(fmt)  # the texts kept by the first are the same
            assert [again(v) for v in values] == [shown(v, fmt) for v in values]


@pytest.mark.parametrize("viewer", ["studentA", "studentB", "teacher"])
def test_a_full_pages_total_counts_what_the_viewer_sees(app, classroom, create_lead, viewer):
    """A full page's capped count goes through the visibility rule (and the cap)."""
    from sqlalchemy import func, select

    from sandbox.access import SYSTEM, use_viewer, viewer_for
    from sandbox.leads.models import Lead

    for who in ("studentA", "peerA", "studentB"):
        for i in range(4):
            create_lead(classroom.user(who), name=f"{who} {i}")
    size, cap = app.config["LIST_PAGE_SIZE"], app.config["LIST_COUNT_CAP"]
    app.config.update(LIST_PAGE_SIZE=2, LIST_COUNT_CAP=9)
    try:
        with app.test_request_context("/"):
            use_viewer(viewer_for(classroom.user(viewer)))
            seen = db.session.scalar(select(func.count()).select_from(Lead))
        use_viewer(SYSTEM)
        page = classroom.client_for(app, viewer).get("/leads/?lang=en").get_data(as_text=True)
        shown = re.search(r'data-testid="total">([^<]*)<', page).group(1)
        assert 2 < seen <= 12
        assert shown == (f"{seen} records" if seen <= 9 else "9+ records")
    finally:
        app.config.update(LIST_PAGE_SIZE=size, LIST_COUNT_CAP=cap)


def test_sort_values_keep_a_bounded_set_of_orders(app, classroom, make_lead):
    """A sort with repeated dashes is the descending sort (the kept ORDER BYs stay one per column and way, whatever
    the query string holds), and a list without filters reads the rows its statement kept for it."""
    make_lead(classroom.user("studentA"), name="Sorted lead")
    client = classroom.client_for(app, "studentA")
    for dashes in range(1, 30):
        assert client.get(f"/leads/?sort={'-' * dashes}name").status_code == 200
    keys = [sort for (model, sort) in record_views._ORDERS if model.__name__ == "Lead"]
    assert "-name" in keys and not [k for k in keys if k.startswith("--")], keys
    page = client.get("/leads/?sort=---name&lang=en").get_data(as_text=True)
    assert "Sorted lead" in page
