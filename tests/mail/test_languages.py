"""Mail in Japanese, Arabic and Persian end to end: real-world encodings through the SMTP
intake become readable tickets, and a Persian customer is answered in Persian, right to left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import Directory, Person
from tests.mail.conftest import Intake, mail, unique
from tests.mail.test_corpus import AR_WINDOWS_1256, JA_ISO_2022_JP
from tests.smtp_sink import SmtpSink

CORPUS = Path(__file__).parent / "corpus"


def delivered(intake: Intake, name: str, sender: str) -> tuple[str, str]:
    """Send a corpus message as its client wrote it, under a fresh Message-ID and sender
    address; returns (Message-ID, sender address)."""
    raw = (CORPUS / name).read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    old_id = next(line for line in lines if line.lower().startswith(b"message-id:"))
    message_id = f"<{unique('i18n')}@client.example>"
    address = f"{unique('sender')}@client.example"
    head = head.replace(old_id, b"Message-ID: " + message_id.encode()).replace(
        sender.encode(), address.encode()
    )
    intake.send(head + b"\r\n\r\n" + body)
    return message_id, address


@pytest.mark.parametrize(
    ("name", "sender", "expected"),
    [
        ("iso_2022_jp_7bit.eml", "hanako.sato@example.co.jp", JA_ISO_2022_JP),
        ("windows_1256_outlook_qp.eml", "ahmed.almansouri@example.ae", AR_WINDOWS_1256),
    ],
    ids=["iso-2022-jp", "windows-1256"],
)
def test_japanese_and_arabic_mail_becomes_a_readable_ticket(
    intake: Intake, agent: Person, name: str, sender: str, expected: tuple[str, str, str]
) -> None:
    subject, sender_name, text = expected
    message_id, address = delivered(intake, name, sender)

    stored = intake.row(message_id)
    assert stored["status"] == "processed", stored
    ticket = agent.api.ok("GET", f"/tickets/{stored['number']}")
    assert ticket["channel"] == "email"
    assert ticket["subject"] == subject
    assert ticket["description"] == text
    assert ticket["requester"]["name"] == sender_name
    (requester,) = agent.api.ok("GET", f"/users?q={address}")
    assert (requester["id"], requester["name"]) == (ticket["requester"]["id"], sender_name)


def test_a_reply_to_a_persian_customer_is_mailed_in_persian_right_to_left(
    intake: Intake, admin: Person, agent: Person, smtp_sink: SmtpSink
) -> None:
    customer = admin.api.ok(
        "POST",
        "/users",
        201,
        json={
            "email": f"{unique('maryam')}@example.ir",
            "name": "مریم رضایی",
            "role": "customer",
            "language": "fa",
        },
    )
    assert customer["language"] == "fa"
    subject = f"چاپگر طبقهٔ دوم کار نمی\u200cکند {unique('p')}"
    first = mail(f"مریم رضایی <{customer['email']}>", subject, "کاغذ گیر کرده است.")
    intake.send(first)
    number = intake.row(first["Message-ID"])["number"]

    answer = "سلام، تکنسین تا یک ساعت دیگر می\u200cآید."
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": answer})
    out = smtp_sink.wait_for(customer["email"])[-1].message

    assert out["Subject"] == f"پاسخ: {subject} [TD#{number}]"
    text = out.get_body(("plain",))
    html = out.get_body(("html",))
    assert text is not None and html is not None
    footer = "برای افزودن مطلبی به این تیکت، به همین ایمیل پاسخ دهید"
    assert text.get_content().startswith(answer)
    assert footer in text.get_content()
    content = html.get_content()
    assert '<html lang="fa" dir="rtl">' in content
    assert '<body lang="fa" dir="rtl"' in content
    assert f'<div dir="auto" style="white-space: pre-wrap">{answer}</div>' in content
    assert footer in content
    assert f"<bdi>{subject}</bdi>" in content


def test_persian_arabic_and_japanese_are_accepted_wherever_a_mail_language_is_chosen(
    directory: Directory, admin: Person
) -> None:
    # The template editor lists each language with its own built-in text for every part.
    listed = admin.api.ok("GET", "/mail/templates")
    for language in ("fa", "ar", "ja"):
        for kind in ("reply", "notification"):
            (found,) = [s for s in listed if (s["language"], s["kind"]) == (language, kind)]
            assert {p["part"] for p in found["parts"]} == {"subject.txt", "txt", "html"}
            assert {(p["source"], p["source_language"]) for p in found["parts"]} == {
                ("built-in", language)
            }
    html = admin.api.ok("GET", "/mail/templates/ar/reply/html")
    assert html["built_in_language"] == "ar" and 'dir="rtl"' in html["body"]
    preview = admin.api.ok(
        "POST", "/mail/templates/fa/reply/html/preview", json={"body": html["body"]}
    )
    assert 'dir="rtl"' in preview["rendered"]

    # A person chooses their own; an admin sets anyone's.
    person = directory.person("customer")
    assert person.api.ok("PATCH", "/users/me", json={"language": "ja"})["language"] == "ja"
    assert admin.api.ok("PATCH", f"/users/{person.id}", json={"language": "ar"})["language"] == (
        "ar"
    )

    # A mailbox answers in its language.
    box = admin.api.ok(
        "POST",
        "/mailboxes",
        201,
        json={
            "name": unique("box"),
            "address": f"{unique('fa')}@desk.example",
            "protocol": "imap",
            "host": "mail.example",
            "port": 993,
            "username": "desk",
            "password_env": "DESK_PASSWORD",
            "active": False,
            "language": "fa",
        },
    )
    assert box["language"] == "fa"
    admin.api.ok("DELETE", f"/mailboxes/{box['id']}", 204)
