"""SLA pages over plain HTTP: calendars, policies, bulk jobs, YAML, queue, ticket, notifications.

SLA policies are shared by the whole test session, so every policy made here
matches only the tickets of an organisation of its own, and nothing here makes
a policy the default or imports a file that changes the desk.
"""

from __future__ import annotations

import html
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser

import httpx
import pytest

from tempodesk.embedded import temporal_binary
from tests.api.test_sla import Desk, targets, wait_for
from tests.api.test_sla import desk as desk  # the fixture
from tests.factories import Person, browser_session, csrf_of


def unique(word: str) -> str:
    return f"{word} {uuid.uuid4().hex[:8]}"


def field_error(page: str, field: str) -> str:
    """The message shown next to the form field `field`."""
    found = re.search(rf'data-field-error="{re.escape(field)}">([^<]*)<', page)
    assert found, f"no error next to {field!r}; the page says: {errors_in(page)}"
    return html.unescape(found.group(1))


def errors_in(page: str) -> dict[str, str]:
    return {
        k: html.unescape(v) for k, v in re.findall(r'data-field-error="([^"]*)">([^<]*)<', page)
    }


def input_value(page: str, name: str) -> str:
    found = re.search(rf'<input name="{re.escape(name)}" value="([^"]*)"', page)
    assert found, f"no input {name!r}"
    return html.unescape(found.group(1))


