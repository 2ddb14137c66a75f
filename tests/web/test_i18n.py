"""The desk in English, Persian, Arabic and Japanese: catalogues complete, no template text
outside a translation call, every page in every language, and the reader's zone, calendar
and digits."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

from models import catalogues
from tests.factories import Directory, Person, browser_session, csrf_of
from web import formats, i18n
from web.i18n import Reader

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "web" / "templates"
TRANSLATED = ("fa", "ar", "ja")
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "Nn_": (1, 2),
    "Choice": (2,),
}


def _extracted() -> dict[str, tuple[str, ...]]:
    """Every message the code and templates ask the catalogue for, as `pybabel extract`
    finds it with babel.cfg (docs/i18n.md): msgid -> its singular and plural forms."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        forms = message if isinstance(message, tuple) else (message,)
        if forms[0]:
            found[forms[0]] = forms
    return found


MESSAGES = _extracted()


def _catalogue(language: str) -> Catalog:
    return catalogues.read_catalogue(language)


# ------------------------------------------------------------------ catalogues


def test_the_desk_speaks_four_languages_two_right_to_left() -> None:
    assert set(i18n.LANGUAGES) == {"en", "fa", "ar", "ja"}
    assert {"fa", "ar"} == i18n.RIGHT_TO_LEFT


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    catalogue = _catalogue(language)
    missing, fuzzy = [], []
    for msgid in MESSAGES:
        entry = catalogue.get(msgid)
        strings = entry.string if entry is not None else ""
        forms = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or not all(forms):
            missing.append(msgid)
        elif entry.fuzzy:
            fuzzy.append(msgid)
    assert not missing, f"{language}: {len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy[:5]}"
    # Babel's checks: placeholders kept (%(name)s), the plural forms the language has.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check() if errors]
    assert not problems, problems[:5]


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_are_not_english_copies(language: str) -> None:
    catalogue = _catalogue(language)
    copied = [
        m.id
        for m in catalogue
        if m.id
        and isinstance(m.id, str)
        and m.string == m.id
        and re.search(r"[A-Za-z]{4}", re.sub(r"%\(\w+\)s", "", m.id))
        and m.id not in _SAME_IN_EVERY_LANGUAGE
    ]
    assert not copied, f"{language}: left in English: {copied[:10]}"


_SAME_IN_EVERY_LANGUAGE = {
    "Tempodesk",
    "SLA",
    "YAML",
    "IMAP",
    "POP3",
    "SMTP",
    "TLS",
    "API",
    "CSV",
    "ID",
    "Alertmanager",
    "Prometheus Alertmanager",
    "Events API v2",
}
"""Names and acronyms a translation may keep as they are (product and protocol names)."""


# ------------------------------------------------------------------ templates


class _TextFinder(HTMLParser):
    """Human-readable text left in a template once every Jinja construct is taken out.

    Code (`<code>`, `<pre>`, `<kbd>`, `<samp>`) and what HTML's own `translate="no"`
    marks (a machine value shown as an example, a protocol name) are not for translation.
    """

    ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
    UNTRANSLATED = ("script", "style", "code", "pre", "kbd", "samp")
    VOID = ("input", "img", "br", "hr", "meta", "link", "source", "wbr")

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        marked = dict(attrs).get("translate") == "no"
        if (tag in self.UNTRANSLATED or marked) and tag not in self.VOID:
            self._skip.append(tag)
        if marked:
            return
        for name, value in attrs:
            if name in self.ATTRIBUTES and value and _has_words(value):
                self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag: str) -> None:
        if self._skip and self._skip[-1] == tag:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        # Attributes a macro writes into a tag (` aria-invalid="true"`) are markup.
        text = re.sub(r'[\w-]+="[^"]*"', "", data)
        if not self._skip and _has_words(text):
            self.found.append(text.strip())


def _has_words(text: str) -> bool:
    return any(
        re.search(r"[^\W\d_]{2,}", word) and word not in _SAME_IN_EVERY_LANGUAGE
        for word in re.split(r"\s+", text.strip())
    )


