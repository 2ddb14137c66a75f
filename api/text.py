"""Rendering user-supplied text safely. Bodies are stored as sent and sanitised on display."""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3",
    "h4", "hr", "i", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "th", "thead", "tr", "u", "ul",
}  # fmt: skip

# ammonia's defaults, plus `dir` on every tag: a Persian or Arabic mail written
# right to left says so with dir="rtl", and without it the text shows mirrored wrong.
ALLOWED_ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"dir", "lang", "title"},
}


def sanitise(text: str) -> str:
    """HTML safe to insert into a page: scripts, handlers, styles and unknown tags removed.

    Plain text comes out with `<`, `>` and `&` escaped; newlines are kept (the
    UI shows bodies with `white-space: pre-wrap`).
    """
    return nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        link_rel="noopener noreferrer nofollow",
    )
