"""What a ticket's notifications say, as catalogue message ids with parameters.

The workflow never writes a sentence: it stores one of these ids and its
parameters, and whoever shows the notification (a page, a mail, the API)
writes it in its reader's language from the desk's catalogues
(`models.catalogues`, docs/i18n.md). The ids are the English text, so English
needs no catalogue; `pybabel extract` finds them through `N_`.

Changing an id's wording is changing a message: old notifications keep the old
id, so an id is never edited, only replaced (and its translations kept while
stored notifications use it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from workflows.choices import N_, STATUS_CHOICES, Nn_
from workflows.sla import CheckpointKind, ClockName

ASSIGNED = N_("#%(number)s is now yours: %(subject)s")
TRANSFERRED = N_("#%(number)s was transferred to your group: %(subject)s")
OFFERED = N_("#%(number)s is offered to you: %(subject)s")
OFFERED_DETAIL = N_("Accept or decline it in your task list.")
UNROUTED = N_("Nobody in the group took #%(number)s: %(subject)s")
UNROUTED_DETAIL = N_("It waits unassigned in the group's queue.")
CONSULT_ASKED = N_("A colleague asks about #%(number)s: %(subject)s")
CONSULT_ANSWERED = N_("Your question on #%(number)s was answered")
REMINDER = N_("Reminder: #%(number)s %(subject)s")
REMINDER_DETAIL = N_("Status %(status)s")
IDLE = N_("Idle: #%(number)s %(subject)s")
IDLE_DETAIL = N_("Nobody has acted on it since %(since)s")

CUSTOMER_REMINDER = N_(
    "We are still waiting for your answer on ticket #%(number)s (%(subject)s). "
    "Reply to this message or in the portal and we carry on."
)
CLOSING = N_("Without an answer the ticket will be closed.")
CLOSING_AFTER = Nn_(
    "Without an answer the ticket will be closed after %(num)s more reminder.",
    "Without an answer the ticket will be closed after %(num)s more reminders.",
)

CHECKPOINTS: dict[tuple[CheckpointKind, ClockName], str] = {
    (CheckpointKind.WARNING, ClockName.FIRST_RESPONSE): N_(
        "ticket #%(number)s: %(percent)s%% of the first response target used"
    ),
    (CheckpointKind.WARNING, ClockName.NEXT_UPDATE): N_(
        "ticket #%(number)s: %(percent)s%% of the next update target used"
    ),
    (CheckpointKind.WARNING, ClockName.RESOLUTION): N_(
        "ticket #%(number)s: %(percent)s%% of the resolution target used"
    ),
    (CheckpointKind.BREACH, ClockName.FIRST_RESPONSE): N_(
        "ticket #%(number)s breached its first response target"
    ),
    (CheckpointKind.BREACH, ClockName.NEXT_UPDATE): N_(
        "ticket #%(number)s breached its next update target"
    ),
    (CheckpointKind.BREACH, ClockName.RESOLUTION): N_(
        "ticket #%(number)s breached its resolution target"
    ),
    (CheckpointKind.ESCALATION, ClockName.FIRST_RESPONSE): N_(
        "ticket #%(number)s: first response escalation level %(level)s"
    ),
    (CheckpointKind.ESCALATION, ClockName.NEXT_UPDATE): N_(
        "ticket #%(number)s: next update escalation level %(level)s"
    ),
    (CheckpointKind.ESCALATION, ClockName.RESOLUTION): N_(
        "ticket #%(number)s: resolution escalation level %(level)s"
    ),
}
"""An SLA checkpoint's notice per kind and clock: whole sentences, so that each language
can put the clock's name where its grammar wants it."""

PARAMETERS_AS_INSTANTS = frozenset({"since"})
"""Parameters that hold an ISO instant: a reader sees it in their own zone and calendar."""

PARAMETER_LABELS: dict[str, dict[str, str]] = {
    "status": {status.value: choice.label for status, choice in STATUS_CHOICES.items()}
}
"""Parameters that hold a choice's value: a reader sees its label in their language."""


def utc_text(at: datetime) -> str:
    """An instant where no reader's zone is known (the API, the English record)."""
    return at.strftime("%Y-%m-%d %H:%M UTC")


def fill(
    gettext: Callable[[str], str],
    message: str,
    params: Mapping[str, object],
    instant: Callable[[datetime], str] = utc_text,
) -> str:
    """`message` translated by `gettext` (a reader's catalogue) and filled from `params`:
    instants written with `instant`, a choice's value as its translated label.

    A translation that does not fit its parameters (a catalogue's mistake) falls back to
    the English id rather than failing whoever reads it."""
    values: dict[str, object] = dict(params)
    for name in PARAMETERS_AS_INSTANTS & values.keys():
        with contextlib.suppress(ValueError):
            values[name] = instant(datetime.fromisoformat(str(values[name])))
    for name, labels in PARAMETER_LABELS.items():
        if str(values.get(name)) in labels:
            values[name] = gettext(labels[str(values[name])])
    try:
        return gettext(message) % values
    except (KeyError, ValueError, TypeError):
        try:
            return message % values
        except (KeyError, ValueError, TypeError):
            return message


def words(
    gettext: Callable[[str], str],
    message: str | None,
    detail: str | None,
    params: Mapping[str, object],
    body: str,
    instant: Callable[[datetime], str] = utc_text,
) -> tuple[str, str]:
    """A notification's title, and its body (the detail line, then people's own words),
    in the language of `gettext`."""
    title = fill(gettext, message, params, instant) if message else ""
    line = fill(gettext, detail, params, instant) if detail else ""
    return title, "\n".join(part for part in (line, body) if part)


def reminder_text(
    gettext: Callable[[str], str],
    ngettext: Callable[[str, str, int], str],
    data: Mapping[str, Any],
) -> str:
    """The words of a customer reminder (a `customer_reminded` event's data) in the
    language of `gettext`; an event from before message ids carries them in `body`."""
    if "left" not in data:
        return str(data.get("body", ""))
    params = {"number": data.get("number"), "subject": data.get("subject")}
    text = fill(gettext, CUSTOMER_REMINDER, params)
    left = data["left"]
    if left == 0:
        return f"{text} {gettext(CLOSING)}"
    if isinstance(left, int):
        closing = ngettext(*CLOSING_AFTER, left)
        try:
            return f"{text} {closing % {'num': left}}"
        except (KeyError, ValueError, TypeError):
            return text
    return text
