"""Mail templates admins edit in the app: where each part's text comes from, checking,
previewing, storing and resetting it.

The worker (activities/mail.py) picks a part's text in the same order as
`resolve` here: for each of the person's language, the desk's and English,
a stored text, then the override folder's file, then the built-in file.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from importlib.resources.abc import Traversable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import DictLoader, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import refused
from api.mail.languages import BUILT_IN, mail_languages
from api.mail.schemas import (
    MailTemplatePartSummary,
    MailTemplatePreview,
    MailTemplatePublic,
    MailTemplateSet,
    TemplateSource,
)
from models import MailTemplateOverride
from models.mail_templates import (
    TEMPLATE_KINDS,
    TEMPLATE_PARTS,
    TEMPLATE_VARIABLES,
    TICKET_FIELDS,
    template_environment,
    template_name,
)
from workflows.choices import N_
from workflows.ticket.errors import Param


def sample_context(kind: str, desk_name: str) -> dict[str, Any]:
    """Values like those a mail of `kind` is rendered with, to check and preview a text."""
    ticket = SimpleNamespace(**dict.fromkeys(TICKET_FIELDS))
    ticket.number = 1234
    ticket.subject = "The printer on floor 2 jams"
    ticket.description = "Every second page jams since this morning."
    ticket.type, ticket.status, ticket.channel = "incident", "in_progress", "email"
    ticket.impact = ticket.urgency = ticket.priority = 3
    ticket.created_at = ticket.updated_at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    common = {"ticket": ticket, "tag": "TD#1234", "desk_name": desk_name}
    if kind == "reply":
        return {
            **common,
            "body": "Please switch the printer off and on again.\n\nDoes it still jam?",
            "author": "Ann Agent",
            "requester_name": "Bo Customer",
        }
    return {
        **common,
        "title": "75% of the resolution time used",
        "body": "TD#1234 is due in 2 h.",
        "name": "Ann Agent",
    }


def _line(exc: BaseException) -> int | None:
    """The line of the template where rendering failed (Jinja puts it in the traceback)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == "<template>"]
    return frames[-1].lineno if frames else None


def render(language: str, kind: str, part: str, body: str, desk_name: str) -> str:
    """Render `body` as the worker would, with sample values.

    422 on `body` naming the line for a syntax error, an unknown variable,
    something the sandbox refuses or any other error while rendering.
    """
    name = template_name(language, kind, part)
    environment = template_environment(DictLoader({name: body}))
    variables = ", ".join(TEMPLATE_VARIABLES[kind])
    # Jinja's account of the fault is English: a parameter, as it stands.
    try:
        return environment.get_template(name).render(sample_context(kind, desk_name)).strip()
    except TemplateSyntaxError as exc:
        message_id = N_("%(name)s: line %(line)s: %(fault)s")
        params: dict[str, Param] = {"line": str(exc.lineno), "fault": str(exc.message)}
    except UndefinedError as exc:
        message_id = N_(
            "%(name)s: line %(line)s: %(fault)s; a %(kind)s template may use %(variables)s"
        )
        params = {
            "line": str(_line(exc)),
            "fault": str(exc.message),
            "kind": str(kind),
            "variables": variables,
        }
    except SecurityError as exc:
        message_id = N_(
            "%(name)s: line %(line)s: %(fault)s (mail templates run in a sandbox: "
            "they may use %(variables)s and plain filters and tests)"
        )
        params = {"line": str(_line(exc)), "fault": str(exc), "variables": variables}
    except Exception as exc:  # an admin's text may raise anything while rendering
        message_id = N_("%(name)s: line %(line)s: %(fault)s")
        params = {"line": str(_line(exc)), "fault": f"{type(exc).__name__}: {exc}"}
    raise refused(422, message_id, field="body", code="invalid_field", name="body", **params)


def _file(root: Traversable | Path | None, name: str) -> str | None:
    if root is None:
        return None
    path = root / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _languages(language: str, default: str) -> list[str]:
    return list(dict.fromkeys([language, default, "en"]))


def resolve(
    language: str,
    kind: str,
    part: str,
    stored: dict[str, MailTemplateOverride],
    templates_dir: Path | None,
    default: str,
) -> tuple[str, TemplateSource, str, MailTemplateOverride | None]:
    """The text a mail in `language` is rendered from: (text, source, its language, row)."""
    for lang in _languages(language, default):
        name = template_name(lang, kind, part)
        row = stored.get(name)
        if row is not None:
            return row.body, "stored", lang, row
        text = _file(templates_dir, name)
        if text is not None:
            return text, "folder", lang, None
        text = _file(BUILT_IN, name)
        if text is not None:
            return text, "built-in", lang, None
    raise LookupError(f"no built-in template {template_name('en', kind, part)}")


