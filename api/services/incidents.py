"""Incidents from monitoring: the alerts feeding them, major incidents and their children.

Shared by the JSON API and the web UI. The integrations are administered in
api/services/integrations.py; their events arrive through api/intake/.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import refused
from api.schemas import (
    AlertEventPublic,
    AlertLink,
    AlertPublic,
    IncidentAlerts,
    TicketPublic,
)
from api.services.ticket_actions import act
from api.services.tickets import get_row, get_ticket, visible_to
from models import Alert, AlertEvent, Ticket
from workflows.alerts import WORKING
from workflows.choices import N_, AlertStatus, TicketType
from workflows.ticket.client import TicketClient
from workflows.ticket.errors import ViolationKind
from workflows.ticket.messages import AddNote

# ---------------------------------------------------------------- reading


async def alerts_of(
    session: AsyncSession, ticket_id: str
) -> tuple[list[AlertPublic], list[AlertEventPublic]]:
    """The alerts feeding an incident and every event recorded on it, oldest first."""
    alerts = await list_alerts(session, ticket_id=ticket_id)
    events = await session.scalars(
        select(AlertEvent).where(AlertEvent.ticket_id == ticket_id).order_by(AlertEvent.id)
    )
    return alerts, [AlertEventPublic.model_validate(e, from_attributes=True) for e in events]


async def incident_alerts(
    session: AsyncSession, ticket_id: str, *, last: int | None = None
) -> IncidentAlerts | None:
    """An incident's alerts and events (the `last` ones), or None when none fed it."""
    alerts, events = await alerts_of(session, ticket_id)
    if not alerts and not events:
        return None
    return IncidentAlerts(
        alerts=alerts,
        events=events[-last:] if last else events,
        firing=any(a.status != AlertStatus.RESOLVED for a in alerts),
    )


async def link_alert(
    session: AsyncSession,
    tickets: TicketClient,
    principal: Principal,
    number: int,
    body: AlertLink,
) -> IncidentAlerts:
    """Move an alert to the incident `number` (which must be a working incident) and say so
    in its timeline; the alert's next events feed it."""
    target = await get_row(session, principal, number)
    if target.type != TicketType.INCIDENT.value:
        raise refused(
            409,
            N_("#%(number)s is not an incident"),
            code=ViolationKind.ILLEGAL_STATE,
            number=number,
        )
    if target.status not in WORKING:
        raise refused(
            409,
            N_("#%(number)s is %(status)s; link alerts to a working incident"),
            code=ViolationKind.ILLEGAL_STATE,
            number=number,
            status=str(target.status),
        )
    alert = await session.scalar(
        select(Alert).where(Alert.integration_id == body.integration_id, Alert.key == body.key)
    )
    if alert is None:
        raise refused(
            404,
            N_("no alert %(key)s from integration %(integration)s"),
            field="key",
            code="not_found",
            key=repr(body.key),
            integration=body.integration_id,
        )
    previous = await session.scalar(select(Ticket.number).where(Ticket.id == alert.ticket_id))
    if alert.ticket_id != target.id:
        note = f"Alert linked: {alert.summary or alert.key} ({alert.source})"
        if previous is not None:
            note += f", moved from #{previous}"
        await act(session, tickets, principal, number, AddNote(actor=principal.actor(), body=note))
        alert.ticket_id = target.id
        await session.commit()
    found = await incident_alerts(session, target.id)
    assert found is not None
    return found


async def children_of(
    session: AsyncSession, principal: Principal, number: int
) -> list[TicketPublic]:
    """The incidents linked to major incident `number` as its children."""
    await get_row(session, principal, number)
    found = await session.scalars(
        select(Ticket.number)
        .where(Ticket.parent_number == number, visible_to(principal))
        .order_by(Ticket.number)
    )
    return [await get_ticket(session, principal, n) for n in found]


async def list_alerts(
    session: AsyncSession,
    *,
    ticket_id: str | None = None,
    integration_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[AlertPublic]:
    """Alerts, most recently seen first, with the number of the incident each feeds."""
    query = select(Alert, Ticket.number).outerjoin(Ticket, Ticket.id == Alert.ticket_id)
    if ticket_id is not None:
        query = query.where(Alert.ticket_id == ticket_id)
    if integration_id is not None:
        query = query.where(Alert.integration_id == integration_id)
    if status is not None:
        query = query.where(Alert.status == status)
    rows = await session.execute(query.order_by(Alert.last_seen.desc(), Alert.id).limit(limit))
    return [
        AlertPublic.model_validate(alert, from_attributes=True).model_copy(
            update={"ticket_number": number}
        )
        for alert, number in rows
    ]
