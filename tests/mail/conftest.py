"""The mail intake as a real process on loopback, and helpers to write it mail with smtplib."""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import psycopg
import pytest

from tempodesk.embedded import free_port
from tests.factories import Directory
from tests.stack import AppConfig, Process, start_process


@dataclass
class Intake:
    port: int
    dsn: str

    def send(self, message: EmailMessage | bytes, to: str = "support@tempodesk.localhost") -> None:
        """Deliver one message; the intake answers once it has processed it."""
        # On the wire, lines end in CRLF (smtplib sends bytes as they are).
        raw = message if isinstance(message, bytes) else message.as_bytes(policy=policy.SMTP)
        with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as smtp:
            smtp.sendmail("sender@example.net", [to], raw)

    def row(self, message_id: str) -> dict[str, Any]:
        with psycopg.connect(self.dsn) as conn:
            cur = conn.execute(
                "SELECT m.status, m.reason, t.number, l.number AS linked FROM mail_messages m "
                "LEFT JOIN tickets t ON t.id = m.ticket_id "
                "LEFT JOIN tickets l ON l.id = m.linked_ticket_id WHERE m.message_id = %s",
                (message_id,),
            )
            found = cur.fetchone()
            assert found is not None, f"no stored message {message_id}"
            names = [d.name for d in cur.description or []]
        return dict(zip(names, found, strict=True))

    def count(self, message_id: str) -> int:
        with psycopg.connect(self.dsn) as conn:
            found = conn.execute(
                "SELECT count(*) FROM mail_messages WHERE message_id = %s", (message_id,)
            ).fetchone()
        assert found is not None
        return int(found[0])


def wait_for_port(port: int, process: Process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            raise RuntimeError(f"{process.name} exited:\n{process.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{process.name} did not listen on {port}:\n{process.tail()}")


@pytest.fixture(scope="session")
def intake(app_config: AppConfig, directory: Directory) -> Iterator[Intake]:
    port = free_port()
    config = dataclasses.replace(
        app_config, extra={**app_config.extra, "TEMPODESK_MAIL_INTAKE_PORT": str(port)}
    )
    process = start_process("mail-intake", config)
    try:
        wait_for_port(port, process)
        yield Intake(port, directory.dsn)
    finally:
        process.stop()


def mail(
    sender: str,
    subject: str,
    body: str,
    *,
    to: str = "support@tempodesk.localhost",
    **headers: str,
) -> EmailMessage:
    """A plain message from `sender`; extra headers by keyword (In_Reply_To=...)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="client.example")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
