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
            f"/tickets/{numbers[0]}/offer/accept", data={"csrf_token": csrf_of(page)}
        )
        assert (
            accepted.status_code == 303 and accepted.headers["location"] == f"/tickets/{numbers[0]}"
        )
        assert agent.api.ok("GET", f"/tickets/{numbers[0]}")["assignee"]["id"] == agent.id
        declined = session.post(
            f"/tickets/{numbers[1]}/offer/decline",
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
            "calendar_id": None,
        }
        assert '<select name="calendar_id"' in page, "working hours are chosen on the page"

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


def test_consult_from_the_ticket_page_and_answer_from_the_task_list(
    directory: Directory, base_url: str
) -> None:
    asking, expert = directory.person("agent"), directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    number = customer.api.open_ticket("SAP posting fails")["number"]
    with browser_session(base_url, asking.email) as session:
        page = session.get(f"/tickets/{number}").text
        asked = session.post(
            f"/tickets/{number}/consults",
            data={
                "csrf_token": csrf_of(page),
                "colleague_id": str(expert.id),
                "message": "Seen this?",
            },
        )
        assert asked.status_code == 303
        late = session.post(
            f"/tickets/{number}/reminder",
            data={"csrf_token": csrf_of(page), "at": "2020-01-01T09:00+00:00"},
        )
        assert late.status_code == 422 and "in the future" in late.text
        naive = session.post(
            f"/tickets/{number}/reminder",
            data={"csrf_token": csrf_of(page), "at": "2999-01-01T09:00"},
        )
        assert naive.status_code == 422 and "time zone" in naive.text
    with browser_session(base_url, expert.email) as session:
        tasks = session.get("/tasks").text
        assert "<title>My tasks · Tempodesk</title>" in tasks
        assert "Seen this?" in tasks and tasks.count('id="consults"') == 1
        seq = tasks.split(f'data-consult="{number}-')[1].split('"')[0]
        answered = session.post(
            f"/tickets/{number}/consults/{seq}/answer",
            data={"csrf_token": csrf_of(tasks), "body": "Yes, restart the queue"},
        )
        assert answered.status_code == 303
        assert "Seen this?" not in session.get("/tasks").text
    kinds = [e["kind"] for e in asking.api.ok("GET", f"/tickets/{number}/timeline")]
    assert kinds[-2:] == ["consult_asked", "consult_answered"]


def test_an_admin_adds_orders_and_deletes_routing_rules(
    directory: Directory, admin: Person, base_url: str
) -> None:
    org = directory.organisation()
    team = directory.group(f"Network {uuid.uuid4().hex[:6]}")
    with browser_session(base_url, admin.email) as session:
        page = session.get("/admin/routing-rules").text
        refused = session.post(
            "/admin/routing-rules", data={"csrf_token": csrf_of(page), "name": "No group"}
        )
        assert refused.status_code == 422 and 'data-field="group_id"' in refused.text
        ids = []
        for name in ("Wi-Fi", "Org default"):
            made = session.post(
                "/admin/routing-rules",
                data={
                    "csrf_token": csrf_of(page),
                    "name": f"{name} {uuid.uuid4().hex[:4]}",
                    "group_id": str(team),
                    "organisation_ids": str(org),
                    "keywords": "wifi, wlan" if name == "Wi-Fi" else "",
                    "priorities": ["1", "2"] if name == "Wi-Fi" else [],
                },
            )
            assert made.status_code == 303
        rules = admin.api.ok("GET", "/routing-rules")
        ids = [r["id"] for r in rules if r["conditions"]["organisation_ids"] == [org]]
        wifi = next(r for r in rules if r["id"] == ids[0])
        assert wifi["conditions"]["keywords"] == ["wifi", "wlan"]
        assert wifi["conditions"]["priorities"] == [1, 2]
        try:
            listed = session.get("/admin/routing-rules").text
            assert "words “wifi”, “wlan”" in listed and "P1/P2" in listed
            session.post(
                f"/admin/routing-rules/{ids[1]}/move",
                data={"csrf_token": csrf_of(page), "direction": "up"},
            )
            order = [r["id"] for r in admin.api.ok("GET", "/routing-rules") if r["id"] in ids]
            assert order == [ids[1], ids[0]]
        finally:
            for rule_id in ids:
                deleted = session.post(
                    f"/admin/routing-rules/{rule_id}/delete", data={"csrf_token": csrf_of(page)}
                )
                assert deleted.status_code == 303
        assert not [r for r in admin.api.ok("GET", "/routing-rules") if r["id"] in ids]
    agent = directory.person("agent")
    with browser_session(base_url, agent.email) as session:
        assert session.get("/admin/routing-rules").status_code == 403


def test_notification_preferences_page(directory: Directory, base_url: str) -> None:
    agent = directory.person("agent")
    with browser_session(base_url, agent.email) as session:
        page = session.get("/settings/notifications").text
        bad = session.post(
            "/settings/notifications",
            data={"csrf_token": csrf_of(page), "email": "on", "apprise_url": "not a url"},
        )
        assert bad.status_code == 422 and 'data-field="apprise_url"' in bad.text
        saved = session.post(
            "/settings/notifications",
            data={
                "csrf_token": csrf_of(page),
                "muted": ["reminder", "offered"],
                "apprise_url": "json://127.0.0.1:9/hook",
            },
        )
        assert saved.status_code == 200 and "Saved." in saved.text
        assert agent.api.ok("GET", "/me/notification-preferences") == {
            "email": False,
            "muted": ["offered", "reminder"],
            "apprise": True,
        }
        kept = session.post(
            "/settings/notifications", data={"csrf_token": csrf_of(page), "email": "on"}
        )
        assert kept.status_code == 200
        assert agent.api.ok("GET", "/me/notification-preferences")["apprise"] is True
        session.post(
            "/settings/notifications",
            data={"csrf_token": csrf_of(page), "email": "on", "remove_apprise": "on"},
        )
        assert agent.api.ok("GET", "/me/notification-preferences")["apprise"] is False
