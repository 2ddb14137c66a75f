"""Stop the worker and the Temporal dev server, start them again on the same data folder:
open tickets keep their workflows and accept actions, and timers still fire."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import Directory
from tests.stack import AppConfig, Process, start_process, temporal, wait_healthy


@pytest.fixture
def own_stack(database_url: str, tmp_path: Path) -> Iterator[tuple[Path, AppConfig]]:
    yield tmp_path, AppConfig(database_url, "", tmp_path / "home")


def test_open_tickets_survive_a_restart_of_worker_and_temporal(
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
            customer = directory.person("customer", directory.organisation())
            replying = customer.api.open_ticket("Survives a restart")["number"]
            pending = customer.api.open_ticket("Pending across a restart")["number"]
            agent.api.ok("POST", f"/tickets/{pending}/pend", json={"reason": "waiting"})
            closing = customer.api.open_ticket("Auto-closes while Temporal is down")["number"]
            original = admin.api.ok("GET", "/settings")
            admin.api.ok("PUT", "/settings", json={**original, "reopen_window_seconds": 3})
            agent.api.ok("POST", f"/tickets/{closing}/resolve", json={"resolution_code": "solved"})
            admin.api.ok("PUT", "/settings", json=original)

            worker.stop()
            server.stop()
            down = agent.api.post(f"/tickets/{replying}/comments", json={"body": "down"})
            assert down.status_code == 503, down.text
            time.sleep(3.5)  # the auto-close deadline passes while nothing runs

            server.start()
            processes.append(worker := start_process("worker", config))

            t = agent.api.ok("POST", f"/tickets/{replying}/comments", json={"body": "still here"})
            assert t["status"] == "open"
            t = agent.api.ok("POST", f"/tickets/{pending}/resume", json={})
            assert t["status"] == "open"
            deadline = time.monotonic() + 20
            while customer.api.ok("GET", f"/tickets/{closing}")["status"] != "closed":
                assert time.monotonic() < deadline, (
                    "the auto-close timer did not fire after the restart"
                )
                time.sleep(0.2)
            events = agent.api.ok("GET", f"/tickets/{replying}/timeline")
            assert [e["seq"] for e in events] == [1, 2]
            directory.close()
        finally:
            for process in reversed(processes):
                process.stop()
