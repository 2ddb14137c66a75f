"""Who is reading a page, in which language, zone and calendar, and the catalogues that
translate for them.

A request's reader is chosen once: the logged-in person's own settings, else the
`lang` cookie the switcher sets, else the browser's `Accept-Language`, else English.
It lives in a context variable for the length of the request, so templates (Jinja's
i18n extension), route handlers and error pages all translate through `_` without
passing it around.

The catalogues are the desk's (`models.catalogues`): adding a language is adding its
catalogue (docs/i18n.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cache
from http.cookies import SimpleCookie
from typing import Any

from babel import Locale, negotiate_locale
from babel.support import NullTranslations

from models import catalogues

LANGUAGES = catalogues.LANGUAGES
RIGHT_TO_LEFT = catalogues.RIGHT_TO_LEFT
SOURCE_LANGUAGE = catalogues.SOURCE_LANGUAGE
translations = catalogues.translations

CALENDARS = ("gregorian", "persian")
"""How dates are shown: the Gregorian calendar, or the Solar Hijri one (`jdatetime`)."""
DIGITS = ("default", "latn", "native")
"""Which digits numbers use: the language's usual ones, 0-9, or the language's own."""

LANGUAGE_COOKIE = "lang"

NATIVE_DIGITS_FIRST = frozenset({"fa"})
"""Languages whose readers see their own digits unless they choose 0-9 (Persian pages
write ۱۲۳; Arabic pages in most countries the desk serves write 123)."""


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads what is being rendered: language, time zone, calendar and digits."""

    language: str = SOURCE_LANGUAGE
    timezone: str = "UTC"
    calendar: str = "gregorian"
    digits: str = "default"

    @property
    def direction(self) -> str:
        return "rtl" if self.language in RIGHT_TO_LEFT else "ltr"

    @property
    def locale(self) -> Locale:
        return _locale(self.language)

    @property
    def translations(self) -> NullTranslations:
        return translations(self.language)

    @property
    def numbering(self) -> str:
        """The CLDR numbering system of this reader's digits ("latn", "arab", "arabext")."""
        if self.digits == "latn":
            return "latn"
        if self.digits == "native" or self.language in NATIVE_DIGITS_FIRST:
            return _native_numbering(self.language)
        return "latn"


_reader: ContextVar[Reader] = ContextVar("reader", default=Reader())  # noqa: B039


def current() -> Reader:
    """The reader of what is being rendered now (English in UTC outside a request)."""
    return _reader.get()


def read_as(reader: Reader) -> None:
    """Make `reader` the reader for the rest of this request."""
    _reader.set(reader)


def for_person(
    base: Reader,
    language: str | None,
    timezone: str | None,
    calendar: str | None,
    digits: str | None,
) -> Reader:
    """A person's reader from their settings; what they left unset comes from `base`, the
    reader their request's headers make (`from_headers`)."""
    return replace(
        base,
        language=language if language in LANGUAGES else base.language,
        timezone=timezone or base.timezone,
        calendar=calendar if calendar in CALENDARS else base.calendar,
        digits=digits if digits in DIGITS else base.digits,
    )


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@cache
def _native_numbering(language: str) -> str:
    return str(_locale(language).other_numbering_systems.get("native", "latn"))


def gettext(message: str, /) -> str:
    """`message` in the current reader's language, as it stands (templates fill it in)."""
    return current().translations.gettext(message)


def ngettext_raw(singular: str, plural: str, n: int, /) -> str:
    """The plural form for `n` in the reader's language, as it stands."""
    return current().translations.ngettext(singular, plural, n)


def _(message: str, /, **params: Any) -> str:
    """`message` in the current reader's language, with `%(name)s` filled from `params`."""
    text = current().translations.gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The plural form for `n` in the reader's language; `%(num)s` is `n` in its digits."""
    text = current().translations.ngettext(singular, plural, n)
    return text % {"num": n, **params}


def N_(message: str, /) -> str:
    """Marks a message for the catalogue where it is written; `_` translates it where it is
    shown (module-level texts exist before anyone reads them)."""
    return message


def from_headers(cookie: str | None, accept_language: str | None) -> Reader:
    """The reader of a request nobody is logged in to: the switcher's cookie, else the
    browser's preferred languages, else English."""
    if cookie:
        jar: SimpleCookie = SimpleCookie()
        jar.load(cookie)
        chosen = jar.get(LANGUAGE_COOKIE)
        if chosen is not None and chosen.value in LANGUAGES:
            return Reader(language=chosen.value)
    if accept_language:
        return Reader(language=_negotiate(accept_language))
    return Reader()


@cache
def _negotiate(header: str) -> str:
    weighted: list[tuple[float, str]] = []
    for item in header.split(",")[:20]:
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag:
            weighted.append((quality, tag.strip().replace("-", "_")))
    preferred = [tag for _q, tag in sorted(weighted, key=lambda w: -w[0])]
    return negotiate_locale(preferred, LANGUAGES, sep="_") or SOURCE_LANGUAGE


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ReaderMiddleware:
    """Sets the reader of every HTTP request from its headers; logging in refines it
    (`web.common.web_user`). The API's JSON answers stay in English."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        cookie = accept = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie = value.decode("latin-1")
            elif name == b"accept-language":
                accept = value.decode("latin-1")
        token = _reader.set(from_headers(cookie, accept))
        try:
            await self.app(scope, receive, send)
        finally:
            _reader.reset(token)


def locale_name(code: str) -> str:
    """A language's own name for itself, for the switcher ("فارسی", "日本語")."""
    return str(_locale(code).get_display_name(code) or code)
