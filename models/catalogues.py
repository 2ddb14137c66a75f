"""The desk's message catalogues: every text a person reads, in each of the desk's languages.

The pages (`web.i18n`), the API's live notifications and the worker's mail all
translate through these, so one catalogue per language serves them all. They are
gettext `.po` files in `models/locale/<language>/LC_MESSAGES/messages.po`, read with
Babel and compiled in memory once per process (nothing to build or ship beside them;
fuzzy entries are left out: they are not translations yet). docs/i18n.md says how
to update them and how to add a language.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
"""The language the messages are written in; it needs no catalogue."""


def _catalogued() -> tuple[str, ...]:
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(code for code in found if code != SOURCE_LANGUAGE))


LANGUAGES: tuple[str, ...] = _catalogued()
"""The languages the desk is shown in: English and every catalogue's."""

RIGHT_TO_LEFT = frozenset(
    code for code in LANGUAGES if Locale.parse(code).character_order == "right-to-left"
)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language`; none (the ids as they are) for English and
    for a language the desk has no catalogue in."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def utc_text(at: datetime) -> str:
    """An instant where no reader's zone is known (the API, the English record)."""
    return at.strftime("%Y-%m-%d %H:%M UTC")


def fill(
    language: str,
    message: str,
    params: Mapping[str, object],
    *,
    instant: Callable[[datetime], str] = utc_text,
    instants: frozenset[str] = frozenset(),
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """`message` (a catalogue id) in `language`, filled from `params`; the parameters named
    in `instants` hold ISO instants and are written with `instant`, those in `labels` hold
    a choice's value and are written as its label (itself a catalogue id).

    A translation that does not fit its parameters (a catalogue mistake) falls back to
    the English id rather than failing whoever reads it."""
    values: dict[str, object] = dict(params)
    for name in instants & values.keys():
        with contextlib.suppress(ValueError):
            values[name] = instant(datetime.fromisoformat(str(values[name])))
    catalogue = translations(language)
    for name, choices in (labels or {}).items():
        if str(values.get(name)) in choices:
            values[name] = catalogue.gettext(choices[str(values[name])])
    text = catalogue.gettext(message)
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        try:
            return message % values
        except (KeyError, ValueError, TypeError):
            return message
