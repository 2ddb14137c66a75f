"""The one ticket client: how the API, the web UI, mail, bulk jobs and alerts reach a
ticket's workflow (`workflows.ticket.client.TicketClient`).

It opens a ticket by update-with-start under an id derived from the caller's
idempotency key, sends an action as the update its message is for (retrying what the
server says to retry, always under the same update id), and turns whatever the workflow
or the engine answered into one `RuleViolation` the caller maps once. Nothing else
spells the workflow's type or update names.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from workflows import ids
from workflows.ticket.actions import OPEN, action_for
from workflows.ticket.client import Opened, TicketClosed
from workflows.ticket.errors import (
    ENGINE_UNAVAILABLE,
    TIMED_OUT,
    RuleViolation,
    ViolationKind,
    refuse,
)
from workflows.ticket.messages import OpenTicket, TicketInput, TicketState
from workflows.ticket.workflow import TicketWorkflow

QUERY_TIMEOUT = timedelta(seconds=2)
"""A query needs a worker; a page should not hang on one that is busy or down."""


def _not_ready(exc: BaseException) -> bool:
    """The workflow's task failed or raced with its continue-as-new while the update was
    on its way: it was not accepted, and the server says to try again."""
    return (
        isinstance(exc, RPCError)
        and exc.status == RPCStatusCode.FAILED_PRECONDITION
        and b"WorkflowNotReadyFailure" in exc.raw_grpc_status
    )


_KINDS = frozenset(k.value for k in ViolationKind)


def refusal(exc: Exception) -> RuleViolation:
    """What a workflow or the engine answered, as the refusal a caller maps; anything
    else (a bug) is raised as it is."""
    if isinstance(exc, WorkflowUpdateFailedError) and isinstance(exc.cause, ApplicationError):
        cause = exc.cause
        details = cause.details
        field = details[0] if details and isinstance(details[0], str) else None
        # An older worker sends the field only; then the refusal is its English message.
        message_id = details[1] if len(details) > 2 and isinstance(details[1], str) else None
        params = details[2] if message_id is not None and isinstance(details[2], dict) else None
        if cause.type in _KINDS:
            return RuleViolation(
                ViolationKind(cause.type),
                cause.message,
                field,
                message_id=message_id,
                params=params,
            )
    if isinstance(exc, RPCError) and exc.status == RPCStatusCode.NOT_FOUND:
        return TicketClosed()
    if isinstance(exc, WorkflowUpdateRPCTimeoutOrCancelledError):
        return refuse(ViolationKind.TIMEOUT, TIMED_OUT)
    if isinstance(exc, RPCError) and exc.status in (
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.RESOURCE_EXHAUSTED,
    ):
        return refuse(ViolationKind.UNAVAILABLE, ENGINE_UNAVAILABLE)
    raise exc


class TemporalTicketClient:
    """`TicketClient` over a Temporal client (one per process; it holds no state)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def open(self, msg: OpenTicket, *, caller: str, key: str | None) -> Opened:
        workflow_id = ids.ticket_workflow_id(caller, key)
        operation: WithStartWorkflowOperation[Any, Any] = WithStartWorkflowOperation(
            TicketWorkflow.run,
            TicketInput.opening(msg),
            id=workflow_id,
            task_queue=ids.TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            # A closed ticket keeps its key: a late retry gets that ticket back. Only a run
            # that failed outright may be replaced by a new attempt.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
        try:
            state: TicketState = await self._client.execute_update_with_start_workflow(
                OPEN,
                msg,
                start_workflow_operation=operation,
                id=ids.OPEN_UPDATE_ID,
                result_type=TicketState,
            )
        except WorkflowAlreadyStartedError:
            return Opened(workflow_id, None)  # the ticket of this key exists and has ended
        except RPCError as exc:
            if exc.status == RPCStatusCode.ALREADY_EXISTS:
                return Opened(workflow_id, None)
            raise refusal(exc) from exc
        except WorkflowUpdateFailedError as exc:
            raise refusal(exc) from exc
        return Opened(workflow_id, state)

    async def act(self, workflow_id: str, msg: BaseModel, *, update_id: str) -> TicketState:
        handle = self._client.get_workflow_handle(workflow_id)
        name = action_for(msg).name
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(_not_ready),
                wait=wait_exponential(multiplier=0.05, max=1),
                stop=stop_after_attempt(6),
                reraise=True,
            ):
                with attempt:
                    state: TicketState = await handle.execute_update(
                        name, msg, id=update_id, result_type=TicketState
                    )
        except (
            WorkflowUpdateFailedError,
            WorkflowUpdateRPCTimeoutOrCancelledError,
            RPCError,
        ) as exc:
            raise refusal(exc) from exc
        return state

    async def applied(self, workflow_id: str, update_id: str) -> bool:
        # Read from the history, which outlives the run: the only way to know of an update
        # once its workflow has ended. Asked only then (a retry after a close), so rarely.
        async for event in self._client.get_workflow_handle(workflow_id).fetch_history_events():
            completed = event.workflow_execution_update_completed_event_attributes
            if completed.meta.update_id == update_id and completed.outcome.HasField("success"):
                return True
        return False

    async def current(self, workflow_id: str) -> TicketState | None:
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            state: TicketState = await handle.query(
                TicketWorkflow.current, rpc_timeout=QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError, TimeoutError):
            return None
        return state