class _FormReader(HTMLParser):
    """What a browser would send for one form: inputs, ticked boxes, chosen options, text."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif a.get("type") != "submit":
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a.get("name")
        elif tag == "option" and self.select and "selected" in a:
            self.fields.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.fields.append((a.get("name", ""), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea and self.inside:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)


def form_fields(page: str, form_id: str) -> dict[str, list[str]]:
    reader = _FormReader(form_id)
    reader.feed(page)
    assert reader.fields, f"no form {form_id!r}"
    fields: dict[str, list[str]] = {}
    for name, value in reader.fields:
        fields.setdefault(name, []).append(value)
    return fields


def calendar_form(name: str, **fields: str) -> dict[str, str]:
    week = {f"week.{i}": "09:00-12:00, 13:00-17:00" if i < 5 else "" for i in range(7)}
    return {"name": name, "timezone": "Europe/Berlin", **week, **fields}


@pytest.fixture
def admin_web(base_url: str, admin: Person) -> Iterator[httpx.Client]:
    with browser_session(base_url, admin.email) as client:
        yield client


def post(client: httpx.Client, path: str, data: dict[str, object]) -> httpx.Response:
    """Post a form the way the page does: with the CSRF token of the page."""
    page = client.get("/admin/sla-policies").text if "/admin/" in path else client.get("/").text
    return client.post(path, data={"csrf_token": csrf_of(page), **data})


# ---------------------------------------------------------------- calendars


def test_admin_creates_a_calendar_and_sees_when_a_ticket_would_be_due(
    admin_web: httpx.Client,
) -> None:
    name = unique("Berlin office")
    r = post(
        admin_web,
        "/admin/calendars/new",
        calendar_form(
            name,
            holiday_country="de",
            holiday_subdivision="be",
            days_off="2026-12-28 Company day off",
            special_days="2026-12-24 09:00-12:00 Christmas Eve",
        ),
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    page = admin_web.get(location).text
    assert "Saved." in page
    # What was saved is what the form shows again, several ranges a day included.
    assert input_value(page, "week.0") == "09:00-12:00, 13:00-17:00"
    assert input_value(page, "week.5") == ""
    assert input_value(page, "holiday_country") == "DE"
    assert "2026-12-28 Company day off" in page
    assert "2026-12-24 09:00-12:00 Christmas Eve" in page
    # The preview: due instant as a <time> with UTC fallback text, for 8 h by default.
    preview = re.search(r'class="preview-result">(.*?)</p>', page, re.S)
    assert preview, "no preview"
    assert "with a target of 8 h is due at" in preview.group(1)
    due = re.search(r'<time datetime="([^"]+)">([^<]+ UTC)</time>', preview.group(1))
    assert due, preview.group(1)
    assert datetime.fromisoformat(due.group(1)) > datetime.now().astimezone()
    # The target is editable; a bad one is named next to the target field.
    two = admin_web.get(location.split("?")[0], params={"target": "2h 30m"}).text
    assert "with a target of 2 h 30 min is due at" in two
    bad = admin_web.get(location.split("?")[0], params={"target": "soon"}).text
    assert "is not a duration" in field_error(bad, "target")
    long = admin_web.get(location.split("?")[0], params={"target": "400d"}).text
    assert "at most 365 days" in field_error(long, "target")

    listing = admin_web.get("/admin/calendars").text
    assert name in listing and "Europe/Berlin" in listing


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "Mars/Olympus"),
        ({"week.2": "9 to 5"}, "week.2", "is not a range like 09:00-17:00"),
        ({"week.1": "13:00-17:00, 09:00-14:00"}, "week.1", "ranges overlap or are not in order"),
        ({"week.4": "18:00-09:00"}, "week.4", "must lie in 0-1440 and end after it starts"),
        ({"special_days": "2026-12-24 13:00-12:00 Eve"}, "special_days", "2026-12-24: range"),
        (
            {"days_off": "2026-12-24 Eve", "special_days": "2026-12-24 09:00-12:00 Eve"},
            "days",
            "a day is listed twice",
        ),
        ({"holiday_country": "XX"}, "holiday_country", "not a country code"),
        ({"special_days": "2026-12-24 Christmas Eve"}, "special_days", "give the day's hours"),
        ({"days_off": "24.12.2026 Christmas"}, "days_off", "is not a date"),
        ({"name": "  "}, "name", "must not be empty"),
    ],
)
def test_a_refused_calendar_names_the_field_and_keeps_the_input(
    admin_web: httpx.Client, change: dict[str, str], field: str, message: str
) -> None:
    name = unique("Refused")
    data = {**calendar_form(name), **change}
    r = post(admin_web, "/admin/calendars/new", data)
    assert r.status_code == 422
    assert message in field_error(r.text, field)
    assert 'class="flash error"' in r.text  # and a summary at the top
    assert f'name="timezone" value="{html.escape(data["timezone"])}"' in r.text
    assert name not in admin_web.get("/admin/calendars").text


def test_editing_a_calendar_keeps_its_id_and_names_a_taken_name(admin_web: httpx.Client) -> None:
    first, second = unique("First"), unique("Second")
    post(admin_web, "/admin/calendars/new", calendar_form(first))
    r = post(admin_web, "/admin/calendars/new", calendar_form(second))
    path = r.headers["location"].split("?")[0]
    r = post(admin_web, path, calendar_form(second, timezone="UTC", **{"week.6": "10:00-14:00"}))
    assert r.status_code == 303 and r.headers["location"].startswith(path)
    page = admin_web.get(path).text
    assert input_value(page, "timezone") == "UTC"
    assert input_value(page, "week.6") == "10:00-14:00"
    # Sending the edit form back untouched changes nothing, special days included.
    post(admin_web, path, {**calendar_form(second), "special_days": "2026-12-24 09:00-12:00 Eve"})
    before = form_fields(admin_web.get(path).text, "calendar-form")
    assert before["special_days"] == ["2026-12-24 09:00-12:00 Eve"]
    r = admin_web.post(path, data=before)
    assert r.status_code == 303
    assert form_fields(admin_web.get(path).text, "calendar-form") == before
    taken = post(admin_web, path, calendar_form(first))
    assert taken.status_code == 422
    assert "exists already" in field_error(taken.text, "name")


# ---------------------------------------------------------------- policies


def policy_form(name: str, calendar: int, org: int, **fields: object) -> dict[str, object]:
    return {
        "name": name,
        "calendar_id": str(calendar),
        "active": "on",
        "conditions.organisation_ids": [str(org)],
        "targets.1.first_response": "30m",
        "targets.1.resolution": "4h",
        "targets.5.resolution": "2d",
        "pause_statuses": ["pending"],
        "warnings": "50, 75, 90",
        "escalation_rows": "2",
        "escalations.1.after": "0s",
        "escalations.1.clocks": ["resolution"],
        "escalations.1.actions": ["notify_assignee", "raise_priority"],
        "escalations.2.after": "",
        "on_reopen": "restart",
        **fields,
    }


def test_admin_creates_and_edits_a_policy_through_the_form(
    admin_web: httpx.Client, desk: Desk
) -> None:
    name = unique("Gold")
    r = post(
        admin_web,
        "/admin/sla-policies/new",
        policy_form(
            name,
            desk.calendar,
            desk.org,
            **{
                "escalations.1.user_ids": [str(desk.agent.id), str(desk.lead.id)],
                "escalations.2.after": "1h",
                "escalations.2.clocks": ["resolution"],
                "escalations.2.group_id": str(desk.group),
            },
        ),
    )
    assert r.status_code == 303, r.text
    policy_id = int(r.headers["location"].split("/")[-1].split("?")[0])
    stored = desk.admin.api.ok("GET", f"/sla-policies/{policy_id}")
    assert stored["conditions"]["organisation_ids"] == [desk.org]
    assert stored["targets"]["1"]["first_response"] == "PT30M"
    assert stored["targets"]["5"]["resolution"] == "P2D"
    assert stored["on_reopen"] == "restart" and stored["warnings"] == [50, 75, 90]
    assert [[a["kind"] for a in level["actions"]] for level in stored["escalations"]] == [
        ["notify_assignee", "raise_priority", "notify_user", "notify_user"],
        ["reassign"],
    ]
    named = [a["user_id"] for a in stored["escalations"][0]["actions"] if a["user_id"]]
    assert sorted(named) == sorted([desk.agent.id, desk.lead.id])
    assert stored["escalations"][1]["actions"][0]["group_id"] == desk.group

    page = admin_web.get(f"/admin/sla-policies/{policy_id}").text
    assert input_value(page, "targets.1.resolution") == "4h"
    assert input_value(page, "escalations.2.after") == "1h"
    assert "Saved as version 1" in admin_web.get(r.headers["location"]).text
    # Sending the edit form back untouched loses nothing: no change, no new version.
    r = admin_web.post(f"/admin/sla-policies/{policy_id}", data=form_fields(page, "policy-form"))
    assert r.status_code == 303
    assert desk.admin.api.ok("GET", f"/sla-policies/{policy_id}") == stored

    r = post(
        admin_web,
        f"/admin/sla-policies/{policy_id}",
        policy_form(name, desk.calendar, desk.org, **{"targets.1.resolution": "6h"}),
    )
    assert r.status_code == 303
    assert "Saved as version 2" in admin_web.get(r.headers["location"]).text
    listing = admin_web.get("/admin/sla-policies").text
    assert f'id="policy-{policy_id}"' in listing and name in listing


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"targets.3.resolution": "soon"}, "targets.3.resolution", "is not a duration"),
        ({"targets.2.next_update": "0s"}, "targets.2.next_update", "longer than zero"),
        ({"warnings": "50, 150"}, "warnings", "between 1 and 99"),
        ({"warnings": "half"}, "warnings", "not a whole percentage"),
        ({"calendar_id": ""}, "calendar_id", "choose a calendar"),
        ({"calendar_id": "2147483000"}, "calendar_id", "does not exist"),
        ({"name": ""}, "name", "must not be empty"),
        # Row 1 is left blank: the service's level 1 is the form's row 2.
        (
            {
                "escalations.1.after": "",
                "escalations.1.actions": [],
                "escalations.2.after": "1h",
            },
            "escalations.2.actions",
            "at least one action",
        ),
    ],
)
def test_a_refused_policy_names_the_field_and_keeps_the_input(
    admin_web: httpx.Client, desk: Desk, change: dict[str, object], field: str, message: str
) -> None:
    name = unique("Refused policy")
    r = post(
        admin_web,
        "/admin/sla-policies/new",
        {**policy_form(name, desk.calendar, desk.org), **change},
    )
    assert r.status_code == 422
    assert message in field_error(r.text, field)
    assert input_value(r.text, "targets.1.first_response") == "30m"  # input kept
    assert name not in admin_web.get("/admin/sla-policies").text


def test_every_problem_of_a_form_is_shown_at_once(admin_web: httpx.Client, desk: Desk) -> None:
    """Unreadable text and the service's objections come back together, each at its field."""
    r = post(
        admin_web,
        "/admin/sla-policies/new",
        {
            **policy_form(unique("Twice wrong"), desk.calendar, desk.org),
            "targets.3.resolution": "soon",
            "warnings": "50, 150",
            "escalation_rows": "2",
            "escalations.2.after": "-1h",
            "escalations.2.actions": ["raise_priority"],
            "escalations.2.clocks": ["resolution"],
        },
    )
    assert r.status_code == 422
    assert "is not a duration" in field_error(r.text, "targets.3.resolution")
    assert "between 1 and 99" in field_error(r.text, "warnings")
    assert "is not a duration" in field_error(r.text, "escalations.2.after")
    # The refused form comes back as sent: its two rows, no extra blank ones.
    assert r.text.count('class="level card"') == 2
    r = post(
        admin_web,
        "/admin/calendars/new",
        {**calendar_form(unique("Twice wrong")), "week.2": "9 to 5", "timezone": "Mars/Olympus"},
    )
    assert r.status_code == 422
    assert "is not a range" in field_error(r.text, "week.2")
    assert "Mars/Olympus" in field_error(r.text, "timezone")


