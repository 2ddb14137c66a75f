"""Incidents from monitoring: Events API v2 and Alertmanager intake, dedup, auto-resolve, flapping.

Real HTTP to the real API, the real worker and Temporal dev server, real PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from tests.api.test_sla import wait_for
from tests.factories import Directory, Person

EVENTS = "/integrations/events"
ALERTMANAGER = "/integrations/alertmanager"


def integration(admin: Person, kind: str = "events", **fields: Any) -> dict[str, Any]:
    body = {"name": f"Monitoring {uuid.uuid4().hex[:8]}", "kind": kind, **fields}
    return admin.api.ok("POST", "/integrations", 201, json=body)


def trigger(key: str | None, summary: str, **payload: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_action": "trigger",
        "payload": {
            "summary": summary,
            "source": "db-1.example",
            "severity": "critical",
            **payload,
        },
    }
    if key is not None:
        event["dedup_key"] = key
    return event


def send(base_url: str, token: str, event: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{base_url}/api/v1{EVENTS}", json={"routing_key": token, **event}, timeout=30
    )


def alerts(agent: Person, integration_id: int) -> list[dict[str, Any]]:
    return agent.api.ok("GET", "/alerts", params={"integration_id": integration_id})


def alert(agent: Person, integration_id: int, key: str) -> dict[str, Any] | None:
    return next((a for a in alerts(agent, integration_id) if a["key"] == key), None)


def ticket(agent: Person, number: int) -> dict[str, Any]:
    return agent.api.ok("GET", f"/tickets/{number}")


def incident_of(agent: Person, integration_id: int, key: str, **expect: Any) -> dict[str, Any]:
    """The alert once it feeds an incident and shows what `expect` says."""

    def ready() -> dict[str, Any] | None:
        found = alert(agent, integration_id, key)
        if found is None or found["ticket_number"] is None:
            return None
        return found if all(found[k] == v for k, v in expect.items()) else None

    found: dict[str, Any] = wait_for(ready, timeout=30, message=f"alert {key}: {expect}")
    return found


@pytest.fixture
def agent(directory: Directory) -> Person:
    return directory.person("agent")


def test_fifty_concurrent_identical_triggers_make_one_incident(
    admin: Person, agent: Person, base_url: str, directory: Directory
) -> None:
    created = integration(admin)
    token = created["token"]
    key = f"disk-full-{uuid.uuid4().hex[:6]}"
    event = trigger(key, "Disk full on db-1", custom_details={"free": "0 bytes"})
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: send(base_url, token, event), range(50)))
    assert {a.status_code for a in answers} == {202}, answers[0].text
    assert {a.json()["dedup_key"] for a in answers} == {key}
    assert answers[0].json()["status"] == "success"
    assert answers[0].json()["message"] == "Event processed"

    found = incident_of(agent, created["id"], key, occurrences=50)
    assert len(alerts(agent, created["id"])) == 1
    incident = ticket(agent, found["ticket_number"])
    assert incident["type"] == "incident" and incident["channel"] == "monitoring"
    assert incident["subject"] == "Disk full on db-1"
    assert incident["priority"] == 1, "critical maps to impact 1 x urgency 1"
    # Only one incident: every ticket the integration's contact raised.
    with psycopg.connect(directory.dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM tickets WHERE requester_id = %s", (created["requester_id"],)
        ).fetchone()
    assert row is not None and row[0] == 1
    # Repeats are counted, not written into the timeline again and again.
    timeline = agent.api.ok("GET", f"/tickets/{found['ticket_number']}/timeline")
    assert [e["kind"] for e in timeline].count("opened") == 1
    assert len(timeline) < 5
    recorded = agent.api.ok("GET", f"/tickets/{found['ticket_number']}/alerts")
    assert len(recorded["events"]) == 50 and recorded["firing"] is True
    assert recorded["events"][0]["payload"]["payload"]["custom_details"] == {"free": "0 bytes"}
    assert {e["outcome"] for e in recorded["events"]} == {"opened", "repeated"}


def test_resolve_from_the_source_resolves_and_a_later_trigger_opens_a_new_incident(
    admin: Person, agent: Person, base_url: str
) -> None:
    created = integration(admin)
    token, key = created["token"], f"cpu-{uuid.uuid4().hex[:6]}"
    assert send(base_url, token, trigger(key, "CPU hot")).status_code == 202
    first = incident_of(agent, created["id"], key)["ticket_number"]

    resolved = send(base_url, token, {"event_action": "resolve", "dedup_key": key})
    assert resolved.status_code == 202, resolved.text
    wait_for(lambda: ticket(agent, first)["status"] == "resolved", message="auto-resolve")
    assert incident_of(agent, created["id"], key, status="resolved")["ticket_number"] == first

    assert send(base_url, token, trigger(key, "CPU hot again")).status_code == 202
    again = incident_of(agent, created["id"], key, status="firing")
    assert again["ticket_number"] != first, "outside the flap window: a new incident"
    assert again["occurrences"] == 1 and again["flapping"] is False
    assert ticket(agent, first)["status"] == "resolved"


def test_a_trigger_within_the_flap_window_reopens_and_marks_flapping(
    admin: Person, agent: Person, base_url: str
) -> None:
    created = integration(admin, flap_window_seconds=600)
    token, key = created["token"], f"link-{uuid.uuid4().hex[:6]}"
    send(base_url, token, trigger(key, "Uplink down"))
    number = incident_of(agent, created["id"], key)["ticket_number"]
    send(base_url, token, {"event_action": "resolve", "dedup_key": key})
    wait_for(lambda: ticket(agent, number)["status"] == "resolved")

    send(base_url, token, trigger(key, "Uplink down"))
    flapping = incident_of(agent, created["id"], key, flapping=True)
    assert flapping["ticket_number"] == number and flapping["occurrences"] == 2
    assert ticket(agent, number)["status"] == "open"
    kinds = [e["kind"] for e in agent.api.ok("GET", f"/tickets/{number}/timeline")]
    assert "reopened" in kinds


def test_note_mode_and_acknowledge(admin: Person, agent: Person, base_url: str) -> None:
    created = integration(admin, resolve_mode="note")
    token, key = created["token"], f"mem-{uuid.uuid4().hex[:6]}"
    send(base_url, token, trigger(key, "Memory leak"))
    number = incident_of(agent, created["id"], key)["ticket_number"]
    assert ticket(agent, number)["status"] == "new"

    assert (
        send(base_url, token, {"event_action": "acknowledge", "dedup_key": key}).status_code == 202
    )
    wait_for(lambda: ticket(agent, number)["status"] == "open", message="acknowledged")
    send(base_url, token, {"event_action": "resolve", "dedup_key": key})
    incident_of(agent, created["id"], key, status="resolved")
    timeline = agent.api.ok("GET", f"/tickets/{number}/timeline")
    kinds = [e["kind"] for e in timeline]
    assert "acknowledged" in kinds and "note_added" in kinds
    assert ticket(agent, number)["status"] == "open", "note mode leaves resolving to a person"
    # An agent may resolve it; the alerts say whether the source still fires.
    assert agent.api.ok("GET", f"/tickets/{number}/alerts")["firing"] is False


def test_acknowledge_and_resolve_of_an_unknown_key_are_accepted_and_ignored(
    admin: Person, agent: Person, base_url: str, directory: Directory
) -> None:
    created = integration(admin)
    token = created["token"]
    for action in ("acknowledge", "resolve"):
        key = f"never-{uuid.uuid4().hex[:6]}"
        answer = send(base_url, token, {"event_action": action, "dedup_key": key})
        assert answer.status_code == 202 and answer.json()["dedup_key"] == key

    def outcomes() -> list[Any]:
        with psycopg.connect(directory.dsn) as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT outcome FROM alert_events WHERE integration_id = %s", (created["id"],)
                )
            ]

    assert wait_for(lambda: outcomes() == ["ignored", "ignored"] and outcomes())
    assert alerts(agent, created["id"]) == []


def test_a_trigger_without_dedup_key_gets_one(admin: Person, agent: Person, base_url: str) -> None:
    created = integration(admin)
    answer = send(base_url, created["token"], trigger(None, "No key given"))
    assert answer.status_code == 202
    key = answer.json()["dedup_key"]
    assert key
    incident_of(agent, created["id"], key)


def test_alertmanager_group_with_firing_and_resolved_alerts(
    admin: Person, agent: Person, base_url: str
) -> None:
    created = integration(
        admin,
        kind="alertmanager",
        rules=[{"labels": {"team": "db"}, "impact": 1, "urgency": 1}],
    )
    headers = {"Authorization": f"Bearer {created['token']}"}
    tag = uuid.uuid4().hex[:6]

    def am(status: str, fingerprint: str, **labels: str) -> dict[str, Any]:
        return {
            "status": status,
            "labels": {"alertname": f"Alert{fingerprint}", "instance": "db-1:9100", **labels},
            "annotations": {"summary": f"{fingerprint} is unhappy"},
            "startsAt": "2026-11-30T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph",
            "fingerprint": fingerprint,
        }

    def post(*items: dict[str, Any]) -> httpx.Response:
        body = {
            "version": "4",
            "groupKey": '{}:{alertname="x"}',
            "status": "firing",
            "receiver": "tempodesk",
            "truncatedAlerts": 0,
            "alerts": list(items),
        }
        return httpx.post(f"{base_url}/api/v1{ALERTMANAGER}", json=body, headers=headers)

    a, b, c = f"a{tag}", f"b{tag}", f"c{tag}"
    first = post(am("firing", a, team="db"), am("firing", b))
    assert first.status_code == 202 and first.json()["alerts"] == 2, first.text
    incident_a = incident_of(agent, created["id"], a)["ticket_number"]
    incident_b = incident_of(agent, created["id"], b)["ticket_number"]
    assert incident_a != incident_b
    assert ticket(agent, incident_a)["priority"] == 1, "the team=db rule raised it"
    assert ticket(agent, incident_b)["priority"] == 3, "no severity label: impact 2 x urgency 2"

    assert post(am("resolved", a), am("firing", b), am("firing", c)).status_code == 202
    wait_for(lambda: ticket(agent, incident_a)["status"] == "resolved", message="a resolved")
    assert incident_of(agent, created["id"], b, occurrences=2)["ticket_number"] == incident_b
    incident_c = incident_of(agent, created["id"], c)["ticket_number"]
    assert incident_c not in (incident_a, incident_b)
    assert ticket(agent, incident_b)["status"] == "new"


def test_bad_events_are_refused_with_the_field_named(admin: Person, base_url: str) -> None:
    token = integration(admin)["token"]
    url = f"{base_url}/api/v1{EVENTS}"
    cases = [
        ({"event_action": "explode", "dedup_key": "x"}, "event_action"),
        ({"event_action": "trigger"}, "payload"),
        (trigger("x", "s", severity="apocalyptic"), "payload.severity"),
        (trigger("x", ""), "payload.summary"),
        (trigger("x", "s", source=7), "payload.source"),
        ({"event_action": "resolve"}, "dedup_key"),
        (trigger("x", "s", timestamp="yesterday"), "payload.timestamp"),
    ]
    for event, field in cases:
        answer = httpx.post(url, json={"routing_key": token, **event})
        assert answer.status_code == 400, (event, answer.text)
        assert answer.json()["field"] == field, answer.text
    assert httpx.post(url, content=b"{not json").status_code == 400

    am = integration(admin, kind="alertmanager")["token"]
    answer = httpx.post(
        f"{base_url}/api/v1{ALERTMANAGER}",
        json={"version": "4", "alerts": [{"labels": {"a": "b"}, "fingerprint": "f"}]},
        headers={"Authorization": f"Bearer {am}"},
    )
    assert answer.status_code == 400 and answer.json()["field"] == "alerts.0.status"


def test_keys_are_checked_and_revocable(admin: Person, agent: Person, base_url: str) -> None:
    created = integration(admin)
    event = trigger("k", "Key test")
    assert send(base_url, "tdi_wrong", event).status_code == 401
    answer = httpx.post(f"{base_url}/api/v1{EVENTS}", json=event)
    assert answer.status_code == 401 and answer.json()["field"] == "routing_key"
    am_url = f"{base_url}/api/v1{ALERTMANAGER}"
    assert httpx.post(am_url, json={"alerts": []}).status_code == 401
    wrong_kind = httpx.post(
        am_url, json={"alerts": []}, headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert wrong_kind.status_code == 403

    revoked = admin.api.ok("DELETE", f"/integrations/{created['id']}/token")
    assert revoked["token_active"] is False
    assert send(base_url, created["token"], event).status_code == 403
    fresh = admin.api.ok("POST", f"/integrations/{created['id']}/token", 201)["token"]
    assert fresh != created["token"]
    assert send(base_url, created["token"], event).status_code == 401, "the old key is gone"
    assert send(base_url, fresh, event).status_code == 202

    listed = admin.api.ok("GET", "/integrations")
    mine = next(i for i in listed if i["id"] == created["id"])
    assert "token" not in mine and mine["token_prefix"] == fresh[:10]
    assert agent.api.get("/integrations").status_code == 403
    assert agent.api.post("/integrations", json={"name": "x", "kind": "events"}).status_code == 403


def test_an_oversized_event_is_refused(admin: Person, base_url: str) -> None:
    token = integration(admin)["token"]
    huge = trigger("big", "Big", custom_details={"blob": "x" * (2 * 1024 * 1024)})
    assert send(base_url, token, huge).status_code == 413


def test_integration_settings_are_validated(admin: Person) -> None:
    answer = admin.api.post(
        "/integrations",
        json={"name": "Bad", "kind": "events", "group_id": 2**31 - 1, "flap_window_seconds": 5},
    )
    assert answer.status_code == 422 and answer.json()["field"] == "group_id"
    answer = admin.api.post("/integrations", json={"name": "Bad", "kind": "smoke-signals"})
    assert answer.status_code == 422 and "kind" in answer.text
    created = integration(admin)
    clash = admin.api.post("/integrations", json={"name": created["name"], "kind": "events"})
    assert clash.status_code == 409 and clash.json()["field"] == "name"


def test_generic_webhooks_are_read_with_their_mapping(
    admin: Person, agent: Person, base_url: str
) -> None:
    zabbix = integration(
        admin,
        kind="webhook",
        mapping={
            "dedup_key": "eventid",
            "summary": "subject",
            "status": "status",
            "severity": "severity",
            "source": "host",
            "severities": {"Disaster": "critical", "High": "error"},
        },
    )
    url = f"{base_url}/api/v1/integrations/webhook"
    headers = {"Authorization": f"Bearer {zabbix['token']}"}
    eventid = uuid.uuid4().hex[:8]
    problem = {
        "eventid": eventid,
        "subject": "Zabbix agent down",
        "status": "PROBLEM",
        "severity": "Disaster",
        "host": "web-3",
    }
    answer = httpx.post(url, json=problem, headers=headers)
    assert answer.status_code == 202 and answer.json()["alerts"] == 1, answer.text
    number = incident_of(agent, zabbix["id"], eventid, source="web-3")["ticket_number"]
    assert ticket(agent, number)["priority"] == 1, "Disaster maps to critical"
    httpx.post(url, json={**problem, "status": "OK"}, headers=headers)
    wait_for(lambda: ticket(agent, number)["status"] == "resolved", message="Zabbix OK resolves")

    grafana = integration(
        admin,
        kind="webhook",
        mapping={
            "items": "alerts",
            "dedup_key": "fingerprint",
            "summary": "annotations.summary",
            "status": "status",
            "severity": "labels.severity",
        },
    )
    headers = {"Authorization": f"Bearer {grafana['token']}"}
    fp = uuid.uuid4().hex[:8]
    body = {
        "receiver": "tempodesk",
        "alerts": [
            {
                "status": "firing",
                "fingerprint": fp,
                "labels": {"severity": "warning"},
                "annotations": {"summary": "Latency high"},
            },
            {
                "status": "firing",
                "fingerprint": fp + "b",
                "labels": {},
                "annotations": {"summary": "Errors up"},
            },
        ],
    }
    answer = httpx.post(url, json=body, headers=headers)
    assert answer.status_code == 202 and answer.json()["alerts"] == 2
    incident_of(agent, grafana["id"], fp)
    incident_of(agent, grafana["id"], fp + "b")

    missing = httpx.post(url, json={"alerts": [{"status": "firing"}]}, headers=headers)
    assert missing.status_code == 400 and missing.json()["field"] == "items.0.dedup_key"
    assert (
        httpx.post(url, json=problem, headers={"Authorization": "Bearer nope"}).status_code == 401
    )

    bad = admin.api.post(
        "/integrations",
        json={
            "name": "Bad map",
            "kind": "webhook",
            "mapping": {"dedup_key": "id", "summary": "a[?"},
        },
    )
    assert bad.status_code == 422 and bad.json()["field"] == "mapping.summary"
    unmapped = admin.api.post("/integrations", json={"name": "No map", "kind": "webhook"})
    assert unmapped.status_code == 422 and unmapped.json()["field"] == "mapping"


def test_alerts_of_one_alertmanager_group_share_an_incident(
    admin: Person, agent: Person, base_url: str
) -> None:
    created = integration(admin, kind="alertmanager", link_by="group")
    headers = {"Authorization": f"Bearer {created['token']}"}
    group = f'{{}}:{{cluster="{uuid.uuid4().hex[:6]}"}}'

    def am(**statuses: str) -> httpx.Response:
        body = {
            "version": "4",
            "groupKey": group,
            "status": "firing",
            "alerts": [
                {
                    "status": status,
                    "fingerprint": f"{group}-{name}",
                    "labels": {"alertname": name, "severity": "warning"},
                    "annotations": {"summary": f"{name} fails"},
                }
                for name, status in statuses.items()
            ],
        }
        return httpx.post(f"{base_url}/api/v1{ALERTMANAGER}", json=body, headers=headers)

    assert am(api="firing", db="firing").status_code == 202
    api_alert = incident_of(agent, created["id"], f"{group}-api")
    db_alert = incident_of(agent, created["id"], f"{group}-db")
    number = api_alert["ticket_number"]
    assert db_alert["ticket_number"] == number, "one incident for the group"

    am(api="resolved", db="firing")
    incident_of(agent, created["id"], f"{group}-api", status="resolved")
    assert ticket(agent, number)["status"] == "new", "db still fires: the incident stays open"
    am(db="resolved")
    wait_for(lambda: ticket(agent, number)["status"] == "resolved", message="all resolved")


def test_an_agent_links_an_alert_to_another_incident(
    admin: Person, agent: Person, base_url: str
) -> None:
    created = integration(admin)
    token = created["token"]
    main_key, other_key = f"main-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    send(base_url, token, trigger(main_key, "Checkout fails"))
    send(base_url, token, trigger(other_key, "Payment API slow"))
    main = incident_of(agent, created["id"], main_key)["ticket_number"]
    other = incident_of(agent, created["id"], other_key)["ticket_number"]

    linked = agent.api.ok(
        "POST", f"/tickets/{main}/alerts", json={"integration_id": created["id"], "key": other_key}
    )
    assert {a["key"] for a in linked["alerts"]} == {main_key, other_key}
    notes = [
        e for e in agent.api.ok("GET", f"/tickets/{main}/timeline") if e["kind"] == "note_added"
    ]
    assert f"moved from #{other}" in notes[-1]["data"]["body"]

    send(base_url, token, trigger(other_key, "Payment API slow"))

    def fed_main() -> bool:
        events = agent.api.ok("GET", f"/tickets/{main}/alerts")["events"]
        return any(e["key"] == other_key and e["outcome"] == "repeated" for e in events)

    wait_for(fed_main, message="the linked alert's next event feeds the incident it was linked to")
    assert alert(agent, created["id"], other_key)["ticket_number"] == main  # type: ignore[index]
    # Its earlier events stay on record with the incident they fed then.
    assert len(agent.api.ok("GET", f"/tickets/{other}/alerts")["events"]) == 1
    missing = agent.api.post(
        f"/tickets/{main}/alerts", json={"integration_id": created["id"], "key": "nope"}
    )
    assert missing.status_code == 404 and missing.json()["field"] == "key"


def test_a_major_incident_with_child_incidents(agent: Person, directory: Directory) -> None:
    customer = directory.person("customer", directory.organisation())
    major = customer.api.open_ticket("Whole site down")["number"]
    child = customer.api.open_ticket("Cannot log in")["number"]
    request = customer.api.open_ticket("New laptop", type="service_request")["number"]

    refused = agent.api.post(f"/tickets/{child}/parent", json={"parent_number": major})
    assert refused.status_code == 422 and "not a major incident" in refused.json()["detail"]
    assert customer.api.post(f"/tickets/{major}/major", json={"major": True}).status_code == 403

    declared = agent.api.ok("POST", f"/tickets/{major}/major", json={"major": True, "note": "P1"})
    assert declared["major"] is True
    assert agent.api.post(f"/tickets/{major}/major", json={"major": True}).status_code == 409
    not_incident = agent.api.post(f"/tickets/{request}/major", json={"major": True})
    assert not_incident.status_code == 409 and "only incidents" in not_incident.json()["detail"]

    linked = agent.api.ok("POST", f"/tickets/{child}/parent", json={"parent_number": major})
    assert linked["parent_number"] == major
    assert [t["number"] for t in agent.api.ok("GET", f"/tickets/{major}/children")] == [child]
    itself = agent.api.post(f"/tickets/{major}/parent", json={"parent_number": major})
    assert itself.status_code in (409, 422)
    kinds = [e["kind"] for e in agent.api.ok("GET", f"/tickets/{child}/timeline")]
    assert "parent_linked" in kinds

    agent.api.ok("POST", f"/tickets/{child}/parent", json={"parent_number": None})
    assert agent.api.ok("GET", f"/tickets/{major}/children") == []
    assert agent.api.ok("GET", f"/tickets/{child}")["parent_number"] is None


# ---------------------------------------------------------------- refusals, field by field

WEBHOOK = "/integrations/webhook"
OMIT = object()
"""A field left out of the body."""
TOKEN = "<events token>"
"""Where the events integration's token goes in a body."""


