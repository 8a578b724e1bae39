"""The list tables built in Python (`RecordViews.list_rows`, `bin_rows`) write exactly what the per-cell
template wrote, escape user data, and read owners' names without a query per row."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from flask import render_template_string
from sqlalchemy import select, update

import sandbox.records.views as record_views
from sandbox.extensions import db
from sandbox.org.models import User
from sandbox.records.services import delete_record

from .helpers import act_as, statements

# The table bodies as the templates wrote them before the rows were built in Python (one call per cell).
OLD_LIST_BODY = """<tbody>
  {% for r in rows %}
  <tr>
    {% for c in v.columns %}
    <td>{% if c.link %}<a href="{{ url_for(v.endpoint('detail'), record_id=r.id) }}">{{ v.display(r, c.attr) }}</a>{% else %}{{ v.display(r, c.attr) }}{% endif %}</td>
    {% endfor %}
    <td>{{ r.owner.display_name }}</td>
    <td class="text-muted small">{{ r.created_at|datetime('short') }}</td>
  </tr>
  {% else %}
  <tr><td colspan="{{ v.columns|length + 2 }}" class="text-center text-muted py-4">{{ _('Nothing here yet.') }}</td></tr>
  {% endfor %}
  </tbody>"""  # noqa: E501 (the templates' lines as they were)

OLD_BIN_BODY = """<tbody>
  {% for r in rows %}
  <tr>{% for c in v.columns[:3] %}<td>{% if c.link %}<a href="{{ url_for(v.endpoint('detail'), record_id=r.id) }}">{{ v.display(r, c.attr) }}</a>{% else %}{{ v.display(r, c.attr) }}{% endif %}</td>{% endfor %}
    <td>{{ r.owner.display_name }}</td><td class="small text-muted">{{ r.deleted_at|datetime('short') }}</td>
    <td class="text-end">{% if current_user.can_change %}{{ post_button(url_for(v.endpoint('restore'), record_id=r.id), _('Restore')) }}{% endif %}</td></tr>
  {% else %}
  <tr><td colspan="6" class="text-center text-muted py-4">{{ _('The recycle bin is empty.') }}</td></tr>
  {% endfor %}
  </tbody>"""  # noqa: E501 (the templates' lines as they were)

BODY = re.compile(r"<tbody>.*?</tbody>", re.S)
CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def _old_and_new(client: Any, url: str) -> tuple[str, str]:
    """The page's table body, and the old template's body rendered from the same context in the same request."""
    real = record_views.render_template
    old: list[str] = []

    def grab(template: str, **context: Any) -> str:
        html = real(template, **context)
        source = OLD_BIN_BODY if template.endswith("recycle_bin.html") else OLD_LIST_BODY
        if source is OLD_BIN_BODY:
            source = "{% from '_macros.html' import post_button %}" + source
        old.append(render_template_string(source, **{**context, "rows": _as_records(context["v"], context["rows"])}))
        return html

    with mock.patch.object(record_views, "render_template", grab):
        response = client.get(url)
    assert response.status_code == 200, url
    new = BODY.search(response.get_data(as_text=True))
    assert new is not None and old, url
    return CSRF.sub("", old[0]), CSRF.sub("", new.group(0))


def _as_records(v: Any, rows: list[Any]) -> list[Any]:
    """The list's rows as ORM records (the old template read `r.owner`; the list page reads plain rows of the
    model's columns now), in the page's order."""
    if not rows or isinstance(rows[0], v.model):
        return rows
    found = {r.id: r for r in db.session.scalars(select(v.model).where(v.model.id.in_([r.id for r in rows]))
                                                 .execution_options(include_deleted=True))}
    return [found[r.id] for r in rows]


@pytest.fixture
def filled(app, classroom, create_lead, create_account, create_contact, create_opportunity, create_activity,
           create_competitor, create_product) -> dict[str, Any]:
    """Records of every shape a list cell takes: codes, references, money, custom displays, empty values."""
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    account = create_account(student, name="Tea & Co. <b>")
    create_account(peer, name="Peer Tea")
    create_contact(student, name="Han Meimei", account_id=account.id)
    opp = create_opportunity(student, name="Deal \"one\"", account_id=account.id, amount=Decimal("1234.5"))
    create_opportunity(peer, name="Peer deal")
    create_activity(student, subject="Call <i>back</i>", related_type="opportunity", related_id=opp.id)
    create_activity(student, kind="event", subject="Meet", due_date=None, event_type="meeting",
                    start_at=datetime(2030, 1, 1, 9, 30), end_at=datetime(2030, 1, 1, 10, 0))
    create_competitor(student, name="Rival")
    create_product(classroom.user("teacher"), name="Notebook", class_id=classroom.classes["A"].id)
    for i in range(3):
        create_lead(student, name=f"Lead {i}", company="" if i else "Co", status="working" if i else "new")
    gone = create_lead(student, name="Gone <lead>")
    create_lead(peer, name="Peer lead")
    act_as(student)
    delete_record(gone)
    db.session.commit()
    act_as(None)
    return {"account": account, "opportunity": opp}


LISTS = ["leads", "accounts", "contacts", "opportunities", "activities", "competitors", "products", "cases",
         "campaigns", "knowledge", "documents"]


@pytest.mark.parametrize("viewer", ["studentA", "managerA", "teacher", "readonlyA"])
def test_rows_built_in_python_match_the_per_cell_template(app, classroom, filled, viewer):
    """Every list, plain, sorted, in English and Chinese, and the recycle bins: byte for byte the old body."""
    client = classroom.client_for(app, viewer)
    checked = 0
    for name in LISTS:
        for url in (f"/{name}/", f"/{name}/?lang=en&sort=name", f"/{name}/?lang=zh&page=2", f"/{name}/recycle-bin",
                    f"/{name}/recycle-bin?lang=en"):
            old, new = _old_and_new(client, url)
            assert new == old, url
            checked += new.count("<tr>")
    assert checked > 20  # the lists were not all empty


def test_user_data_is_escaped_in_the_list_and_the_recycle_bin(app, classroom, create_lead):
    """A record name and an owner's name with markup are shown as text, in the list and in the recycle bin."""
    student = classroom.user("studentA")
    db.session.execute(update(User).where(User.id == student.id).values(display_name="<script>alert(1)</script>Ann"))
    db.session.commit()
    shown = create_lead(student, name="<script>alert(2)</script>Lead", company="A&B \"quoted\"")
    gone = create_lead(student, name="<script>alert(3)</script>Gone")
    act_as(student)
    delete_record(gone)
    db.session.commit()
    act_as(None)
    client = classroom.client_for(app, "managerA")
    page = client.get("/leads/").get_data(as_text=True)
    assert "<script>alert" not in page
    assert f'<a href="/leads/{shown.id}">&lt;script&gt;alert(2)&lt;/script&gt;Lead</a>' in page
    assert "<td>A&amp;B &#34;quoted&#34;</td>" in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;Ann</td>" in page
    bin_page = client.get("/leads/recycle-bin").get_data(as_text=True)
    assert "<script>alert" not in bin_page
    assert f'<a href="/leads/{gone.id}">&lt;script&gt;alert(3)&lt;/script&gt;Gone</a>' in bin_page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;Ann</td>" in bin_page


