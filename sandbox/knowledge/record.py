"""The article's registry entry: fields, labels, code table, list and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.registry import Column, Filter, RecordType, register
from . import services
from .forms import ArticleForm
from .models import DRAFT, PUBLISHED, SUGGESTED, Article

STATUS_LABELS = {DRAFT: _l("Draft"), SUGGESTED: _l("Suggested"), PUBLISHED: _l("Published")}

ARTICLE = register(RecordType(
    name="article", model=Article, form=ArticleForm, singular=_l("Article"), plural=_l("Knowledge base"),
    fields=["title", "class_id", "category", "keywords", "body"],
    detail_fields=["title", "class_id", "category", "keywords", "status", "published_at", "body"],
    labels={"status": _l("Status"), "published_at": _l("Published at")},
    codes={"category": "article_category"},
    search=["title", "keywords", "body"],
    columns=[Column("title", _l("Article title"), link=True), Column("category", _l("Category"), code="article_category"),
             Column("keywords", _l("Keywords"), sortable=False), Column("status", _l("Status")),
             Column("published_at", _l("Published at"))],
    filters=[Filter("category", _l("Category"), "article_category")],
    create=services.create_article, update=services.update_article,
    detail_template="knowledge/detail.html", blueprint="knowledge",
))
