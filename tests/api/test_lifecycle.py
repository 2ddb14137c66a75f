"""The whole ticket lifecycle through the API, with the real worker and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Directory, Person


def timeline(person: Person, number: int) -> list[dict[str, Any]]:
    return person.api.ok("GET", f"/tickets/{number}/timeline")


def test_agent_works_a_ticket_from_open_to_resolved(
    directory: Directory, agent: Person, customer: Person
) -> None:
    group = directory.group(members=[agent])
    ticket = customer.api.open_ticket(
        "VPN drops every few minutes", description="Since this morning", type="incident"
    )
    number = ticket["number"]
    assert ticket["status"] == "new"
    assert ticket["requester"]["id"] == customer.id
    assert ticket["organisation_id"] == customer.organisation_id
    assert ticket["channel"] == "api"
    assert ticket["priority"] == 5  # impact 3 × urgency 3 in the default matrix

    api = agent.api
    t = api.ok("POST", f"/tickets/{number}/comments", json={"body": "Looking into it"})
    assert t["status"] == "open" and t["first_response_at"] is not None
    api.ok(
        "POST", f"/tickets/{number}/comments", json={"body": "Router firmware?", "public": False}
    )
    t = api.ok("POST", f"/tickets/{number}/classify", json={"impact": 1, "urgency": 2})
    assert (t["impact"], t["urgency"], t["priority"]) == (1, 2, 2)
    t = api.ok(
        "POST", f"/tickets/{number}/assign", json={"group_id": group, "assignee_id": agent.id}
    )
    assert t["group"]["id"] == group and t["assignee"]["name"] == agent.name
    t = api.ok("POST", f"/tickets/{number}/pend", json={"reason": "Waiting for logs"})
    assert t["status"] == "pending" and t["pending_reason"] == "Waiting for logs"
    assert "resume" in t["actions"] and "pend" not in t["actions"]
    t = api.ok("POST", f"/tickets/{number}/resume", json={})
    assert t["status"] == "open" and t["pending_reason"] is None
    t = api.ok(
        "POST",
        f"/tickets/{number}/resolve",
        json={"resolution_code": "workaround", "note": "Reverted firmware"},
    )
    assert t["status"] == "resolved"
    assert t["resolution_code"] == "workaround"
    assert t["reopen_until"] is not None
    assert t["actions"] == ["add_note", "reopen", "close", "attach"]

    events = timeline(agent, number)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["kind"] for e in events] == [
        "opened",
        "replied",
        "note_added",
        "classified",
        "assigned",
        "pended",
        "resumed",
        "resolved",
    ]
    assert events[0]["actor"]["id"] == customer.id
    assert all(e["actor"]["id"] == agent.id for e in events[1:])
    assert events[3]["data"]["priority"] == {"from": 5, "to": 2}
    assert events[-1]["data"]["status"] == {"from": "open", "to": "resolved"}

    # The customer sees the public conversation, never the internal note.
    customer_view = timeline(customer, number)
    assert "note_added" not in [e["kind"] for e in customer_view]
    comments = customer.api.ok("GET", f"/tickets/{number}/comments")
    assert [c["body"] for c in comments] == ["Looking into it"]


def test_customer_reply_resumes_a_pending_ticket(agent: Person, customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    agent.api.ok("POST", f"/tickets/{number}/pend", json={"reason": "Need the serial number"})
    t = customer.api.ok("POST", f"/tickets/{number}/comments", json={"body": "It is SN-4711"})
    assert t["status"] == "open"


def test_priority_follows_the_configured_matrix(admin: Person, agent: Person) -> None:
    """The worker keeps the desk's configuration between tickets: the first ticket after
    a change, and after the change is undone, sees it."""
    original = admin.api.ok("GET", "/settings")
    before = agent.api.open_ticket(impact=3, urgency=3)["priority"]
    matrix = [[1, 1, 2], [2, 3, 4], [3, 4, 4]]
    assert before != 4, "the test needs a matrix that gives another priority"
    try:
        admin.api.ok("PUT", "/settings", json={**original, "priority_matrix": matrix})
        t = agent.api.open_ticket(impact=3, urgency=3)
        assert t["priority"] == 4
        t = agent.api.ok(
            "POST", f"/tickets/{t['number']}/classify", json={"impact": 1, "urgency": 2}
        )
        assert t["priority"] == 1
    finally:
        admin.api.ok("PUT", "/settings", json=original)
    assert agent.api.open_ticket(impact=3, urgency=3)["priority"] == before


def test_matrix_with_a_bad_priority_is_rejected(admin: Person) -> None:
    original = admin.api.ok("GET", "/settings")
    r = admin.api.put(
        "/settings", json={**original, "priority_matrix": [[1, 2, 9], [2, 3, 4], [3, 4, 5]]}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "priority_matrix"
    assert "impact 1 urgency 3" in r.json()["detail"]
    assert admin.api.ok("GET", "/settings") == original


def test_agents_cannot_change_desk_settings(agent: Person) -> None:
    original = agent.api.ok("GET", "/settings")
    assert agent.api.put("/settings", json=original).status_code == 403


@pytest.mark.parametrize(
    ("setup", "action", "body"),
    [
        ([], "resume", {}),
        ([], "reopen", {}),
        ([], "close", {}),
        ([("pend", {"reason": "x"})], "pend", {"reason": "again"}),
        ([("resolve", {"resolution_code": "solved"})], "resolve", {"resolution_code": "solved"}),
        ([("resolve", {"resolution_code": "solved"})], "comments", {"body": "late"}),
        ([("resolve", {"resolution_code": "solved"})], "pend", {"reason": "x"}),
        (
            [("resolve", {"resolution_code": "solved"})],
            "assign",
            {"assignee_id": None, "group_id": None, "note": "x"},
        ),
        ([("resolve", {"resolution_code": "solved"})], "classify", {"impact": 1, "urgency": 1}),
    ],
)
def test_illegal_transition_is_409_and_writes_nothing(
    directory: Directory,
    agent: Person,
    setup: list[tuple[str, dict[str, Any]]],
    action: str,
    body: dict[str, Any],
) -> None:
    number = agent.api.open_ticket()["number"]
    for step, step_body in setup:
        agent.api.ok("POST", f"/tickets/{number}/{step}", json=step_body)
    before = agent.api.ok("GET", f"/tickets/{number}")
    events_before = timeline(agent, number)

    r = agent.api.post(f"/tickets/{number}/{action}", json=body)

    assert r.status_code == 409, r.text
    assert r.json()["code"] == "illegal_state"
    assert f"#{number}" in r.json()["detail"] and "allowed when" in r.json()["detail"]
    assert agent.api.ok("GET", f"/tickets/{number}") == before
    assert timeline(agent, number) == events_before


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("comments", {"body": ""}, "body"),
        ("comments", {"body": "   "}, "body"),
        ("classify", {"impact": 4, "urgency": 1}, "impact"),
        ("classify", {"impact": 3, "urgency": 3}, "impact"),
        ("pend", {"reason": ""}, "reason"),
        ("resolve", {"resolution_code": "magic"}, "resolution_code"),
        ("assign", {"assignee_id": 999999999}, "assignee_id"),
        ("assign", {"group_id": 999999999}, "group_id"),
        ("assign", {"group_id": None, "assignee_id": None}, "assignee_id"),
        ("comments", {"body": "x", "colour": "red"}, "colour"),
    ],
)
def test_bad_field_is_422_naming_it_and_writes_nothing(
    agent: Person, action: str, body: dict[str, Any], field: str
) -> None:
    number = agent.api.open_ticket()["number"]
    events_before = timeline(agent, number)
    r = agent.api.post(f"/tickets/{number}/{action}", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert field in r.json()["detail"]
    assert timeline(agent, number) == events_before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "ok", "impact": 0}, "impact"),
        ({"subject": "ok", "type": "problem"}, "type"),
        ({"subject": "ok", "requester_id": 999999999}, "requester_id"),
    ],
)
def test_create_with_a_bad_field_is_422(agent: Person, body: dict[str, Any], field: str) -> None:
    r = agent.api.post("/tickets", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_customer_cannot_use_staff_actions(customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    for action, body in [
        ("comments", {"body": "secret", "public": False}),
        ("pend", {"reason": "x"}),
        ("resolve", {"resolution_code": "solved"}),
        ("classify", {"impact": 1, "urgency": 1}),
    ]:
        r = customer.api.post(f"/tickets/{number}/{action}", json=body)
        assert r.status_code == 403, (action, r.text)
    assert [e["kind"] for e in timeline(customer, number)] == ["opened"]


def test_customer_cannot_set_staff_fields_on_create(customer: Person, agent: Person) -> None:
    r = customer.api.post("/tickets", json={"subject": "x", "assignee_id": agent.id})
    assert r.status_code == 403 and r.json()["field"] == "assignee_id"
