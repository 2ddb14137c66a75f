"""Record workflow histories of a release for the replay test.

    python -m tests.histories.record [SCENARIO ...]

Starts its own PostgreSQL, Temporal dev server, worker and API, works tickets,
alerts, a bulk job and a mailbox through the API the way people do, and writes
each workflow run's history to tests/histories/<release>/<scenario>-run<N>.json,
<release> being the project's version. Record once per release, from the commit
that is tagged with it; a stored release's histories are never re-recorded (they
guard the workflows still running from that release, see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

from api.temporal import connect
from models.migrate import upgrade
from tests.factories import Directory, Person
from tests.stack import AppConfig, postgres, start_process, temporal, wait_healthy

HERE = Path(__file__).parent
RELEASE = tomllib.loads((HERE.parents[1] / "pyproject.toml").read_text())["project"]["version"]


def lifecycle(agent: Person, customer: Person, group: int) -> dict[str, Any]:
    ticket = customer.api.open_ticket("Replay: VPN drops", description="Since Monday")
    n = ticket["number"]
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Looking"})
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Internal", "public": False})
    agent.api.ok("POST", f"/tickets/{n}/classify", json={"impact": 1, "urgency": 2})
    agent.api.ok("POST", f"/tickets/{n}/assign", json={"group_id": group, "assignee_id": agent.id})
    agent.api.ok("POST", f"/tickets/{n}/pend", json={"reason": "Waiting for logs"})
    customer.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Logs attached"})
    customer.api.ok(
        "POST", f"/tickets/{n}/attachments", 201, files={"file": ("log.txt", b"log", "text/plain")}
    )
    agent.api.ok("POST", f"/tickets/{n}/pend", json={"reason": "Vendor"})
    agent.api.ok("POST", f"/tickets/{n}/resume", json={})
    assert agent.api.post(f"/tickets/{n}/resume", json={}).status_code == 409
    agent.api.ok("POST", f"/tickets/{n}/resolve", json={"resolution_code": "solved"})
    customer.api.ok("POST", f"/tickets/{n}/reopen", json={"reason": "Back again"})
    agent.api.ok("POST", f"/tickets/{n}/resolve", json={"resolution_code": "workaround"})
    agent.api.ok("POST", f"/tickets/{n}/close", json={})
    return ticket


def auto_close(admin: Person, agent: Person, customer: Person) -> dict[str, Any]:
    original = admin.api.ok("GET", "/settings")
    admin.api.ok("PUT", "/settings", json={**original, "reopen_window_seconds": 1})
    try:
        ticket = customer.api.open_ticket("Replay: auto close")
        agent.api.ok(
            "POST", f"/tickets/{ticket['number']}/resolve", json={"resolution_code": "solved"}
        )
    finally:
        admin.api.ok("PUT", "/settings", json=original)
    deadline = time.monotonic() + 20
    while customer.api.ok("GET", f"/tickets/{ticket['number']}")["status"] != "closed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return ticket


def continued(agent: Person, customer: Person) -> dict[str, Any]:
    ticket = customer.api.open_ticket("Replay: long conversation")
    for i in range(30):
        person = agent if i % 2 else customer
        person.api.ok(
            "POST", f"/tickets/{ticket['number']}/comments", json={"body": f"message {i}"}
        )
    return ticket


def retried(agent: Person) -> dict[str, Any]:
    """A comment retried with its Idempotency-Key after the ticket continued as new."""
    ticket = agent.api.open_ticket("Replay: retried after continue-as-new")
    n = ticket["number"]
    key = {"Idempotency-Key": "replay-retried"}
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "once"}, headers=key)
    # Enough changes that the workflow continues as new before the retry arrives.
    for i in range(30):
        agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": f"filler {i}"})
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "once"}, headers=key)
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "after the retry"})
    return ticket


def mailed_reply(agent: Person, customer: Person) -> dict[str, Any]:
    """Agent replies mailed to the requester (the mail-outbox patch), then closed."""
    ticket = customer.api.open_ticket("Replay: mailed replies")
    n = ticket["number"]
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "First answer"})
    customer.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Thanks"})
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Second answer"})
    agent.api.ok("POST", f"/tickets/{n}/resolve", json={"resolution_code": "solved"})
    agent.api.ok("POST", f"/tickets/{n}/close", json={})
    deadline = time.monotonic() + 20
    while customer.api.ok("GET", f"/tickets/{n}")["status"] != "closed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return ticket


def sla(admin: Person, agent: Person, customer: Person, group: int) -> dict[str, Any]:
    """A ticket under a second-scale SLA: warning, breach with escalation, pause, resume."""
    calendar = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={
            "name": f"Replay 24x7 {time.monotonic_ns()}",
            "week": [[{"start": 0, "end": 1440}]] * 7,
        },
    )
    org = customer.organisation_id
    admin.api.ok(
        "POST",
        "/sla-policies",
        201,
        json={
            "name": f"Replay policy {time.monotonic_ns()}",
            "calendar_id": calendar["id"],
            "conditions": {"organisation_ids": [org]},
            "targets": {str(p): {"first_response": 30, "resolution": 3} for p in range(1, 6)},
            "warnings": [50],
            "escalations": [{"after": 0, "actions": [{"kind": "raise_priority"}]}],
        },
    )
    ticket = customer.api.open_ticket("Replay: SLA clocks")
    n = ticket["number"]
    agent.api.ok("POST", f"/tickets/{n}/assign", json={"group_id": group, "assignee_id": agent.id})
    deadline = time.monotonic() + 20
    while agent.api.ok("GET", f"/tickets/{n}")["sla_state"] != "breached":
        assert time.monotonic() < deadline, "the breach never came"
        time.sleep(0.2)
    agent.api.ok("POST", f"/tickets/{n}/pend", json={"reason": "Waiting for the customer"})
    customer.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Here you are"})
    agent.api.ok("POST", f"/tickets/{n}/comments", json={"body": "Thanks"})
    agent.api.ok("POST", f"/tickets/{n}/resolve", json={"resolution_code": "solved"})
    return ticket


def followup(admin: Person, directory: Directory, agent: Person, group: int) -> dict[str, Any]:
    """Idle, then waiting for a customer who is reminded once and never answers: closed."""
    customer = directory.person("customer", directory.organisation())
    calendar = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={
            "name": f"Replay always {time.monotonic_ns()}",
            "week": [[{"start": 0, "end": 1440}]] * 7,
        },
    )
    admin.api.ok(
        "POST",
        "/sla-policies",
        201,
        json={
            "name": f"Replay follow-ups {time.monotonic_ns()}",
            "calendar_id": calendar["id"],
            "conditions": {"organisation_ids": [customer.organisation_id]},
            "targets": {str(p): {"resolution": 3600} for p in range(1, 6)},
            "idle_after": 2,
            "remind_customer_after": 2,
            "close_after_reminders": 1,
        },
    )
    ticket = customer.api.open_ticket("Replay: follow-ups")
    n = ticket["number"]
    agent.api.ok("POST", f"/tickets/{n}/assign", json={"group_id": group, "assignee_id": agent.id})
    deadline = time.monotonic() + 20
    while agent.api.ok("GET", f"/tickets/{n}")["idle_since"] is None:
        assert time.monotonic() < deadline, "never idle"
        time.sleep(0.2)
    agent.api.ok("POST", f"/tickets/{n}/pend", json={"reason": "Which printer?"})
    return {**ticket, "wait_closed": True}


def routing(admin: Person, directory: Directory, customer: Person) -> dict[str, Any]:
    """A ticket offered round robin: declined by one, expired at another, taken by a third."""
    first, second, third = (directory.person("agent") for _ in range(3))
    team = admin.api.ok(
        "POST",
        "/groups",
        201,
        json={
            "name": f"Replay routing {time.monotonic_ns()}",
            "member_ids": [first.id, second.id, third.id],
            "strategy": "round_robin",
            "offer_timeout_seconds": 5,
        },
    )["id"]
    ticket = first.api.ok(
        "POST",
        "/tickets",
        201,
        json={"subject": "Replay: routing", "requester_id": customer.id, "group_id": team},
    )
    n = ticket["number"]

    def offered_to(agent: Person) -> None:
        deadline = time.monotonic() + 30
        while n not in [o["number"] for o in agent.api.ok("GET", "/offers")]:
            assert time.monotonic() < deadline, "no offer came"
            time.sleep(0.2)

    offered_to(first)
    first.api.ok("POST", f"/tickets/{n}/offer/decline", json={"reason": "Busy"})
    offered_to(second)
    offered_to(third)  # the second let it expire
    third.api.ok("POST", f"/tickets/{n}/offer/accept")
    third.api.ok("POST", f"/tickets/{n}/resolve", json={"resolution_code": "solved"})
    return ticket


def consult(agent: Person, directory: Directory, customer: Person) -> dict[str, Any]:
    """A transfer with a note, a consult asked and answered, a reminder that fires."""
    import datetime as dt

    expert = directory.person("agent")
    ticket = customer.api.open_ticket("Replay: consult and reminder")
    n = ticket["number"]
    agent.api.ok("POST", f"/tickets/{n}/assign", json={"assignee_id": agent.id, "note": "Mine"})
    agent.api.ok(
        "POST", f"/tickets/{n}/consults", json={"colleague_id": expert.id, "message": "Seen it?"}
    )
    seq = expert.api.ok("GET", "/consults")[0]["consult_seq"]
    expert.api.ok("POST", f"/tickets/{n}/consults/{seq}/answer", json={"body": "Yes"})
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat()
    agent.api.ok("POST", f"/tickets/{n}/reminder", json={"at": at})
    deadline = time.monotonic() + 30
    while agent.api.ok("GET", "/reminders"):
        assert time.monotonic() < deadline, "the reminder never came"
        time.sleep(0.2)
    agent.api.ok("POST", f"/tickets/{n}/resolve", json={"resolution_code": "solved"})
    return ticket


def alert(admin: Person, base_url: str) -> dict[str, Any]:
    """An alert's run: triggers, an acknowledge, a resolve, then the run ends by itself."""
    from workflows import ids

    integration = admin.api.ok(
        "POST",
        "/integrations",
        201,
        json={"name": f"Replay {time.monotonic_ns()}", "kind": "events"},
    )
    url = f"{base_url}/api/v1/integrations/events"
    key = "replay-disk"
    trigger = {
        "routing_key": integration["token"],
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Replay: disk full", "source": "db-1", "severity": "error"},
    }
    for action in ("trigger", "trigger", "acknowledge", "trigger", "resolve"):
        event = trigger if action == "trigger" else {**trigger, "event_action": action}
        assert httpx.post(url, json=event).status_code == 202
        time.sleep(0.3)
    workflow_id = ids.alert_workflow_id(integration["id"], key)
    return {"workflow_id": workflow_id, "wait_closed": True}


