"""The problems an admin's form has, each next to its field, are in the admin's language:
SLA calendars and policies, routing rules, mailboxes and mail templates. The JSON API
answers the same problems in English, word for word as before."""

from __future__ import annotations

import html
import re
import uuid

from tests.api.test_sla import Desk
from tests.api.test_sla import desk as desk  # the fixture
from tests.factories import Directory, Person, browser_session, csrf_of
from tests.web.test_sla_pages import calendar_form, errors_in, field_error, policy_form


def alert(page: str) -> str:
    """The page's one error message (pages that show a single flash)."""
    found = re.search(r'class="flash error" role="alert"[^>]*>([^<]*)<', page)
    assert found, "the page shows no error"
    return html.unescape(found.group(1))


def test_a_persian_admin_reads_the_calendar_s_problems_in_persian(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "fa"})
    name = f"Refused {uuid.uuid4().hex[:8]}"
    form = calendar_form(name, timezone="Mars/Olympus", holiday_country="XX")
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/calendars/new").text
        r = browser.post("/admin/calendars/new", data={"csrf_token": csrf_of(page), **form})
    assert r.status_code == 422
    assert field_error(r.text, "timezone") == (
        "منطقهٔ زمانی 'Mars/Olympus' یک منطقهٔ زمانی IANA نیست"
    )
    assert field_error(r.text, "holiday_country") == ("'XX' کد کشوری نیست که بستهٔ holidays بشناسد")
    # The JSON API says the same problems as always: English, for programs and logs.
    answer = admin.api.post(
        "/calendars",
        json={"name": name, "timezone": "Mars/Olympus", "holiday_country": "XX"},
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "timezone", "message": "timezone 'Mars/Olympus' is not an IANA time zone"},
        {"field": "week", "message": "the calendar has no working hours at all"},
        {
            "field": "holiday_country",
            "message": "'XX' is not a country code the holidays package knows",
        },
    ]


def test_a_persian_admin_reads_a_weekday_s_overlapping_hours_in_persian(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "fa"})
    form = calendar_form(
        f"Overlap {uuid.uuid4().hex[:8]}", **{"week.1": "13:00-17:00, 09:00-14:00"}
    )
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/calendars/new").text
        r = browser.post("/admin/calendars/new", data={"csrf_token": csrf_of(page), **form})
    assert r.status_code == 422
    # Next to Tuesday's field, without naming the day again.
    assert field_error(r.text, "week.1") == "بازه‌ها هم‌پوشانی دارند یا به ترتیب نیستند"


def test_an_arabic_admin_reads_a_policy_s_bad_targets_in_arabic(
    directory: Directory, admin: Person, desk: Desk
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "ar"})
    form = policy_form(
        f"Zero {uuid.uuid4().hex[:8]}",
        desk.calendar,
        desk.org,
        **{"targets.1.first_response": "0m", "warnings": "50, 50"},
    )
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/sla-policies/new").text
        r = browser.post("/admin/sla-policies/new", data={"csrf_token": csrf_of(page), **form})
    assert r.status_code == 422, r.text
    errors = errors_in(r.text)
    assert errors["targets.1.first_response"] == "يجب أن يكون أطول من الصفر"
    assert errors["warnings"] == "التحذيرات نسب مئوية مختلفة بين 1 و99"


def test_a_japanese_admin_reads_a_routing_rule_s_missing_group_in_japanese(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "ja"})
    missing = 2_000_000_000
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/routing-rules").text
        r = browser.post(
            "/admin/routing-rules",
            data={
                "csrf_token": csrf_of(page),
                "name": f"Nowhere {uuid.uuid4().hex[:8]}",
                "group_id": str(missing),
            },
        )
    assert r.status_code == 422, r.text
    assert alert(r.text) == f"group_id: グループ {missing} は存在しません"


def test_a_persian_admin_reads_a_mailbox_s_problem_in_persian(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "fa"})
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/mail").text
        r = browser.post(
            "/admin/mail/mailboxes",
            data={
                "csrf_token": csrf_of(page),
                "name": f"Both {uuid.uuid4().hex[:8]}",
                "address": "desk@desk.example",
                "protocol": "imap",
                "host": "mail.example",
                "port": "993",
                "username": "desk",
                "password_env": "DESK_PASSWORD",
                "tls": "on",
                "starttls": "on",
            },
        )
    assert r.status_code == 422, r.text
    assert alert(r.text) == "tls (TLS ضمنی) یا starttls را برگزینید، نه هر دو را"


def test_an_arabic_admin_reads_a_template_s_empty_text_in_arabic(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "ar"})
    path = "/admin/mail-templates/en/reply/txt"
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get(path).text
        r = browser.post(f"{path}/preview", data={"csrf_token": csrf_of(page), "body": "   "})
    assert r.status_code == 422, r.text
    assert alert(r.text) == "body: النص فارغ"


def test_a_persian_admin_reads_the_problems_of_a_yaml_file_in_persian(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "fa"})
    name = f"Mars {uuid.uuid4().hex[:8]}"
    text = f"version: 1\ncalendars:\n  - name: {name}\n    timezone: Mars/Olympus\n"
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/sla-yaml").text
        r = browser.post(
            "/admin/sla-yaml",
            data={"csrf_token": csrf_of(page), "action": "dry_run"},
            files={"file": ("sla.yaml", text.encode(), "application/yaml")},
        )
    assert r.status_code == 422, r.text
    problems = [
        html.unescape(message)
        for _, message in re.findall(r"<li><strong>([^<]*)</strong>: ([^<]*)</li>", r.text)
    ]
    assert "منطقهٔ زمانی 'Mars/Olympus' یک منطقهٔ زمانی IANA نیست" in problems, problems
    assert "تقویم هیچ ساعت کاری‌ای ندارد" in problems, problems

    twice = f"version: 1\ncalendars:\n  - name: {name}\n  - name: {name}\n"
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/sla-yaml").text
        r = browser.post(
            "/admin/sla-yaml",
            data={"csrf_token": csrf_of(page), "action": "dry_run"},
            files={"file": ("sla.yaml", twice.encode(), "application/yaml")},
        )
    assert r.status_code == 422, r.text
    problems = [
        html.unescape(message)
        for _, message in re.findall(r"<li><strong>([^<]*)</strong>: ([^<]*)</li>", r.text)
    ]
    assert problems == [f"'{name}' دو بار آمده است"]


def test_a_japanese_admin_reads_every_problem_of_an_integration_in_japanese(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "ja"})
    missing = 2_000_000_000
    form = {"name": f"Hook {uuid.uuid4().hex[:6]}", "kind": "webhook", "group_id": str(missing)}
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/integrations").text
        r = browser.post("/admin/integrations", data={"csrf_token": csrf_of(page), **form})
    assert r.status_code == 422, r.text
    assert alert(r.text) == (
        "mapping: webhook 連携にはマッピングが必要です"
        f" / group_id: グループ {missing} は存在しません"
    )
    # The JSON API lists the same problems in English.
    answer = admin.api.post(
        "/integrations",
        json={"name": form["name"], "kind": "webhook", "group_id": missing},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        f"mapping: a webhook integration needs a mapping; group_id: group {missing} does not exist"
    )
