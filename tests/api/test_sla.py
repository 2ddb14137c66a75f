"""SLA engine end to end: the real worker runs the clocks, second-scale targets.

Each test makes its own organisation and a policy that matches only its
tickets, on an always-open calendar (business time = wall time), so the
expected due instants follow from the timeline's timestamps exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.factories import Directory, Person

ALWAYS = [[{"start": 0, "end": 1440}]] * 7


def wait_for(what: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, message or "timed out"
        time.sleep(0.2)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class Desk:
    """One test's corner of the desk: an organisation, its people and an SLA policy."""

    directory: Directory
    admin: Person
    agent: Person
    lead: Person
    customer: Person
    org: int
    group: int
    calendar: int

    def policy(self, **fields: Any) -> dict[str, Any]:
        body = {
            "name": f"Policy {time.monotonic_ns()}",
            "calendar_id": self.calendar,
            "conditions": {"organisation_ids": [self.org]},
            **fields,
        }
        return self.admin.api.ok("POST", "/sla-policies", 201, json=body)

    def open(self, subject: str = "Mail is down", **fields: Any) -> dict[str, Any]:
        return self.customer.api.open_ticket(subject, **fields)

    def timeline(self, number: int) -> list[dict[str, Any]]:
        return self.agent.api.ok("GET", f"/tickets/{number}/timeline")

    def events(self, number: int, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.timeline(number) if e["kind"] == kind]

    def clock(self, number: int, name: str) -> dict[str, Any]:
        ticket = self.agent.api.ok("GET", f"/tickets/{number}")
        return next(c for c in ticket["sla_clocks"] if c["name"] == name)


@pytest.fixture
def desk(directory: Directory) -> Desk:
    admin = directory.person("admin")
    agent, lead = directory.person("agent"), directory.person("agent")
    org = directory.organisation()
    group = admin.api.ok(
        "POST",
        "/groups",
        201,
        json={"name": f"Team {time.monotonic_ns()}", "member_ids": [agent.id], "lead_id": lead.id},
    )["id"]
    calendar = calendar_24x7(admin)
    return Desk(
        directory, admin, agent, lead, directory.person("customer", org), org, group, calendar
    )


def calendar_24x7(admin: Person) -> int:
    calendar_id: int = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={"name": f"24x7 {time.monotonic_ns()}", "timezone": "UTC", "week": ALWAYS},
    )["id"]
    return calendar_id


def org_policy(admin: Person, org: int, **fields: Any) -> dict[str, Any]:
    """An SLA policy for one organisation's tickets (the database is shared with other
    tests) on a 24x7 calendar of its own."""
    calendar = calendar_24x7(admin)
    body = {
        "name": f"Policy {time.monotonic_ns()}",
        "calendar_id": calendar,
        "conditions": {"organisation_ids": [org]},
        **fields,
    }
    return admin.api.ok("POST", "/sla-policies", 201, json=body)


def targets(**seconds: float) -> dict[str, dict[str, float]]:
    """The same targets for every priority."""
    return {str(p): dict(seconds) for p in range(1, 6)}


def test_a_warning_fires_once_and_the_breach_runs_its_escalation(desk: Desk) -> None:
    escalation_group = desk.directory.group(members=[desk.directory.person("agent")])
    desk.policy(
        targets=targets(resolution=4),
        warnings=[50],
        escalations=[
            {
                "after": 0,
                "actions": [
                    {"kind": "notify_managers"},
                    {"kind": "raise_priority"},
                    {"kind": "reassign", "group_id": escalation_group},
                ],
            }
        ],
    )
    manager = desk.directory.person("manager")
    ticket = desk.open()
    number = ticket["number"]
    assert ticket["sla_state"] == "running" and ticket["priority"] == 5
    desk.agent.api.ok(
        "POST",
        f"/tickets/{number}/assign",
        json={"group_id": desk.group, "assignee_id": desk.agent.id},
    )

    warning = wait_for(lambda: desk.events(number, "sla_warning"), 15, "no warning")
    assert warning[0]["data"]["percent"] == 50
    opened = at(desk.timeline(number)[0]["at"])
    assert at(warning[0]["data"]["at"]) == opened + timedelta(seconds=2)
    assert desk.agent.api.ok("GET", f"/tickets/{number}")["sla_state"] == "at_risk"

    wait_for(lambda: desk.events(number, "sla_escalated"), 15, "the breach did not escalate")
    time.sleep(1.5)  # nothing fires twice, however long we wait
    timeline = desk.timeline(number)
    kinds = [e["kind"] for e in timeline]
    assert kinds.count("sla_warning") == 1
    assert kinds.count("sla_breached") == 1
    assert kinds.count("sla_escalated") == 1
    breach = next(e for e in timeline if e["kind"] == "sla_breached")
    assert at(breach["data"]["at"]) == opened + timedelta(seconds=4)
    assert breach["data"]["late_seconds"] < 2, "the breach fired well after its due instant"

    # The escalation's actions went through the same rules as an agent's change.
    after = desk.agent.api.ok("GET", f"/tickets/{number}")
    assert after["priority"] == 4
    assert after["group"]["id"] == escalation_group and after["assignee"] is None
    assert after["sla_state"] == "breached"
    raised = next(e for e in timeline if e["kind"] == "priority_raised")
    assert raised["data"]["priority"] == {"from": 5, "to": 4}
    assert "SLA escalation level 1" in raised["data"]["reason"]

    # Notified: the assignee of the warning and the breach, the group lead of the
    # breach, the managers of the escalation — each once.
    def kinds_of(person: Person) -> list[str]:
        return sorted(n["kind"] for n in person.api.ok("GET", "/notifications"))

    assert kinds_of(desk.agent) == ["sla_breached", "sla_warning"]
    assert kinds_of(desk.lead) == ["sla_breached"]
    assert "sla_escalated" in kinds_of(manager)
    mine = desk.agent.api.ok("GET", "/notifications")
    assert all(n["ticket_number"] == number for n in mine)
    assert desk.agent.api.ok("POST", "/notifications/read", json={})["marked"] == 2
    assert desk.agent.api.ok("GET", "/notifications?unread=true") == []


