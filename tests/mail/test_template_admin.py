"""Admins edit the mail templates in the API and the web: the next mail uses the text,
a text that does not render is refused with its line, reset brings the default back."""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.factories import Directory, Person, browser_session, csrf_of
from tests.mail.conftest import Intake, mail, unique
from tests.smtp_sink import SmtpSink

GERMAN_TXT = "/mail/templates/de/reply/txt"


@pytest.fixture
def reset_after(admin: Person) -> Iterator[list[str]]:
    """Paths of stored templates to delete when the test ends: they are desk-wide."""
    paths: list[str] = []
    yield paths
    for path in paths:
        admin.api.ok("DELETE", path, 204)


def stored(directory: Directory) -> list[tuple[str, str, str]]:
    with psycopg.connect(directory.dsn) as conn:
        rows = conn.execute("SELECT language, kind, part FROM mail_template_overrides").fetchall()
    return [tuple(r) for r in rows]


def answered(intake: Intake, agent: Person, smtp_sink: SmtpSink, email: str) -> tuple[Any, int]:
    """A new ticket from `email`, an agent's public reply, and the mail that reached `email`."""
    word = unique("toner")
    intake.send(mail(email, f"{word} empty", "Please help."))
    found = agent.api.ok("GET", f"/tickets?q={word}")["items"]
    assert len(found) == 1, found
    number = found[0]["number"]
    before = len(smtp_sink.messages(email))
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Neuer Toner ist da."})
    return smtp_sink.wait_for(email, before + 1)[-1].message, number


def plain(message: Any) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_an_admin_s_german_reply_template_reaches_german_customers_until_reset(
    intake: Intake,
    admin: Person,
    agent: Person,
    smtp_sink: SmtpSink,
    reset_after: list[str],
) -> None:
    customer = admin.api.ok(
        "POST",
        "/users",
        201,
        json={
            "email": f"{unique('kunde')}@customer.example",
            "name": "Erika Kunde",
            "role": "customer",
            "language": "de",
        },
    )
    before = admin.api.ok("GET", GERMAN_TXT)
    assert before["source"] == "built-in" and before["body"] == before["built_in"]
    assert "Antworten Sie auf diese E-Mail" in before["built_in"]

    reset_after.append(GERMAN_TXT)
    text = "Guten Tag {{ requester_name }},\n\n{{ body }}\n\nIhr {{ desk_name }} ({{ tag }})"
    saved = admin.api.ok("PUT", GERMAN_TXT, json={"body": text})
    assert (saved["source"], saved["source_language"], saved["body"]) == ("stored", "de", text)
    assert saved["updated_by"] == admin.id and saved["built_in"] == before["built_in"]
    listed = admin.api.ok("GET", "/mail/templates")
    german = next(s for s in listed if (s["language"], s["kind"]) == ("de", "reply"))
    assert {p["part"]: p["source"] for p in german["parts"]} == {
        "subject.txt": "built-in",
        "txt": "stored",
        "html": "built-in",
    }
    assert "requester_name" in german["variables"]

    out, number = answered(intake, agent, smtp_sink, customer["email"])
    assert plain(out).strip() == (
        f"Guten Tag Erika Kunde,\n\nNeuer Toner ist da.\n\nIhr Tempodesk (TD#{number})"
    )
    assert str(out["Subject"]).startswith("AW: ")  # the parts not edited stay built in

    admin.api.ok("DELETE", GERMAN_TXT, 204)
    assert admin.api.ok("GET", GERMAN_TXT)["source"] == "built-in"
    out, _ = answered(intake, agent, smtp_sink, customer["email"])
    assert "Guten Tag" not in plain(out)
    assert "Antworten Sie auf diese E-Mail" in plain(out)


def test_a_text_that_does_not_render_is_refused_with_its_line_and_nothing_is_stored(
    directory: Directory, admin: Person
) -> None:
    before = stored(directory)
    refused = {
        "Hallo {{ requester_name }},\n\n{{ nonexistent }}": (
            "line 3",
            "'nonexistent' is undefined",
        ),
        "{{ body }}\n{% if %}ja{% endif %}": ("line 2", "Expected an expression"),
        "{{ ''.__class__.__mro__ }}": ("line 1", "unsafe"),
        "{{ ticket.number }}\n{{ 'x' * 10**9 }}": ("line 2", "too long"),
    }
    for text, (line, words) in refused.items():
        for method, path in (("PUT", GERMAN_TXT), ("POST", GERMAN_TXT + "/preview")):
            answer = admin.api.request(method, path, json={"body": text})
            assert answer.status_code == 422, (text, answer.text)
            error = answer.json()
            assert error["field"] == "body"
            assert line in error["detail"] and words in error["detail"], error
    too_long = admin.api.put(GERMAN_TXT, json={"body": "x" * 100_001})
    assert too_long.status_code == 422 and too_long.json()["field"] == "body"
    wrong_part = admin.api.put("/mail/templates/de/reply/pdf", json={"body": "x"})
    assert wrong_part.status_code == 422
    wrong_language = admin.api.put("/mail/templates/German/reply/txt", json={"body": "x"})
    assert wrong_language.status_code == 422
    assert stored(directory) == before
    assert admin.api.ok("GET", GERMAN_TXT)["source"] == "built-in"

    shown = admin.api.ok(
        "POST",
        "/mail/templates/de/reply/html/preview",
        json={"body": "<p>{{ body }}</p><p>{{ ticket.subject }} [{{ tag }}]</p>"},
    )
    assert shown["rendered"].startswith("<p>Please switch the printer off")
    assert "[TD#1234]" in shown["rendered"]
    assert stored(directory) == before