def alert_flap(admin: Person, agent: Person, base_url: str) -> dict[str, Any]:
    """An alert resolved at its source, then firing again within the flap window: its
    incident reopens instead of a new one opening; then it resolves for good."""
    from workflows import ids

    integration = admin.api.ok(
        "POST",
        "/integrations",
        201,
        json={
            "name": f"Replay flap {time.monotonic_ns()}",
            "kind": "events",
            "flap_window_seconds": 2,
        },
    )
    url = f"{base_url}/api/v1/integrations/events"
    key = "replay-uplink"
    trigger = {
        "routing_key": integration["token"],
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "Replay: uplink down", "source": "sw-1", "severity": "critical"},
    }
    resolve = {**trigger, "event_action": "resolve"}

    def incident_status() -> str | None:
        alerts = agent.api.ok("GET", "/alerts", params={"integration_id": integration["id"]})
        if not alerts or alerts[0]["ticket_number"] is None:
            return None
        return str(agent.api.ok("GET", f"/tickets/{alerts[0]['ticket_number']}")["status"])

    def wait(status: str) -> None:
        deadline = time.monotonic() + 20
        while incident_status() != status:
            assert time.monotonic() < deadline, f"the incident never became {status}"
            time.sleep(0.2)

    assert httpx.post(url, json=trigger).status_code == 202
    wait("new")
    assert httpx.post(url, json=resolve).status_code == 202
    wait("resolved")
    assert httpx.post(url, json=trigger).status_code == 202  # within the window: flapping
    wait("open")
    assert httpx.post(url, json=resolve).status_code == 202
    workflow_id = ids.alert_workflow_id(integration["id"], key)
    return {"workflow_id": workflow_id, "wait_closed": True}


