"""A workflow declared like `TicketWorkflow` (`sandboxed=False`) that says whether it
runs in the sandbox; in a module of its own so the sandbox can import it."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(sandboxed=False)
class WhereAmI:
    @workflow.run
    async def run(self) -> bool:
        return workflow.unsafe.in_sandbox()
