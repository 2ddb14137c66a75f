"""The projection's fields are declared once: the table, the row and the API's ticket agree."""

from __future__ import annotations

from datetime import UTC, datetime

from api.schemas import TicketPublic
from models import Ticket
from workflows.ticket.lifecycle import apply_open
from workflows.ticket.messages import Actor, DeskConfig, OpenTicket
from workflows.ticket.projection import COLUMNS, row, state_of

KEYS = {"id", "number", "search"}
"""The table's columns the projection does not write: its keys and the search vector."""


def test_the_table_has_exactly_the_projections_columns() -> None:
    assert {c.name for c in Ticket.__table__.columns} - KEYS == set(COLUMNS)


def test_a_row_gives_every_column_and_reads_back_into_the_same_facts() -> None:
    agent = Actor(user_id=1, role="agent")
    state, _ = apply_open(
        "ticket-x",
        OpenTicket(actor=agent, subject="Disk full", requester_id=1, impact=1, urgency=2),
        DeskConfig(),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    values = row(state)
    assert set(values) == set(COLUMNS)
    assert values["status"] == "new" and values["sla_state"] == "none"
    back = state_of(state.id, 1000, values)
    assert back.model_dump(include=set(COLUMNS)) == state.model_dump(include=set(COLUMNS))
    assert back.number == 1000


def test_every_field_the_api_shows_comes_from_the_row_or_is_made_for_the_reader() -> None:
    made = {"number", "workflow_id", "requester", "group", "assignee", "service", "actions"}
    assert set(TicketPublic.model_fields) - made <= set(COLUMNS)