def test_pending_stops_the_clock_and_resuming_moves_the_due_instant_by_the_pause(
    desk: Desk,
) -> None:
    desk.policy(targets=targets(resolution=600, first_response=300))
    number = desk.open()["number"]
    due = at(desk.clock(number, "resolution")["due_at"])
    desk.agent.api.ok("POST", f"/tickets/{number}/pend", json={"reason": "Waiting for logs"})
    paused = desk.clock(number, "resolution")
    assert paused["state"] == "paused" and paused["due_at"] is None
    assert desk.agent.api.ok("GET", f"/tickets/{number}")["sla_state"] == "paused"
    time.sleep(1.2)
    desk.agent.api.ok("POST", f"/tickets/{number}/resume", json={})

    pended = at(desk.events(number, "pended")[0]["at"])
    resumed = at(desk.events(number, "resumed")[0]["at"])
    clock = desk.clock(number, "resolution")
    assert at(clock["due_at"]) - due == resumed - pended
    assert clock["paused_seconds"] == (resumed - pended).total_seconds()
    first = desk.clock(number, "first_response")
    assert at(first["due_at"]) - (at(desk.timeline(number)[0]["at"]) + timedelta(seconds=300)) == (
        resumed - pended
    )


def test_a_priority_change_keeps_the_elapsed_business_time(desk: Desk) -> None:
    desk.policy(
        targets={"5": {"resolution": 900}, "1": {"resolution": 120}, "2": {"resolution": 300}}
    )
    number = desk.open()["number"]
    opened = at(desk.timeline(number)[0]["at"])
    assert at(desk.clock(number, "resolution")["due_at"]) == opened + timedelta(seconds=900)
    time.sleep(1)
    desk.agent.api.ok("POST", f"/tickets/{number}/classify", json={"impact": 1, "urgency": 1})

    classified = at(desk.events(number, "classified")[0]["at"])
    clock = desk.clock(number, "resolution")
    assert clock["target_seconds"] == 120
    # The second already spent counts against the new, shorter target.
    assert at(clock["due_at"]) == opened + timedelta(seconds=120)
    assert clock["elapsed_seconds"] == (classified - opened).total_seconds()


@pytest.mark.parametrize("rule", ["continue", "restart"])
def test_reopen_follows_the_policy(desk: Desk, rule: str) -> None:
    desk.policy(targets=targets(resolution=600), on_reopen=rule)
    number = desk.open()["number"]
    due = at(desk.clock(number, "resolution")["due_at"])
    desk.agent.api.ok("POST", f"/tickets/{number}/resolve", json={"resolution_code": "solved"})
    assert desk.clock(number, "resolution")["state"] == "met"
    time.sleep(1)
    desk.customer.api.ok("POST", f"/tickets/{number}/reopen", json={"reason": "Still broken"})

    resolved = at(desk.events(number, "resolved")[0]["at"])
    reopened = at(desk.events(number, "reopened")[0]["at"])
    clock = desk.clock(number, "resolution")
    assert clock["state"] == "running"
    if rule == "continue":
        assert at(clock["due_at"]) == due + (reopened - resolved)
    else:
        assert at(clock["due_at"]) == reopened + timedelta(seconds=600)
        assert clock["elapsed_seconds"] == 0


