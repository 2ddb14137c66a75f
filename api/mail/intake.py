"""The SMTP/LMTP intake: an MTA (or `tempodesk up` on loopback) delivers the desk's mail here.

A message is acknowledged only once it is stored raw: if PostgreSQL is away
the sender hears 451 and tries again later, so nothing is lost. Processing
happens before the answer, in arrival order (a reply never overtakes the
message that opened its ticket), and its failures end in quarantine, never
in an error to the sender.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from api.mail.process import MailProcessor, MailUnavailable
from api.settings import Settings
from api.temporal import connect
from api.ticket_client import TemporalTicketClient
from models.db import make_engine, make_session_factory

log = logging.getLogger("tempodesk.mail.intake")


class IntakeHandler:
    """aiosmtpd handler: every accepted message goes through `MailProcessor.receive`."""

    def __init__(self, processor: MailProcessor, lmtp: bool) -> None:
        self._processor = processor
        self._lmtp = lmtp

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        try:
            received = await self._processor.receive(raw)
        except MailUnavailable:
            # Stored, but the desk cannot act on it now: the MTA's retry processes it.
            status = "451 4.3.0 the desk cannot take mail right now; try again later"
        except Exception:
            log.exception("could not store a message from %s", envelope.mail_from)
            status = "451 4.3.0 the desk cannot store mail right now; try again later"
        else:
            status = f"250 2.0.0 {received.status}"
        if self._lmtp:
            # LMTP answers once per recipient; the message is stored once for all.
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status


async def serve(settings: Settings, processor: MailProcessor) -> asyncio.Server:
    """Start listening; the caller closes the returned server."""
    handler = IntakeHandler(processor, settings.mail_intake_lmtp)
    protocol: Any = LMTP if settings.mail_intake_lmtp else SMTP
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: protocol(
            handler,
            data_size_limit=settings.mail_max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=settings.mail_domain,
            ident="Tempodesk mail intake",
        ),
        host=settings.mail_intake_host,
        port=settings.mail_intake_port,
    )


async def run_intake(settings: Settings, stop: asyncio.Event) -> None:
    engine = make_engine(settings.resolved_database_url(), pool_size=4, max_overflow=4)
    try:
        client = await connect(settings.temporal_address, settings.temporal_namespace)
        processor = MailProcessor(
            make_session_factory(engine), TemporalTicketClient(client), settings
        )
        server = await serve(settings, processor)
        kind = "LMTP" if settings.mail_intake_lmtp else "SMTP"
        log.info(
            "mail intake (%s) on %s:%s", kind, settings.mail_intake_host, settings.mail_intake_port
        )
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()
    finally:
        await engine.dispose()