@pytest.fixture(scope="module")
def tokens(directory: Directory) -> dict[str, str]:
    """One integration token per kind, shared by the table-driven tests below."""
    admin = directory.person("admin")
    mapping = {"items": "alerts", "dedup_key": "id", "summary": "subject"}
    return {
        kind: integration(admin, kind, **({"mapping": mapping} if kind == "webhook" else {}))[
            "token"
        ]
        for kind in ("events", "alertmanager", "webhook")
    }


def event(**fields: Any) -> dict[str, Any]:
    """A valid trigger with `fields` replaced; `payload__name` replaces a payload field."""
    payload: dict[str, Any] = {"summary": "Disk full", "source": "db-1", "severity": "error"}
    body: dict[str, Any] = {
        "routing_key": TOKEN,
        "event_action": "trigger",
        "dedup_key": uuid.uuid4().hex,
        "payload": payload,
    }
    for name, value in fields.items():
        target, key = (payload, name[9:]) if name.startswith("payload__") else (body, name)
        if value is OMIT:
            target.pop(key, None)
        else:
            target[key] = value
    return body


def am_alert(**fields: Any) -> dict[str, Any]:
    """A valid Alertmanager alert with `fields` replaced."""
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "DiskFull", "instance": "db-1:9100"},
        "annotations": {"summary": "Disk full"},
        "startsAt": "2026-11-30T10:00:00.123456789Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": f"f{uuid.uuid4().hex[:12]}",
    }
    for name, value in fields.items():
        if value is OMIT:
            alert.pop(name, None)
        else:
            alert[name] = value
    return alert


