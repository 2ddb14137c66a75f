"""Jinja environment and the filters templates use. Templates hold no business logic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from api.text import sanitise
from web import formats, i18n
from workflows.choices import (
    COMMENT_KINDS,
    LEVEL_CHOICES,
    PRIORITY_CHOICES,
    RESOLUTION_CHOICES,
    ROLE_CHOICES,
    STATUS_CHOICES,
    TYPE_CHOICES,
    EventKind,
    ResolutionCode,
    Status,
    TicketType,
)
from workflows.sla import CLOCK_LABELS
from workflows.ticket.rules import DONE, WORKING

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
env = templates.env


def _sanitised(text: str | None) -> Markup:
    return Markup(sanitise(text or ""))


# Every text of a page goes through the reader's catalogue (`web.i18n`); newstyle
# gettext escapes the values put into a translated text, never the translation.
env.add_extension("jinja2.ext.i18n")
env.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=i18n.gettext, ngettext=i18n.ngettext_raw, newstyle=True
)
env.filters["duration"] = formats.duration
env.filters["due_in"] = formats.due_in
env.filters["due"] = formats.due
env.filters["number"] = formats.number
# A text that is a catalogue message but not written in the template (an error
# message, a choice label): translated as it stands, never %-formatted.
env.filters["t"] = i18n.gettext
env.filters["sanitise"] = _sanitised
env.filters["when"] = formats.when
env.filters["instant"] = formats.instant
env.globals.update(
    STATUS_CHOICES={s.value: c for s, c in STATUS_CHOICES.items()},
    TYPE_CHOICES={t.value: c for t, c in TYPE_CHOICES.items()},
    PRIORITY_CHOICES=PRIORITY_CHOICES,
    ROLE_CHOICES=ROLE_CHOICES,
    CLOCK_LABELS={clock.value: label for clock, label in CLOCK_LABELS.items()},
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
    reader=i18n.current,
    LANGUAGES=i18n.LANGUAGES,
    language_name=i18n.locale_name,
)


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render template `name` with `context` as an HTML response."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)
