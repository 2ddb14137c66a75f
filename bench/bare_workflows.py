"""Trivial workflows for baseline (b) of bench_tickets.py (see bare_worker.py).

Run outside the sandbox, as `TicketWorkflow` is (`workflows.ticket`): the
baseline is the engine doing what a ticket's workflow does, minus the ticket.
"""

from __future__ import annotations

from temporalio import workflow

TASK_QUEUE = "tempodesk-bench-bare"


@workflow.defn(sandboxed=False)
class BenchBareWorkflow:
    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self._done)
        return name

    @workflow.update
    async def hello(self, name: str) -> str:
        return name

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@workflow.defn(sandboxed=False)
class BenchOneShotWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return name