def _without_jinja(source: str) -> str:
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    source = re.sub(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", "", source, flags=re.S)
    source = re.sub(r"\{\{.*?\}\}", "", source, flags=re.S)
    return re.sub(r"\{%.*?%\}", "", source, flags=re.S)


@pytest.mark.parametrize(
    "template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_templates_have_no_text_outside_a_translation_call(template: Path) -> None:
    finder = _TextFinder()
    finder.feed(_without_jinja(template.read_text()))
    assert not finder.found, finder.found


def test_the_stylesheet_has_no_left_or_right() -> None:
    # Logical properties mirror a right-to-left page; `left`/`right` would not.
    css = (ROOT / "web" / "static" / "style.css").read_text()
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert not re.findall(r"[\w-]*\b(?:left|right)\b[\w-]*", css)


# ------------------------------------------------------------------ readers and formats


@pytest.mark.parametrize(
    ("cookie", "accept", "language"),
    [
        (None, None, "en"),
        (None, "fa-IR,fa;q=0.9,en;q=0.5", "fa"),
        (None, "de-DE,de;q=0.9,ar;q=0.8,en;q=0.5", "ar"),
        (None, "ja", "ja"),
        (None, "xx, q=garbage;;;", "en"),
        ("lang=ja", "fa", "ja"),
        ("lang=klingon", "fa", "fa"),
    ],
)
def test_a_visitor_reads_in_the_switcher_s_or_the_browser_s_language(
    cookie: str | None, accept: str | None, language: str
) -> None:
    assert i18n.from_headers(cookie, accept).language == language


@pytest.fixture
def reading() -> Iterator[None]:
    yield
    i18n.read_as(Reader())


INSTANT = datetime(2027, 3, 20, 12, 0, tzinfo=UTC)  # the day before Nowruz 1406


def test_instants_in_the_reader_s_zone_calendar_and_digits(reading: None) -> None:
    assert formats.instant(INSTANT) == "Mar 20, 2027, 12:00\u202fPM UTC"  # CLDR's narrow space
    i18n.read_as(Reader(language="fa", timezone="Asia/Tehran", calendar="persian"))
    # 15:30 in Tehran (UTC+3:30) on 29 Esfand 1405, in Persian digits.
    assert formats.instant(INSTANT).startswith("۲۹ اسفند ۱۴۰۵")
    assert "۱۵:۳۰" in formats.instant(INSTANT)
    i18n.read_as(Reader(language="fa", timezone="Asia/Tehran", digits="latn"))
    assert "15:30" in formats.instant(INSTANT) and "2027" in formats.instant(INSTANT)
    i18n.read_as(Reader(language="ar", timezone="Asia/Riyadh", digits="native"))
    assert "٢٠٢٧" in formats.instant(INSTANT) and formats.number(1234567) == "١٬٢٣٤٬٥٦٧"
    i18n.read_as(Reader(language="ja", timezone="Asia/Tokyo"))
    assert formats.instant(INSTANT).startswith("2027/03/20 21:00")


def test_durations_have_the_language_s_plural_forms(reading: None) -> None:
    assert formats.duration(9000) == "2 h 30 min"
    assert formats.duration(59) == "59 s"
    i18n.read_as(Reader(language="fa"))
    assert formats.duration(9000) == tr("fa", "%(first)s %(second)s") % {
        "first": _plural("fa", "%(num)s h", 2) % {"num": "۲"},
        "second": _plural("fa", "%(num)s min", 30) % {"num": "۳۰"},
    }
    i18n.read_as(Reader(language="ar"))
    # Arabic has six plural forms: 1, 2, 3-10 and 11-99 hours are written differently.
    forms = {formats.duration(n * 3600) for n in (1, 2, 3, 11)}
    assert len(forms) == 4, forms
    i18n.read_as(Reader(language="ja"))
    assert formats.due_in(datetime(2999, 1, 1, tzinfo=UTC)) != formats.due_in(
        datetime(2000, 1, 1, tzinfo=UTC)
    )


def tr(language: str, msgid: str) -> str:
    return i18n.translations(language).gettext(msgid)


def _plural(language: str, msgid: str, n: int) -> str:
    return i18n.translations(language).ngettext(msgid, msgid, n)


# ------------------------------------------------------------------ every page, every language


def _visible_text(html: str) -> list[str]:
    class Collect(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []
            self.skip = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "style", "textarea", "option", "datalist"):
                self.skip += 1

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "textarea", "option", "datalist") and self.skip:
                self.skip -= 1

        def handle_data(self, data: str) -> None:
            if not self.skip and data.strip():
                self.texts.append(data.strip())

    collect = Collect()
    collect.feed(html)
    return collect.texts


def _untranslated(html: str, language: str) -> list[str]:
    """English messages of the catalogue shown as they are on a page in `language`."""
    translations = i18n.translations(language)
    english = {
        msgid
        for msgid in MESSAGES
        if "%(" not in msgid
        and _has_words(msgid)
        and translations.gettext(msgid) != msgid
        and msgid not in _SAME_IN_EVERY_LANGUAGE
    }
    return [text for text in _visible_text(html) if text in english]


@pytest.fixture(scope="module")
def world(directory: Directory) -> dict[str, object]:
    """One of everything a page can be about, made through the API as people would."""
    admin = directory.person("admin")
    agent = directory.person("agent")
    org = directory.organisation()
    customer = directory.person("customer", org)
    group = directory.group(members=[agent])
    ticket = customer.api.open_ticket("Printer on the third floor", description="It jams")
    agent.api.ok("POST", f"/tickets/{ticket['number']}/comments", json={"body": "Looking"})
    calendar = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={
            "name": f"Office {org}",
            "timezone": "Asia/Tehran",
            "week": [[{"start": 480, "end": 960}]] * 5 + [[], []],
        },
    )
    return {
        "admin": admin,
        "agent": agent,
        "customer": customer,
        "group": group,
        "ticket": ticket["number"],
        "calendar": calendar["id"],
    }


