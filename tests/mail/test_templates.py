"""Which template a language gets: its own, else the desk's default language's, else English."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import pytest
from jinja2 import DictLoader

from activities.mail import MailActivities, MailConfig
from models.mail_templates import (
    TEMPLATE_KINDS,
    TEMPLATE_PARTS,
    template_environment,
    template_name,
)


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


def test_a_stored_text_wins_and_one_that_fails_falls_back_to_the_built_in_template(
    tmp_path: Path,
) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de" / "reply.txt").write_text("Ordner: {{ body }}")
    (tmp_path / "de" / "reply.html").write_text("{{ broken")  # a folder file never checked
    desk = activities("en", tmp_path)
    stored = template_environment(
        DictLoader(
            {
                "de/reply.subject.txt": "Gespeichert: {{ ticket.subject }}",
                "en/reply.txt": "{% if ticket.number > 1000 %}{{ nonexistent }}{% endif %}",
            }
        )
    )
    problems: list[str] = []
    # Stored over folder over built-in, in each language of the chain.
    assert desk._render("reply", "subject.txt", CONTEXT, "de", stored) == "Gespeichert: Printer"
    assert desk._render("reply", "txt", CONTEXT, "de", stored, problems) == "Ordner: Done."
    assert problems == []
    # The folder's broken file and the stored text failing for this ticket: the mail is
    # still written, from the built-in template of the language, and the problem noted.
    html = desk._render("reply", "html", CONTEXT, "de", stored, problems)
    assert html.startswith("<") and "Done." in html and "Antworten" in html
    text = desk._render("reply", "txt", CONTEXT, "en", stored, problems)
    assert text.startswith("Done.") and "Reply to this email" in text
    assert len(problems) == 2
    assert "folder template de/reply.html failed (TemplateSyntaxError" in problems[0]
    assert "stored template en/reply.txt failed (UndefinedError" in problems[1]
    assert problems[1].endswith("the built-in template was used")


def test_templates_render_in_a_sandbox() -> None:
    desk = activities("en")
    for text in ("{{ ''.__class__.__mro__ }}", "{{ 'x' * 10**8 }}", "{{ [1].append(2) }}"):
        stored = template_environment(DictLoader({"en/reply.txt": text}))
        problems: list[str] = []
        assert desk._render("reply", "txt", CONTEXT, "en", stored, problems).startswith("Done.")
        assert "SecurityError" in problems[0], problems


SCRIPTS = {"fa": "\u0600-\u06ff", "ar": "\u0600-\u06ff", "ja": "\u3040-\u30ff\u4e00-\u9fff"}
"""Letters each translation must be written in (Arabic script; kana and kanji)."""


@pytest.mark.parametrize("language", ["en", "fa", "ar", "ja"])
def test_every_template_kind_and_part_ships_in_the_four_languages(language: str) -> None:
    desk = activities("en")
    english = activities("en")
    for kind in TEMPLATE_KINDS:
        for part in TEMPLATE_PARTS:
            # No fallback: the language's own file exists.
            source = desk._built_in.get_template(template_name(language, kind, part))
            rendered = source.render(CONTEXT).strip()
            # Subjects are a prefix, the ticket's subject and the tag: Japanese mail
            # answers with "Re:" too; the Persian and Arabic prefixes are checked below.
            if language == "en" or part == "subject.txt":
                continue
            assert rendered != english._render(kind, part, CONTEXT, "en")
            # Beyond the values filled in, the text is in the language's own script.
            fixed = re.sub(r"Printer|Done\.|Ann|Desk|Warning|TD#1234|1234", "", rendered)
            assert re.search(f"[{SCRIPTS[language]}]{{4}}", fixed), (kind, part)


@pytest.mark.parametrize("language", ["fa", "ar"])
def test_persian_and_arabic_html_mail_is_right_to_left(language: str) -> None:
    desk = activities("en")
    for kind in TEMPLATE_KINDS:
        html = desk._render(kind, "html", CONTEXT, language)
        assert f'<html lang="{language}" dir="rtl">' in html
        # Webmail drops <html> and <body>; the wrapping block keeps the direction.
        assert f'<body lang="{language}" dir="rtl"' in html
        assert f'<div lang="{language}" dir="rtl"' in html
        # The ticket's own text may be in any direction: it keeps its own.
        assert "<bdi>Printer</bdi>" in html
    prefix = {"fa": "پاسخ", "ar": "رد"}[language]
    assert desk._render("reply", "subject.txt", CONTEXT, language) == f"{prefix}: Printer [TD#1234]"


def test_a_japanese_reply_reads_in_japanese() -> None:
    desk = activities("en")
    text = desk._render("reply", "txt", CONTEXT, "ja")
    assert text.startswith("Done.")
    assert "このメールに返信すると、チケットに追記されます。" in text
    assert "件名の [TD#1234] は消さずにそのまま残してください。" in text
    assert '<html lang="ja">' in desk._render("reply", "html", CONTEXT, "ja")
