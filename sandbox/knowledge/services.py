"""Article services: students suggest, instructors curate and publish; the rules of who reads which status.

The article type is class-readable (the visibility rule opens the whole class), and on top of it
non-curators read only published articles and their own: a classmate's suggestion stays between
its author and the instructors until it is published.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, func, or_, select, true

from ..access import Viewer, can_write, current_viewer
from ..clock import utcnow
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..org.models import Role
from ..records.services import NotAllowed, RecordError, acting_user, update_record
from .models import DRAFT, PUBLISHED, SUGGESTED, Article

PICKER_LIMIT = 500


def reads_every_status(viewer: Any = None) -> bool:
    """Instructors, administrators and observers read drafts and suggestions too; students only published + own."""
    viewer = viewer if viewer is not None else current_viewer()
    if not isinstance(viewer, Viewer):
        return viewer is not None  # SYSTEM reads everything; nobody reads nothing (the rule already says so)
    return viewer.role in (Role.ADMIN, Role.INSTRUCTOR, Role.READONLY)


def status_condition(viewer: Any = None) -> ColumnElement[bool]:
    """The extra condition on articles for this viewer (published or own, unless they read every status)."""
    viewer = viewer if viewer is not None else current_viewer()
    if reads_every_status(viewer):
        return true()
    return or_(Article.status == PUBLISHED, Article.owner_id == getattr(viewer, "user_id", None))


def readable(article: Article, viewer: Any = None) -> bool:
    """Whether the viewer may read this (already visible) article given its status."""
    viewer = viewer if viewer is not None else current_viewer()
    return reads_every_status(viewer) or article.status == PUBLISHED or article.owner_id == viewer.user_id


def _require_curator(article: Article) -> Any:
    actor = acting_user()
    if not actor.is_staff or not can_write(article, current_viewer()):
        raise NotAllowed("article")
    if article.is_deleted:
        raise RecordError(_("This record is in the recycle bin; restore it first."))
    return actor


def _clean(data: dict[str, Any], actor: Any, current: Article | None = None) -> dict[str, Any]:
    data = dict(data)
    data["title"] = (data.get("title") or "").strip()
    if not data["title"]:
        raise RecordError(_("Give the article a title."), "title")
    class_id = data.get("class_id") or (current.class_id if current else None)
    if actor.is_staff:
        from ..products.services import managed_class_ids

        if class_id not in managed_class_ids():
            raise RecordError(_("Choose a class you manage."), "class_id")
    else:
        # A student writes for their own class; a forged id of another class is refused, not moved.
        if class_id not in (None, actor.class_id) or actor.class_id is None:
            raise RecordError(_("Choose your own class."), "class_id")
        class_id = actor.class_id
    data["class_id"] = class_id
    data["body"] = data.get("body") or ""
    return data


@operation("article.create")
def create_article(cls: type, data: dict[str, Any], owner: Any = None) -> Article:
    """Write an article: an instructor's starts as a draft, a student's is a suggestion awaiting publication."""
    actor = acting_user()
    if not actor.can_change:
        raise NotAllowed("read-only")
    data = _clean(data, actor)
    article = Article(**data, status=DRAFT if actor.is_staff else SUGGESTED, owner_id=actor.id,
                      created_by_id=actor.id)
    db.session.add(article)
    current_op().target(article)
    return article


def update_article(obj: Article, data: dict[str, Any], expected_version: int | None = None) -> Article:
    """Save an article's fields; once published only an instructor changes it (students suggest, staff curate)."""
    actor = acting_user()
    if obj.status == PUBLISHED and not actor.is_staff:
        raise RecordError(_("This article is published: only an instructor changes it now."))
    return update_record(obj, _clean(data, actor, obj), expected_version=expected_version)


@operation("article.publish")
def publish(article: Article) -> Article:
    """Publish an article (a draft or a student's suggestion): the whole class reads it from now on."""
    actor = _require_curator(article)
    if article.status == PUBLISHED:
        raise RecordError(_("This article is already published."))
    article.status, article.published_at, article.published_by_id = PUBLISHED, utcnow(), actor.id
    current_op().target(article)
    return article


@operation("article.unpublish")
def unpublish(article: Article) -> Article:
    """Withdraw a published article: back to a draft that students other than its author no longer read."""
    _require_curator(article)
    if article.status != PUBLISHED:
        raise RecordError(_("This article is not published."))
    article.status = DRAFT
    current_op().target(article)
    return article


def uses(article: Article) -> int:
    """How many cases the viewer may see were solved by this article (the visibility rule counts)."""
    from ..cases.models import Case

    return db.session.scalar(select(func.count()).select_from(Case).where(Case.solved_by_id == article.id)) or 0


def articles_for_picker(class_id: int | None = None, limit: int = PICKER_LIMIT) -> list[tuple[int, str]]:
    """(id, title) of the published articles the viewer reads (of one class if given), by title: what a case's
    "solved by" offers (an instructor of several classes passes the case's class)."""
    stmt = select(Article.id, Article.title).where(Article.status == PUBLISHED)
    if class_id is not None:
        stmt = stmt.where(Article.class_id == class_id)
    rows = db.session.execute(stmt.order_by(Article.title, Article.id).limit(limit)).all()
    return [(row.id, row.title) for row in rows]


def is_published_and_visible(article_id: int) -> bool:
    """Whether a published article of this id is visible to the viewer (for a case's "solved by" check)."""
    return db.session.scalar(select(Article.id).where(Article.id == article_id, Article.status == PUBLISHED)
                             ) is not None


register_verbs({
    "article.create": N_("wrote article %(label)s"),
    "article.update": N_("edited article %(label)s"),
    "article.transfer": N_("transferred article %(label)s from %(old_owner)s to %(new_owner)s"),
    "article.delete": N_("deleted article %(label)s"),
    "article.restore": N_("restored article %(label)s"),
    "article.publish": N_("published article %(label)s"),
    "article.unpublish": N_("withdrew article %(label)s"),
})
