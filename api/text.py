"""Rendering user-supplied text safely. Bodies are stored as sent and sanitised on display."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr",
    "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "u", "ul",
}  # fmt: skip


def sanitise(text: str) -> str:
    """HTML safe to insert into a page: scripts, handlers, styles and unknown tags removed.

    Plain text comes out with `<`, `>` and `&` escaped; newlines are kept (the
    UI shows bodies with `white-space: pre-wrap`).
    """
    return nh3.clean(text, tags=ALLOWED_TAGS, link_rel="noopener noreferrer nofollow")