def bulk(manager: Person, agent: Person, customer: Person, group: int) -> dict[str, Any]:
    """A bulk reassignment of three tickets, one of them closed (refused)."""
    numbers = [customer.api.open_ticket(f"Replay: bulk {i}")["number"] for i in range(3)]
    agent.api.ok("POST", f"/tickets/{numbers[0]}/resolve", json={"resolution_code": "solved"})
    agent.api.ok("POST", f"/tickets/{numbers[0]}/close", json={})
    job = manager.api.ok(
        "POST",
        "/bulk/reassign",
        202,
        json={"numbers": numbers, "group_id": group, "assignee_id": agent.id, "note": "Replay"},
    )
    return {"workflow_id": job["id"], "wait_closed": True}


def mailbox(admin: Person) -> dict[str, Any]:
    """A mailbox polled a few rounds (its server is down: the error is recorded), then
    removed, which ends its workflow."""
    from tempodesk.embedded import free_port
    from workflows import ids

    box = admin.api.ok(
        "POST",
        "/mailboxes",
        201,
        json={
            "name": f"Replay {time.monotonic_ns()}",
            "address": "replay@desk.example",
            "protocol": "imap",
            "host": "127.0.0.1",
            "port": free_port(),
            "tls": False,
            "username": "replay",
            "password_env": "REPLAY_MAILBOX_PASSWORD",
            "poll_seconds": 1,
        },
    )
    deadline = time.monotonic() + 20
    while not admin.api.ok("GET", f"/mailboxes/{box['id']}")["last_error"]:
        assert time.monotonic() < deadline, "the mailbox was never polled"
        time.sleep(0.2)
    time.sleep(2.5)  # a few more rounds on the durable timer
    admin.api.ok("DELETE", f"/mailboxes/{box['id']}", 204)
    return {"workflow_id": ids.mailbox_workflow_id(box["id"]), "wait_closed": True}