def am_body(*alerts: Any, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"version": "4", "status": "firing", "alerts": list(alerts)}
    for name, value in fields.items():
        if value is OMIT:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def post_intake(base_url: str, tokens: dict[str, str], kind: str, body: Any) -> httpx.Response:
    """`body` (JSON, or bytes sent as they are) to the intake of `kind`, with its token."""
    headers = {"Content-Type": "application/json"}
    if kind != "events":
        headers["Authorization"] = f"Bearer {tokens[kind]}"
    path = {"events": EVENTS, "alertmanager": ALERTMANAGER, "webhook": WEBHOOK}[kind]
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    content = content.replace(json.dumps(TOKEN).encode(), json.dumps(tokens["events"]).encode())
    return httpx.post(f"{base_url}/api/v1{path}", content=content, headers=headers, timeout=30)


Case = tuple[Any, int, str | None]
"""(body, the status answered, the field named)."""

EVENT_REFUSALS: dict[str, Case] = {
    # Who is asking comes first: without a routing key, nothing else is looked at.
    "routing_key missing": (event(routing_key=OMIT, event_action="explode"), 401, "routing_key"),
    "routing_key empty": (event(routing_key=""), 401, "routing_key"),
    "routing_key null": (event(routing_key=None), 401, "routing_key"),
    "routing_key a number": (event(routing_key=7), 400, "routing_key"),
    "routing_key too long": (event(routing_key="k" * 201), 400, "routing_key"),
    "body a list": ([event()], 400, "body"),
    "event_action missing": (event(event_action=OMIT), 400, "event_action"),
    "event_action unknown": (event(event_action="TRIGGER"), 400, "event_action"),
    "dedup_key blank": (event(dedup_key="   "), 400, "dedup_key"),
    "dedup_key too long": (event(dedup_key="k" * 256), 400, "dedup_key"),
    "dedup_key a list": (event(dedup_key=["k"]), 400, "dedup_key"),
    "acknowledge without dedup_key": (
        event(event_action="acknowledge", dedup_key=OMIT),
        400,
        "dedup_key",
    ),
    "trigger without payload": (event(payload=OMIT), 400, "payload"),
    "payload a text": (event(payload="Disk full"), 400, "payload"),
    "summary blank": (event(payload__summary="  "), 400, "payload.summary"),
    "summary too long": (event(payload__summary="s" * 1025), 400, "payload.summary"),
    "source missing": (event(payload__source=OMIT), 400, "payload.source"),
    "source too long": (event(payload__source="h" * 256), 400, "payload.source"),
    "severity missing": (event(payload__severity=OMIT), 400, "payload.severity"),
    "severity unknown": (event(payload__severity="Critical"), 400, "payload.severity"),
    "timestamp a number": (event(payload__timestamp=1700000000), 400, "payload.timestamp"),
    "timestamp not ISO 8601": (event(payload__timestamp="1700000000"), 400, "payload.timestamp"),
    "component too long": (event(payload__component="c" * 1025), 400, "payload.component"),
    "group an object": (event(payload__group={"name": "g"}), 400, "payload.group"),
    "class a number": (event(payload__class=5), 400, "payload.class"),
    "links an object": (event(links={"href": "https://x"}), 400, "links"),
    "images a text": (event(images="https://x/i.png"), 400, "images"),
    "not JSON": (b'{"event_action": "trigger",', 400, None),
    # Let through by the hand-written checks, then failing later (a 500): JSONB holds
    # no NUL and no NaN; Python's parser refuses integers of over 4300 digits.
    "NUL in custom_details": (
        event(payload__custom_details={"note": "a\x00b"}),
        400,
        "payload.custom_details.note",
    ),
    "NUL in a field beyond the documented ones": (event(client="tool\x00"), 400, "client"),
    "NaN in custom_details": (
        json.dumps(event(payload__custom_details={"load": float("nan")})).encode(),
        400,
        "payload.custom_details.load",
    ),
    "a number beyond Python's digit limit": (b'{"dedup_key": ' + b"9" * 5000 + b"}", 400, None),
}

