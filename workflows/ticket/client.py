"""What the rest of the desk asks of a ticket's workflow: open it, send it an action,
read its live state. A protocol, so that activities (bulk jobs, alerts) are handed the
one implementation (`api.ticket_client.TemporalTicketClient`) by the worker without
importing the API; typing only, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from workflows.ticket.errors import CLOSED, RuleViolation, ViolationKind
from workflows.ticket.messages import OpenTicket, TicketState


@dataclass(frozen=True, slots=True)
class Opened:
    workflow_id: str
    state: TicketState | None
    """The ticket as the opening left it; None when the ticket of this idempotency key
    had already ended (its row holds it)."""


class TicketClosed(RuleViolation):
    """The ticket's workflow has ended: a closed ticket can no longer change."""

    def __init__(self) -> None:
        super().__init__(ViolationKind.ILLEGAL_STATE, CLOSED, message_id=CLOSED)


class TicketClient(Protocol):
    """Every way into a ticket's workflow. Refusals raise `RuleViolation` (`TicketClosed`
    for an ended ticket; kinds `unavailable` and `timeout` when the engine or the ticket
    could not answer, which a retry may mend)."""

    async def open(self, msg: OpenTicket, *, caller: str, key: str | None) -> Opened:
        """Open a ticket; the same `caller` with the same `key` always reaches the same
        ticket, however often it asks."""
        ...

    async def act(self, workflow_id: str, msg: BaseModel, *, update_id: str) -> TicketState:
        """Send one action (the update its message is for) and return the ticket as it
        left it. The same `update_id` is applied once, however often it is sent."""
        ...

    async def applied(self, workflow_id: str, update_id: str) -> bool:
        """Whether the ticket applied the update of this id (also after it has ended)."""
        ...

    async def current(self, workflow_id: str) -> TicketState | None:
        """The ticket's live state, or None when its workflow does not answer in time."""
        ...