async def save(temporal_address: str, scenarios: dict[str, dict[str, Any]]) -> None:
    client = await connect(temporal_address, "default")
    for name, ticket in scenarios.items():
        if ticket.get("wait_closed"):
            await client.get_workflow_handle(ticket["workflow_id"]).result()
        runs = [r async for r in client.list_workflows(f"WorkflowId = '{ticket['workflow_id']}'")]
        for index, run in enumerate(sorted(runs, key=lambda r: r.start_time)):
            handle = client.get_workflow_handle(run.id, run_id=run.run_id)
            history = await handle.fetch_history()
            folder = HERE / RELEASE
            folder.mkdir(exist_ok=True)
            target = folder / f"{name}-run{index + 1}.json"
            target.write_text(history.to_json())
            print(f"wrote {target.name} ({len(history.events)} events)")


def main(only: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with postgres(folder) as database_url, temporal(folder) as server:
            upgrade(database_url)
            address = f"127.0.0.1:{server.port}"
            config = AppConfig(database_url, address, folder / "home")
            worker = start_process("worker", config)
            api = start_process("api", config)
            try:
                wait_healthy(api, config.base_url)
                directory = Directory(database_url, config.base_url)
                admin, agent = directory.person("admin"), directory.person("agent")
                manager = directory.person("manager")
                customer = directory.person("customer", directory.organisation())
                group = directory.group(members=[agent])
                makers = {
                    "lifecycle": lambda: lifecycle(agent, customer, group),
                    "auto-close": lambda: auto_close(admin, agent, customer),
                    "continued": lambda: continued(agent, customer),
                    "sla": lambda: sla(admin, agent, customer, group),
                    "alert": lambda: alert(admin, config.base_url),
                    "alert-flap": lambda: alert_flap(admin, agent, config.base_url),
                    "bulk": lambda: bulk(manager, agent, customer, group),
                    "mailed-reply": lambda: mailed_reply(agent, customer),
                    "mailbox": lambda: mailbox(admin),
                    "routing": lambda: routing(admin, directory, customer),
                    "consult": lambda: consult(agent, directory, customer),
                    "followup": lambda: followup(admin, directory, agent, group),
                    "retried": lambda: retried(agent),
                }
                unknown = set(only) - set(makers)
                assert not unknown, f"no scenario {sorted(unknown)}; have {sorted(makers)}"
                scenarios = {
                    name: make() for name, make in makers.items() if name in (only or makers)
                }
                asyncio.run(save(address, scenarios))
                directory.close()
            finally:
                api.stop()
                worker.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
