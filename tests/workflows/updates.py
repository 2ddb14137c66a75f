"""Sending a ticket's workflow one update as it arrives, without the ticket client's error
translation: what the workflow tests look at (the `ApplicationError` and its `type`)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import WorkflowHandle

from workflows.ticket.actions import OPEN, action_for
from workflows.ticket.messages import OpenTicket, TicketState


async def send(
    handle: WorkflowHandle[Any, Any], msg: BaseModel, *, update_id: str | None = None
) -> TicketState:
    """The update `msg` is for (`open` for an `OpenTicket`), answered with the ticket."""
    name = OPEN if isinstance(msg, OpenTicket) else action_for(msg).name
    state: TicketState = await handle.execute_update(
        name, msg, id=update_id, result_type=TicketState
    )
    return state
