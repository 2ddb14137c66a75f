"""The SLA in a real headless Chromium: an admin sets it up through the forms, an agent works by it.

No async tests in this module: see the browser fixtures' docstring.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.factories import Directory
from tests.web.test_browser import log_in

pytestmark = pytest.mark.browser
NewPage = Callable[..., Page]


def test_admin_sets_up_an_sla_and_an_agent_sees_it_in_queue_and_ticket(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    tag = uuid.uuid4().hex[:8]
    org_name = f"Acme {tag}"
    org = directory.organisation(org_name)
    customer = directory.person("customer", org)
    admin, agent = directory.person("admin"), directory.person("agent")

    # The admin works in New York time: due instants are shown in it.
    page = new_page(timezone_id="America/New_York", locale="en-US")
    log_in(page, base_url, admin, "/queue")
    page.get_by_role("link", name="SLA", exact=True).click()
    page.get_by_role("link", name="Business calendars").click()
    page.get_by_role("link", name="New calendar").click()
    page.get_by_label("Name").fill(f"Always {tag}")
    page.get_by_label("Time zone").fill("Mars/Olympus")
    for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"):
        page.get_by_label(day).fill("00:00-24:00")
    page.get_by_role("button", name="Save calendar").click()
    # Refused: the message sits next to the time zone, the input is kept.
    expect(page.locator('[data-field-error="timezone"]')).to_contain_text("Mars/Olympus")
    expect(page.get_by_label("Saturday")).to_have_value("00:00-24:00")
    page.get_by_label("Time zone").fill("UTC")
    page.get_by_role("button", name="Save calendar").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")

    preview = page.locator(".preview-result")
    expect(preview).to_contain_text("A ticket opened now with a target of 8 h is due at")
    due = preview.locator("time")
    # The instant is shown in the reader's own zone, named (their setting; UTC when unset),
    # by the server: the same text for every browser, whatever zone it runs in.
    expect(due).to_have_text(re.compile(r"UTC$"))
    page.get_by_label("Target (business time)").fill("2h")
    page.get_by_role("button", name="Preview").click()
    expect(preview).to_contain_text("with a target of 2 h is due at")

    page.get_by_role("link", name="SLA policies").click()
    page.get_by_role("link", name="New policy").click()
    policy = f"Acme gold {tag}"
    page.get_by_label("Name", exact=True).fill(policy)
    page.get_by_label("Calendar").select_option(label=f"Always {tag} (UTC)")
    page.get_by_label("Organisations").select_option(label=org_name)
    page.get_by_label("P5 resolution").fill("3s")
    page.get_by_label("P1 first response").fill("5h")
    page.get_by_label("P1 resolution").fill("10h")
    page.get_by_label("Warnings at these percentages").fill("50, 150")
    page.get_by_role("button", name="Save policy").click()
    expect(page.locator('[data-field-error="warnings"]')).to_contain_text("between 1 and 99")
    expect(page.get_by_label("P5 resolution")).to_have_value("3s")
    page.get_by_label("Warnings at these percentages").fill("50")
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("status")).to_contain_text("Saved as version 1")
    page.get_by_role("link", name="SLA policies").click()
    expect(page.locator("#policies")).to_contain_text(policy)

    # A customer of that organisation opens two tickets; one breaches within seconds.
    late = customer.api.open_ticket(f"Late {tag}")["number"]
    calm = customer.api.open_ticket(f"Calm {tag}", impact=1, urgency=1)["number"]

    desk = new_page(timezone_id="Asia/Tokyo", locale="en-GB")
    log_in(desk, base_url, agent, "/queue")
    desk.goto(f"{base_url}/queue?queue=all&q={tag}")
    desk.get_by_role("link", name="Due").click()
    expect(desk).to_have_url(re.compile(r"sort=sla_due_at"))
    rows = desk.locator("table.tickets tbody tr")
    expect(rows).to_have_count(2)
    breached = desk.locator(f'tr[data-number="{late}"]')
    for _ in range(30):  # the breach fires three seconds after opening
        if breached.get_attribute("data-sla") == "breached":
            break
        desk.wait_for_timeout(500)
        desk.reload()
    expect(breached).to_have_class("sla-breached")
    expect(breached.locator("td.due")).to_contain_text("Breached")
    expect(breached.locator("td.due")).to_contain_text("overdue")
    expect(rows.nth(0)).to_have_attribute("data-number", str(late))
    expect(rows.nth(1)).to_have_attribute("data-number", str(calm))
    # The earliest running target of the calm ticket is its first response, 5 h away.
    expect(rows.nth(1).locator("td.due")).to_contain_text(re.compile(r"in (4 h 5\d min|5 h)"))

    desk.get_by_role("link", name=f"Calm {tag}").click()
    panel = desk.locator("#sla")
    expect(panel.locator('tr[data-clock="first_response"]')).to_contain_text("Running")
    expect(panel.locator('tr[data-clock="resolution"]')).to_contain_text("Running")
    # htmx replaces the recorded clocks with the ones the workflow counts now.
    expect(panel).to_have_attribute("data-live", "true")
    expect(panel).to_contain_text("Business times now")
    # Its instants are the server's, in the reader's zone (UTC: this agent chose none).
    expect(panel.locator('tr[data-clock="resolution"] time')).to_have_text(re.compile("UTC$"))
    desk.goto(f"{base_url}/tickets/{late}")
    expect(desk.locator('#sla tr[data-clock="resolution"]')).to_contain_text("Breached")
