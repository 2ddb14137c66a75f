"""Instants, durations and numbers as the current reader reads them (`web.i18n.current`):
their language's formats (Babel), their time zone, their calendar (Gregorian, or Solar
Hijri through `jdatetime`) and their digits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal
from markupsafe import Markup

from web.i18n import Reader, _, current, ngettext

_ZEROS = {"arab": "\u0660", "arabext": "\u06f0", "latn": "0"}
"""Where each numbering system's ten digits start in Unicode (CLDR names)."""

_UNITS: tuple[tuple[int, Callable[[int], str]], ...] = (
    (86400, lambda n: ngettext("%(num)s d", "%(num)s d", n)),
    (3600, lambda n: ngettext("%(num)s h", "%(num)s h", n)),
    (60, lambda n: ngettext("%(num)s min", "%(num)s min", n)),
    (1, lambda n: ngettext("%(num)s s", "%(num)s s", n)),
)
"""A duration's units, largest first, each with its plural forms in the catalogue (Arabic
has six, Japanese one)."""


def digits(text: str, reader: Reader | None = None) -> str:
    """`text` with 0-9 written in the reader's digits."""
    reader = reader or current()
    zero = _ZEROS.get(reader.numbering, "0")
    if zero == "0":
        return text
    return text.translate({ord("0") + i: ord(zero) + i for i in range(10)})


def number(value: float | int | None) -> str:
    """A count or amount in the reader's grouping and digits."""
    if value is None:
        return ""
    reader = current()
    return digits(
        format_decimal(value, locale=reader.locale, numbering_system=reader.numbering), reader
    )


def zone(reader: Reader) -> ZoneInfo:
    try:
        return ZoneInfo(reader.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def instant(value: datetime | str | None) -> str:
    """Date and time in the reader's zone, calendar and language, e.g. "8 Dec 2026, 14:05"."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    reader = current()
    local = value.astimezone(zone(reader))
    if reader.calendar == "persian":
        solar = jdatetime.datetime.fromgregorian(
            datetime=local, locale="fa_IR" if reader.language == "fa" else "en_US"
        )
        date_text, time_text = solar.strftime("%d %B %Y"), solar.strftime("%H:%M")
    else:
        date_text = format_date(local, "medium", locale=reader.locale)
        time_text = format_time(local, "short", locale=reader.locale)
    pattern = str(reader.locale.datetime_formats["medium"])  # e.g. "{1}, {0}"
    text = pattern.replace("{1}", date_text).replace("{0}", time_text)
    # The zone is named: a reader may be looking at another zone than their own.
    text = f"{text} {_zone_name(local, reader)}"
    return digits(text, reader)


def _zone_name(local: datetime, reader: Reader) -> str:
    if reader.timezone == "UTC":
        return "UTC"
    return str(format_datetime(local, "z", locale=reader.locale))


def when(value: datetime | str | None) -> Markup:
    """An instant as a `<time>` element: machine-readable UTC, text for the reader."""
    if value is None:
        return Markup("")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), instant(value))


def duration(seconds: float | None) -> str:
    """Business seconds for people, the two largest units: "2 h 15 min", "3 d 2 h"."""
    if seconds is None:
        return ""
    reader = current()
    rest = abs(round(seconds))
    parts: list[str] = []
    for size, unit in _UNITS:
        if rest >= size and len(parts) < 2:
            parts.append(unit(rest // size))
            rest %= size
    if not parts:
        parts.append(_UNITS[-1][1](0))
    if len(parts) == 1:
        return digits(parts[0], reader)
    return digits(_("%(first)s %(second)s", first=parts[0], second=parts[1]), reader)


def due_in(value: datetime | str | None) -> str:
    """How far a due instant is from now: "in 2 h", "3 h overdue"."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    seconds = (value - datetime.now(UTC)).total_seconds()
    if seconds >= 0:
        return _("in %(duration)s", duration=duration(seconds))
    return _("%(duration)s overdue", duration=duration(seconds))


def due(value: datetime | str | None) -> Markup:
    """A due instant as relative text whose title is the instant."""
    if value is None:
        return Markup("")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return Markup('<time datetime="{}" title="{}" data-relative>{}</time>').format(
        value.isoformat(), instant(value), due_in(value)
    )
