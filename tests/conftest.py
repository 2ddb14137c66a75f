"""Session fixtures: one real PostgreSQL, one real Temporal dev server, the real worker and API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from api.temporal import connect
from models.migrate import upgrade
from tests.factories import Directory, Person
from tests.smtp_sink import SmtpSink
from tests.stack import AppConfig, Process, postgres, start_process, temporal, wait_healthy

ATTACHMENT_LIMIT = 256 * 1024
MAILBOX_PASSWORD_ENV = "TEST_MAILBOX_PASSWORD"
MAILBOX_PASSWORD = "dovecot-test-secret"
"""The password the worker reads for the test mailboxes (tests/mail)."""
SECRET_KEY = "dGVtcG9kZXNrLXRlc3Qta2V5LW5vdC1mb3ItdXNlLSE="
"""The desk's Fernet key in the tests (encrypts stored mailbox passwords)."""


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with postgres(tmp_path_factory.mktemp("postgres")) as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    with temporal(None) as server:
        yield f"127.0.0.1:{server.port}"


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """Where the worker sends the desk's outgoing mail."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def app_config(
    database_url: str,
    temporal_address: str,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_sink: SmtpSink,
) -> AppConfig:
    return AppConfig(
        database_url=database_url,
        temporal_address=temporal_address,
        home=tmp_path_factory.mktemp("home"),
        extra={
            "TEMPODESK_MAX_ATTACHMENT_BYTES": str(ATTACHMENT_LIMIT),
            "TEMPODESK_SMTP_HOST": "127.0.0.1",
            "TEMPODESK_SMTP_PORT": str(smtp_sink.port),
            MAILBOX_PASSWORD_ENV: MAILBOX_PASSWORD,
            "TEMPODESK_SECRET_KEY": SECRET_KEY,
        },
    )


@pytest.fixture(scope="session")
def worker(app_config: AppConfig) -> Iterator[Process]:
    process = start_process("worker", app_config)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def base_url(app_config: AppConfig, worker: Process) -> Iterator[str]:
    process = start_process("api", app_config)
    try:
        wait_healthy(process, app_config.base_url)
        yield app_config.base_url
    finally:
        process.stop()
        if worker.proc.poll() is not None:
            pytest.fail(f"the worker died during the run:\n{worker.tail()}")


@pytest.fixture(scope="session")
def directory(database_url: str, base_url: str) -> Iterator[Directory]:
    directory = Directory(database_url, base_url)
    yield directory
    directory.close()


@pytest.fixture
def agent(directory: Directory) -> Person:
    return directory.person("agent")


@pytest.fixture
def admin(directory: Directory) -> Person:
    return directory.person("admin")


@pytest.fixture
def org(directory: Directory) -> int:
    return directory.organisation()


@pytest.fixture
def customer(directory: Directory, org: int) -> Person:
    return directory.person("customer", org)


@pytest.fixture(scope="session")
async def temporal_client(temporal_address: str) -> AsyncIterator[Client]:
    yield await connect(temporal_address, "default")
