"""Parts of the record pages written in Python must be what the template loops they replaced wrote, byte for byte.

The record page's fields (`RecordViews.field_rows`), the opportunity's stage path (`OpportunityViews.stage_path`)
and its stage history (`OpportunityViews.history_html`) are written in one Python pass each. Each test renders the
template loop as it stood (kept here) with the same values and compares, in English and Chinese, with names that
need escaping.
"""

from __future__ import annotations

from collections import namedtuple
from datetime import date, datetime
from decimal import Decimal

import pytest
from flask import g
from markupsafe import Markup

from sandbox.accounts.models import Account
from sandbox.codes.services import choices
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import create_opportunity
from sandbox.records.services import create_record
from sandbox.records.views import views_of
from tests.helpers import act_as

SCRIPT = "<script>alert('x')</script>"

# templates/records/detail.html's loop over the fields, as it stood.
FIELDS_LOOP = """{% for f in v.detail_fields %}
        <dt class="col-sm-3 text-muted fw-normal">{{ v.field_label(f) }}</dt><dd class="col-sm-9">{{ v.display(obj, f) or '—' }}</dd>
        {% endfor %}"""  # noqa: E501

# templates/opportunities/detail.html's stage path, as it stood.
STAGE_LOOP = """{% set ns = namespace(passed=true) %}
  {% for code, label in stages %}
    {% set current = code == obj.stage %}
    {% if writable and not closed and not current and not obj.is_deleted %}
    <form method="post" action="{{ url_for('opportunities.stage', record_id=obj.id) }}" class="flex-fill">{{ csrf }}<input type="hidden" name="stage" value="{{ code }}">
      {% if code == 'closed_lost' %}<input type="hidden" name="lost_reason" value="">{% endif %}
      <button class="btn btn-sm w-100 {{ 'btn-success' if ns.passed else 'btn-outline-secondary' }}" type="submit" {% if code == 'closed_lost' %}disabled title="{{ _('Edit the opportunity to close it as lost with a reason.') }}"{% endif %}>{{ label }}</button></form>
    {% else %}
    <span class="btn btn-sm flex-fill {{ 'btn-primary' if current else ('btn-success' if ns.passed else 'btn-outline-secondary') }} disabled">{{ label }}</span>
    {% endif %}
    {% if current %}{% set ns.passed = false %}{% endif %}
  {% endfor %}"""  # noqa: E501

# templates/opportunities/detail.html's stage history rows, as they stood.
HISTORY_LOOP = """{% for row in history %}<tr><td class="small">{{ row.entry.changed_at|datetime('short') }}</td><td>{{ row.entry.changed_by_name if row.entry.changed_by_name is not none else '—' }}</td>
    <td>{{ v.display_code('opportunity_stage', row.entry.from_stage) or '—' }}</td><td>{{ v.display_code('opportunity_stage', row.entry.to_stage) }}</td><td>{{ row.days }}</td></tr>{% endfor %}"""  # noqa: E501

CSRF = Markup('<input id="csrf_token" name="csrf_token" type="hidden" value="a&amp;b">')


def _render(app, source: str, **context) -> str:
    return app.jinja_env.from_string(source).render(**context)


@pytest.fixture(params=["en", "zh_Hans_CN"])
def language(request, app):
    """A request context of the app shown in this language."""
    with app.test_request_context("/"):
        g.force_locale = request.param
        yield request.param


def test_field_rows_are_the_field_loop(app, classroom, language):
    """A lead's fields (codes, escaped text, empty values, money) and an opportunity's (a reference link)."""
    student = classroom.user("studentA")
    act_as(student)
    lead = create_record(Lead, {"name": f"Lead {SCRIPT}", "company": 'A "quoted" & <b>bold</b> Co', "status": "new",
                                "rating": "hot", "annual_revenue": Decimal("1234567.5"), "employees": 12})
    account = create_record(Account, {"name": f"Tea {SCRIPT}"})
    opp = create_opportunity(Opportunity, {"name": "Deal", "account_id": account.id, "stage": "proposal",
                                           "close_date": date(2030, 6, 30), "amount": Decimal("99.5")})
    db.session.flush()
    for blueprint, obj in (("leads", lead), ("opportunities", opp)):
        v = views_of(blueprint)
        assert v.writes_fields()
        written = v.field_rows(obj)
        assert isinstance(written, Markup)
        assert str(written) == _render(app, FIELDS_LOOP, v=v, obj=obj)
        assert SCRIPT not in written
    assert "&lt;script&gt;" in views_of("opportunities").field_rows(opp)  # the account's link, escaped once
    act_as(None)


def test_a_template_that_overrides_the_field_block_keeps_its_loop(app):
    """A knowledge article writes its body its own way: its page is not given the written rows."""
    with app.test_request_context("/"):
        assert not views_of("knowledge").writes_fields()
        assert views_of("leads").writes_fields()


@pytest.mark.parametrize("stage", ["prospecting", "negotiation", "closed_won", "closed_lost"])
def test_stage_path_is_the_stage_loop(app, classroom, language, stage):
    """Every stage path a page can show: a writer's (one-click forms, the disabled lost button), a reader's, a closed
    or deleted deal's; stage names with characters to escape."""
    act_as(classroom.user("studentA"))
    data = {"name": "Deal", "stage": stage, "close_date": date(2030, 6, 30)}
    if stage == "closed_lost":
        data["lost_reason"] = "price"
    opp = create_opportunity(Opportunity, data)
    db.session.flush()
    v = views_of("opportunities")
    stages = [*choices("opportunity_stage", opp.stage), ("odd&<code>", f"Odd {SCRIPT}")]
    for writable in (True, False):
        for closed in (True, False):
            for deleted in (None, datetime(2030, 1, 1)):
                opp.deleted_at = deleted
                written = v.stage_path(opp, stages, writable, closed, CSRF)
                assert str(written) == _render(app, STAGE_LOOP, v=v, obj=opp, stages=stages, writable=writable,
                                               closed=closed, csrf=CSRF)[len("\n  "):], (writable, closed, deleted)
    opp.deleted_at = None
    assert 'name="lost_reason"' in v.stage_path(opp, stages, True, False, CSRF) or stage == "closed_lost"
    act_as(None)


def test_history_rows_are_the_history_loop(app, language):
    """Stage history rows: a named and an unnamed mover, an escaped name, a first row without a from-stage."""
    entry = namedtuple("entry", "changed_at from_stage to_stage changed_by_name")
    history = [{"entry": entry(datetime(2030, 1, 2, 3, 4), None, "prospecting", f"Ann {SCRIPT}"), "days": 3},
               {"entry": entry(datetime(2030, 1, 5, 23, 59), "prospecting", "proposal", None), "days": 0},
               {"entry": entry(datetime(2030, 1, 5, 23, 59), "proposal", "odd&<stage>", "Bob & Co"), "days": 12}]
    v = views_of("opportunities")
    written = v.history_html(history)
    assert str(written) == _render(app, HISTORY_LOOP, v=v, history=history)
    assert SCRIPT not in written and "—" in written
    assert str(v.history_html([])) == ""