ALERTMANAGER_REFUSALS: dict[str, Case] = {
    "version 3": (am_body(am_alert(), version="3"), 400, "version"),
    "version a number": (am_body(am_alert(), version=4), 400, "version"),
    "alerts missing": (am_body(alerts=OMIT), 400, "alerts"),
    "alerts empty": (am_body(), 400, "alerts"),
    "alerts an object": (am_body(alerts={"0": am_alert()}), 400, "alerts"),
    "an alert a text": (am_body(am_alert(), "firing"), 400, "alerts.1"),
    "status unknown": (am_body(am_alert(status="pending")), 400, "alerts.0.status"),
    "status missing": (am_body(am_alert(status=OMIT)), 400, "alerts.0.status"),
    "a label a number": (am_body(am_alert(labels={"severity": 1})), 400, "alerts.0.labels"),
    "annotations a list": (am_body(am_alert(annotations=["x"])), 400, "alerts.0.annotations"),
    "fingerprint empty": (am_body(am_alert(fingerprint="")), 400, "alerts.0.fingerprint"),
    "fingerprint too long": (am_body(am_alert(fingerprint="f" * 256)), 400, "alerts.0.fingerprint"),
    "no fingerprint, no labels": (
        am_body(am_alert(fingerprint=OMIT, labels={})),
        400,
        "alerts.0.fingerprint",
    ),
    "startsAt not a date": (am_body(am_alert(startsAt="soon")), 400, "alerts.0.startsAt"),
    "endsAt a list": (am_body(am_alert(endsAt=[])), 400, "alerts.0.endsAt"),
    # Let through by the hand-written checks, then refused by the database (a 500).
    "NUL in a label": (am_body(am_alert(labels={"team": "db\x00"})), 400, "alerts.0.labels.team"),
    "NUL in a group field": (am_body(am_alert(), groupLabels={"x": "\x00"}), 400, "groupLabels.x"),
}

