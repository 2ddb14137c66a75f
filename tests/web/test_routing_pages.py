"""Routing in the web UI: the task list with offers, the availability switch, team load."""

from __future__ import annotations

import uuid

from tests.api.test_sla import wait_for
from tests.factories import Directory, Person, browser_session, csrf_of


def test_an_agent_accepts_and_declines_offers_from_the_task_list(
    directory: Directory, admin: Person, base_url: str
) -> None:
    agent, colleague = directory.person("agent"), directory.person("agent")
    team = admin.api.ok(
        "POST",
        "/groups",
        201,
        json={
            "name": f"Desk {uuid.uuid4().hex[:6]}",
            "member_ids": [agent.id, colleague.id],
            "strategy": "least_loaded",
            "skills": {str(colleague.id): ["vpn"]},
        },
    )["id"]
    colleague.api.ok("PUT", "/me/availability", json={"availability": "offline"})
    customer = directory.person("customer", directory.organisation())
    numbers = [
        agent.api.ok(
            "POST",
            "/tickets",
            201,
            json={"subject": s, "requester_id": customer.id, "group_id": team},
        )["number"]
        for s in ("Keyboard broken", "Monitor flickers")
    ]
    with browser_session(base_url, agent.email) as session:

        def listed() -> str | None:
            text = session.get("/tasks").text
            return text if all(f'data-offer="{n}"' in text for n in numbers) else None

        page = wait_for(listed, message="both offers in the task list")
        assert "Keyboard broken" in page and " min " in page
        accepted = session.post(
            f"/tasks/offers/{numbers[0]}/accept", data={"csrf_token": csrf_of(page)}
        )
        assert (
            accepted.status_code == 303 and accepted.headers["location"] == f"/tickets/{numbers[0]}"
        )
        assert agent.api.ok("GET", f"/tickets/{numbers[0]}")["assignee"]["id"] == agent.id
        declined = session.post(
            f"/tasks/offers/{numbers[1]}/decline",
            data={"csrf_token": csrf_of(page), "reason": "Not my area"},
        )
        assert declined.status_code == 303
        assert f'data-offer="{numbers[1]}"' not in session.get("/tasks").text

        switched = session.post(
            "/tasks/availability",
            data={"csrf_token": csrf_of(page), "availability": "away", "max_open_tickets": "0"},
        )
        assert switched.status_code == 422 and 'aria-invalid="true"' in switched.text
        switched = session.post(
            "/tasks/availability",
            data={"csrf_token": csrf_of(page), "availability": "away", "max_open_tickets": "5"},
        )
        assert switched.status_code == 303
        assert agent.api.ok("GET", "/me/availability") == {
            "availability": "away",
            "max_open_tickets": 5,
        }

        teams = session.get("/teams").text
        section = teams.split(f'data-group="{team}"')[1].split("</section>")[0]
        mine = section.split(f'data-member="{agent.id}"')[1].split("</tr>")[0]
        assert "away" in mine and '<td data-label="Open tickets" class="load">1</td>' in mine
        theirs = section.split(f'data-member="{colleague.id}"')[1].split("</tr>")[0]
        assert "offline" in theirs and "vpn" in theirs


def test_a_manager_reassigns_an_agents_tickets_from_the_teams_page(
    directory: Directory, admin: Person, base_url: str
) -> None:
    leaver, heir = directory.person("agent"), directory.person("agent")
    manager = directory.person("manager")
    customer = directory.person("customer", directory.organisation())
    numbers = [
        leaver.api.ok(
            "POST",
            "/tickets",
            201,
            json={
                "subject": f"Handover {i}",
                "requester_id": customer.id,
                "assignee_id": leaver.id,
            },
        )["number"]
        for i in range(3)
    ]
    with browser_session(base_url, leaver.email) as session:
        page = session.get("/teams").text
        assert 'id="bulk-reassign"' not in page, "agents do not get the form"
    with browser_session(base_url, manager.email) as session:
        page = session.get("/teams").text
        refused = session.post(
            "/teams/reassign",
            data={"csrf_token": csrf_of(page), "from_assignee_id": str(leaver.id)},
        )
        assert refused.status_code == 422 and "say where they go" in refused.text
        started = session.post(
            "/teams/reassign",
            data={
                "csrf_token": csrf_of(page),
                "from_assignee_id": str(leaver.id),
                "assignee_id": str(heir.id),
                "note": "Leaver",
            },
        )
        assert started.status_code == 303 and started.headers["location"].startswith("/admin/jobs/")
        job_page = started.headers["location"]
        wait_for(lambda: "finished" in session.get(job_page).text, message="job page finished")
    for number in numbers:
        assert manager.api.ok("GET", f"/tickets/{number}")["assignee"]["id"] == heir.id