def _pages(world: dict[str, object], directory: Directory) -> dict[str, list[str]]:
    """Every page of the web UI, by who may see it (ids from `world`)."""
    admin = world["admin"]
    assert isinstance(admin, Person)
    policies = admin.api.ok("GET", "/sla-policies")
    integrations = directory.query("SELECT id FROM integrations ORDER BY id LIMIT 1")
    mailboxes = directory.query("SELECT id FROM mailboxes ORDER BY id LIMIT 1")
    organisations = directory.query("SELECT id FROM organisations ORDER BY id LIMIT 1")
    jobs = directory.query("SELECT id FROM bulk_jobs ORDER BY created_at LIMIT 1")
    number = world["ticket"]
    admin_pages = [
        "/admin/settings",
        "/admin/integrations",
        "/admin/calendars",
        "/admin/calendars/new",
        f"/admin/calendars/{world['calendar']}",
        "/admin/sla-policies",
        "/admin/sla-policies/new",
        "/admin/sla-yaml",
        "/admin/routing-rules",
        "/admin/mail",
        "/admin/mail-templates",
        "/admin/mail-templates/en/reply/txt",
        "/admin/organisations",
        "/admin/people",
    ]
    if policies:
        admin_pages.append(f"/admin/sla-policies/{policies[0]['id']}")
    if integrations:
        admin_pages.append(f"/admin/integrations/{integrations[0][0]}")
    if mailboxes:
        admin_pages.append(f"/admin/mail/mailboxes/{mailboxes[0][0]}")
    if organisations:
        admin_pages.append(f"/admin/organisations/{organisations[0][0]}")
    if jobs:
        admin_pages.append(f"/admin/jobs/{jobs[0][0]}")
    return {
        "admin": admin_pages,
        "agent": [
            "/queue",
            "/tasks",
            "/teams",
            "/incidents",
            "/notifications",
            "/tickets/new",
            f"/tickets/{number}",
            f"/tickets/{number}/sla",
            "/settings/tokens",
            "/settings/notifications",
            "/settings/language",
        ],
        "customer": ["/portal", "/tickets/new", f"/tickets/{number}", "/settings/language"],
    }


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
def test_every_page_in_every_language(
    language: str, world: dict[str, object], directory: Directory
) -> None:
    pages = _pages(world, directory)
    for role, paths in pages.items():
        person = world[role]
        assert isinstance(person, Person)
        person.api.ok("PATCH", "/users/me", json={"language": language})
        with browser_session(directory.base_url, person.email) as browser:
            for path in paths:
                response = browser.get(path)
                assert response.status_code == 200, (language, path, response.text[:300])
                direction = "rtl" if language in i18n.RIGHT_TO_LEFT else "ltr"
                if not path.endswith("/sla"):  # the SLA panel is a part htmx swaps in
                    assert f'<html lang="{language}" dir="{direction}">' in response.text, path
                if language != "en":
                    left = _untranslated(response.text, language)
                    assert not left, (language, path, left)
    # The login page, before anyone is known: the browser's language.
    login = httpx.get(f"{directory.base_url}/login", headers={"Accept-Language": language})
    assert f'<html lang="{language}"' in login.text
    if language != "en":
        assert not _untranslated(login.text, language)


def test_every_page_is_in_the_list() -> None:
    """A new page must join `_pages` above (and so be rendered in every language)."""
    from web import (
        directory_routes,
        incident_routes,
        login,
        mail,
        mail_templates,
        routing_routes,
        settings_routes,
        sla_routes,
        tickets,
    )

    listed = {
        "/",
        "/login",
        "/language/{code}",
        "/admin/sla-yaml/export",  # a download, not a page
        "/admin/mail-templates/open",  # a redirect to a template's page
        "/admin/integrations/{integration_id}",
        "/admin/calendars/{calendar_id}",
        "/admin/sla-policies/{policy_id}",
        "/admin/jobs/{job_id}",
        "/admin/mail/mailboxes/{mailbox_id}",
        "/admin/mail-templates/{language}/{kind}/{part}",
        "/admin/organisations/{organisation_id}",
        "/tickets/{number}",
        "/tickets/{number}/sla",
    }
    source = Path(__file__).read_text()
    modules = (
        login,
        tickets,
        settings_routes,
        incident_routes,
        sla_routes,
        routing_routes,
        mail,
        mail_templates,
        directory_routes,
    )
    for module in modules:
        for route in module.router.routes:
            path = getattr(route, "path", "")
            if "GET" in getattr(route, "methods", ()) and path not in listed:
                assert f'"{path}"' in source, f"{path} is not rendered in every language"


