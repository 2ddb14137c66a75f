"""The desk's message catalogues: every text a person reads, in each of the desk's languages.

The pages (`web.i18n`), the API's live notifications and the worker's mail all
translate through these, so one catalogue per language serves them all. They are
gettext `.po` files in `models/locale/<language>/LC_MESSAGES/messages.po`, read with
Babel and compiled in memory once per process (nothing to build or ship beside them;
fuzzy entries are left out: they are not translations yet). docs/i18n.md says how
to update them and how to add a language.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
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


def read_catalogue(language: str) -> Catalog:
    """The catalogue of `language` as translators wrote it."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language`; none (the ids as they are) for English and
    for a language the desk has no catalogue in."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE_LANGUAGE or not path.exists():
        return NullTranslations()
    catalog = read_catalogue(language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