WEBHOOK_REFUSALS: dict[str, Case] = {
    "body a text": ("an alert", 400, "body"),
    "no items": ({"alerts": []}, 400, "items"),
    "dedup_key not found": ({"alerts": [{"subject": "s"}]}, 400, "items.0.dedup_key"),
    "summary not found": ({"alerts": [{"id": "1"}]}, 400, "items.0.summary"),
    # Let through by the hand-written checks, then refused by the database (a 500).
    "NUL": ({"alerts": [{"id": "1", "subject": "s", "host": "\x00"}]}, 400, "items.0.host"),
}

REFUSALS = [
    pytest.param(kind, *case, id=f"{kind}: {name}")
    for kind, table in (
        ("events", EVENT_REFUSALS),
        ("alertmanager", ALERTMANAGER_REFUSALS),
        ("webhook", WEBHOOK_REFUSALS),
    )
    for name, case in table.items()
]


@pytest.mark.parametrize(("kind", "body", "status", "field"), REFUSALS)
def test_a_bad_body_is_refused_naming_the_field_to_fix(
    base_url: str, tokens: dict[str, str], kind: str, body: Any, status: int, field: str | None
) -> None:
    answer = post_intake(base_url, tokens, kind, body)
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert error["field"] == field, error
    assert error["code"] == ("unauthenticated" if status == 401 else "invalid_event")
    assert (field or "JSON") in error["detail"], "the message names what to fix"


