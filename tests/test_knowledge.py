"""Knowledge base (issue 11): students suggest, instructors publish; safe Markdown; search; uses; visibility."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from sandbox.extensions import db
from sandbox.knowledge import services
from sandbox.knowledge.markdown import render
from sandbox.knowledge.models import DRAFT, PUBLISHED, SUGGESTED, Article
from sandbox.oplog import operation
from tests import helpers
from tests.conftest import act_as


def write(classroom: Any, who: str, title: str = "Reset the gas meter", **fields: Any) -> Article:
    """An article written through the service as `who` (an instructor's goes to class A)."""
    user = classroom.user(who)
    act_as(user)
    data = {"title": title, "class_id": user.class_id or classroom.classes["A"].id, "category": "faq",
            "keywords": "meter, reset", "body": "Turn the **valve** first.", **fields}
    article = services.create_article(Article, data)
    db.session.commit()
    act_as(None)
    return article


def publish(classroom: Any, article: Article, who: str = "teacher") -> None:
    act_as(classroom.user(who))
    services.publish(article)
    db.session.commit()
    act_as(None)


@operation("case.create")
def _case(owner: Any, article: Article | None) -> Any:
    from sandbox.cases.models import Case

    case = Case(workflow="feedback", subject="Leaking meter", state="closed", owner_id=owner.id,
                class_id=owner.class_id, created_by_id=owner.id, solved_by_id=article.id if article else None)
    db.session.add(case)
    return case


def make_case(classroom: Any, who: str, article: Article | None) -> Any:
    act_as(classroom.user(who))
    case = _case(classroom.user(who), article)
    db.session.commit()
    act_as(None)
    return case


def article_of(title: str) -> Article:
    db.session.expire_all()
    return db.session.scalars(select(Article).where(Article.title == title)
                              .execution_options(skip_visibility=True, include_deleted=True)).one()


def test_a_student_suggests_and_the_instructor_publishes(app, classroom):
    student = classroom.client_for(app, "studentA")
    form = {"title": "Gas smell at night", "class_id": str(classroom.classes["A"].id), "category": "faq",
            "keywords": "smell, leak", "body": "Open the windows. Call **12345**."}
    response = student.post("/knowledge/new", data=form)
    assert response.status_code == 302, response.data[:800]
    article = article_of("Gas smell at night")
    assert (article.status, article.owner_id, article.class_id) == (
        SUGGESTED, classroom.user("studentA").id, classroom.classes["A"].id)
    # Until it is published, a classmate neither lists nor opens it; its author and the instructor do.
    peer = classroom.client_for(app, "peerA")
    assert peer.get(f"/knowledge/{article.id}").status_code == 404
    assert "Gas smell at night" not in helpers.text(peer.get("/knowledge/"))
    assert student.get(f"/knowledge/{article.id}").status_code == 200
    teacher = classroom.client_for(app, "teacher")
    listing = helpers.text(teacher.get("/knowledge/?status=suggested&lang=en"))
    assert "Gas smell at night" in listing and 'data-testid="awaiting">1<' in listing
    # The author cannot publish it; the instructor does, once, and it is logged.
    assert student.post(f"/knowledge/{article.id}/publish").status_code == 403
    assert teacher.post(f"/knowledge/{article.id}/publish").status_code == 302
    article = article_of("Gas smell at night")
    assert article.status == PUBLISHED and article.published_by_id == classroom.user("teacher").id
    shown = helpers.text(teacher.get(f"/knowledge/{article.id}?lang=en"))
    assert article.published_at.isoformat(sep=" ") not in shown and str(article.published_at.year) in shown
    assert [e.object_id for e in helpers.entries("article.publish")] == [article.id]
    page = helpers.text(teacher.post(f"/knowledge/{article.id}/publish", follow_redirects=True))
    assert len(helpers.entries("article.publish")) == 1  # already published: refused, nothing logged twice
    assert "already published" in page or "已发布" in page
    # Now the whole class reads it; another class does not.
    assert peer.get(f"/knowledge/{article.id}").status_code == 200
    assert "Gas smell at night" in helpers.text(peer.get("/knowledge/"))
    assert classroom.client_for(app, "studentB").get(f"/knowledge/{article.id}").status_code == 404
    # Published: the student author no longer edits it; the instructor does.
    edit = {**form, "title": "Changed by the author", "version": str(article.version)}
    student.post(f"/knowledge/{article.id}/edit", data=edit)
    assert article_of("Gas smell at night").status == PUBLISHED
    edit = {**form, "title": "Gas smell at night (updated)", "version": str(article.version)}
    assert teacher.post(f"/knowledge/{article.id}/edit", data=edit).status_code == 302
    # Withdrawn: a draft again, hidden from classmates.
    assert teacher.post(f"/knowledge/{article.id}/unpublish").status_code == 302
    assert article_of("Gas smell at night (updated)").status == DRAFT
    assert peer.get(f"/knowledge/{article.id}").status_code == 404
    assert len(helpers.entries("article.unpublish")) == 1


def test_instructor_articles_start_as_drafts_in_a_class_they_manage(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    form = {"title": "Meter codes", "class_id": str(classroom.classes["B"].id), "body": "x"}
    assert teacher.post("/knowledge/new", data=form).status_code == 302
    article = article_of("Meter codes")
    assert (article.status, article.class_id) == (DRAFT, classroom.classes["B"].id)
    # Another instructor cannot file an article into class A (not theirs): refused next to the field.
    teacher2 = classroom.client_for(app, "teacher2")
    page = teacher2.post("/knowledge/new", data={**form, "title": "Intruder", "class_id": str(classroom.classes["A"].id)})
    assert page.status_code == 400
    assert helpers.count(Article, Article.title == "Intruder", skip_visibility=True) == 0
    # A forged class id on a student's form is refused, not moved to that class.
    student = classroom.client_for(app, "studentA")
    page = student.post("/knowledge/new", data={**form, "title": "Elsewhere", "class_id": str(classroom.classes["B"].id)})
    assert page.status_code == 400
    assert helpers.count(Article, Article.title == "Elsewhere", skip_visibility=True) == 0


def test_bad_input_is_refused_next_to_the_field(app, classroom):
    student = classroom.client_for(app, "studentA")
    base = {"class_id": str(classroom.classes["A"].id), "body": "text"}
    page = student.post("/knowledge/new?lang=en", data={**base, "title": "   "})
    assert page.status_code == 400
    assert helpers.field_error(helpers.text(page), "title")
    page = student.post("/knowledge/new?lang=en", data={**base, "title": "T" * 201})
    assert page.status_code == 400
    page = student.post("/knowledge/new?lang=en", data={**base, "title": "Long", "body": "x" * 20_001})
    assert page.status_code == 400 and helpers.field_error(helpers.text(page), "body")
    assert helpers.count(Article, skip_visibility=True, include_deleted=True) == 0
    # Foreign and missing ids: 404 on every page, publishing included.
    other = write(classroom, "studentC", "Class C secret")
    for path in (f"/knowledge/{other.id}", f"/knowledge/{other.id}/edit", "/knowledge/999999"):
        assert student.get(path).status_code == 404, path
    teacher = classroom.client_for(app, "teacher")
    assert teacher.post(f"/knowledge/{other.id}/publish").status_code == 404
    assert teacher.post("/knowledge/999999/publish").status_code == 404
    assert article_of("Class C secret").status == SUGGESTED


UNSAFE = """# Title

<script>alert('x')</script>
<img src=x onerror="alert(1)">
[click](javascript:alert(1)) [upper](JAVASCRIPT:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)
<a href="javascript:alert(2)">raw link</a>
[fine](https://example.com/help) and `code` and *em*
"""


def test_markdown_is_rendered_safely():
    html = str(render(UNSAFE))
    # Only harmless tags are left, and every attribute of every tag is a safe link.
    assert set(re.findall(r"<(\w+)", html)) == {"h1", "p", "a", "code", "em"}
    assert re.findall(r"<a ([^>]*)>", html) == ['href="https://example.com/help" rel="noopener noreferrer nofollow"']
    assert "<img" not in html and "<script" not in html  # raw HTML is text, never a tag
    assert "&lt;script&gt;" in html  # shown as text, so the reader sees what was written
    assert '<a href="https://example.com/help" rel="noopener noreferrer nofollow">fine</a>' in html
    assert "<h1>Title</h1>" in html and "<code>code</code>" in html and "<em>em</em>" in html
    # A Markdown image with an unsafe source loses it; a table keeps its cells.
    assert 'src="javascript' not in str(render("![x](javascript:alert(1))"))
    assert "<td>1</td>" in str(render("| a |\n|---|\n| 1 |"))
    assert str(render(None)) == ""


def test_the_article_page_renders_the_body_safely(app, classroom):
    article = write(classroom, "studentA", "Unsafe body", body=UNSAFE)
    page = classroom.client_for(app, "studentA").get(f"/knowledge/{article.id}").get_data(as_text=True)
    body = page[page.index('data-testid="article-body"'):]
    body = body[:body.index("</dd>")]
    body = body[body.index(">") + 1:]
    assert set(re.findall(r"<(\w+)", body)) == {"h1", "p", "a", "code", "em"}
    assert re.findall(r"<a ([^>]*)>", body) == ['href="https://example.com/help" rel="noopener noreferrer nofollow"']
    assert "<h1>Title</h1>" in body and "&lt;script&gt;" in body


def test_search_matches_title_keywords_and_body_within_what_the_student_reads(app, classroom):
    published = write(classroom, "studentA", "Meter reading", keywords="dial, monthly", body="Read the **dial**.")
    publish(classroom, published)
    write(classroom, "peerA", "Peer draft about dials", keywords="dial", body="dial")  # a suggestion: not peer-visible
    write(classroom, "studentC", "Class C dial", keywords="dial")
    publish(classroom, article_of("Class C dial"), "teacher2")
    student = classroom.client_for(app, "studentA")
    for q in ("Meter", "monthly", "dial", "DIAL"):
        page = helpers.text(student.get(f"/knowledge/?q={q}"))
        assert "Meter reading" in page, q
        assert "Peer draft about dials" not in page and "Class C dial" not in page, q
    assert "Meter reading" not in helpers.text(student.get("/knowledge/?q=nothing-like-it"))
    # The export is the list: the peer's suggestion is not in it either.
    export = student.post("/knowledge/export.csv?q=dial", data={}).get_data(as_text=True)
    assert "Meter reading" in export and "Peer draft" not in export
    # The instructor searches every status of their classes.
    teacher = helpers.text(classroom.client_for(app, "teacher").get("/knowledge/?q=dial"))
    assert "Peer draft about dials" in teacher and "Class C dial" not in teacher


def test_uses_count_the_visible_cases_solved_by_the_article(app, classroom):
    article = write(classroom, "teacher", "Valve guide")
    publish(classroom, article)
    make_case(classroom, "studentA", article)
    make_case(classroom, "studentA", article)
    make_case(classroom, "peerA", article)
    make_case(classroom, "studentA", None)
    act_as(classroom.user("teacher"))
    assert services.uses(article) == 3
    act_as(classroom.user("studentA"))  # cases are private by default: the student counts their own two
    assert services.uses(article) == 2
    act_as(None)
    page = helpers.text(classroom.client_for(app, "teacher").get(f"/knowledge/{article.id}?lang=en"))
    assert "Solved 3 cases" in page


def test_articles_for_picker_offers_visible_published_articles(app, classroom):
    mine = write(classroom, "studentA", "B published")
    publish(classroom, mine)
    write(classroom, "studentA", "A still suggested")
    other = write(classroom, "studentB", "Class B article")
    publish(classroom, other)
    act_as(classroom.user("peerA"))
    assert services.articles_for_picker() == [(mine.id, "B published")]
    assert services.is_published_and_visible(mine.id) and not services.is_published_and_visible(other.id)
    act_as(classroom.user("teacher"))
    assert [title for _id, title in services.articles_for_picker()] == ["B published", "Class B article"]
    assert services.articles_for_picker(classroom.classes["B"].id) == [(other.id, "Class B article")]
    act_as(None)


def test_observer_reads_every_status_but_changes_nothing(app, classroom):
    article = write(classroom, "studentA", "Observer view")
    observer = classroom.client_for(app, "readonlyA")
    assert observer.get(f"/knowledge/{article.id}").status_code == 200
    assert observer.post(f"/knowledge/{article.id}/publish").status_code == 403
    assert article_of("Observer view").status == SUGGESTED
