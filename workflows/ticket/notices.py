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

from workflows.choices import STATUS_CHOICES
from workflows.sla import CheckpointKind, ClockName


def N_(message: str) -> str:
    """Marks a message id for the catalogue (this package has no catalogue of its own)."""
    return message


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

CHECKPOINTS: dict[tuple[CheckpointKind, ClockName], str] = {
    (CheckpointKind.WARNING, ClockName.FIRST_RESPONSE): N_(
        "#%(number)s: %(percent)s%% of the first response target used"
    ),
    (CheckpointKind.WARNING, ClockName.NEXT_UPDATE): N_(
        "#%(number)s: %(percent)s%% of the next update target used"
    ),
    (CheckpointKind.WARNING, ClockName.RESOLUTION): N_(
        "#%(number)s: %(percent)s%% of the resolution target used"
    ),
    (CheckpointKind.BREACH, ClockName.FIRST_RESPONSE): N_(
        "#%(number)s breached its first response target"
    ),
    (CheckpointKind.BREACH, ClockName.NEXT_UPDATE): N_(
        "#%(number)s breached its next update target"
    ),
    (CheckpointKind.BREACH, ClockName.RESOLUTION): N_("#%(number)s breached its resolution target"),
    (CheckpointKind.ESCALATION, ClockName.FIRST_RESPONSE): N_(
        "#%(number)s: first response escalation level %(level)s"
    ),
    (CheckpointKind.ESCALATION, ClockName.NEXT_UPDATE): N_(
        "#%(number)s: next update escalation level %(level)s"
    ),
    (CheckpointKind.ESCALATION, ClockName.RESOLUTION): N_(
        "#%(number)s: resolution escalation level %(level)s"
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
