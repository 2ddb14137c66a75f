"""Agent replies reach the customer by mail, once, with headers that thread the answer back."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tests.api.test_sla import org_policy, targets
from tests.factories import Directory, Person
from tests.mail.conftest import Intake, mail, unique
from tests.smtp_sink import SmtpSink

ALWAYS = [[{"start": 0, "end": 1440}]] * 7


def only(agent: Person, word: str) -> dict[str, Any]:
    found = agent.api.ok("GET", f"/tickets?q={word}")["items"]
    assert len(found) == 1, found
    return found[0]


def replies(agent: Person, number: int) -> list[dict[str, Any]]:
    timeline = agent.api.ok("GET", f"/tickets/{number}/timeline")
    return [e for e in timeline if e["kind"] == "replied"]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def next_update(agent: Person, number: int) -> dict[str, Any]:
    ticket = agent.api.ok("GET", f"/tickets/{number}")
    return next(c for c in ticket["sla_clocks"] if c["name"] == "next_update")


def test_an_agent_reply_is_mailed_once_and_the_customer_answer_threads_back(
    intake: Intake, directory: Directory, agent: Person, admin: Person, smtp_sink: SmtpSink
) -> None:
    org = directory.organisation()
    customer = directory.person("customer", org)
    calendar = admin.api.ok(
        "POST", "/calendars", 201, json={"name": unique("24x7"), "timezone": "UTC", "week": ALWAYS}
    )["id"]
    targets = {"first_response": 300, "next_update": 120, "resolution": 3600}
    admin.api.ok(
        "POST",
        "/sla-policies",
        201,
        json={
            "name": unique("mail policy"),
            "calendar_id": calendar,
            "conditions": {"organisation_ids": [org]},
            "targets": {str(p): targets for p in range(1, 6)},
        },
    )
    word = unique("wifi")
    first = mail(customer.email, f"{word} is slow", "Since this morning.")
    intake.send(first)
    number = only(agent, word)["number"]

    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Please restart <b>it</b>."})
    sent = smtp_sink.wait_for(customer.email)
    time.sleep(1)  # a second copy would arrive by now
    assert len(smtp_sink.messages(customer.email)) == 1
    out = sent[0].message
    assert out["Subject"] == f"Re: {word} is slow [TD#{number}]"
    assert out["Message-ID"].endswith("@tempodesk.localhost>")
    assert out["In-Reply-To"] == first["Message-ID"]
    assert first["Message-ID"] in out["References"]
    assert out["Reply-To"] == "support@tempodesk.localhost"
    text = out.get_body(("plain",))
    html = out.get_body(("html",))
    assert text is not None and "Please restart <b>it</b>." in text.get_content()
    assert html is not None and "Please restart &lt;b&gt;it&lt;/b&gt;." in html.get_content()

    # The customer's client answers with the threading headers only (no tag in the subject).
    answer = mail(
        customer.email,
        f"Re: {word} is slow",
        "Restarted, still slow.\n\n> Please restart it.\n",
        In_Reply_To=out["Message-ID"],
        References=f"{out['References']} {out['Message-ID']}",
    )
    intake.send(answer)
    answers = replies(agent, number)
    assert [r["data"]["body"] for r in answers] == [
        "Please restart <b>it</b>.",
        "Restarted, still slow.",
    ]
    clock = next_update(agent, number)
    assert clock["state"] == "running"
    assert at(clock["due_at"]) == at(answers[-1]["at"]) + timedelta(seconds=120)

    # An out-of-office answer to our mail changes nothing and sends nothing.
    away = mail(
        customer.email,
        f"Automatic reply: {word}",
        "I am on holiday.",
        In_Reply_To=out["Message-ID"],
        Auto_Submitted="auto-replied",
    )
    intake.send(away)
    assert intake.row(away["Message-ID"])["status"] == "ignored"
    assert len(replies(agent, number)) == 2
    time.sleep(1)
    assert len(smtp_sink.messages(customer.email)) == 1


def test_an_agent_answering_by_mail_makes_a_public_reply_that_is_mailed(
    intake: Intake, directory: Directory, agent: Person, smtp_sink: SmtpSink
) -> None:
    customer = directory.person("customer", directory.organisation())
    word = unique("disk")
    first = mail(customer.email, f"{word} full", "No space left.")
    intake.send(first)
    number = only(agent, word)["number"]
    agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": agent.id})

    agent_mail = mail(agent.email, f"[TD#{number}] {word} full", "Cleared the temp folder.")
    intake.send(agent_mail)

    answered = replies(agent, number)
    assert [(r["actor"]["id"], r["public"]) for r in answered] == [(agent.id, True)]
    delivered = smtp_sink.wait_for(customer.email)
    assert "Cleared the temp folder." in delivered[0].raw.decode()
    with psycopg.connect(directory.dsn) as conn:
        outbox = conn.execute(
            "SELECT o.status, o.attempts FROM mail_outbox o JOIN tickets t ON t.id = o.ticket_id "
            "WHERE t.number = %s",
            (number,),
        ).fetchall()
    assert outbox == [("sent", 1)]


def test_our_own_message_coming_back_opens_nothing(intake: Intake, agent: Person) -> None:
    word = unique("echo")
    echo = mail("support@tempodesk.localhost", f"Re: {word}", "Looped.")
    del echo["Message-ID"]
    echo["Message-ID"] = f"<td.{word}.reply@tempodesk.localhost>"
    intake.send(echo)
    assert agent.api.ok("GET", f"/tickets?q={word}")["items"] == []
    assert intake.row(echo["Message-ID"])["status"] == "ignored"


def test_sla_warning_and_breach_are_mailed_once_to_the_person_they_notify(
    directory: Directory, admin: Person, agent: Person, smtp_sink: SmtpSink
) -> None:
    org = directory.organisation()
    customer = directory.person("customer", org)
    org_policy(admin, org, targets=targets(resolution=4), warnings=[50])
    number = customer.api.open_ticket(unique("slow"))["number"]
    agent.api.ok("POST", f"/tickets/{number}/assign", json={"assignee_id": agent.id})

    def warnings() -> list[Any]:
        return [
            m
            for m in smtp_sink.messages(agent.email)
            if str(m.message["Subject"]).startswith(f"[TD#{number}]")
        ]

    deadline = time.monotonic() + 30
    while len(warnings()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # neither may come twice, however long we wait
    subjects = [str(m.message["Subject"]) for m in warnings()]
    assert subjects == [
        f"[TD#{number}] ticket #{number}: 50% of the resolution target used",
        f"[TD#{number}] ticket #{number} breached its resolution target",
    ]
    assert all(m.message["Auto-Submitted"] == "auto-generated" for m in warnings())
    assert smtp_sink.messages(customer.email) == []


def test_cc_d_contacts_get_the_reply_and_may_answer_by_the_tag(
    intake: Intake, directory: Directory, agent: Person, smtp_sink: SmtpSink
) -> None:
    customer = directory.person("customer", directory.organisation())
    colleague = f"{unique('colleague')}@partner.example"
    word = unique("printer")
    first = mail(customer.email, f"{word} offline", "Since lunch.", Cc=f"Pat <{colleague}>")
    intake.send(first)
    number = only(agent, word)["number"]

    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Rebooted it."})
    sent = smtp_sink.wait_for(colleague)
    assert sent[0].message["To"].addresses[0].addr_spec == customer.email
    assert sent[0].message["Cc"].addresses[0].addr_spec == colleague
    assert sent[0].message["Cc"].addresses[0].addr_spec != agent.email

    intake.send(mail(colleague, f"Re: [TD#{number}] {word} offline", "Works for me now."))
    timeline = agent.api.ok("GET", f"/tickets/{number}/timeline")
    # Not the requester's organisation: staff see it as a note, and no second ticket opens.
    notes = [e["data"]["body"] for e in timeline if e["kind"] == "note_added"]
    assert notes == [f"Email from {colleague}:\n\nWorks for me now."]
    assert len(agent.api.ok("GET", f"/tickets?q={word}")["items"]) == 1


def test_a_stranger_cannot_guess_our_message_ids_to_join_a_ticket(
    intake: Intake, directory: Directory, agent: Person, smtp_sink: SmtpSink
) -> None:
    customer = directory.person("customer", directory.organisation())
    word = unique("private")
    intake.send(mail(customer.email, f"{word} matter", "Confidential."))
    number = only(agent, word)["number"]
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Noted."})
    real = smtp_sink.wait_for(customer.email)[0].message["Message-ID"]
    seq = real.split(".")[2]
    guessed = f"<td.{number}.{seq}.reply@tempodesk.localhost>"
    assert guessed != real

    stranger = mail(
        "eve@elsewhere.example", f"Re: {word} matter", "Let me in.", In_Reply_To=guessed
    )
    intake.send(stranger)
    assert intake.row(stranger["Message-ID"])["number"] != number
    timeline = agent.api.ok("GET", f"/tickets/{number}/timeline")
    assert [e["data"]["body"] for e in timeline if e["kind"] == "replied"] == ["Noted."]


def test_mail_from_the_desk_s_own_address_opens_nothing(intake: Intake, agent: Person) -> None:
    word = unique("self")
    forwarded = mail("support@tempodesk.localhost", f"Fwd: {word}", "An alias sent it back.")
    intake.send(forwarded)
    assert agent.api.ok("GET", f"/tickets?q={word}")["items"] == []
    stored = intake.row(forwarded["Message-ID"])
    assert stored["status"] == "ignored" and "own address" in stored["reason"]


def test_files_sent_with_a_reply_go_out_as_mime_parts_with_name_and_type(
    intake: Intake, directory: Directory, agent: Person, smtp_sink: SmtpSink
) -> None:
    customer = directory.person("customer", directory.organisation())
    word = unique("invoice")
    intake.send(mail(customer.email, f"{word} missing", "Please send it again."))
    number = only(agent, word)["number"]

    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 20
    shared = agent.api.ok(
        "POST",
        f"/tickets/{number}/attachments",
        201,
        files={"file": ("Rechnung März.pdf", pdf, "application/pdf")},
    )
    sheet = agent.api.ok(
        "POST",
        f"/tickets/{number}/attachments",
        201,
        files={"file": ("totals.csv", b"month,total\n3,99.50\n", "text/csv")},
    )
    internal = agent.api.ok(
        "POST",
        f"/tickets/{number}/attachments",
        201,
        files={"file": ("root-cause.txt", b"our mistake", "text/plain")},
        data={"public": "false"},
    )

    # An internal file, a file of another ticket or a made-up id never goes with a reply.
    other = customer.api.open_ticket(unique("other"))["number"]
    elsewhere = customer.api.ok(
        "POST",
        f"/tickets/{other}/attachments",
        201,
        files={"file": ("x.txt", b"x", "text/plain")},
    )
    for wrong in (internal["id"], elsewhere["id"], "00000000-0000-4000-8000-000000000000"):
        refused = agent.api.post(
            f"/tickets/{number}/comments", json={"body": "Here.", "attachment_ids": [wrong]}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "attachment_ids"
        assert wrong in refused.json()["detail"]
    note = agent.api.post(
        f"/tickets/{number}/comments",
        json={"body": "x", "public": False, "attachment_ids": [shared["id"]]},
    )
    assert note.status_code == 422 and note.json()["field"] == "attachment_ids"
    assert smtp_sink.messages(customer.email) == []

    agent.api.ok(
        "POST",
        f"/tickets/{number}/comments",
        json={"body": "Attached, with the totals.", "attachment_ids": [shared["id"], sheet["id"]]},
    )
    out = smtp_sink.wait_for(customer.email)[0].message
    files = [
        (p.get_filename(), p.get_content_type(), p.get_content()) for p in out.iter_attachments()
    ]
    assert files == [
        ("Rechnung März.pdf", "application/pdf", pdf),
        ("totals.csv", "text/csv", "month,total\n3,99.50\n"),
    ]
    text = out.get_body(("plain",))
    assert text is not None and "Attached, with the totals." in text.get_content()
    assert b"our mistake" not in smtp_sink.messages(customer.email)[0].raw

    # The reply records its files, so the timeline says what went with it.
    answered = replies(agent, number)
    assert answered[0]["data"]["attachment_ids"] == [shared["id"], sheet["id"]]
