"""Bulk changes a manager starts: each ticket is changed through its own workflow."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from api.auth import Principal
from api.errors import refused
from api.schemas import BulkJobPublic, BulkReassign
from api.services.sla import get_job
from api.services.ticket_actions import check_people
from models import BulkJob, Ticket
from workflows import ids
from workflows.bulk import BulkAction, BulkInput, BulkKind, BulkTarget, BulkWorkflow
from workflows.choices import N_, OPEN_STATUSES, Role


async def reassign(
    session: AsyncSession, client: Client, principal: Principal, body: BulkReassign
) -> BulkJobPublic:
    """Reassign the chosen open tickets as one bulk job (managers and admins)."""
    if principal.role not in (Role.MANAGER, Role.ADMIN):
        raise refused(403, N_("only managers and admins reassign in bulk"), code="forbidden")
    if body.numbers is None and body.from_assignee_id is None and body.from_group_id is None:
        raise refused(
            422,
            N_("name the tickets: numbers, from_assignee_id or from_group_id"),
            field="numbers",
            code="invalid_field",
        )
    if body.group_id is None and body.assignee_id is None:
        raise refused(
            422,
            N_("say where they go: group_id, assignee_id or both"),
            field="group_id",
            code="invalid_field",
        )
    await check_people(session, principal, group_id=body.group_id, assignee_id=body.assignee_id)
    query = select(Ticket.id, Ticket.number).order_by(Ticket.number)
    if body.numbers is not None:
        # Named tickets are all tried; a closed one is reported as refused.
        query = query.where(Ticket.number.in_(body.numbers))
    else:
        query = query.where(Ticket.status.in_([s.value for s in OPEN_STATUSES]))
    if body.from_assignee_id is not None:
        query = query.where(Ticket.assignee_id == body.from_assignee_id)
    if body.from_group_id is not None:
        query = query.where(Ticket.group_id == body.from_group_id)
    tickets = (await session.execute(query)).all()
    job_id = ids.BULK_PREFIX + uuid.uuid4().hex
    session.add(
        BulkJob(
            id=job_id,
            kind=BulkKind.REASSIGN.value,
            description=f"Reassign {len(tickets)} tickets",
            created_by=principal.id,
            status="running",
            total=len(tickets),
            failures=[],
        )
    )
    await session.commit()
    await client.start_workflow(
        BulkWorkflow.run,
        BulkInput(
            job_id=job_id,
            action=BulkAction(
                kind=BulkKind.REASSIGN,
                actor=principal.actor(),
                group_id=body.group_id,
                assignee_id=body.assignee_id,
                note=body.note,
            ),
            targets=[BulkTarget(workflow_id=wid, number=number) for wid, number in tickets],
        ),
        id=job_id,
        task_queue=ids.TASK_QUEUE,
    )
    return await get_job(session, job_id)
