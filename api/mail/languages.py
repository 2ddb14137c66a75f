"""Which languages the outgoing mail templates exist in: what a person may choose.

The built-in templates ship with the `activities` package
(`activities/mail_templates/<language>/`); an admin's override folder
(`TEMPODESK_MAIL_TEMPLATES_DIR`) may add languages. The files are read as
package data, so the API needs none of the worker's code to list them.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from api.errors import ApiError


def mail_languages(templates_dir: Path | None, default: str) -> list[str]:
    """Every language with at least one template, and the desk's default, sorted."""
    found = {default}
    built_in = files("activities") / "mail_templates"
    found |= {d.name for d in built_in.iterdir() if d.is_dir() and any(d.iterdir())}
    if templates_dir is not None and templates_dir.is_dir():
        found |= {d.name for d in templates_dir.iterdir() if d.is_dir() and any(d.iterdir())}
    return sorted(found)


def check_language(language: str | None, templates_dir: Path | None, default: str) -> None:
    """422 on `language` unless templates exist in it (None: the desk's default, always fine)."""
    if language is None:
        return
    known = mail_languages(templates_dir, default)
    if language not in known:
        raise ApiError(
            422,
            f"language must be one of {', '.join(known)} (the languages mail templates exist in)",
            field="language",
            code="invalid_field",
        )
