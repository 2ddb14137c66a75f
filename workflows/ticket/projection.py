"""The ticket's projection: the one function from its state to its row in PostgreSQL.

The projection activity writes `row(state)`; the API answers a change with the same
values, without reading the row back. The row's columns are the state's own fields
but those the workflow keeps to itself, plus the few derived below (the live offer,
the SLA summary): nothing lists the fields by hand.

Plain functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from workflows.sla import ClockName, clock_report, summary
from workflows.ticket.messages import TicketState

WORKFLOW_ONLY = frozenset(
    {
        "id",
        "number",
        "sla",
        "routing",
        "consults",
        "attachment_ids",
        "last_activity_at",
        "idle_level",
        "awaiting_customer",
        "pending_since",
        "customer_reminders",
    }
)
"""State the workflow keeps to itself (`id` and `number` are the row's keys)."""

STORED: tuple[str, ...] = tuple(f for f in TicketState.model_fields if f not in WORKFLOW_ONLY)
"""Fields of the state stored as they are, each in the column of its name."""


def _sla_columns(state: TicketState) -> dict[str, Any]:
    sla = state.sla
    totals = summary(sla)
    # The clocks as of the change: a reader of the row sees them as the change left them.
    as_of = state.updated_at or state.created_at
    return {
        "sla_policy_id": sla.policy.id if sla is not None else None,
        "sla_policy_version": sla.policy.version if sla is not None else None,
        "sla_state": totals.state.value,
        "sla_due_at": totals.due_at,
        "sla_breached": totals.breached,
        "first_response_due_at": totals.dues.get(ClockName.FIRST_RESPONSE),
        "next_update_due_at": totals.dues.get(ClockName.NEXT_UPDATE),
        "resolution_due_at": totals.dues.get(ClockName.RESOLUTION),
        "sla_clocks": (clock_report(sla, as_of) if sla is not None and as_of is not None else None),
    }


def _offer_columns(state: TicketState) -> dict[str, Any]:
    offer = state.routing.offer
    return {
        "offer_agent_id": offer.agent_id if offer is not None else None,
        "offer_expires_at": offer.expires_at if offer is not None else None,
    }


DERIVED: tuple[Callable[[TicketState], dict[str, Any]], ...] = (_offer_columns, _sla_columns)
"""Columns computed from the state: the agent a ticket is offered to now (their task
list; routing counts it as load), and the SLA summary lists sort and filter by."""

DERIVED_COLUMNS: tuple[str, ...] = tuple(
    name for columns in DERIVED for name in columns(TicketState(id=""))
)

COLUMNS: tuple[str, ...] = STORED + DERIVED_COLUMNS
"""Every column `row` gives values for (the table has `id`, `number` and its search
vector besides)."""


def row(state: TicketState) -> dict[str, Any]:
    """The ticket's row as its state says (choice values as their stored strings)."""
    values = {name: _plain(getattr(state, name)) for name in STORED}
    for columns in DERIVED:
        values.update(columns(state))
    return values


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def state_of(ticket_id: str, number: int | None, values: Mapping[str, Any]) -> TicketState:
    """A state built from a stored row: the facts the pure rules read (`legal_actions`);
    what the workflow keeps to itself is not in it."""
    return TicketState.model_validate(
        {"id": ticket_id, "number": number, **{name: values[name] for name in STORED}}
    )