ACCEPTED: dict[str, tuple[str, Any]] = {
    "fields beyond the documented ones": (
        "events",
        event(client="Nagios", client_url="https://nagios.example", extra={"a": [1]}),
    ),
    "dedup_key null: one is made": ("events", event(dedup_key=None)),
    "timestamp as PagerDuty documents it": (
        "events",
        event(payload__timestamp="2015-07-17T08:42:58.315+0000"),
    ),
    "links and images of any shape": (
        "events",
        event(links=[{"href": 5}, "https://x", {"href": "https://y"}], images=[{"alt": "a"}]),
    ),
    "a resolve's payload is not read": (
        "events",
        event(event_action="resolve", payload="anything", links=7),
    ),
    "fingerprint made from the labels": ("alertmanager", am_body(am_alert(fingerprint=OMIT))),
    "recorded fields of any type": (
        "alertmanager",
        am_body(
            am_alert(labels=None, generatorURL=7),
            groupKey=5,
            status="unknown",
            truncatedAlerts="none",
            groupLabels=[1],
        ),
    ),
    "no version": ("alertmanager", am_body(am_alert(), version=OMIT)),
    "NUL where nothing is stored": (
        "alertmanager",
        am_body(am_alert(), commonAnnotations={"x": "\x00"}),
    ),
    "any JSON the mapping reads": (
        "webhook",
        {"alerts": [{"id": uuid.uuid4().hex, "subject": "s", "n": 1.5}]},
    ),
}