def test_policies_are_listed_in_match_order_and_can_be_moved(
    admin_web: httpx.Client, desk: Desk
) -> None:
    first = desk.policy(targets=targets(resolution=3600))
    second = desk.policy(targets=targets(resolution=7200))

    def order() -> list[int]:
        page = admin_web.get("/admin/sla-policies").text
        return [int(i) for i in re.findall(r'<tr id="policy-(\d+)"', page)]

    assert order().index(first["id"]) + 1 == order().index(second["id"])
    r = post(admin_web, f"/admin/sla-policies/{second['id']}/move", {"direction": "up"})
    assert r.status_code == 303
    assert order().index(second["id"]) + 1 == order().index(first["id"])
    post(admin_web, f"/admin/sla-policies/{second['id']}/move", {"direction": "down"})
    assert order().index(first["id"]) + 1 == order().index(second["id"])


def test_the_default_is_marked_and_policies_and_calendars_can_be_deleted(
    admin_web: httpx.Client, desk: Desk
) -> None:
    # Inactive: this default never applies to the session's other tickets.
    name = unique("Fallback")
    form = {**policy_form(name, desk.calendar, desk.org), "is_default": "on"}
    del form["active"]  # an unticked box is not sent
    r = post(admin_web, "/admin/sla-policies/new", form)
    assert r.status_code == 303
    path = r.headers["location"].split("?")[0]
    try:
        row = re.search(
            rf"<tr id=\"policy-\d+\".*?{name}.*?</tr>",
            admin_web.get("/admin/sla-policies").text,
            re.S,
        )
        assert row and "Default" in row.group(0) and "Inactive" in row.group(0)
        # A calendar in use cannot go; the page says which policy uses it.
        r = post(admin_web, f"/admin/calendars/{desk.calendar}/delete", {})
        assert r.status_code == 409 and name in html.unescape(r.text)
    finally:
        r = post(admin_web, f"{path}/delete", {})
    assert r.status_code == 303
    assert name not in admin_web.get("/admin/sla-policies").text
    spare = unique("Spare")
    r = post(admin_web, "/admin/calendars/new", calendar_form(spare))
    r = post(admin_web, r.headers["location"].split("?")[0] + "/delete", {})
    assert r.status_code == 303
    assert spare not in admin_web.get("/admin/calendars").text