def test_next_update_starts_when_the_customer_writes(desk: Desk) -> None:
    desk.policy(targets=targets(first_response=300, next_update=120, resolution=3600))
    number = desk.open()["number"]
    desk.agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Looking into it"})
    assert desk.clock(number, "first_response")["state"] == "met"
    desk.customer.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Any news?"})
    written = at(desk.events(number, "replied")[-1]["at"])
    clock = desk.clock(number, "next_update")
    assert clock["state"] == "running"
    assert at(clock["due_at"]) == written + timedelta(seconds=120)
    desk.agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Fixed soon"})
    assert desk.clock(number, "next_update")["state"] == "met"


def test_queue_sorts_by_due_soonest_and_filters_by_sla_state(desk: Desk) -> None:
    desk.policy(targets={**targets(resolution=3600), "1": {"resolution": 600}})
    tag = f"sla{time.monotonic_ns()}"
    later = desk.open(f"Later {tag}")["number"]
    sooner = desk.open(f"Sooner {tag}")["number"]
    paused = desk.open(f"Paused {tag}")["number"]
    desk.agent.api.ok("POST", f"/tickets/{sooner}/classify", json={"impact": 1, "urgency": 1})
    desk.agent.api.ok("POST", f"/tickets/{paused}/pend", json={"reason": "waiting"})

    page = desk.agent.api.ok("GET", f"/tickets?sort=sla_due_at&q={tag}")
    assert [t["number"] for t in page["items"]] == [sooner, later, paused], (
        "due soonest first; a paused ticket has no due instant and sorts last"
    )
    # Keyset pagination over the same order, one ticket a page.
    seen, cursor = [], None
    while True:
        query = f"/tickets?sort=sla_due_at&q={tag}&limit=1" + (
            f"&cursor={cursor}" if cursor else ""
        )
        page = desk.agent.api.ok("GET", query)
        seen += [t["number"] for t in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [sooner, later, paused]
    running = desk.agent.api.ok("GET", f"/tickets?sla=running&q={tag}")["items"]
    assert sorted(t["number"] for t in running) == sorted([sooner, later])
    waiting = desk.agent.api.ok("GET", f"/tickets?sla=paused&q={tag}")["items"]
    assert [t["number"] for t in waiting] == [paused]


def test_a_changed_policy_applied_in_bulk_updates_the_open_tickets(
    desk: Desk, temporal_client: Any
) -> None:
    policy = desk.policy(targets=targets(resolution=3600))
    numbers = [desk.open(f"Bulk {i}")["number"] for i in range(3)]
    desk.agent.api.ok("POST", f"/tickets/{numbers[2]}/pend", json={"reason": "on hold"})
    gone = desk.open("Its workflow is gone")["number"]
    done = desk.open("Resolved already")["number"]
    desk.agent.api.ok("POST", f"/tickets/{done}/resolve", json={"resolution_code": "solved"})

    changed = {**policy, "targets": targets(resolution=7200)}
    for key in ("id", "position", "version", "updated_at", "open_tickets", "outdated_tickets"):
        changed.pop(key)
    updated = desk.admin.api.ok("PUT", f"/sla-policies/{policy['id']}", json=changed)
    assert updated["version"] == 2 and updated["outdated_tickets"] == 4
    # A ticket whose workflow was terminated behind the desk's back refuses.
    workflow_id = desk.agent.api.ok("GET", f"/tickets/{gone}")["workflow_id"]
    import asyncio

    asyncio.run(_terminate(temporal_client.service_client.config.target_host, workflow_id))

    job = desk.admin.api.ok("POST", f"/sla-policies/{policy['id']}/apply", 202)
    assert job["total"] == 4
    job = wait_for(
        lambda: (
            (j := desk.admin.api.ok("GET", f"/bulk-jobs/{job['id']}"))["status"] != "running" and j
        ),
        30,
    )
    assert job["status"] == "finished" and job["done"] == 4 and job["succeeded"] == 3
    assert job["failures"] == [{"number": gone, "reason": "the ticket is closed"}]
    for number in numbers:
        clock = desk.clock(number, "resolution")
        assert clock["target_seconds"] == 7200
        events = desk.events(number, "sla_policy_applied")
        assert events and events[0]["data"]["sla_policy"]["to"]["version"] == 2
    opened = at(desk.timeline(numbers[0])[0]["at"])
    assert at(desk.clock(numbers[0], "resolution")["due_at"]) == opened + timedelta(hours=2)
    assert desk.clock(numbers[2], "resolution")["state"] == "paused"
    assert desk.admin.api.ok("GET", f"/sla-policies/{policy['id']}")["outdated_tickets"] == 1


async def _terminate(target: str, workflow_id: str) -> None:
    from api.temporal import connect

    client = await connect(target, "default")
    await client.get_workflow_handle(workflow_id).terminate(reason="test: a lost ticket")
