"""A ticket's SLA clocks as they stand now, asked of its workflow.

The projection holds the clocks as of the ticket's last change: enough for
lists and reports. A detail page may ask the workflow instead (its `current`
query), which gives the business time elapsed and remaining at this instant.
"""

from __future__ import annotations

from datetime import UTC, datetime

from api.schemas import SlaClockPublic, TicketPublic
from workflows.sla import CLOCK_LABELS, ClockName, clock_report
from workflows.ticket.client import TicketClient


async def live_clocks(tickets: TicketClient, ticket: TicketPublic) -> list[SlaClockPublic] | None:
    """The clocks now, or None when the workflow does not answer in time.

    None means "use the projection" (`ticket.sla_clocks`); it is never an error
    a person needs to see. The caller has already checked that they may see
    the ticket.
    """
    state = await tickets.current(ticket.workflow_id)
    if state is None:
        return None
    if state.sla is None:
        return []
    report = clock_report(state.sla, datetime.now(UTC))
    return [
        SlaClockPublic(name=name, label=CLOCK_LABELS[ClockName(name)], **report[name])
        for name in (c.value for c in ClockName)
        if name in report
    ]