# ------------------------------------------------------------------ a person's settings


def test_a_person_chooses_language_zone_calendar_and_digits(
    directory: Directory, world: dict[str, object]
) -> None:
    person = directory.person("agent")
    bad = person.api.patch("/users/me", json={"timezone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json()["field"] == "timezone"
    bad = person.api.patch("/users/me", json={"date_calendar": "mayan"})
    assert bad.status_code == 422 and "date_calendar" in bad.text
    assert person.api.ok("GET", "/users/me")["timezone"] is None  # nothing was stored

    with browser_session(directory.base_url, person.email) as browser:
        shown = browser.get("/settings/language")
        token = csrf_of(shown.text)
        refused = browser.post(
            "/settings/language",
            data={"csrf_token": token, "language": "fa", "timezone": "Nowhere/Land"},
        )
        assert refused.status_code == 422 and 'data-field="timezone"' in refused.text
        saved = browser.post(
            "/settings/language",
            data={
                "csrf_token": token,
                "language": "fa",
                "timezone": "Asia/Tehran",
                "date_calendar": "persian",
                "digits": "default",
            },
        )
        # The answer to the form is already in the new language and direction.
        assert saved.status_code == 200 and '<html lang="fa" dir="rtl">' in saved.text
        assert tr("fa", "Saved.") in saved.text
        me = person.api.ok("GET", "/users/me")
        assert (me["language"], me["timezone"], me["date_calendar"]) == (
            "fa",
            "Asia/Tehran",
            "persian",
        )
        ticket = browser.get(f"/tickets/{world['ticket']}").text
        # The ticket's instants: Solar Hijri, Tehran time, Persian digits.
        times = re.findall(r'<time datetime="([^"]+)"[^>]*>([^<]+)</time>', ticket)
        assert times, "no instant on the ticket page"
        for iso, text in times[:3]:
            at = datetime.fromisoformat(iso)
            assert formats_for_fa(at) in text, (iso, text)


def formats_for_fa(at: datetime) -> str:
    """What a Persian reader in Tehran with the Solar Hijri calendar sees of `at`."""
    previous = i18n.current()
    i18n.read_as(Reader(language="fa", timezone="Asia/Tehran", calendar="persian"))
    try:
        return formats.instant(at)
    finally:
        i18n.read_as(previous)


# ------------------------------------------------------------------ the timeline

_EVENT_DATA: dict[str, dict[str, object]] = {
    "classified": {"impact": {"to": 1}, "urgency": {"to": 2}, "priority": {"from": 3, "to": 1}},
    "assigned": {"group_id": {"to": 1}, "assignee_id": {"to": 2}},
    "pended": {"reason": "Waiting for the part"},
    "resolved": {"resolution_code": "solved"},
    "closed": {"automatic": True},
    "attached": {"filename": "log.txt"},
    "parent_linked": {"parent": {"from": None, "to": 12}},
    "priority_raised": {"priority": {"from": 3, "to": 2}},
    "offered": {"agent_id": 2},
    "offer_expired": {"agent_id": 2},
    "consult_asked": {"colleague_id": 2, "message": "Any idea?"},
    "consult_answered": {"body": "Yes"},
    "reminder_set": {"at": "2027-03-20T12:00:00+00:00"},
    "sla_warning": {"clock": "resolution", "percent": 75},
    "sla_breached": {"clock": "first_response"},
    "sla_escalated": {"clock": "next_update", "level": 2},
    "idle": {"level": 1, "since": "2027-03-20T12:00:00+00:00"},
    "customer_reminded": {"reminder": 2, "left": 1, "number": 7, "subject": "Printer"},
}


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
def test_every_timeline_event_is_a_sentence_in_every_language(language: str, reading: None) -> None:
    from types import SimpleNamespace

    from web.render import env
    from workflows.choices import EventKind

    macros = env.get_template("_macros.html").module
    names = ("Maryam", {1: "L2", 2: "Reza"}, {1: "L2"})
    for kind in EventKind:
        event = SimpleNamespace(kind=kind, data=_EVENT_DATA.get(kind.value, {}))
        i18n.read_as(Reader())
        english = str(macros.event_text(event, *names))
        i18n.read_as(Reader(language=language))
        text = str(macros.event_text(event, *names))
        # The bare fallback shows the kind's code (`sla_warning`); a sentence never does.
        assert "_" not in kind.value or kind.value not in text, (language, kind, text)
        if language != "en":
            assert text != english, (language, kind, text)