def finished_job(client: httpx.Client, path: str) -> str:
    """The job page once the job has finished."""

    def finished() -> str | None:
        page = client.get(path).text
        return page if 'data-status="finished"' in page else None

    page: str = wait_for(finished, 30, "the job did not finish")
    return page


def test_apply_to_open_tickets_starts_a_job_whose_page_shows_progress(
    admin_web: httpx.Client, desk: Desk
) -> None:
    policy = desk.policy(targets=targets(resolution=3600))
    numbers = [desk.open(unique("Apply me"))["number"] for _ in range(2)]
    body = {k: v for k, v in policy.items() if k in ("name", "calendar_id", "conditions")}
    desk.admin.api.ok(
        "PUT", f"/sla-policies/{policy['id']}", json={**body, "targets": targets(resolution=7200)}
    )
    r = post(admin_web, f"/admin/sla-policies/{policy['id']}/apply", {})
    assert r.status_code == 303
    job_path = r.headers["location"]
    assert job_path.startswith("/admin/jobs/bulk-")

    first = admin_web.get(job_path).text
    if 'data-status="running"' in first:
        assert '<meta http-equiv="refresh"' in first  # it refreshes itself while running
    page = finished_job(admin_web, job_path)
    assert "Apply an SLA policy to open tickets" in page
    assert "2 of 2 tickets done · 2 updated · 0 failed" in page
    assert '<meta http-equiv="refresh"' not in page
    for number in numbers:
        assert desk.clock(number, "resolution")["target_seconds"] == 7200


