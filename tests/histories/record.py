"""Record ticket workflow histories for the replay test.

    python -m tests.histories.record [scenario ...]

Starts its own PostgreSQL, Temporal dev server, worker and API, works a few
tickets through the API the way people do, and writes each workflow run's
history to tests/histories/<scenario>.json; naming scenarios records only
those (how a new scenario is added without touching the old). Re-record only when an old history
no longer matters (new histories are added; old ones stay to guard replay of
tickets that are still open in the field).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from api.temporal import connect
from models.migrate import upgrade
from tests.factories import Directory, Person
from tests.stack import AppConfig, postgres, start_process, temporal, wait_healthy

HERE = Path(__file__).parent


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


async def save(temporal_address: str, scenarios: dict[str, dict[str, Any]]) -> None:
    client = await connect(temporal_address, "default")
    for name, ticket in scenarios.items():
        runs = [r async for r in client.list_workflows(f"WorkflowId = '{ticket['workflow_id']}'")]
        for index, run in enumerate(sorted(runs, key=lambda r: r.start_time)):
            handle = client.get_workflow_handle(run.id, run_id=run.run_id)
            history = await handle.fetch_history()
            target = HERE / f"{name}-run{index + 1}.json"
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
                customer = directory.person("customer", directory.organisation())
                group = directory.group(members=[agent])
                recipes = {
                    "lifecycle": lambda: lifecycle(agent, customer, group),
                    "auto-close": lambda: auto_close(admin, agent, customer),
                    "continued": lambda: continued(agent, customer),
                    "mailed-reply": lambda: mailed_reply(agent, customer),
                }
                scenarios = {
                    name: recipe() for name, recipe in recipes.items() if not only or name in only
                }
                asyncio.run(save(address, scenarios))
                directory.close()
            finally:
                api.stop()
                worker.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
