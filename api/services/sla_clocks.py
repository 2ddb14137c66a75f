"""A ticket's SLA clocks as they stand now, asked of its workflow.

The projection holds the clocks as of the ticket's last change: enough for
lists and reports. A detail page may ask the workflow instead (its `current`
query), which gives the business time elapsed and remaining at this instant.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from api.schemas import SlaClockPublic, TicketPublic
from workflows.sla import CLOCK_LABELS, ClockName, clock_report
from workflows.ticket import TicketWorkflow

QUERY_TIMEOUT = timedelta(seconds=2)
"""A query needs a worker; a page should not hang on one that is busy or down."""


async def live_clocks(client: Client, ticket: TicketPublic) -> list[SlaClockPublic] | None:
    """The clocks now, or None when the workflow does not answer in time.

    None means "use the projection" (`ticket.sla_clocks`); it is never an error
    a person needs to see. The caller has already checked that they may see
    the ticket.
    """
    handle = client.get_workflow_handle(ticket.workflow_id)
    try:
        state = await handle.query(TicketWorkflow.current, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError, TimeoutError):
        return None
    if state.sla is None:
        return []
    report = clock_report(state.sla, datetime.now(UTC))
    return [
        SlaClockPublic(name=name, label=CLOCK_LABELS[ClockName(name)], **report[name])
        for name in (c.value for c in ClockName)
        if name in report
    ]
