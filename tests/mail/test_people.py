"""Where unknown senders land (an organisation's mail domains) and which language people's
mail is written in (their own, else the desk's)."""

from __future__ import annotations

import html
from typing import Any

import psycopg

from tests.factories import Directory, Person, browser_session, csrf_of
from tests.mail.conftest import Intake, mail, unique
from tests.smtp_sink import SmtpSink


def only(agent: Person, word: str) -> dict[str, Any]:
    found = agent.api.ok("GET", f"/tickets?q={word}")["items"]
    assert len(found) == 1, found
    return found[0]


def test_unknown_senders_join_the_organisation_listing_their_domain(
    intake: Intake, admin: Person, agent: Person
) -> None:
    first, second = f"{unique('north')}.example", f"{unique('south')}.example"
    name = unique("Northwind")
    org = admin.api.ok(
        "POST",
        "/organisations",
        201,
        json={"name": name, "domains": [first.upper(), second, f" {second} "]},
    )
    assert org["domains"] == sorted([first, second])  # lower case, each once
    assert admin.api.ok("GET", f"/organisations/{org['id']}") == org

    word = unique("scanner")
    intake.send(mail(f"Sam <sam@{second}>", f"{word} broken", "It beeps."))
    assert only(agent, word)["organisation_id"] == org["id"]

    # A domain belongs to one organisation: another may not claim it.
    other = unique("Southwind")
    taken = admin.api.post("/organisations", json={"name": other, "domains": [second]})
    assert taken.status_code == 409
    assert taken.json()["field"] == "domains"
    assert second in taken.json()["detail"] and name in taken.json()["detail"]
    for bad in ("not a domain", "a@b.example", "x" * 70 + ".example"):
        refused = admin.api.post("/organisations", json={"name": other, "domains": [bad]})
        assert refused.status_code == 422, bad
        assert refused.json()["field"] == "domains"
    same_name = admin.api.post("/organisations", json={"name": name})
    assert same_name.status_code == 409 and same_name.json()["field"] == "name"

    # Released by the first, the domain can go to the second; its new senders follow it.
    kept = admin.api.ok(
        "PUT", f"/organisations/{org['id']}", json={"name": name, "domains": [first]}
    )
    assert kept["domains"] == [first]
    south = admin.api.ok("POST", "/organisations", 201, json={"name": other, "domains": [second]})
    word = unique("plotter")
    intake.send(mail(f"Tia <tia@{second}>", f"{word} jammed", "Again."))
    assert only(agent, word)["organisation_id"] == south["id"]
    missing = admin.api.put("/organisations/2147483647", json={"name": unique("x")})
    assert missing.status_code == 404


def test_admins_edit_organisations_and_their_domains_in_the_web(
    directory: Directory, admin: Person
) -> None:
    one, two = f"{unique('web')}.example", f"{unique('web')}.example"
    name = unique("Webco")
    with browser_session(directory.base_url, admin.email) as browser:
        token = csrf_of(browser.get("/admin/organisations").text)
        added = browser.post(
            "/admin/organisations",
            data={"csrf_token": token, "name": name, "domains": f"{one}\n{two.upper()}"},
        )
        assert added.status_code == 303, added.text
        listed = browser.get("/admin/organisations").text
        assert f"{one}, {two}" in html.unescape(listed) or f"{two}, {one}" in listed

        clash = browser.post(
            "/admin/organisations",
            data={"csrf_token": token, "name": unique("Other"), "domains": two},
        )
        assert clash.status_code == 409
        assert 'data-field="domains"' in clash.text
        assert f"belongs to the organisation {name!r}" in html.unescape(clash.text)

        org = next(o for o in admin.api.ok("GET", "/organisations") if o["name"] == name)
        assert browser.get(f"/admin/organisations/{org['id']}").status_code == 200
        saved = browser.post(
            f"/admin/organisations/{org['id']}",
            data={"csrf_token": token, "name": name, "domains": one, "shared_tickets": "on"},
        )
        assert saved.status_code == 303, saved.text
    after = admin.api.ok("GET", f"/organisations/{org['id']}")
    assert after["domains"] == [one] and after["shared_tickets"] is True


