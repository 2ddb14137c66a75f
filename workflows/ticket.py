"""`TicketWorkflow`: one workflow per ticket, the only writer of its state.

A shell of five members around `workflows.ticket_run.TicketRun`, which does
everything (its docstring tells how a change is validated, applied and
persisted).

Deployed workers run it outside the SDK's sandbox (`sandboxed=False`): the
sandbox imported the workflow's module anew for every new ticket and wrapped
every activation, which cost more of the worker's CPU per created ticket than
anything the ticket itself did (docs/benchmarks.md). Its determinism is checked
where the sandbox can check it: the workflow tests and the replay of the stored
histories run it in the SDK's sandbox as it comes, which re-imports this module
and `ticket_run` for each run and refuses time, randomness and I/O that do not
go through `workflow.*` (`tempodesk.worker.STRICT_RUNNERS`).
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue

from workflows.ticket_run import TicketRun

with workflow.unsafe.imports_passed_through():
    from workflows.ticket_model import TicketInput, TicketState


@workflow.defn(sandboxed=False)
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