def _built_in(language: str, kind: str, part: str, default: str) -> tuple[str, str]:
    for lang in _languages(language, default):
        text = _file(BUILT_IN, template_name(lang, kind, part))
        if text is not None:
            return text, lang
    raise LookupError(f"no built-in template {template_name('en', kind, part)}")


async def _stored(session: AsyncSession) -> dict[str, MailTemplateOverride]:
    rows = await session.scalars(select(MailTemplateOverride))
    return {template_name(r.language, r.kind, r.part): r for r in rows}


def _summary(
    part: str, source: TemplateSource, lang: str, row: MailTemplateOverride | None
) -> dict[str, Any]:
    return {
        "part": part,
        "source": source,
        "source_language": lang,
        "updated_at": row.updated_at if row is not None and source == "stored" else None,
        "updated_by": row.updated_by if row is not None and source == "stored" else None,
    }


async def list_templates(
    session: AsyncSession, templates_dir: Path | None, default: str
) -> list[MailTemplateSet]:
    """Every language templates exist in, each kind, and where each part's text comes from."""
    stored = await _stored(session)
    result = []
    for language in await mail_languages(session, templates_dir, default):
        for kind in TEMPLATE_KINDS:
            parts = []
            for part in TEMPLATE_PARTS:
                _, source, lang, row = resolve(language, kind, part, stored, templates_dir, default)
                summary = _summary(part, source, lang, row)
                parts.append(MailTemplatePartSummary.model_validate(summary))
            result.append(
                MailTemplateSet(
                    language=language,
                    kind=kind,
                    variables=list(TEMPLATE_VARIABLES[kind]),
                    parts=parts,
                )
            )
    return result


async def get_template(
    session: AsyncSession,
    language: str,
    kind: str,
    part: str,
    templates_dir: Path | None,
    default: str,
) -> MailTemplatePublic:
    """One part in effect for `language` (a language without templates shows its fallback)."""
    stored = await _stored(session)
    text, source, lang, row = resolve(language, kind, part, stored, templates_dir, default)
    name = template_name(language, kind, part)
    without = {k: v for k, v in stored.items() if k != name}
    reset_text = resolve(language, kind, part, without, templates_dir, default)[0]
    built_in, built_in_language = _built_in(language, kind, part, default)
    return MailTemplatePublic.model_validate(
        {
            **_summary(part, source, lang, row),
            "language": language,
            "kind": kind,
            "body": text,
            "built_in": built_in,
            "built_in_language": built_in_language,
            "default": reset_text,
            "variables": list(TEMPLATE_VARIABLES[kind]),
        }
    )


def preview(language: str, kind: str, part: str, body: str, desk_name: str) -> MailTemplatePreview:
    """`body` rendered with sample values; 422 on `body` as when saving."""
    return MailTemplatePreview(rendered=render(language, kind, part, body, desk_name))


async def save_template(
    session: AsyncSession,
    principal: Principal,
    language: str,
    kind: str,
    part: str,
    body: str,
    *,
    templates_dir: Path | None,
    default: str,
    desk_name: str,
) -> MailTemplatePublic:
    """Check `body` (422 on `body`, nothing stored) and store it; the next mail uses it.

    Saving the same language, kind and part again replaces the text (an upsert on
    the table's key), so a repeated request leaves one row.
    """
    render(language, kind, part, body, desk_name)
    values = {"language": language, "kind": kind, "part": part, "body": body}
    changed = {"body": body, "updated_at": datetime.now(UTC), "updated_by": principal.id}
    await session.execute(
        insert(MailTemplateOverride)
        .values(**values, updated_by=principal.id)
        .on_conflict_do_update(index_elements=["language", "kind", "part"], set_=changed)
    )
    await session.commit()
    return await get_template(session, language, kind, part, templates_dir, default)


async def reset_template(session: AsyncSession, language: str, kind: str, part: str) -> None:
    """Delete the stored text; the folder's or the built-in one applies again (idempotent)."""
    await session.execute(
        delete(MailTemplateOverride).where(
            MailTemplateOverride.language == language,
            MailTemplateOverride.kind == kind,
            MailTemplateOverride.part == part,
        )
    )
    await session.commit()
