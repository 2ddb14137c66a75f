"""Projection writes: the ticket row and its append-only timeline in PostgreSQL.

Run as local activities inside the update handler, so a read right after a
successful update sees the change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from models import Attachment, Ticket, TicketEventRow
from models.desk import read_desk_settings
from workflows import ids
from workflows.ticket_model import DeskConfig, ProjectionResult, ProjectTicket, TicketState


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


class ProjectionActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=ids.PERSIST_TICKET)
    async def persist_ticket(self, msg: ProjectTicket) -> ProjectionResult:
        """Write the ticket row and the event in one transaction.

        Idempotent: the row is only overwritten by a state with an equal or
        higher `seq`, and the event is keyed by (ticket_id, seq), so a retry
        writes the same thing again. A retry of the opening write finds the row
        and returns its number instead of taking a new one from the sequence.
        """
        state, event = msg.state, msg.event
        async with self._sessions.begin() as session:
            number: int | None
            if event.seq == 1:
                number = await session.scalar(
                    insert(Ticket)
                    .values(id=state.id, **_row(state))
                    .on_conflict_do_nothing(index_elements=[Ticket.id])
                    .returning(Ticket.number)
                )
                if number is None:
                    number = await session.scalar(
                        select(Ticket.number).where(Ticket.id == state.id)
                    )
            else:
                number = await session.scalar(
                    update(Ticket)
                    .where(Ticket.id == state.id, Ticket.seq <= state.seq)
                    .values(**_row(state))
                    .returning(Ticket.number)
                )
                if number is None:
                    number = await session.scalar(
                        select(Ticket.number).where(Ticket.id == state.id)
                    )
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
            # The workflow is the only writer, and its latest attempt at a seq is
            # the one it kept: overwrite rather than ignore on conflict.
            await session.execute(
                insert(TicketEventRow)
                .values(ticket_id=state.id, seq=event.seq, **values)
                .on_conflict_do_update(index_elements=["ticket_id", "seq"], set_=values)
            )
            if event.kind == "attached":
                await session.execute(
                    update(Attachment)
                    .where(
                        Attachment.id == event.data["attachment_id"],
                        Attachment.ticket_id == state.id,
                    )
                    .values(seq=event.seq, public=event.public)
                )
        return ProjectionResult(number=number)

    @activity.defn(name=ids.LOAD_DESK_CONFIG)
    async def load_desk_config(self) -> DeskConfig:
        """Read-only: the current priority matrix and reopen window."""
        async with self._sessions() as session:
            return DeskConfig.from_stored(await read_desk_settings(session))
