"""Every edit form carries the record's version, and a POST without it is refused (400), not applied.

A table over every page that edits a versioned record: its own form, filled exactly as the page renders
it, is sent once without `version` (400, the record unchanged: same version, same values) and once with
it (saved). Two users saving the same record at once: the second is told (409), the first save stays.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.extensions import db
from tests.conftest import act_as, record_factory
from tests.helpers import text

TEXT_FIELDS = ("name", "subject", "title")


class FormFields(HTMLParser):
    """The fields of the page's POST form that holds a `version` field, as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Collect inputs, selects and text areas of the open form."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self._form = []
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and a.get("type", "text") not in ("submit", "button", "file"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self._form.append((a["name"], a.get("value", "y" if a.get("type") == "checkbox" else "")))
        elif tag == "select" and a.get("name"):
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea" and a.get("name"):
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        """Text of an open text area."""
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        """Close selects, text areas and forms."""
        if self._form is None:
            return
        if tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [v for v, _s in self._options[:1]]
            self._form.extend((self._select, v) for v in chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None
        elif tag == "form":
            self.forms.append(self._form)
            self._form = None


def edit_form(page: str) -> dict[str, str]:
    """The fields of the page's form that carries the version."""
    parser = FormFields()
    parser.feed(page)
    forms = [dict(f) for f in parser.forms if any(name == "version" for name, _v in f)]
    assert len(forms) == 1, f"expected one form with a version field, found {len(forms)}"
    return forms[0]


def _service(kind: str, owner: Any, data: dict[str, Any]) -> Any:
    act_as(owner)
    if kind == "campaign":
        from sandbox.campaigns.models import Campaign
        from sandbox.campaigns.services import create_campaign

        made = create_campaign(Campaign, data)
    elif kind == "article":
        from sandbox.knowledge.models import Article
        from sandbox.knowledge.services import create_article

        made = create_article(Article, data)
    elif kind == "document":
        from sandbox.documents.models import Document
        from sandbox.documents.services import create_document

        made = create_document(Document, data)
    else:
        from sandbox.cases.services import create_case

        made = create_case("feedback", data)
    db.session.commit()
    act_as(None)
    return made


def make(kind: str, classroom: Any) -> Any:
    """A record of `kind` that the editing user may change."""
    if kind in ("lead", "account", "contact", "opportunity", "activity", "competitor"):
        return record_factory(kind)(classroom.user("studentA"))
    if kind == "product":
        return record_factory(kind)(classroom.user("teacher"), class_id=classroom.classes["A"].id)
    if kind == "campaign":
        return _service(kind, classroom.user("studentA"), {"name": "Spring fair", "status": "in_progress"})
    if kind == "article":
        return _service(kind, classroom.user("teacher"), {
            "title": "Reset a meter", "class_id": classroom.classes["A"].id, "category": "faq", "keywords": "meter",
            "body": "Turn the valve first."})
    if kind == "document":
        return _service(kind, classroom.user("studentA"), {"title": "Boiler manual", "folder_id": None,
                                                           "description": "How to"})
    return _service(kind, classroom.user("studentA"), {"subject": "Bill too high"})


# kind, URL prefix, who edits, the page (edit, or a case's move)
ROUTES = [
    ("lead", "leads", "studentA", "edit"), ("account", "accounts", "studentA", "edit"),
    ("contact", "contacts", "studentA", "edit"), ("opportunity", "opportunities", "studentA", "edit"),
    ("activity", "activities", "studentA", "edit"), ("competitor", "competitors", "studentA", "edit"),
    ("product", "products", "teacher", "edit"), ("campaign", "campaigns", "studentA", "edit"),
    ("article", "knowledge", "teacher", "edit"), ("document", "documents", "studentA", "edit"),
    ("case", "cases", "studentA", "edit"), ("case", "cases", "studentA", "move/in_progress"),
]


def state_of(obj: Any) -> tuple[Any, ...]:
    """What a refused save must leave untouched: version, last change and every text field."""
    db.session.expire_all()
    fresh = db.session.scalar(select(type(obj)).where(type(obj).id == obj.id)
                              .execution_options(skip_visibility=True, include_deleted=True))
    return (fresh.version, fresh.updated_at, getattr(fresh, "state", None),
            *(getattr(fresh, name, None) for name in TEXT_FIELDS))


@pytest.mark.parametrize(("kind", "prefix", "who", "page"), ROUTES, ids=[f"{r[1]}-{r[3]}" for r in ROUTES])
def test_a_save_without_the_version_is_refused_and_changes_nothing(app, classroom, kind, prefix, who, page):
    obj = make(kind, classroom)
    client = classroom.client_for(app, who)
    url = f"/{prefix}/{obj.id}/{page}?lang=en"
    form = edit_form(text(client.get(url)))
    assert form["version"] == str(obj.version)  # the page sends it
    for name in TEXT_FIELDS:
        if form.get(name):
            form[name] += " (edited)"
    before = state_of(obj)
    without = {k: v for k, v in form.items() if k != "version"}
    response = client.post(url, data=without)
    assert response.status_code == 400, text(response)[:800]
    assert "did not say which saved version" in text(response)
    assert state_of(obj) == before
    # An empty version is no version either.
    assert client.post(url, data={**without, "version": ""}).status_code == 400
    assert state_of(obj) == before
    # The same form with its version saves: the refusal was the missing version, nothing else.
    response = client.post(url, data=form)
    assert response.status_code == 302, text(response)[:1500]
    assert state_of(obj)[0] == before[0] + 1


def test_two_users_saving_one_record_the_second_is_told_and_nothing_is_lost(app, classroom):
    lead = record_factory("lead")(classroom.user("studentA"), name="Zhao Min", company="Tea Co.")
    first, second = classroom.client_for(app, "studentA"), classroom.client_for(app, "managerA")
    url = f"/leads/{lead.id}/edit?lang=en"
    mine, theirs = edit_form(text(first.get(url))), edit_form(text(second.get(url)))
    assert first.post(url, data={**mine, "company": "Green Tea Co."}).status_code == 302
    response = second.post(url, data={**theirs, "company": "Black Tea Co."})
    assert response.status_code == 409 and 'data-testid="conflict"' in text(response)
    assert state_of(lead)[0] == 2
    db.session.expire_all()
    assert db.session.get(type(lead), lead.id).company == "Green Tea Co."
