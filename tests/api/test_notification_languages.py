"""Notifications are stored as message ids with parameters and reach each person in their
own language: the workflow writes no sentence."""

from __future__ import annotations

from typing import Any

from models import catalogues
from tests.api.test_routing import group, open_in
from tests.api.test_sla import wait_for
from tests.factories import Directory, Person, browser_session
from workflows.ticket import notices


def _assigned(person: Person) -> list[dict[str, Any]]:
    return [n for n in person.api.ok("GET", "/notifications") if n["kind"] == "assigned"]


def test_a_transfer_is_told_in_the_language_of_whoever_receives_it(
    directory: Directory, admin: Person
) -> None:
    asking, persian, japanese = (directory.person("agent") for _ in range(3))
    persian.api.ok("PATCH", "/users/me", json={"language": "fa"})
    japanese.api.ok("PATCH", "/users/me", json={"language": "ja"})
    customer = directory.person("customer", directory.organisation())
    team = group(admin, [asking, persian, japanese])
    number = open_in(asking, customer, team, subject="VPN از خانه وصل نمی‌شود")

    for target, note in ((persian, "You know VPN"), (japanese, "")):
        asking.api.ok(
            "POST",
            f"/tickets/{number}/assign",
            json={"group_id": team, "assignee_id": target.id, "note": note},
        )
    fa = wait_for(lambda: _assigned(persian), message="the Persian agent is told")[0]
    ja = wait_for(lambda: _assigned(japanese), message="the Japanese agent is told")[0]

    # Stored: the message id and its parameters, not a sentence.
    stored = directory.query(
        "SELECT message, params, title FROM notifications WHERE user_id = %s AND kind = %s",
        persian.id,
        "assigned",
    )
    assert stored[0][0] == notices.ASSIGNED
    assert stored[0][1] == {"number": number, "subject": "VPN از خانه وصل نمی‌شود"}
    assert stored[0][2] == f"#{number} is now yours: VPN از خانه وصل نمی‌شود"  # the English

    persian_title = catalogues.translations("fa").gettext(notices.ASSIGNED)
    assert persian_title != notices.ASSIGNED, "the catalogue translates it"
    assert fa["title"] == persian_title % {"number": number, "subject": "VPN از خانه وصل نمی‌شود"}
    assert fa["body"] == "You know VPN"  # people's own words, as they wrote them
    assert (fa["message"], fa["params"]["number"]) == (notices.ASSIGNED, number)
    japanese_title = catalogues.translations("ja").gettext(notices.ASSIGNED)
    assert ja["title"] == japanese_title % {"number": number, "subject": "VPN از خانه وصل نمی‌شود"}

    # The asking agent reads English; the notifications page is in the reader's language.
    with browser_session(directory.base_url, persian.email) as browser:
        page = browser.get("/notifications").text
    assert persian_title % {"number": number, "subject": "VPN از خانه وصل نمی‌شود"} in page


def test_an_sla_notice_names_the_clock_in_the_reader_s_words() -> None:
    """Each checkpoint kind and clock is one whole sentence in every catalogue."""
    for language in ("fa", "ar", "ja"):
        gettext = catalogues.translations(language).gettext
        texts = {
            notices.fill(gettext, message, {"number": 7, "percent": 50, "level": 2})
            for message in notices.CHECKPOINTS.values()
        }
        assert len(texts) == len(notices.CHECKPOINTS), language
        assert all("7" in text and "%(" not in text for text in texts), texts


def test_a_status_parameter_is_shown_as_its_label_in_the_reader_s_language() -> None:
    persian = catalogues.translations("fa").gettext
    text = notices.fill(persian, notices.REMINDER_DETAIL, {"status": "pending"})
    assert text == persian(notices.REMINDER_DETAIL) % {"status": persian("Pending")}
    assert notices.fill(str, notices.REMINDER_DETAIL, {"status": "pending"}) == "Status Pending"
