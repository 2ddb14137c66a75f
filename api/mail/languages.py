"""Which languages the outgoing mail templates exist in: what a person may choose.

The built-in templates ship with the `activities` package
(`activities/mail_templates/<language>/`); an admin's override folder
(`TEMPODESK_MAIL_TEMPLATES_DIR`) and the templates admins store in the app
(`mail_template_overrides`) may add languages. The files are read as
package data, so the API needs none of the worker's code to list them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from models import MailTemplateOverride, catalogues

BUILT_IN = files("activities") / "mail_templates"


def page_languages() -> set[str]:
    """The languages the desk's pages are shown in: English and each catalogue's."""
    return set(catalogues.LANGUAGES)


def folder_languages(templates_dir: Path | None, default: str) -> set[str]:
    """The languages with a template file, built in or in the override folder, and the default."""
    found = {default}
    found |= {d.name for d in BUILT_IN.iterdir() if d.is_dir() and any(d.iterdir())}
    if templates_dir is not None and templates_dir.is_dir():
        found |= {d.name for d in templates_dir.iterdir() if d.is_dir() and any(d.iterdir())}
    return found


async def person_languages(
    session: AsyncSession, templates_dir: Path | None, default: str
) -> list[str]:
    """What a person may choose as their language: the pages' and the mail's, sorted.
    A language with pages but no mail templates is mailed in the desk's default."""
    return sorted(set(await mail_languages(session, templates_dir, default)) | page_languages())


async def mail_languages(
    session: AsyncSession, templates_dir: Path | None, default: str
) -> list[str]:
    """Every language with at least one template (file or stored), and the desk's default,
    sorted."""
    stored = await session.scalars(select(MailTemplateOverride.language).distinct())
    return sorted(folder_languages(templates_dir, default) | set(stored))


async def check_language(
    session: AsyncSession, language: str | None, templates_dir: Path | None, default: str
) -> None:
    """422 on `language` unless pages or mail templates exist in it (None: the desk's
    default, always fine)."""
    if language is None:
        return
    known = await person_languages(session, templates_dir, default)
    if language not in known:
        raise ApiError(
            422,
            f"language must be one of {', '.join(known)} "
            "(the languages the pages or the mail templates exist in)",
            field="language",
            code="invalid_field",
        )