def test_only_admins_see_and_edit_templates(
    directory: Directory, agent: Person, customer: Person
) -> None:
    manager = directory.person("manager")
    for person in (agent, manager, customer):
        for method, path, body in (
            ("GET", "/mail/templates", None),
            ("GET", GERMAN_TXT, None),
            ("PUT", GERMAN_TXT, {"body": "{{ body }}"}),
            ("DELETE", GERMAN_TXT, None),
            ("POST", GERMAN_TXT + "/preview", {"body": "{{ body }}"}),
        ):
            answer = person.api.request(method, path, json=body)
            assert answer.status_code == 403, (person.role, method, path, answer.text)
    assert ("de", "reply", "txt") not in stored(directory)


def test_a_new_language_and_a_text_failing_at_send_time_still_mail_the_customer(
    intake: Intake,
    directory: Directory,
    admin: Person,
    agent: Person,
    smtp_sink: SmtpSink,
    reset_after: list[str],
) -> None:
    """A text checked with sample values may still fail on a real ticket: the customer
    gets the built-in text and the outbox row says what happened."""
    path = "/mail/templates/nl/reply/txt"
    assert "nl" not in admin.api.ok("GET", "/users/languages")
    email = f"{unique('klant')}@customer.example"
    body = {"email": email, "name": "Klant", "role": "customer", "language": "nl"}
    assert admin.api.post("/users", json=body).status_code == 422

    reset_after.append(path)
    # The sample ticket has no requester; every real one that came in by mail has.
    text = "Beste {{ requester_name }},\n{% if ticket.requester_id %}{{ nonexistent }}{% endif %}"
    admin.api.ok("PUT", path, json={"body": text})
    assert "nl" in admin.api.ok("GET", "/users/languages")
    admin.api.ok("POST", "/users", 201, json=body)

    out, number = answered(intake, agent, smtp_sink, email)
    # Dutch has no built-in text: the desk's default (English) built-in one is used.
    assert plain(out).startswith("Neuer Toner ist da.") and "Beste" not in plain(out)
    assert "Reply to this email" in plain(out)
    with psycopg.connect(directory.dsn) as conn:
        row = conn.execute(
            "SELECT o.status, o.reason FROM mail_outbox o JOIN tickets t ON t.id = o.ticket_id "
            "WHERE t.number = %s AND o.kind = 'reply'",
            (number,),
        ).fetchone()
    assert row is not None and row[0] == "sent"
    assert "stored template nl/reply.txt failed (UndefinedError" in row[1], row


def test_the_web_editor_previews_saves_and_resets_with_csrf(
    directory: Directory, admin: Person, reset_after: list[str]
) -> None:
    path = "/admin/mail-templates/de/reply/subject.txt"
    api_path = "/mail/templates/de/reply/subject.txt"
    with browser_session(directory.base_url, admin.email) as browser:
        assert 'href="/admin/mail-templates"' in browser.get("/admin/mail").text
        listed = browser.get("/admin/mail-templates")
        assert listed.status_code == 200 and f'href="{path}"' in listed.text
        shown = browser.get(path)
        assert shown.status_code == 200
        assert "AW: {{ ticket.subject }} [{{ tag }}]" in html.unescape(shown.text)
        token = csrf_of(shown.text)

        text = "Antwort: {{ ticket.subject }} [{{ tag }}]"
        preview = browser.post(f"{path}/preview", data={"csrf_token": token, "body": text})
        assert preview.status_code == 200
        assert "Antwort: The printer on floor 2 jams [TD#1234]" in html.unescape(preview.text)
        assert admin.api.ok("GET", api_path)["source"] == "built-in"  # nothing stored

        broken = browser.post(
            f"{path}/preview", data={"csrf_token": token, "body": "ok\n{{ nichts }}"}
        )
        assert broken.status_code == 422 and 'data-field="body"' in broken.text
        assert 'id="body-error"' in broken.text and "line 2" in broken.text
        assert "ok\n{{ nichts }}" in html.unescape(broken.text)  # the typed text stays

        forged = browser.post(path, data={"csrf_token": "wrong", "body": text})
        assert forged.status_code == 403
        assert admin.api.ok("GET", api_path)["source"] == "built-in"

        reset_after.append(api_path)
        saved = browser.post(path, data={"csrf_token": token, "body": text})
        assert saved.status_code == 303, saved.text
        after = admin.api.ok("GET", api_path)
        assert (after["source"], after["body"]) == ("stored", text)
        assert "edited" in browser.get("/admin/mail-templates").text

        reset = browser.post(f"{path}/reset", data={"csrf_token": token})
        assert reset.status_code == 303
        assert admin.api.ok("GET", api_path)["source"] == "built-in"

        bad = browser.get("/admin/mail-templates/open?language=Deutsch&kind=reply&part=txt")
        assert bad.status_code == 422 and 'data-field="language"' in bad.text
        new = browser.get("/admin/mail-templates/open?language=fr&kind=reply&part=txt")
        assert new.status_code == 303 and new.headers["location"].endswith("/fr/reply/txt")
