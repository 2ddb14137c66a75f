"""Side effects of bulk jobs: send each ticket its update, record progress, read a policy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from activities.sla import SlaLookups, policy_spec
from models import BulkJob, SlaPolicyRow
from workflows import ids
from workflows.bulk import (
    BulkBatch,
    BulkBatchResult,
    BulkFailure,
    BulkKind,
    BulkProgress,
    BulkTarget,
    PolicyLookup,
)
from workflows.sla_config import to_snapshot
from workflows.ticket.client import TicketClient, TicketClosed
from workflows.ticket.errors import RETRYABLE, RuleViolation
from workflows.ticket.messages import ApplySlaPolicy, Assign

_jobs = cast(Table, BulkJob.__table__)
_policies = cast(Table, SlaPolicyRow.__table__)

_PARALLEL = 8
"""Updates in flight at once per batch: enough to hide latency, few enough to share."""


class BulkActivities:
    def __init__(self, tickets: TicketClient, engine: AsyncEngine) -> None:
        self._tickets = tickets
        self._engine = engine
        self._sla = SlaLookups()

    @activity.defn(name=ids.APPLY_BULK_BATCH)
    async def apply_bulk_batch(self, batch: BulkBatch) -> BulkBatchResult:
        """Send every ticket of the batch its update; a refusal is a result, not an error.

        Idempotent: each update id is derived from the job and the ticket, and
        a ticket answers a repeated update id with its first result.
        """
        gate = asyncio.Semaphore(_PARALLEL)

        async def one(target: BulkTarget) -> str | None:
            async with gate:
                return await self._apply(batch, target)

        reasons = await asyncio.gather(*(one(t) for t in batch.targets))
        result = BulkBatchResult()
        for target, reason in zip(batch.targets, reasons, strict=True):
            if reason is None:
                result.succeeded += 1
            else:
                result.failures.append(BulkFailure(number=target.number, reason=reason))
        return result

    async def _apply(self, batch: BulkBatch, target: BulkTarget) -> str | None:
        """None when the ticket took the change, else the reason it gave."""
        update_id = ids.bulk_update_id(batch.job_id, target.workflow_id)
        msg: Any
        action = batch.action
        if action.kind == BulkKind.APPLY_SLA_POLICY:
            if batch.policy is None:
                return "no policy to apply"
            msg = ApplySlaPolicy(actor=action.actor, policy=batch.policy)
        elif action.kind == BulkKind.REASSIGN:
            msg = Assign(
                actor=action.actor,
                group_id=action.group_id,
                assignee_id=action.assignee_id,
                note=action.note,
            )
        else:
            return f"unknown bulk action {action.kind!r}"
        try:
            await self._tickets.act(target.workflow_id, msg, update_id=update_id)
        except TicketClosed:
            return "the ticket is closed"
        except RuleViolation as exc:
            if exc.kind in RETRYABLE:
                raise  # the engine or the ticket could not answer: Temporal retries the batch
            return exc.message
        return None

    @activity.defn(name=ids.RECORD_BULK_PROGRESS)
    async def record_bulk_progress(self, progress: BulkProgress) -> None:
        """Write the job's progress row (idempotent: it sets absolute numbers)."""
        finished = progress.status != "running"
        async with self._engine.begin() as conn:
            await conn.execute(
                update(_jobs)
                .where(_jobs.c.id == progress.job_id)
                .values(
                    status=progress.status,
                    done=progress.done,
                    succeeded=progress.succeeded,
                    failures=[f.model_dump() for f in progress.failures],
                    finished_at=datetime.now(UTC) if finished else None,
                )
            )

    @activity.defn(name=ids.LOAD_POLICY_SNAPSHOT)
    async def load_policy_snapshot(self, policy_id: int) -> PolicyLookup:
        """Read-only: the policy as tickets keep it, its calendar resolved for today."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(_policies).where(_policies.c.id == policy_id))).first()
            if row is None:
                return PolicyLookup()
            spec = policy_spec(row)
            calendar = await self._sla.calendar(conn, spec.calendar_id, datetime.now(UTC).date())
            if calendar is None:
                return PolicyLookup()
            return PolicyLookup(policy=to_snapshot(spec, row.id, row.version, calendar))
