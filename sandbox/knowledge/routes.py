"""Knowledge-base pages: the generic record pages over the article, status rules on top, publish/unpublish."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..access import get_writable_or_404
from ..boundary import attempt
from ..extensions import db
from ..records.forms import ConfirmForm
from ..records.views import RecordViews
from . import bp, markdown, services
from .models import SUGGESTED, Article
from .record import ARTICLE, STATUS_LABELS


class ArticleViews(RecordViews):
    """The article's pages: students' lists hold published articles and their own; bodies render as Markdown."""

    def conditions(self, args: Any) -> list[Any]:
        """The list's (and export's) conditions, plus the status rule and the `?status=` filter."""
        where = [*super().conditions(args), services.status_condition()]
        status = args.get("status", "")
        if status in STATUS_LABELS:
            where.append(Article.status == status)
        return where

    def display(self, obj: Any, attr: str) -> str:
        """A field as shown: the class's name, the status's label (the body as text; the page renders it)."""
        if attr == "class_id":
            from ..products.services import class_names

            return class_names({obj.class_id}).get(obj.class_id, "") if obj.class_id else ""
        if attr == "status":
            return str(STATUS_LABELS.get(obj.status, obj.status))
        if attr == "published_at":
            # Stored naive UTC; shown in the configured time zone like every time on the pages.
            return format_datetime(obj.published_at.replace(tzinfo=UTC), "medium") if obj.published_at else ""
        return super().display(obj, attr)

    def render(self, template: str, **context: Any) -> str:
        """The detail page also gets the rendered body, the use count and the publish form."""
        if template == self.detail_template and "obj" in context:
            obj = context["obj"]
            context.update(body_html=markdown.render(obj.body), uses=services.uses(obj),
                           curator=bool(current_user.is_staff and context.get("writable")), confirm=ConfirmForm())
        if template == "records/list.html":
            context["awaiting"] = self._awaiting() if current_user.is_staff else 0
            template = "knowledge/list.html"
        return super().render(template, **context)

    def _awaiting(self) -> int:
        """How many suggestions the instructor's classes wait to have published."""
        return db.session.scalar(select(func.count()).select_from(Article).where(Article.status == SUGGESTED)) or 0


views = ArticleViews(bp, ARTICLE)
views.register()


@bp.before_request
def hide_unpublished() -> None:
    """A classmate's unpublished article does not exist for a student: every page about it answers 404."""
    record_id = (request.view_args or {}).get("record_id")
    if record_id is None or not current_user.is_authenticated or services.reads_every_status():
        return
    article = db.session.scalar(select(Article).where(Article.id == record_id)
                                .execution_options(include_deleted=True))
    if article is not None and not services.readable(article):
        abort(404)


def _status_change(record_id: int, change: Any, done: str) -> Any:
    article = get_writable_or_404(Article, record_id)
    if not current_user.is_staff:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt(category="warning") as outcome:
        change(article)
    if not outcome.failed:
        flash(done, "success")
    return redirect(url_for("knowledge.detail", record_id=record_id))


@bp.route("/<int:record_id>/publish", methods=["POST"])
def publish(record_id: int) -> Any:
    """Publish an article (instructors of its class)."""
    return _status_change(record_id, services.publish, _("Article published: the whole class reads it now."))


@bp.route("/<int:record_id>/unpublish", methods=["POST"])
def unpublish(record_id: int) -> Any:
    """Withdraw a published article (instructors of its class)."""
    return _status_change(record_id, services.unpublish, _("Article withdrawn: it is a draft again."))

