"""The knowledge-base article (知识库): readable class-wide, suggested by students, published by instructors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..codes.services import register_usage
from ..extensions import db
from ..owned import Owned

DRAFT, SUGGESTED, PUBLISHED = "draft", "suggested", "published"


class Article(Owned, db.Model):
    """An article: title, category, keywords and a Markdown body (rendered safely when read)."""

    __tablename__ = "knowledge_articles"
    __audit_type__ = "article"
    __class_readable__ = True

    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40))
    keywords: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=DRAFT)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def audit_label(self) -> str:
        """The title, as the log shows it."""
        return self.title


register_usage("article_category", "article", "category")