def test_each_customer_gets_replies_in_their_own_language(
    intake: Intake, directory: Directory, admin: Person, agent: Person, smtp_sink: SmtpSink
) -> None:
    assert admin.api.ok("GET", "/users/languages") == ["ar", "de", "en", "fa", "ja"]
    wrong = admin.api.post(
        "/users",
        json={
            "email": f"{unique('x')}@c.example",
            "name": "X",
            "role": "customer",
            "language": "fr",
        },
    )
    assert wrong.status_code == 422 and wrong.json()["field"] == "language"
    assert "ar, de, en, fa, ja" in wrong.json()["detail"]

    def customer(language: str | None) -> dict[str, Any]:
        body = {"email": f"{unique('c')}@customer.example", "name": "Kunde", "role": "customer"}
        return admin.api.ok("POST", "/users", 201, json={**body, "language": language})

    german, english = customer("de"), customer("en")
    assert german["language"] == "de"

    def answered(person: dict[str, Any]) -> Any:
        word = unique("laptop")
        intake.send(mail(person["email"], f"{word} slow", "Help."))
        number = only(agent, word)["number"]
        before = len(smtp_sink.messages(person["email"]))
        agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "Done."})
        out = smtp_sink.wait_for(person["email"], before + 1)[-1].message
        text = out.get_body(("plain",))
        assert text is not None
        return str(out["Subject"]), text.get_content(), number

    subject, text, number = answered(german)
    assert subject.startswith("AW: ") and subject.endswith(f"[TD#{number}]")
    assert "Antworten Sie auf diese E-Mail" in text
    subject, text, _ = answered(english)
    assert subject.startswith("Re: ") and "Reply to this email" in text

    # Back to the desk's default (English) by the admin; the person may choose again.
    reset = admin.api.ok("PATCH", f"/users/{german['id']}", json={"language": None})
    assert reset["language"] is None and reset["name"] == "Kunde"
    subject, text, _ = answered(german)
    assert subject.startswith("Re: ") and "Reply to this email" in text
    bad = admin.api.patch(f"/users/{german['id']}", json={"language": "xx"})
    assert bad.status_code == 422 and bad.json()["field"] == "language"


def test_people_set_their_own_language_and_admins_anyone_s(
    directory: Directory, admin: Person
) -> None:
    person = directory.person("customer", directory.organisation())
    assert person.api.ok("PATCH", "/users/me", json={"language": "de"})["language"] == "de"
    assert person.api.ok("GET", "/users/me")["language"] == "de"
    assert person.api.patch(f"/users/{person.id}", json={"language": "en"}).status_code == 403

    with browser_session(directory.base_url, person.email) as browser:
        shown = browser.get("/settings/language")
        assert shown.status_code == 200 and '<option value="de" selected>' in shown.text
        token = csrf_of(shown.text)
        refused = browser.post("/settings/language", data={"csrf_token": token, "language": "xx"})
        assert refused.status_code == 422 and 'data-field="language"' in refused.text
        saved = browser.post("/settings/language", data={"csrf_token": token, "language": ""})
        assert saved.status_code == 200 and "Saved." in saved.text
    assert person.api.ok("GET", "/users/me")["language"] is None

    with browser_session(directory.base_url, admin.email) as browser:
        token = csrf_of(browser.get("/admin/people").text)
        done = browser.post(
            f"/admin/people/{person.id}/language", data={"csrf_token": token, "language": "de"}
        )
        assert done.status_code == 303
    with psycopg.connect(directory.dsn) as conn:
        found = conn.execute("SELECT language FROM users WHERE id = %s", (person.id,)).fetchone()
    assert found == ("de",)
