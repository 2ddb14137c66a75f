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
