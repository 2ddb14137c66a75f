"""Refusals are catalogue message ids with parameters whose English is the text the API
always answered; every action has its own whole sentences."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflows.choices import Role, Status
from workflows.ticket.actions import ACTIONS
from workflows.ticket.errors import RuleViolation, ViolationKind
from workflows.ticket.messages import Actor, TicketState
from workflows.ticket.rules import REFUSED, permit

NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)


def test_every_action_has_its_own_refusals() -> None:
    labels = {action.permission.label for action in ACTIONS.values()}
    assert labels <= REFUSED.keys(), sorted(labels - REFUSED.keys())


def test_a_refusal_in_a_wrong_status_carries_its_id_and_parameters() -> None:
    state = TicketState(id="ticket-x", number=41, status=Status.CLOSED)
    with pytest.raises(RuleViolation) as refused:
        permit(state, ACTIONS["resolve"].permission, Actor(user_id=1, role=Role.AGENT), NOW)
    exc = refused.value
    assert exc.kind == ViolationKind.ILLEGAL_STATE
    assert (
        exc.message
        == "cannot resolve ticket #41 while it is closed; allowed when new, open, pending"
    )
    assert exc.message_id == REFUSED["resolve"][0]
    assert exc.params == {"number": 41, "status": "closed", "allowed": ["new", "open", "pending"]}
    # What the workflow's ApplicationError carries: the field first, as before.
    assert exc.details() == (None, exc.message_id, exc.params)


def test_a_ticket_not_numbered_yet_is_refused_in_english_as_before() -> None:
    state = TicketState(id="ticket-x", status=Status.CLOSED)
    with pytest.raises(RuleViolation) as refused:
        permit(state, ACTIONS["resolve"].permission, Actor(user_id=1, role=Role.AGENT), NOW)
    assert refused.value.message.startswith("cannot resolve the ticket while it is closed")
    assert refused.value.details() == (None,)
