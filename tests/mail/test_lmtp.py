"""The intake speaks LMTP for an MTA that delivers that way, and refuses oversized mail."""

from __future__ import annotations

import dataclasses
import smtplib
import socket
from collections.abc import Iterator
from email import policy

import pytest

from tempodesk.embedded import free_port
from tests.factories import Person
from tests.mail.conftest import mail, unique, wait_for_port
from tests.stack import AppConfig, start_process

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def lmtp_port(app_config: AppConfig, base_url: str) -> Iterator[int]:
    port = free_port()
    config = dataclasses.replace(
        app_config,
        home=app_config.home / "lmtp",
        extra={
            **app_config.extra,
            "TEMPODESK_MAIL_INTAKE_PORT": str(port),
            "TEMPODESK_MAIL_INTAKE_LMTP": "true",
            "TEMPODESK_MAIL_MAX_MESSAGE_BYTES": str(LIMIT),
        },
    )
    process = start_process("mail-intake", config)
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.stop()


def _dialogue(port: int, raw: bytes, recipients: list[str]) -> list[bytes]:
    """An LMTP transaction over a plain socket; the replies after the final dot.

    (smtplib's LMTP class reads one reply after DATA, not one per recipient.)
    """
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        replies = sock.makefile("rb")
        replies.readline()  # greeting

        def command(line: bytes) -> bytes:
            sock.sendall(line + b"\r\n")
            reply = replies.readline()
            while reply[3:4] == b"-":  # a multi-line reply (LHLO)
                reply = replies.readline()
            return reply

        assert command(b"LHLO mta.example").startswith(b"250")
        assert command(b"MAIL FROM:<max@customer.example>").startswith(b"250")
        for recipient in recipients:
            assert command(f"RCPT TO:<{recipient}>".encode()).startswith(b"250")
        assert command(b"DATA").startswith(b"354")
        sock.sendall(raw + b".\r\n")
        answers = [replies.readline() for _ in recipients]
        command(b"QUIT")
    return answers


def test_lmtp_answers_per_recipient_and_opens_one_ticket(lmtp_port: int, agent: Person) -> None:
    word = unique("lmtp")
    message = mail("max@customer.example", f"{word} via lmtp", "Delivered by Postfix.")
    raw = message.as_bytes(policy=policy.SMTP)
    answers = _dialogue(lmtp_port, raw, ["support@desk.example", "helpdesk@desk.example"])
    assert [a[:3] for a in answers] == [b"250", b"250"]
    assert len(agent.api.ok("GET", f"/tickets?q={word}")["items"]) == 1


def test_a_message_over_the_limit_is_refused_in_the_dialogue(lmtp_port: int) -> None:
    message = mail("max@customer.example", unique("huge"), ("x" * 70 + "\n") * (LIMIT // 70))
    with (
        smtplib.LMTP("127.0.0.1", lmtp_port, timeout=60) as lmtp,
        pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused,
    ):
        lmtp.sendmail(
            "max@customer.example", ["support@desk.example"], message.as_bytes(policy=policy.SMTP)
        )
    assert refused.value.smtp_code == 552
