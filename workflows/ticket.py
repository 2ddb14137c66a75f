"""`TicketWorkflow`: one workflow per ticket, the only writer of its state.

A shell of five members around `workflows.ticket_run.TicketRun`, which does
everything (its docstring tells how a change is validated, applied and
persisted). The sandbox imports this module anew for every new ticket and the
SDK inspects each member of a workflow class on that import, so the module holds
as little as it can: importing the whole ticket for every new one cost a third
of the worker's CPU per created ticket (docs/benchmarks.md). The deployed worker
passes `workflows.ticket_run` through (`tempodesk.worker.workflow_runner`).
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue

# Passed through by the deployed worker's sandbox, re-imported by the tests' strict one.
from workflows.ticket_run import TicketRun

with workflow.unsafe.imports_passed_through():
    from workflows.ticket_model import TicketInput, TicketState


@workflow.defn
class TicketWorkflow:
    """The ticket's workflow. Every change is an update named in
    `workflows.ticket_model.ACTIONS`, handled by one dynamic handler. The names and
    messages are the same as when each had its own handler, so recorded histories
    replay unchanged."""

    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        self._ticket = TicketRun(inp)

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketState:
        return await self._ticket.run(inp)

    @workflow.query
    def current(self) -> TicketState:
        """The live state of the ticket."""
        return self._ticket.current()

    @workflow.update(dynamic=True)
    async def act(self, name: str, args: Sequence[RawValue]) -> TicketState:
        return await self._ticket.act(name, args)

    @act.validator
    def _validate_act(self, name: str, args: Sequence[RawValue]) -> None:
        self._ticket.validate(name, args)
