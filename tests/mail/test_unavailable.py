"""When the workflow engine is away, mail waits as received instead of landing in quarantine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from api.mail.process import MailProcessor, MailUnavailable
from api.settings import Settings
from api.temporal import connect
from api.ticket_client import TemporalTicketClient
from models.db import make_engine, make_session_factory
from tests.mail.conftest import Intake, mail, unique
from tests.stack import temporal


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[object]:
    engine = make_engine(database_url, pool_size=2, max_overflow=0)
    yield make_session_factory(engine)
    await engine.dispose()


async def test_mail_waits_while_temporal_is_away_and_is_processed_on_redelivery(
    intake: Intake, sessions: object, temporal_client: Client
) -> None:
    # A client of a Temporal server that has gone away since it connected.
    with temporal(None) as server:
        away = await connect(f"127.0.0.1:{server.port}", "default")
    settings = Settings()
    word = unique("patient")
    message = mail("lou@customer.example", f"{word} mail", "Temporal is down.")
    raw = message.as_bytes()

    with pytest.raises(MailUnavailable):
        await MailProcessor(sessions, TemporalTicketClient(away), settings).receive(raw)  # type: ignore[arg-type]
    assert intake.row(message["Message-ID"])["status"] == "received"

    done = await MailProcessor(
        sessions,  # type: ignore[arg-type]
        TemporalTicketClient(temporal_client),
        settings,
    ).receive(raw)
    assert done.status == "processed" and done.ticket_number is not None
    assert intake.row(message["Message-ID"])["number"] == done.ticket_number
