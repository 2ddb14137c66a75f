"""Resolve, reopen within the window, and the workflow closing the ticket by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.factories import Person


@contextmanager
def reopen_window(admin: Person, seconds: int) -> Iterator[None]:
    original = admin.api.ok("GET", "/settings")
    admin.api.ok("PUT", "/settings", json={**original, "reopen_window_seconds": seconds})
    try:
        yield
    finally:
        admin.api.ok("PUT", "/settings", json=original)


def wait_for(fetch: Any, predicate: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_resolved_ticket_closes_itself_after_the_reopen_window(
    admin: Person, agent: Person, customer: Person
) -> None:
    number = customer.api.open_ticket()["number"]
    with reopen_window(admin, 2):
        resolved = agent.api.ok(
            "POST", f"/tickets/{number}/resolve", json={"resolution_code": "solved"}
        )
    assert resolved["status"] == "resolved"
    assert "reopen" in customer.api.ok("GET", f"/tickets/{number}")["actions"]

    closed = wait_for(
        lambda: customer.api.ok("GET", f"/tickets/{number}"), lambda t: t["status"] == "closed"
    )

    assert closed["status"] == "closed" and closed["closed_at"] is not None
    assert closed["actions"] == []
    last = agent.api.ok("GET", f"/tickets/{number}/timeline")[-1]
    assert last["kind"] == "closed" and last["data"]["automatic"] is True and last["actor"] is None
    r = customer.api.post(f"/tickets/{number}/reopen", json={"reason": "too late"})
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    r = agent.api.post(f"/tickets/{number}/comments", json={"body": "x", "public": False})
    assert r.status_code == 409


def test_customer_reopens_within_the_window(admin: Person, agent: Person, customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    with reopen_window(admin, 3600):
        agent.api.ok("POST", f"/tickets/{number}/resolve", json={"resolution_code": "solved"})
    t = customer.api.ok("POST", f"/tickets/{number}/reopen", json={"reason": "Still broken"})
    assert t["status"] == "open" and t["reopen_count"] == 1 and t["reopen_until"] is None
    assert t["resolution_code"] is None
    events = customer.api.ok("GET", f"/tickets/{number}/timeline")
    assert events[-1]["kind"] == "reopened" and events[-1]["data"]["reason"] == "Still broken"


def test_agent_closes_a_resolved_ticket_early(agent: Person, customer: Person) -> None:
    number = customer.api.open_ticket()["number"]
    agent.api.ok("POST", f"/tickets/{number}/resolve", json={"resolution_code": "duplicate"})
    t = agent.api.ok("POST", f"/tickets/{number}/close", json={})
    assert t["status"] == "closed"
    assert customer.api.post(f"/tickets/{number}/reopen", json={}).status_code == 409


def test_closing_ends_the_workflow(agent: Person, temporal_client: Any) -> None:
    import asyncio

    from temporalio.client import WorkflowExecutionStatus

    ticket = agent.api.open_ticket()
    agent.api.ok("POST", f"/tickets/{ticket['number']}/resolve", json={"resolution_code": "solved"})
    agent.api.ok("POST", f"/tickets/{ticket['number']}/close", json={})

    async def status() -> Any:
        handle = temporal_client.get_workflow_handle(ticket["workflow_id"])
        return (await handle.describe()).status

    loop = asyncio.new_event_loop()
    try:
        deadline = time.monotonic() + 10
        while loop.run_until_complete(status()) != WorkflowExecutionStatus.COMPLETED:
            assert time.monotonic() < deadline, "the workflow did not complete after close"
            time.sleep(0.2)
    finally:
        loop.close()