def test_the_job_page_lists_each_ticket_that_refused_with_its_reason(
    admin_web: httpx.Client, desk: Desk, temporal_address: str
) -> None:
    policy = desk.policy(targets=targets(resolution=3600))
    kept = desk.open(unique("Kept"))
    gone = desk.open(unique("Gone"))
    # The workflow ends behind the projection's back: the ticket cannot take the change.
    subprocess.run(
        [
            str(temporal_binary()),
            "workflow",
            "terminate",
            "--address",
            temporal_address,
            "--workflow-id",
            gone["workflow_id"],
            "--reason",
            "test",
        ],
        check=True,
        capture_output=True,
    )
    body = {k: v for k, v in policy.items() if k in ("name", "calendar_id", "conditions")}
    desk.admin.api.ok(
        "PUT", f"/sla-policies/{policy['id']}", json={**body, "targets": targets(resolution=60)}
    )
    r = post(admin_web, f"/admin/sla-policies/{policy['id']}/apply", {})
    job_path = r.headers["location"]
    page = finished_job(admin_web, job_path)
    assert "2 of 2 tickets done · 1 updated · 1 failed" in page
    failures = re.search(r'<ul id="job-failures">(.*?)</ul>', page, re.S)
    assert failures, page
    assert f'href="/tickets/{gone["number"]}"' in failures.group(1)
    assert "the ticket is closed" in failures.group(1)
    assert f'/tickets/{kept["number"]}"' not in failures.group(1)


# ---------------------------------------------------------------- YAML


