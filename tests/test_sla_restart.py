"""A worker killed between an SLA warning and the breach: the breach still fires, once.

Runs its own Temporal dev server, worker and API against the shared database,
so killing this worker disturbs no other test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_sla import at, org_policy, targets, wait_for
from tests.factories import Directory
from tests.stack import AppConfig, Process, start_process, temporal, wait_healthy


@pytest.fixture
def own_stack(database_url: str, tmp_path: Path) -> Iterator[tuple[Path, AppConfig]]:
    yield tmp_path, AppConfig(database_url, "", tmp_path / "home")


def test_a_breach_fires_once_after_the_worker_was_killed(
    own_stack: tuple[Path, AppConfig],
) -> None:
    folder, config = own_stack
    processes: list[Process] = []
    with temporal(folder) as server:
        config.temporal_address = f"127.0.0.1:{server.port}"
        worker = start_process("worker", config)
        api = start_process("api", config)
        processes += [worker, api]
        try:
            wait_healthy(api, config.base_url)
            directory = Directory(config.database_url, config.base_url)
            admin, agent = directory.person("admin"), directory.person("agent")
            org = directory.organisation()
            customer = directory.person("customer", org)
            org_policy(admin, org, targets=targets(resolution=6), warnings=[25])
            number = customer.api.open_ticket("Survives a killed worker")["number"]
            agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": agent.id})

            def kinds() -> list[str]:
                return [e["kind"] for e in agent.api.ok("GET", f"/tickets/{number}/timeline")]

            wait_for(lambda: "sla_warning" in kinds(), 15, "no warning before the kill")
            worker.kill()  # SIGKILL: no graceful shutdown, the breach timer is pending
            assert "sla_breached" not in kinds()
            time.sleep(6)  # the due instant passes while no worker runs
            processes.append(start_process("worker", config))

            wait_for(lambda: "sla_breached" in kinds(), 30, "the breach never fired")
            time.sleep(1.5)
            timeline = agent.api.ok("GET", f"/tickets/{number}/timeline")
            fired = [e["kind"] for e in timeline if e["kind"].startswith("sla_")]
            assert fired == ["sla_warning", "sla_breached"]
            breach = next(e for e in timeline if e["kind"] == "sla_breached")
            assert at(breach["data"]["at"]) < at(breach["at"]), "recorded when it was due"
            notifications = agent.api.ok("GET", "/notifications")
            assert sorted(n["kind"] for n in notifications) == ["sla_breached", "sla_warning"]
            directory.close()
        finally:
            for process in reversed(processes):
                process.stop()
