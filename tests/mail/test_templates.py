"""Which template a language gets: its own, else the desk's default language's, else English."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from activities.mail import MailActivities, MailConfig


def activities(language: str, templates_dir: Path | None = None) -> MailActivities:
    config = MailConfig(
        smtp_host=None,
        smtp_port=25,
        smtp_starttls=False,
        smtp_username=None,
        smtp_password=None,
        address="support@desk.example",
        from_name="Desk",
        domain="desk.example",
        language=language,
        templates_dir=templates_dir,
    )
    # Rendering reads template files only; no database is reached.
    return MailActivities(cast(Any, None), config)


class Ticket:
    number = 1234
    subject = "Printer"


CONTEXT = {
    "ticket": Ticket(),
    "tag": "TD#1234",
    "body": "Done.",
    "author": "Ann",
    "desk_name": "Desk",
    "requester_name": "Bo",
    "title": "Warning",
    "name": "Bo",
}


def test_a_missing_template_falls_back_to_the_desk_default_then_english(
    tmp_path: Path,
) -> None:
    german_desk = activities("de")
    # A person's language without templates gets the desk's default (German), not English.
    assert german_desk._render("reply", "subject.txt", CONTEXT, "fr").startswith("AW: ")
    assert german_desk._render("reply", "subject.txt", CONTEXT, "en").startswith("Re: ")
    # German has no notification templates: English is the last resort.
    assert "Warning" in german_desk._render("notification", "subject.txt", CONTEXT, "de")

    # A language an admin adds in the override folder is used for its people.
    (tmp_path / "nl").mkdir()
    (tmp_path / "nl" / "reply.subject.txt").write_text("Antw: {{ ticket.subject }} [{{ tag }}]")
    dutch = activities("en", tmp_path)
    assert dutch._render("reply", "subject.txt", CONTEXT, "nl") == "Antw: Printer [TD#1234]"
    assert dutch._render("reply", "txt", CONTEXT, "nl").startswith("Done.")  # English body
