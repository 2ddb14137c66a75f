"""Jinja environment and the filters templates use. Templates hold no business logic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from api.text import sanitise
from workflows.choices import (
    COMMENT_KINDS,
    LEVEL_CHOICES,
    PRIORITY_CHOICES,
    RESOLUTION_CHOICES,
    STATUS_CHOICES,
    TYPE_CHOICES,
    EventKind,
    ResolutionCode,
    Status,
    TicketType,
)
from workflows.ticket.rules import DONE, WORKING

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
env = templates.env


def _sanitised(text: str | None) -> Markup:
    return Markup(sanitise(text or ""))


def _when(value: datetime | str | None) -> Markup:
    if value is None:
        return Markup("")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    iso = value.isoformat()
    text = value.strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}">{}</time>').format(iso, text)


def _duration(seconds: float | None) -> str:
    """Business seconds for people: "2 h 5 min", "40 s", "3 d 2 h"."""
    if seconds is None:
        return ""
    rest = abs(round(seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if rest >= size and len(parts) < 2:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    return " ".join(parts) or "0 s"


def _due_in(value: datetime | str | None) -> str:
    """How far a due instant is from now: "in 2 h", "3 h overdue"."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    seconds = (value - datetime.now(UTC)).total_seconds()
    if seconds >= 0:
        return f"in {_duration(seconds)}"
    return f"{_duration(seconds)} overdue"


def _due(value: datetime | str | None) -> Markup:
    """A due instant as relative text whose title is the instant (a <time> for app.js)."""
    if value is None:
        return Markup("")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return Markup('<time datetime="{}" title="{}" data-relative>{}</time>').format(
        value.isoformat(), value.strftime("%Y-%m-%d %H:%M UTC"), _due_in(value)
    )


env.filters["duration"] = _duration
env.filters["due_in"] = _due_in
env.filters["due"] = _due
env.filters["sanitise"] = _sanitised
env.filters["when"] = _when
env.globals.update(
    STATUS_CHOICES={s.value: c for s, c in STATUS_CHOICES.items()},
    TYPE_CHOICES={t.value: c for t, c in TYPE_CHOICES.items()},
    PRIORITY_CHOICES=PRIORITY_CHOICES,
    LEVEL_CHOICES=LEVEL_CHOICES,
    RESOLUTION_CHOICES={r.value: c for r, c in RESOLUTION_CHOICES.items()},
    STATUSES=[s.value for s in Status],
    TYPES=[t.value for t in TicketType],
    RESOLUTIONS=[r.value for r in ResolutionCode],
    EventKind=EventKind,
    COMMENT_KINDS=COMMENT_KINDS,
    Status=Status,
    WORKING=WORKING,
    ANY_TIME=WORKING | DONE,
)


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render template `name` with `context` as an HTML response."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)
