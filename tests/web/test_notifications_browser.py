"""Live notifications in a real headless Chromium: the header's unread count and the
notification list follow the server's event stream without a reload."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.api.test_routing import group, open_in
from tests.factories import Directory, Person
from tests.web.test_browser import log_in, unique

pytestmark = pytest.mark.browser
NewPage = Callable[..., Page]


def test_a_transfer_shows_in_the_open_page_without_a_reload(
    new_page: NewPage, base_url: str, directory: Directory, admin: Person
) -> None:
    target, colleague = directory.person("agent"), directory.person("agent")
    customer = directory.person("customer", directory.organisation())
    team = group(admin, [target, colleague])
    first = open_in(colleague, customer, team, unique("Printer on fire "))
    second = open_in(colleague, customer, team, unique("Scanner jammed "))

    def transfer(number: int, note: str = "") -> None:
        body = {"group_id": team, "assignee_id": target.id, "note": note}
        colleague.api.ok("POST", f"/tickets/{number}/assign", json=body)

    page = new_page()
    log_in(page, base_url, target, "/queue")
    count = page.locator("#notifications-link .unread")
    expect(count).to_have_count(0)
    # A reload would lose this mark.
    page.evaluate("window.sameDocument = true")

    transfer(first)
    expect(count).to_have_text("1")
    expect(count).to_have_attribute("aria-label", "1 unread")
    assert page.evaluate("window.sameDocument") is True

    # On the list itself, the new entry is added on top.
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    page.wait_for_url(f"{base_url}/notifications")
    expect(count).to_have_text("1")  # rendered by the server this time
    page.evaluate("window.sameDocument = true")
    note = unique("Your turn ")
    transfer(second, note)
    expect(count).to_have_text("2")
    newest = page.locator("#notifications li").first
    expect(newest).to_have_class(re.compile(r"\bunread\b"))
    expect(newest.get_by_role("link")).to_have_attribute("href", f"/tickets/{second}")
    expect(newest.locator(".body")).to_have_text(note)
    expect(page.locator("#notifications li")).to_have_count(2)
    assert page.evaluate("window.sameDocument") is True

    # Marking all read is an ordinary form: the count goes with the reload it causes.
    page.get_by_role("button", name="Mark all read").click()
    expect(count).to_have_count(0)
