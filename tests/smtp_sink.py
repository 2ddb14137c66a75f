"""A real SMTP server on loopback that keeps every message it is sent (the desk's outgoing mail)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tempodesk.embedded import free_port


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


class SmtpSink:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Delivered] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self._lock:
            self._messages.append(
                Delivered(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(raw))
            )
        return "250 OK"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def messages(self, to: str | None = None) -> list[Delivered]:
        with self._lock:
            found = list(self._messages)
        return [m for m in found if to is None or to in m.recipients]

    def wait_for(self, to: str, count: int = 1, timeout: float = 30) -> list[Delivered]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages(to)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        raise AssertionError(f"{count} message(s) to {to} expected, got {len(self.messages(to))}")
