"""`BulkWorkflow`: one action sent to many tickets, with progress and a report of refusals.

Each ticket is changed through its own workflow's update, exactly as a person's
change would be, so every rule still applies and a refusal comes back with its
reason. Update ids are derived from the job and the ticket: a retried batch
never applies a change twice.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.ids import APPLY_BULK_BATCH, LOAD_POLICY_SNAPSHOT, RECORD_BULK_PROGRESS
    from workflows.sla import SlaPolicy
    from workflows.ticket.messages import Actor

BATCH = 25
"""Tickets per activity: small enough that progress moves often."""


class BulkKind(StrEnum):
    APPLY_SLA_POLICY = "apply_sla_policy"
    REASSIGN = "reassign"


class BulkAction(BaseModel):
    kind: BulkKind
    actor: Actor
    policy_id: int | None = None
    group_id: int | None = None
    """reassign: the group every ticket goes to."""
    assignee_id: int | None = None
    """reassign: the agent every ticket goes to (None: the group's queue)."""
    note: str = ""


class BulkTarget(BaseModel):
    workflow_id: str
    number: int


class BulkFailure(BaseModel):
    number: int
    reason: str


class BulkProgress(BaseModel):
    job_id: str
    total: int
    done: int = 0
    succeeded: int = 0
    failures: list[BulkFailure] = Field(default_factory=list)
    status: str = "running"


class BulkInput(BaseModel):
    job_id: str
    action: BulkAction
    targets: list[BulkTarget]
    """What is left to do (a continued run carries only the rest)."""
    progress: BulkProgress | None = None
    policy: SlaPolicy | None = None


class BulkBatch(BaseModel):
    job_id: str
    action: BulkAction
    targets: list[BulkTarget]
    policy: SlaPolicy | None = None


class BulkBatchResult(BaseModel):
    succeeded: int = 0
    failures: list[BulkFailure] = Field(default_factory=list)


class PolicyLookup(BaseModel):
    policy: SlaPolicy | None = None


_TIMEOUT = timedelta(minutes=5)
_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


@workflow.defn
class BulkWorkflow:
    @workflow.init
    def __init__(self, inp: BulkInput) -> None:
        self._progress = inp.progress or BulkProgress(job_id=inp.job_id, total=len(inp.targets))

    @workflow.run
    async def run(self, inp: BulkInput) -> BulkProgress:
        policy = inp.policy
        if inp.action.kind == BulkKind.APPLY_SLA_POLICY and policy is None:
            lookup: PolicyLookup = await workflow.execute_activity(
                LOAD_POLICY_SNAPSHOT,
                inp.action.policy_id,
                result_type=PolicyLookup,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=_RETRY,
            )
            if lookup.policy is None:
                return await self._finish("failed", "the SLA policy no longer exists")
            policy = lookup.policy
        remaining = list(inp.targets)
        while remaining:
            batch, remaining = remaining[:BATCH], remaining[BATCH:]
            result: BulkBatchResult = await workflow.execute_activity(
                APPLY_BULK_BATCH,
                BulkBatch(job_id=inp.job_id, action=inp.action, targets=batch, policy=policy),
                result_type=BulkBatchResult,
                start_to_close_timeout=_TIMEOUT,
                retry_policy=_RETRY,
            )
            progress = self._progress
            progress.done += len(batch)
            progress.succeeded += result.succeeded
            progress.failures += result.failures
            await self._record()
            if remaining and workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    BulkInput(
                        job_id=inp.job_id,
                        action=inp.action,
                        targets=remaining,
                        progress=self._progress,
                        policy=policy,
                    )
                )
        return await self._finish("finished")

    @workflow.query
    def progress(self) -> BulkProgress:
        return self._progress

    async def _finish(self, status: str, reason: str | None = None) -> BulkProgress:
        self._progress.status = status
        if reason is not None:
            self._progress.failures.append(BulkFailure(number=0, reason=reason))
        await self._record()
        return self._progress

    async def _record(self) -> None:
        await workflow.execute_activity(
            RECORD_BULK_PROGRESS,
            self._progress,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
