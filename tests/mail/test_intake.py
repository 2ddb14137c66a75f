"""Mail delivered to the intake with smtplib opens tickets, threads replies and never loops."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.conftest import ATTACHMENT_LIMIT
from tests.factories import Directory, Person
from tests.mail.conftest import Intake, mail, unique


def find(agent: Person, word: str) -> list[dict[str, Any]]:
    return agent.api.ok("GET", f"/tickets?q={word}")["items"]


def only(agent: Person, word: str) -> dict[str, Any]:
    found = find(agent, word)
    assert len(found) == 1, found
    return found[0]


def timeline(agent: Person, number: int) -> list[dict[str, Any]]:
    return agent.api.ok("GET", f"/tickets/{number}/timeline")


def test_mail_from_an_unknown_sender_opens_a_ticket_in_its_organisation(
    intake: Intake, directory: Directory, agent: Person
) -> None:
    domain = f"{unique('acme')}.example"
    org = directory.organisation()
    with psycopg.connect(directory.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organisation_domains (domain, organisation_id) VALUES (%s, %s)",
            (domain, org),
        )
    word = unique("printer")
    message = mail(f"Ann Example <ann@{domain}>", f"{word} is jammed", "Paper everywhere.")
    intake.send(message)

    ticket = only(agent, word)
    assert ticket["channel"] == "email"
    assert ticket["subject"] == f"{word} is jammed"
    assert ticket["description"] == "Paper everywhere."
    assert ticket["requester"]["name"] == "Ann Example"
    assert ticket["organisation_id"] == org
    assert intake.row(message["Message-ID"])["number"] == ticket["number"]


def test_a_reply_with_in_reply_to_lands_on_the_ticket_and_resumes_it(
    intake: Intake, agent: Person, customer: Person
) -> None:
    word = unique("vpn")
    first = mail("Bob <bob@customer.example>", f"{word} drops", "Every ten minutes.")
    intake.send(first)
    number = only(agent, word)["number"]
    agent.api.ok("POST", f"/tickets/{number}/pend", json={"reason": "waiting for logs"})

    reply = mail(
        "Bob <bob@customer.example>",
        f"Re: {word} drops",
        "Here are the logs.\n\nOn Monday Desk wrote:\n> Please send logs\n",
        In_Reply_To=first["Message-ID"],
        References=first["Message-ID"],
    )
    intake.send(reply)

    ticket = agent.api.ok("GET", f"/tickets/{number}")
    assert ticket["status"] == "open"
    replies = [e for e in timeline(agent, number) if e["kind"] == "replied"]
    assert [r["data"]["body"] for r in replies] == ["Here are the logs."]
    assert len(find(agent, word)) == 1
    assert intake.row(reply["Message-ID"])["number"] == number

    # The full message, quote included, stays available to staff.
    stored = agent.api.ok("GET", f"/mail/messages?ticket={number}")
    assert [(m["direction"], m["message_id"]) for m in stored] == [
        ("in", first["Message-ID"]),
        ("in", reply["Message-ID"]),
    ]
    raw = agent.api.get(f"/mail/messages/{stored[1]['id']}/raw")
    assert raw.headers["content-type"] == "message/rfc822"
    assert b"> Please send logs" in raw.content
    assert customer.api.get(f"/mail/messages?ticket={number}").status_code == 403
    assert customer.api.get(f"/mail/messages/{stored[1]['id']}/raw").status_code == 403


def test_a_stranger_quoting_the_tag_opens_a_new_linked_ticket(
    intake: Intake, agent: Person
) -> None:
    word = unique("laptop")
    intake.send(mail("carol@customer.example", f"{word} broken", "Screen is black."))
    original = only(agent, word)

    stranger = mail("mallory@elsewhere.example", f"Re: [TD#{original['number']}] {word}", "Hi!")
    intake.send(stranger)

    stored = intake.row(stranger["Message-ID"])
    assert stored["status"] == "processed"
    assert stored["number"] != original["number"]
    assert stored["linked"] == original["number"]
    assert not [e for e in timeline(agent, original["number"]) if e["kind"] == "replied"]
    notes = [e for e in timeline(agent, stored["number"]) if e["kind"] == "note_added"]
    assert f"#{original['number']}" in notes[0]["data"]["body"]


def test_the_requester_may_thread_by_the_tag_alone(intake: Intake, agent: Person) -> None:
    word = unique("badge")
    intake.send(mail("dave@customer.example", f"{word} lost", "Need a new one."))
    number = only(agent, word)["number"]
    intake.send(mail("dave@customer.example", f"AW: [TD#{number}] {word} lost", "Found it."))
    replies = [e for e in timeline(agent, number) if e["kind"] == "replied"]
    assert [r["data"]["body"] for r in replies] == ["Found it."]


def test_an_out_of_office_reply_opens_nothing(intake: Intake, agent: Person) -> None:
    word = unique("holiday")
    away = mail(
        "erin@customer.example",
        f"Out of office: {word}",
        "I am away.",
        Auto_Submitted="auto-replied",
    )
    intake.send(away)
    listed = mail("list@customer.example", f"{word} digest", "News.", List_Id="<news.example>")
    intake.send(listed)
    bulk = mail("promo@customer.example", f"{word} offer", "Buy.", Precedence="bulk")
    intake.send(bulk)
    assert find(agent, word) == []
    for message in (away, listed, bulk):
        assert intake.row(message["Message-ID"])["status"] == "ignored"


def test_a_malformed_message_is_quarantined_and_the_next_one_processed(
    intake: Intake, agent: Person
) -> None:
    word = unique("after")
    broken = (
        b"From: <<<>>>\r\nSubject: broken\r\nMessage-ID: <" + word.encode() + b"@broken>\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n"
    )
    intake.send(broken)
    intake.send(mail("frank@customer.example", f"{word} works", "The next one."))

    stored = intake.row(f"<{word}@broken>")
    assert stored["status"] == "quarantined"
    assert "From" in stored["reason"]
    assert only(agent, word)["subject"] == f"{word} works"


def test_a_duplicate_delivery_is_ignored(intake: Intake, agent: Person) -> None:
    word = unique("twice")
    message = mail("gina@customer.example", f"{word} delivered", "Once please.")
    intake.send(message)
    intake.send(message)
    assert len(find(agent, word)) == 1
    assert intake.count(message["Message-ID"]) == 1


def test_a_bounce_is_recorded_on_the_contact_and_opens_nothing(
    intake: Intake, directory: Directory, agent: Person
) -> None:
    customer = directory.person("customer")
    word = unique("bounce")
    dsn = (
        "From: MAILER-DAEMON@mx.example\r\n"
        "To: support@tempodesk.localhost\r\n"
        f"Subject: Undelivered Mail Returned to Sender {word}\r\n"
        f"Message-ID: <{word}@mx.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {customer.email}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown\r\n\r\n"
        "--B--\r\n"
    ).encode()
    intake.send(dsn)
    assert find(agent, word) == []
    assert intake.row(f"<{word}@mx.example>")["status"] == "ignored"
    with psycopg.connect(directory.dsn) as conn:
        found = conn.execute(
            "SELECT mail_bounced_at IS NOT NULL, mail_bounce_reason FROM users WHERE id = %s",
            (customer.id,),
        ).fetchone()
    assert found == (True, "smtp; 550 5.1.1 mailbox unknown")


def test_attachments_are_stored_within_the_size_limit(intake: Intake, agent: Person) -> None:
    word = unique("invoice")
    message = mail("henry@customer.example", f"{word} attached", "See the files.")
    message.add_attachment(
        b"%PDF-1.4 small", maintype="application", subtype="pdf", filename="Rechnung März.pdf"
    )
    big = b"x" * (ATTACHMENT_LIMIT + 1)
    message.add_attachment(big, maintype="application", subtype="zip", filename="logs.zip")
    intake.send(message)

    number = only(agent, word)["number"]
    files = agent.api.ok("GET", f"/tickets/{number}/attachments")
    assert [(f["filename"], f["content_type"], f["size"]) for f in files] == [
        ("Rechnung März.pdf", "application/pdf", 14)
    ]
    download = agent.api.get(f"/attachments/{files[0]['id']}")
    assert download.content == b"%PDF-1.4 small"
    notes = [e["data"]["body"] for e in timeline(agent, number) if e["kind"] == "note_added"]
    assert len(notes) == 1 and "logs.zip" in notes[0]


def test_a_message_stored_but_never_processed_is_processed_when_delivered_again(
    intake: Intake, directory: Directory, agent: Person
) -> None:
    word = unique("crashed")
    message = mail("kim@customer.example", f"{word} mail", "Stored, then the intake died.")
    # What a crash between storing and answering leaves: the raw row, unprocessed.
    with psycopg.connect(directory.dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO mail_messages (direction, message_id, status, raw, sha256) "
            "VALUES ('in', %s, 'received', %s, '')",
            (message["Message-ID"], message.as_bytes()),
        )
    intake.send(message)  # the MTA never heard 250, so it delivers again
    assert only(agent, word)["subject"] == f"{word} mail"
    assert intake.row(message["Message-ID"])["status"] == "processed"
    assert intake.count(message["Message-ID"]) == 1


def test_an_answer_reopens_a_resolved_ticket_and_opens_a_linked_one_once_closed(
    intake: Intake, agent: Person
) -> None:
    word = unique("again")
    first = mail("nina@customer.example", f"{word} printer", "Jammed.")
    intake.send(first)
    number = only(agent, word)["number"]
    agent.api.ok("POST", f"/tickets/{number}/resolve", json={"resolution_code": "solved"})

    back = mail(
        "nina@customer.example",
        f"Re: {word} printer",
        "Jammed again.",
        In_Reply_To=first["Message-ID"],
    )
    intake.send(back)
    ticket = agent.api.ok("GET", f"/tickets/{number}")
    assert ticket["status"] == "open" and ticket["reopen_count"] == 1

    agent.api.ok("POST", f"/tickets/{number}/resolve", json={"resolution_code": "solved"})
    agent.api.ok("POST", f"/tickets/{number}/close", json={})
    late = mail(
        "nina@customer.example",
        f"Re: {word} printer",
        "And again.",
        In_Reply_To=first["Message-ID"],
    )
    intake.send(late)
    stored = intake.row(late["Message-ID"])
    assert stored["status"] == "processed"
    assert stored["number"] != number and stored["linked"] == number
    assert agent.api.ok("GET", f"/tickets/{number}")["status"] == "closed"
