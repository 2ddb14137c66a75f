"""The admin's mail page: quarantine with reason, one-click reprocess, mailboxes."""

from __future__ import annotations

import html

import psycopg

from tests.factories import Directory, Person, browser_session, csrf_of
from tests.mail.conftest import Intake, mail, unique


def test_an_admin_reprocesses_from_the_page_and_adds_a_mailbox(
    intake: Intake, directory: Directory, admin: Person, agent: Person
) -> None:
    former = directory.person("customer")
    with psycopg.connect(directory.dsn, autocommit=True) as conn:
        conn.execute("UPDATE users SET active = false WHERE id = %s", (former.id,))
    word = unique("pageview")
    message = mail(former.email, f"{word} subject", "Hello.")
    intake.send(message)
    assert intake.row(message["Message-ID"])["status"] == "quarantined"

    with browser_session(directory.base_url, admin.email) as browser:
        shown = browser.get("/admin/mail")
        assert shown.status_code == 200
        text = html.unescape(shown.text)
        assert f"{word} subject" in text
        assert f"the sender {former.email} is deactivated" in text
        with psycopg.connect(directory.dsn) as conn:
            found = conn.execute(
                "SELECT id FROM mail_messages WHERE message_id = %s", (message["Message-ID"],)
            ).fetchone()
        assert found is not None
        token = csrf_of(shown.text)

        still = browser.post(
            f"/admin/mail/quarantine/{found[0]}/reprocess", data={"csrf_token": token}
        )
        assert still.status_code == 409
        assert "still quarantined" in html.unescape(still.text)

        with psycopg.connect(directory.dsn, autocommit=True) as conn:
            conn.execute("UPDATE users SET active = true WHERE id = %s", (former.id,))
        done = browser.post(
            f"/admin/mail/quarantine/{found[0]}/reprocess", data={"csrf_token": token}
        )
        assert done.status_code == 303
        assert done.headers["location"].startswith("/admin/mail?done=reprocessed+ticket+")
        assert agent.api.ok("GET", f"/tickets?q={word}")["items"]

        bad = {"csrf_token": token, "name": unique("box"), "address": "desk@desk.example",
               "protocol": "imap", "host": "mail.example", "port": "99999", "username": "desk",
               "password_env": "DESK_PASSWORD"}  # fmt: skip
        refused = browser.post("/admin/mail/mailboxes", data=bad)
        assert refused.status_code == 422
        assert 'data-field="port"' in refused.text
        assert f'value="{bad["name"]}"' in refused.text  # what was typed stays in the form

        # Added inactive (the checkbox left empty), so it never polls a made-up host.
        added = browser.post("/admin/mail/mailboxes", data={**bad, "port": "993"})
        assert added.status_code == 303
        assert bad["name"] in browser.get("/admin/mail").text
        boxes = admin.api.ok("GET", "/mailboxes")
        box = next(b for b in boxes if b["name"] == bad["name"])
        assert box["tls"] is False and box["active"] is False

        edit = browser.get(f"/admin/mail/mailboxes/{box['id']}")
        assert edit.status_code == 200 and f'value="{bad["name"]}"' in edit.text
        changed = {**bad, "port": "995", "tls": "on", "poll_seconds": "120"}
        saved = browser.post(f"/admin/mail/mailboxes/{box['id']}", data=changed)
        assert saved.status_code == 303
        after = admin.api.ok("GET", f"/mailboxes/{box['id']}")
        assert (after["port"], after["tls"], after["poll_seconds"]) == (995, True, 120)
        wrong = browser.post(f"/admin/mail/mailboxes/{box['id']}", data={**changed, "port": "0"})
        assert wrong.status_code == 422 and 'data-field="port"' in wrong.text
        removed = browser.post(
            f"/admin/mail/mailboxes/{box['id']}/delete", data={"csrf_token": token}
        )
        assert removed.status_code == 303

    with browser_session(directory.base_url, agent.email) as browser:
        assert browser.get("/admin/mail").status_code == 403