def test_owner_names_need_no_query_per_row_and_an_owner_beyond_the_filter_is_named(app, classroom, create_lead):
    """The owners' names come from the owner filter's query; a row whose owner the filter does not offer
    (here: the filter is capped) is named from one extra query, never one per row."""
    for who in ("studentA", "peerA"):
        for i in range(3):
            create_lead(classroom.user(who), name=f"{who} {i}")
    client = classroom.client_for(app, "managerA")
    client.get("/leads/")
    with statements(app) as seen:
        page = client.get("/leads/").get_data(as_text=True)
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT USERS.ID, USERS.DISPLAY_NAME FROM")]
    assert page.count("<td>Studenta</td>") == 3 and page.count("<td>Peera</td>") == 3
    with mock.patch("sandbox.records.list_filters._owners", return_value=[]):
        with statements(app) as seen:
            page = client.get("/leads/").get_data(as_text=True)
    assert len([s for s in seen if "users.display_name" in s and "users.id IN" in s.replace("\n", " ")]) == 1
    assert page.count("<td>Studenta</td>") == 3 and page.count("<td>Peera</td>") == 3


def test_totals_on_every_page_and_no_count_query_on_the_last(app, classroom, create_lead):
    """Every page states the same total; the last page (fewer rows than a page) knows it without counting,
    and past the count cap it still says "N+" as the capped count does."""
    app.config["LIST_PAGE_SIZE"] = 3
    for i in range(8):
        create_lead(classroom.user("studentA"), name=f"Lead {i}")
    client = classroom.client_for(app, "studentA")

    def shown(page: int) -> tuple[str, str, list[str]]:
        with statements(app) as seen:
            html = client.get(f"/leads/?page={page}").get_data(as_text=True)
        total = re.search(r'data-testid="total">([^<]*)<', html)
        position = re.search(r'<li class="page-item active"><span class="page-link">([^<]*)<', html)
        assert total and position
        return total.group(1), position.group(1), [s for s in seen if "count(*)" in s and "leads" in s]

    client.get("/leads/")
    assert [shown(p)[:2] for p in (1, 2, 3, 4)] == [("8 records", f"{p} / 3") for p in (1, 2, 3, 4)]
    assert shown(2)[2] and not shown(3)[2]  # a full page counts; the last one does not need to
    app.config["LIST_COUNT_CAP"] = 4
    assert [shown(p)[:2] for p in (1, 2, 3)] == [("4+ records", str(p)) for p in (1, 2, 3)]
