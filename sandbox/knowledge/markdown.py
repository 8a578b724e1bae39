"""Markdown of knowledge articles rendered safely: markdown-it-py (raw HTML off), then nh3 sanitising.

Two walls, because an article is written by one student and read by the whole class: markdown-it escapes
raw HTML and refuses javascript:/vbscript:/data: links itself; nh3 then keeps only an allow-list of tags,
attributes and URL schemes, so a bug or a plugin in the first never reaches the reader's browser.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote", "ul",
        "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}


def render(text: str | None) -> Markup:
    """The article body as safe HTML (only the allowed tags, attributes and URL schemes survive)."""
    html = _MD.render(text or "")
    clean = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                      link_rel="noopener noreferrer nofollow", strip_comments=True)
    return Markup(clean)  # noqa: S704  (sanitised just above)