def test_yaml_page_exports_dry_runs_and_lists_every_problem(admin_web: httpx.Client) -> None:
    name = unique("Exported calendar")
    post(admin_web, "/admin/calendars/new", calendar_form(name))
    assert "Download sla.yaml" in admin_web.get("/admin/sla-yaml").text
    exported = admin_web.get("/admin/sla-yaml/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert name in exported.text

    page = admin_web.get("/admin/sla-yaml").text
    r = admin_web.post(
        "/admin/sla-yaml",
        data={"csrf_token": csrf_of(page), "action": "dry_run"},
        files={"file": ("sla.yaml", exported.text.encode(), "application/yaml")},
    )
    assert r.status_code == 200
    assert "No changes: the desk already matches the file." in r.text
    # Importing the desk's own export is the one real import safe in a shared session.
    r = admin_web.post(
        "/admin/sla-yaml",
        data={"csrf_token": csrf_of(page), "action": "import"},
        files={"file": ("sla.yaml", exported.text.encode(), "application/yaml")},
    )
    assert r.status_code == 200 and "Imported; these changes were made" in r.text

    renamed = exported.text.replace(name, name + " renamed")
    r = admin_web.post(
        "/admin/sla-yaml",
        data={"csrf_token": csrf_of(page), "action": "dry_run"},
        files={"file": ("sla.yaml", renamed.encode(), "application/yaml")},
    )
    changes = re.search(r'id="changes">(.*?)</section>', r.text, re.S)
    assert changes and "would make these changes" in changes.group(1)
    assert name in changes.group(1)
    assert name in admin_web.get("/admin/calendars").text  # a dry run changes nothing

    bad = "version: 1\ncalendars:\n  - name: A\n    bogus: 1\n  - name: B\n    other: 2\n"
    r = admin_web.post(
        "/admin/sla-yaml",
        data={"csrf_token": csrf_of(page), "action": "import"},
        files={"file": ("bad.yaml", bad.encode(), "application/yaml")},
    )
    assert r.status_code == 422
    problems = re.findall(r"<li><strong>([^<]*)</strong>: ([^<]*)</li>", r.text)
    assert len(problems) >= 2, problems
    assert all(where.startswith("line ") for where, _ in problems), problems
    assert "nothing changed" in r.text

    r = admin_web.post(
        "/admin/sla-yaml",
        data={"csrf_token": csrf_of(page), "action": "dry_run"},
        files={"file": ("latin1.yaml", "name: Café".encode("latin-1"), "application/yaml")},
    )
    assert r.status_code == 422 and "must be UTF-8 text" in r.text


# ---------------------------------------------------------------- queue, ticket, notifications


def test_queue_ticket_and_notifications_show_the_sla(base_url: str, desk: Desk) -> None:
    word = unique("Outage").split()[1]
    desk.policy(
        targets={
            "5": {"resolution": 3},
            "3": {"resolution": 60},
            **{str(p): {"resolution": 36000, "first_response": 18000} for p in (1, 2, 4)},
        },
        warnings=[10],
        escalations=[{"after": 0, "actions": [{"kind": "notify_user", "user_id": desk.agent.id}]}],
    )
    late = desk.open(f"Late {word}")["number"]
    calm = desk.open(f"Calm {word}", impact=1, urgency=1)["number"]
    risky = desk.open(f"Risky {word}", impact=1, urgency=3)["number"]  # P3: warned at 6 s
    for number, state in ((late, "breached"), (risky, "at_risk")):
        wait_for(
            lambda n=number, s=state: desk.agent.api.ok("GET", f"/tickets/{n}")["sla_state"] == s,
            20,
            f"#{number} did not become {state}",
        )
    with browser_session(base_url, desk.agent.email) as agent:
        page = agent.get("/queue", params={"queue": "all", "q": word, "sort": "sla_due_at"}).text
        rows = re.findall(r'<tr data-number="(\d+)" data-sla="(\w+)"([^>]*)>(.*?)</tr>', page, re.S)
        assert [int(r[0]) for r in rows] == [late, risky, calm], "not sorted by due soonest"
        assert rows[0][1] == "breached" and 'class="sla-breached"' in rows[0][2]
        assert "Breached" in rows[0][3] and "overdue" in rows[0][3]
        assert rows[1][1] == "at_risk" and 'class="sla-at-risk"' in rows[1][2]
        assert "At risk" in rows[1][3] and ">in " in rows[1][3]
        assert rows[2][1] == "running" and "sla-" not in rows[2][2]
        assert re.search(r'<time datetime="[^"]+" title="[^"]+ UTC" data-relative>in ', rows[2][3])
        assert 'data-sort="sla_due_at"' in page

        ticket = agent.get(f"/tickets/{calm}").text
        clocks = dict(re.findall(r'data-clock="(\w+)" data-state="(\w+)"', ticket))
        assert clocks == {"first_response": "running", "resolution": "running"}
        assert "Business time elapsed" in ticket and "First response" in ticket
        breached = agent.get(f"/tickets/{late}").text
        assert 'data-clock="resolution" data-state="breached"' in breached

        # The page shows the projection; htmx swaps in the clocks the workflow counts now.
        assert 'data-live="false"' in ticket and f'hx-get="/tickets/{calm}/sla"' in ticket

        def elapsed() -> float:
            panel = agent.get(f"/tickets/{calm}/sla").text
            assert 'data-live="true"' in panel
            found = re.search(r'data-clock="resolution".*?data-seconds="([\d.]+)"', panel, re.S)
            assert found, panel
            return float(found.group(1))

        before = elapsed()
        time.sleep(1.5)
        assert elapsed() >= before + 1, "the live clock did not move"
        desk.agent.api.ok("POST", f"/tickets/{calm}/resolve", json={"resolution_code": "solved"})
        resolved = agent.get(f"/tickets/{calm}").text
        assert 'data-clock="resolution" data-state="met"' in resolved
        assert "hx-get=" not in resolved.split('id="sla"')[1].split(">")[0]  # no more polling

        # The escalation named the agent: the header counts it, the page links the ticket.
        home = agent.get("/queue").text
        unread = re.search(r'<span class="unread"[^>]*>(\d+)</span>', home)
        assert unread and int(unread.group(1)) >= 1
        notes = agent.get("/notifications").text
        assert f'href="/tickets/{late}"' in notes
        r = agent.post("/notifications/read", data={"csrf_token": csrf_of(notes)})
        assert r.status_code == 303
        assert 'class="unread"' not in agent.get("/queue").text
        assert 'class="notification unread"' not in agent.get("/notifications").text


# ---------------------------------------------------------------- who may


ADMIN_PAGES = [
    "/admin/calendars",
    "/admin/calendars/new",
    "/admin/sla-policies",
    "/admin/sla-policies/new",
    "/admin/sla-yaml",
    "/admin/sla-yaml/export",
]


@pytest.mark.parametrize("role", ["agent", "manager", "customer"])
def test_sla_admin_pages_are_for_admins_only(
    base_url: str, desk: Desk, role: str, admin_web: httpx.Client
) -> None:
    person = desk.directory.person(role, desk.org if role == "customer" else None)
    with browser_session(base_url, person.email) as client:
        for path in ADMIN_PAGES:
            r = client.get(path)
            assert r.status_code == 403, path
            assert "this page is for admins" in r.text
        token = csrf_of(client.get("/settings/tokens").text)
        r = client.post("/admin/calendars/new", data={"csrf_token": token, **calendar_form("x")})
        assert r.status_code == 403
        policy = desk.policy(targets=targets(resolution=60))
        r = client.post(f"/admin/sla-policies/{policy['id']}/apply", data={"csrf_token": token})
        assert r.status_code == 403
        if role == "customer":
            assert client.get("/tickets/1/sla").status_code == 403
    assert admin_web.get("/admin/sla-policies").status_code == 200


def test_sla_forms_need_the_csrf_token(admin_web: httpx.Client, desk: Desk) -> None:
    name = unique("No token")
    r = admin_web.post("/admin/calendars/new", data=calendar_form(name))
    assert r.status_code == 403 and "CSRF" in r.text
    policy = desk.policy(targets=targets(resolution=60))
    r = admin_web.post(f"/admin/sla-policies/{policy['id']}/move", data={"direction": "up"})
    assert r.status_code == 403
    r = admin_web.post("/notifications/read", data={})
    assert r.status_code == 403
    assert name not in admin_web.get("/admin/calendars").text


def test_pages_render_for_an_admin(admin_web: httpx.Client) -> None:
    for path in [*ADMIN_PAGES[:-1], "/notifications"]:
        r = admin_web.get(path)
        assert r.status_code == 200, path
    assert admin_web.get("/admin/calendars/2147483000").status_code == 404
    assert admin_web.get("/admin/jobs/bulk-" + "0" * 32).status_code == 404


def test_a_new_calendar_starts_from_the_working_week_of_its_country(
    admin_web: httpx.Client,
) -> None:
    """Iran works Saturday to Wednesday; Saudi Arabia, the Emirates and Egypt Sunday to
    Thursday: a new calendar can start from either instead of Monday to Friday."""
    days = range(7)  # Monday first
    weeks = {
        "sat-wed": {5, 6, 0, 1, 2},
        "sun-thu": {6, 0, 1, 2, 3},
        "mon-fri": {0, 1, 2, 3, 4},
        "no-such-week": {0, 1, 2, 3, 4},
    }
    for week, working in weeks.items():
        page = admin_web.get("/admin/calendars/new", params={"week": week}).text
        filled = {day for day in days if input_value(page, f"week.{day}")}
        assert filled == working, (week, filled)
    assert 'href="/admin/calendars/new?week=sat-wed"' in page
