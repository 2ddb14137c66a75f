"""Projection writes: the ticket row and its append-only timeline in PostgreSQL.

Run as local activities inside the update handler, so a read right after a
successful update sees the change.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, Update, select, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from models import Attachment, Ticket, TicketEventRow
from models.desk import read_desk_settings
from workflows import ids
from workflows.lifecycle import apply_open
from workflows.ticket_model import (
    DeskConfig,
    ProjectedOpening,
    ProjectionResult,
    ProjectOpening,
    ProjectTicket,
    TicketEvent,
    TicketState,
)


def _row(state: TicketState) -> dict[str, Any]:
    return {
        "seq": state.seq,
        "type": state.type.value,
        "status": state.status.value,
        "channel": state.channel.value,
        "subject": state.subject,
        "description": state.description,
        "requester_id": state.requester_id,
        "organisation_id": state.organisation_id,
        "group_id": state.group_id,
        "assignee_id": state.assignee_id,
        "impact": state.impact,
        "urgency": state.urgency,
        "priority": state.priority,
        "pending_reason": state.pending_reason,
        "resolution_code": state.resolution_code,
        "resolution_note": state.resolution_note,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "first_response_at": state.first_response_at,
        "resolved_at": state.resolved_at,
        "closed_at": state.closed_at,
        "reopen_until": state.reopen_until,
        "reopen_count": state.reopen_count,
    }


# The mapped classes' tables, for statements that skip the ORM (mypy sees a FromClause).
_tickets = cast(Table, Ticket.__table__)
_events = cast(Table, TicketEventRow.__table__)
_attachments = cast(Table, Attachment.__table__)


async def _write(conn: AsyncConnection, state: TicketState, event: TicketEvent) -> int:
    """Write the ticket row and one event; returns the ticket's number.

    Idempotent: the row is only overwritten by a state with an equal or higher
    `seq`, and the event is keyed by (ticket_id, seq), so a retry writes the
    same thing again. A retry of the opening write finds the row and returns
    its number instead of taking a new one from the sequence.
    """
    row = _row(state)
    written: Insert | Update
    if event.seq == 1:
        written = (
            insert(_tickets)
            .values(id=state.id, **row)
            .on_conflict_do_nothing(index_elements=[_tickets.c.id])
        )
    else:
        written = (
            update(_tickets)
            .where(_tickets.c.id == state.id, _tickets.c.seq <= state.seq)
            .values(**row)
        )
    number = await conn.scalar(written.returning(_tickets.c.number))
    if number is None:
        number = await conn.scalar(select(_tickets.c.number).where(_tickets.c.id == state.id))
    if number is None:
        raise RuntimeError(f"ticket {state.id} has no projection row to update")
    values = {
        "kind": event.kind,
        "at": event.at,
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "public": event.public,
        "data": event.data,
    }
    # The workflow is the only writer, and its latest attempt at a seq is the
    # one it kept: overwrite rather than ignore on conflict.
    await conn.execute(
        insert(_events)
        .values(ticket_id=state.id, seq=event.seq, **values)
        .on_conflict_do_update(index_elements=[_events.c.ticket_id, _events.c.seq], set_=values)
    )
    if event.kind == "attached":
        await conn.execute(
            update(_attachments)
            .where(
                _attachments.c.id == event.data["attachment_id"],
                _attachments.c.ticket_id == state.id,
            )
            .values(seq=event.seq, public=event.public)
        )
    return int(number)


class ProjectionActivities:
    """The ticket's own writes, run as local activities inside its update handlers.

    They use SQLAlchemy Core on a connection rather than ORM sessions: every
    change of every ticket passes here, and the ORM's bulk-insert machinery
    cost more CPU than the statements themselves (docs/benchmarks.md).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=ids.PERSIST_TICKET)
    async def persist_ticket(self, msg: ProjectTicket) -> ProjectionResult:
        """Write the ticket row and the event in one transaction (idempotent, see `_write`)."""
        async with self._engine.begin() as conn:
            return ProjectionResult(number=await _write(conn, msg.state, msg.event))

    @activity.defn(name=ids.OPEN_TICKET)
    async def open_ticket(self, msg: ProjectOpening) -> ProjectedOpening:
        """Open a ticket in one transaction: read the desk settings, apply the pure
        opening rules of `workflows.lifecycle` with them, write row and first event.

        One round trip instead of a settings read and a write. Idempotent like
        `persist_ticket`; a retry may see newer settings, and the workflow keeps
        whichever result it recorded first.
        """
        async with self._engine.begin() as conn:
            config = DeskConfig.from_stored(await read_desk_settings(conn))
            state, event = apply_open(msg.ticket_id, msg.open, config, msg.at)
            number = await _write(conn, state, event)
        return ProjectedOpening(state=state.model_copy(update={"number": number}), event=event)

    @activity.defn(name=ids.LOAD_DESK_CONFIG)
    async def load_desk_config(self) -> DeskConfig:
        """Read-only: the current priority matrix and reopen window."""
        async with self._engine.connect() as conn:
            return DeskConfig.from_stored(await read_desk_settings(conn))