@pytest.mark.parametrize(
    ("kind", "body"),
    [pytest.param(*case, id=f"{case[0]}: {name}") for name, case in ACCEPTED.items()],
)
def test_what_the_formats_allow_is_accepted(
    base_url: str, tokens: dict[str, str], kind: str, body: Any
) -> None:
    answer = post_intake(base_url, tokens, kind, body)
    assert answer.status_code == 202, answer.text


def test_an_alert_with_labels_longer_than_an_alert_keeps_still_opens_its_incident(
    admin: Person, agent: Person, base_url: str
) -> None:
    created = integration(admin, kind="alertmanager")
    # A blackbox probe's instance is the URL it probes, of any length.
    instance = "https://shop.example/" + "p" * 300
    alert = am_alert(
        labels={"alertname": "ProbeFailed", "instance": instance, "severity": "s" * 30}
    )
    answer = httpx.post(
        f"{base_url}/api/v1{ALERTMANAGER}",
        json=am_body(alert),
        headers={"Authorization": f"Bearer {created['token']}"},
    )
    assert answer.status_code == 202, answer.text

    found = incident_of(agent, created["id"], alert["fingerprint"])
    assert found["source"] == instance[:255] and found["severity"] == "s" * 20
    events = agent.api.ok("GET", f"/tickets/{found['ticket_number']}/alerts")["events"]
    assert events[0]["payload"]["alert"]["labels"]["instance"] == instance, "stored as sent"
