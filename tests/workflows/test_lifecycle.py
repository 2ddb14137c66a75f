"""The ticket state machine as plain functions: who may do what in which status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows.choices import Status
from workflows.priority import DEFAULT_MATRIX, matrix_problems, priority_for
from workflows.ticket.actions import authorise, check_open, legal_actions, validate
from workflows.ticket.assignment import apply_assign
from workflows.ticket.errors import RuleViolation, ViolationKind
from workflows.ticket.lifecycle import (
    apply_add_note,
    apply_classify,
    apply_close,
    apply_open,
    apply_pend,
    apply_reopen,
    apply_reply,
    apply_resolve,
    apply_resume,
)
from workflows.ticket.messages import (
    Actor,
    AddNote,
    Assign,
    Classify,
    DeskConfig,
    OpenTicket,
    Pend,
    Reopen,
    Reply,
    Resolve,
    Resume,
    TicketState,
)

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
AGENT = Actor(user_id=1, role="agent")
CUSTOMER = Actor(user_id=2, role="customer", organisation_id=10)
COLLEAGUE = Actor(user_id=3, role="customer", organisation_id=10)
STRANGER = Actor(user_id=4, role="customer", organisation_id=11)
CONFIG = DeskConfig(reopen_window_seconds=3600)


def opened(**changes: object) -> TicketState:
    state, _ = apply_open(
        "ticket-x",
        OpenTicket(actor=CUSTOMER, subject="Broken", requester_id=2, organisation_id=10),
        CONFIG,
        NOW,
    )
    return state.model_copy(update={"number": 1000, **changes})


@pytest.mark.parametrize(
    ("status", "agent_actions", "customer_actions"),
    [
        (
            Status.NEW,
            ["reply", "add_note", "classify", "assign", "pend", "resolve", "attach"],
            ["reply", "attach"],
        ),
        (
            Status.OPEN,
            ["reply", "add_note", "classify", "assign", "pend", "resolve", "attach"],
            ["reply", "attach"],
        ),
        (
            Status.PENDING,
            ["reply", "add_note", "classify", "assign", "resume", "resolve", "attach"],
            ["reply", "attach"],
        ),
        (Status.RESOLVED, ["add_note", "reopen", "close", "attach"], ["reopen"]),
        (Status.CLOSED, [], []),
    ],
)
def test_legal_actions_per_status_and_role(
    status: Status, agent_actions: list[str], customer_actions: list[str]
) -> None:
    state = opened(status=status, reopen_until=NOW + timedelta(hours=1))
    assert legal_actions(state, AGENT, NOW) == agent_actions
    assert legal_actions(state, CUSTOMER, NOW) == customer_actions


def test_organisation_colleague_is_a_party_and_a_stranger_is_not() -> None:
    state = opened()
    authorise(state, "reply", COLLEAGUE, NOW)
    with pytest.raises(RuleViolation) as caught:
        authorise(state, "reply", STRANGER, NOW)
    assert caught.value.kind == ViolationKind.FORBIDDEN


def test_customer_cannot_reopen_after_the_window_but_an_agent_can() -> None:
    state = opened(status=Status.RESOLVED, reopen_until=NOW)
    with pytest.raises(RuleViolation) as caught:
        authorise(state, "reopen", CUSTOMER, NOW)
    assert caught.value.kind == ViolationKind.ILLEGAL_STATE and "window" in caught.value.message
    authorise(state, "reopen", AGENT, NOW)


def test_illegal_state_message_names_the_ticket_and_the_allowed_statuses() -> None:
    with pytest.raises(RuleViolation) as caught:
        authorise(opened(), "resume", AGENT, NOW)
    assert (
        caught.value.message == "cannot resume ticket #1000 while it is new; allowed when pending"
    )


@pytest.mark.parametrize(
    ("msg", "field"),
    [
        (OpenTicket(actor=AGENT, subject="", requester_id=1), "subject"),
        (OpenTicket(actor=AGENT, subject="x" * 201, requester_id=1), "subject"),
        (OpenTicket(actor=AGENT, subject="ok", requester_id=None), "requester_id"),
        (OpenTicket(actor=AGENT, subject="ok", requester_id=1, impact=0), "impact"),
        (OpenTicket(actor=AGENT, subject="ok", requester_id=1, urgency=7), "urgency"),
        (OpenTicket(actor=CUSTOMER, subject="ok", requester_id=99), "requester_id"),
    ],
)
def test_open_rejects_bad_fields(msg: OpenTicket, field: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        check_open(msg)
    assert caught.value.field == field


def test_resolve_needs_a_known_code() -> None:
    with pytest.raises(RuleViolation) as caught:
        validate("resolve", opened(), Resolve(actor=AGENT, resolution_code="fixed-it"), NOW)
    assert caught.value.field == "resolution_code" and "solved" in caught.value.message


def test_classify_recomputes_priority_from_the_matrix() -> None:
    state = opened()
    validate("classify", state, Classify(actor=AGENT, impact=1, urgency=1), NOW)
    new, event = apply_classify(state, Classify(actor=AGENT, impact=1, urgency=1), CONFIG, NOW)
    assert new.priority == 1 and event.data["priority"] == {"from": 5, "to": 1}


def test_default_matrix_is_valid_and_bad_matrices_are_explained() -> None:
    assert matrix_problems(DEFAULT_MATRIX) == []
    assert [priority_for(DEFAULT_MATRIX, i, i) for i in (1, 2, 3)] == [1, 3, 5]
    assert matrix_problems([[1, 2]]) == ["priority_matrix must have 3 rows of 3 priorities"]
    assert matrix_problems([[1, 2, 3], [2, 3, 4], [3, 4, 6]]) == [
        "priority_matrix impact 3 urgency 3: 6 is not one of 1, 2, 3, 4, 5"
    ]


def test_first_agent_reply_is_the_first_response_and_opens_the_ticket() -> None:
    state, event = apply_reply(opened(), Reply(actor=AGENT, body="On it"), NOW)
    assert state.status == Status.OPEN and state.first_response_at == NOW
    assert event.data["status"] == {"from": "new", "to": "open"}
    later, _ = apply_reply(state, Reply(actor=AGENT, body="Again"), NOW + timedelta(hours=1))
    assert later.first_response_at == NOW


def test_resolve_sets_the_reopen_deadline_and_reopen_clears_it() -> None:
    resolved, _ = apply_resolve(
        opened(), Resolve(actor=AGENT, resolution_code="solved"), CONFIG, NOW
    )
    assert resolved.reopen_until == NOW + timedelta(hours=1)
    reopened, _ = apply_reopen(resolved, Reopen(actor=CUSTOMER, reason="no"), NOW)
    assert (
        reopened.status == Status.OPEN
        and reopened.reopen_until is None
        and reopened.reopen_count == 1
    )


# A random walk through the state machine: whatever legal sequence people take,
# every change adds exactly one event, and the ticket's facts stay consistent.
STEPS = {
    "reply": lambda s, a: apply_reply(s, Reply(actor=a, body="hi"), NOW),
    "add_note": lambda s, a: apply_add_note(s, AddNote(actor=a, body="note"), NOW),
    "classify": lambda s, a: apply_classify(
        s, Classify(actor=a, impact=s.impact % 3 + 1, urgency=s.urgency), CONFIG, NOW
    ),
    "assign": lambda s, a: apply_assign(
        s, Assign(actor=a, assignee_id=(s.assignee_id or 0) + 1), NOW
    ),
    "pend": lambda s, a: apply_pend(s, Pend(actor=a, reason="wait"), NOW),
    "resume": lambda s, a: apply_resume(s, Resume(actor=a), NOW),
    "resolve": lambda s, a: apply_resolve(
        s, Resolve(actor=a, resolution_code="solved"), CONFIG, NOW
    ),
    "reopen": lambda s, a: apply_reopen(s, Reopen(actor=a), NOW),
    "close": lambda s, a: apply_close(s, a, NOW, automatic=False),
}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(STEPS)), st.sampled_from([AGENT, CUSTOMER])), max_size=30
    )
)
def test_any_legal_walk_keeps_the_ticket_consistent(walk: list[tuple[str, Actor]]) -> None:
    state = opened()
    seq = state.seq
    for action, actor in walk:
        if action not in legal_actions(state, actor, NOW):
            continue
        state, event = STEPS[action](state, actor)
        seq += 1
        assert event.seq == state.seq == seq
        assert state.priority == priority_for(DEFAULT_MATRIX, state.impact, state.urgency)
        assert (state.status == Status.RESOLVED) == (state.reopen_until is not None)
        assert (state.status == Status.PENDING) == (state.pending_reason is not None)
        if state.status == Status.CLOSED:
            assert legal_actions(state, AGENT, NOW) == []
