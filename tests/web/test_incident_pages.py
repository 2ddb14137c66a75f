"""Web pages for incidents from monitoring: integration admin, the alerts list, the ticket panel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.api.test_sla import wait_for
from tests.factories import Directory, Person, browser_session, csrf_of


@pytest.fixture
def admin_session(base_url: str, admin: Person) -> Iterator[httpx.Client]:
    with browser_session(base_url, admin.email) as client:
        yield client


def test_admin_creates_an_integration_and_its_test_event_opens_an_incident(
    admin_session: httpx.Client, admin: Person, directory: Directory, base_url: str
) -> None:
    page = admin_session.get("/admin/integrations")
    assert page.status_code == 200
    name = f"Zabbix {uuid.uuid4().hex[:6]}"
    group = directory.group(f"Ops {uuid.uuid4().hex[:6]}")
    created = admin_session.post(
        "/admin/integrations",
        data={
            "csrf_token": csrf_of(page.text),
            "name": name,
            "kind": "events",
            "group_id": str(group),
            "resolve_mode": "resolve",
            "flap": "5",
        },
    )
    assert created.status_code == 200, created.text
    token = created.text.split('<code id="new-token">')[1].split("</code>")[0]
    assert token.startswith("tdi_")
    assert "/api/v1/integrations/events" in created.text
    integration = next(i for i in admin.api.ok("GET", "/integrations") if i["name"] == name)
    assert integration["flap_window_seconds"] == 300 and integration["group_id"] == group

    # The token works with the intake, and the page never shows it again.
    event = {
        "routing_key": token,
        "event_action": "trigger",
        "dedup_key": "page-test",
        "payload": {"summary": "From the page test", "source": "t", "severity": "error"},
    }
    assert httpx.post(f"{base_url}/api/v1/integrations/events", json=event).status_code == 202
    assert token not in admin_session.get("/admin/integrations").text

    sent = admin_session.post(
        f"/admin/integrations/{integration['id']}/test", data={"csrf_token": csrf_of(page.text)}
    )
    assert sent.status_code == 200 and "Test event sent" in sent.text

    def listed() -> str | None:
        text = admin_session.get("/incidents").text
        return text if f"Test event from {name}" in text and "From the page test" in text else None

    text = wait_for(listed, message="both incidents listed")
    assert "firing" in text

    revoked = admin_session.post(
        f"/admin/integrations/{integration['id']}/revoke", data={"csrf_token": csrf_of(page.text)}
    )
    assert revoked.status_code == 303
    assert httpx.post(f"{base_url}/api/v1/integrations/events", json=event).status_code == 403


def test_a_bad_integration_form_names_the_field_and_keeps_the_input(
    admin_session: httpx.Client,
) -> None:
    page = admin_session.get("/admin/integrations")
    answer = admin_session.post(
        "/admin/integrations",
        data={"csrf_token": csrf_of(page.text), "name": "Keep me", "kind": "events", "flap": "-3"},
    )
    assert answer.status_code == 422
    assert 'data-field="flap"' in answer.text and 'value="Keep me"' in answer.text
    without_csrf = admin_session.post("/admin/integrations", data={"name": "x", "kind": "events"})
    assert without_csrf.status_code == 403


def test_the_incident_page_shows_its_alerts_and_says_when_the_source_still_fires(
    admin: Person, directory: Directory, base_url: str
) -> None:
    created = admin.api.ok(
        "POST", "/integrations", 201, json={"name": f"PD {uuid.uuid4().hex[:6]}", "kind": "events"}
    )
    agent = directory.person("agent")
    key = f"fire-{uuid.uuid4().hex[:6]}"
    event = {
        "routing_key": created["token"],
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {
            "summary": "Queue backlog",
            "source": "mq-1",
            "severity": "warning",
            "custom_details": {"note": "<script>alert(1)</script>"},
        },
    }
    for _ in range(2):
        assert httpx.post(f"{base_url}/api/v1/integrations/events", json=event).status_code == 202

    def number() -> int | None:
        alerts = agent.api.ok("GET", "/alerts", params={"integration_id": created["id"]})
        return alerts[0]["ticket_number"] if alerts and alerts[0]["occurrences"] == 2 else None

    incident = wait_for(number)
    agent.api.ok("POST", f"/tickets/{incident}/resolve", json={"resolution_code": "workaround"})
    with browser_session(base_url, agent.email) as session:
        page = session.get(f"/tickets/{incident}").text
    assert 'id="still-firing"' in page and "although the incident is resolved" in page
    assert "2 occurrences" in page
    assert "<script>alert(1)</script>" not in page, "raw payloads are escaped"
    customer_page = httpx.get(f"{base_url}/incidents", follow_redirects=False)
    assert customer_page.status_code == 303, "the alerts list needs a login"
    customer = directory.person("customer", directory.organisation())
    with browser_session(base_url, customer.email) as session:
        assert session.get("/incidents").status_code == 403
        assert session.get("/admin/integrations").status_code == 403


def test_a_webhook_integration_is_made_with_its_mapping(
    admin_session: httpx.Client, admin: Person
) -> None:
    page = admin_session.get("/admin/integrations")
    form = {
        "csrf_token": csrf_of(page.text),
        "name": f"Icinga {uuid.uuid4().hex[:6]}",
        "kind": "webhook",
        "flap": "0",
        "map_dedup_key": "check.id",
        "map_summary": "check.output[",
    }
    refused = admin_session.post("/admin/integrations", data=form)
    assert refused.status_code == 422 and 'data-field="mapping.summary"' in refused.text
    assert 'value="check.id"' in refused.text, "the admin's input stays"
    made = admin_session.post("/admin/integrations", data={**form, "map_summary": "check.output"})
    assert made.status_code == 200 and '<code id="new-token">' in made.text
    mine = next(i for i in admin.api.ok("GET", "/integrations") if i["name"] == form["name"])
    assert mine["mapping"]["summary"] == "check.output" and mine["kind"] == "webhook"


def test_an_agent_declares_a_major_incident_and_links_a_child_from_the_page(
    directory: Directory, base_url: str
) -> None:
    agent = directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    major = customer.api.open_ticket("Mail down for everyone")["number"]
    child = customer.api.open_ticket("My mail is down")["number"]
    with browser_session(base_url, agent.email) as session:
        page = session.get(f"/tickets/{child}").text
        refused = session.post(
            f"/tickets/{child}/parent",
            data={"csrf_token": csrf_of(page), "parent_number": str(major)},
        )
        assert refused.status_code == 422 and "not a major incident" in refused.text
        assert f'value="{major}"' in refused.text, "the number typed stays in the form"

        page = session.get(f"/tickets/{major}").text
        declared = session.post(
            f"/tickets/{major}/major", data={"csrf_token": csrf_of(page), "major": "true"}
        )
        assert declared.status_code == 303
        assert 'id="major-badge"' in session.get(f"/tickets/{major}").text

        linked = session.post(
            f"/tickets/{child}/parent",
            data={"csrf_token": csrf_of(page), "parent_number": f"#{major}"},
        )
        assert linked.status_code == 303
        assert f'id="parent-link">#{major}<' in session.get(f"/tickets/{child}").text
        children = session.get(f"/tickets/{major}").text.split('id="children"')[1]
        assert f'href="/tickets/{child}"' in children.split("</ul>")[0]


def test_an_admin_edits_an_integration_and_its_rules(
    admin_session: httpx.Client, admin: Person, directory: Directory
) -> None:
    created = admin.api.ok(
        "POST",
        "/integrations",
        201,
        json={"name": f"Prom {uuid.uuid4().hex[:6]}", "kind": "alertmanager"},
    )
    group = directory.group(f"DBA {uuid.uuid4().hex[:6]}")
    page = admin_session.get(f"/admin/integrations/{created['id']}")
    assert page.status_code == 200 and created["name"] in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "name": created["name"],
        "active": "on",
        "resolve_mode": "note",
        "link_by": "group",
        "flap": "15",
        "group_id": "",
        "service_id": "",
        "rule_0_severities": "critical",
        "rule_0_labels": "team=db, env=prod",
        "rule_0_impact": "1",
        "rule_0_urgency": "1",
        "rule_0_group_id": str(group),
        "rule_0_service_id": "",
        "rule_1_severities": "",
        "rule_1_labels": "",
        "rule_1_impact": "",
        "rule_1_urgency": "",
        "rule_1_group_id": "",
        "rule_1_service_id": "",
    }
    bad = admin_session.post(
        f"/admin/integrations/{created['id']}", data={**form, "rule_0_labels": "team"}
    )
    assert bad.status_code == 422 and 'data-field="rules.0.labels"' in bad.text
    assert 'value="critical"' in bad.text, "the admin's rule stays in the form"

    saved = admin_session.post(f"/admin/integrations/{created['id']}", data=form)
    assert saved.status_code == 200 and "Saved." in saved.text
    stored = admin.api.ok("GET", f"/integrations/{created['id']}")
    assert stored["resolve_mode"] == "note" and stored["link_by"] == "group"
    assert stored["flap_window_seconds"] == 900
    assert stored["rules"] == [
        {
            "severities": ["critical"],
            "labels": {"team": "db", "env": "prod"},
            "impact": 1,
            "urgency": 1,
            "service_id": None,
            "group_id": group,
        }
    ]
    again = admin_session.get(f"/admin/integrations/{created['id']}").text
    shown = again.split('name="rule_0_labels" value="')[1].split('"')[0]
    assert set(shown.split(", ")) == {"team=db", "env=prod"}, "the stored rule is shown again"
