"""The web UI in a real headless Chromium: agent and customer work one ticket end to end."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, Directory, Person

pytestmark = pytest.mark.browser
NewPage = Callable[..., Page]


def unique(word: str) -> str:
    """A word no other ticket of the session contains (they share one database)."""
    return f"{word}{uuid.uuid4().hex[:8]}"


def log_in(page: Page, base_url: str, person: Person, landing: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{landing}")


def test_agent_resolves_and_the_customer_sees_the_outcome(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    customer = directory.person("customer", directory.organisation())
    agent = directory.person("agent")
    subject = unique("VPN drops ")
    number = customer.api.open_ticket(subject, description="Every ten minutes.")["number"]
    reply, note = unique("Please reinstall the client "), unique("Customer seems unsure ")

    page = new_page()
    log_in(page, base_url, agent, "/queue")
    page.get_by_role("link", name=re.compile(r"^Unassigned")).click()
    page.get_by_role("link", name=subject).click()
    page.wait_for_url(f"{base_url}/tickets/{number}")
    ticket = page.locator("article.ticket")
    timeline = page.locator("#timeline")

    # Only legal actions are offered: a new ticket can be set pending, not resumed.
    expect(ticket).to_have_attribute("data-status", "new")
    expect(page.locator("#pend-form")).to_be_visible()
    expect(page.locator("#resume-form")).to_have_count(0)
    expect(page.locator("#reopen-form")).to_have_count(0)

    page.get_by_label("Reply", exact=True).fill(reply)
    page.get_by_role("button", name="Send reply").click()
    expect(timeline.locator(".event.replied .body")).to_have_text(reply)
    expect(ticket).to_have_attribute("data-status", "open")

    page.get_by_label("Internal note").fill(note)
    page.get_by_role("button", name="Add note").click()
    expect(timeline.locator(".event.note_added.internal .body")).to_have_text(note)

    page.locator("#pend-form").get_by_label("Reason").fill("Waiting for the customer")
    page.get_by_role("button", name="Set pending").click()
    expect(ticket).to_have_attribute("data-status", "pending")
    expect(page.locator("#resume-form")).to_be_visible()
    expect(page.locator("#pend-form")).to_have_count(0)

    page.get_by_role("button", name="Resume").click()
    expect(ticket).to_have_attribute("data-status", "open")
    expect(page.locator("#resume-form")).to_have_count(0)
    expect(page.locator("#pend-form")).to_be_visible()

    page.get_by_label("Resolution").select_option("workaround")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(ticket).to_have_attribute("data-status", "resolved")
    expect(page.locator(".facts")).to_contain_text("Resolution: Workaround provided")
    expect(page.locator("#reply-form")).to_have_count(0)
    expect(page.locator("#resolve-form")).to_have_count(0)
    expect(page.locator("#reopen-form")).to_be_visible()

    # The customer, in a browser of their own.
    page = new_page()
    log_in(page, base_url, customer, "/portal")
    page.get_by_role("link", name=subject).click()
    page.wait_for_url(f"{base_url}/tickets/{number}")
    expect(page.locator("#timeline")).to_contain_text(reply)
    expect(page.locator("#timeline")).to_contain_text("resolved (Workaround provided)")
    expect(page.locator("#reopen-form")).to_be_visible()
    expect(page.locator("#reply-form")).to_have_count(0)
    expect(page.get_by_text(note)).to_have_count(0)
    expect(page.locator("#timeline .internal")).to_have_count(0)


def test_phone_layout_shows_the_queue_as_cards(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    agent = directory.person("agent")
    subject = unique("Phone layout ")
    # A subject, requester name or group name with no place to break (a URL, a
    # log line) must wrap instead of widening the page past the phone.
    agent.api.open_ticket("https://example.com/" + "a" * 180)
    number = agent.api.open_ticket(subject)["number"]

    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(page, base_url, agent, "/queue")
    page.get_by_role("link", name=re.compile(r"^All")).click()
    page.wait_for_url(re.compile(r"/queue\?queue=all$"))
    # Nothing is wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("table.tickets thead")).to_be_hidden()
    link = page.get_by_role("link", name=subject)
    expect(link).to_be_visible()
    link.tap()
    page.wait_for_url(f"{base_url}/tickets/{number}")
    expect(page.get_by_role("heading", name=subject)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_phone_layout_fits_the_forms(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    admin = directory.person("admin")
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    log_in(page, base_url, admin, "/queue")
    for path, heading in [
        ("/tickets/new", "New ticket"),
        ("/settings/tokens", "API tokens"),
        ("/admin/settings", "Desk settings"),
    ]:
        page.goto(f"{base_url}{path}")
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px phone"


def test_html_in_a_customer_reply_is_sanitised(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    customer = directory.person("customer", directory.organisation())
    agent = directory.person("agent")
    attack = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    number = customer.api.open_ticket(
        "<script>window.__pwned=3</script> Printer", description=attack
    )["number"]
    customer.api.ok("POST", f"/tickets/{number}/comments", json={"body": f"{attack}<b>bold</b>"})

    page = new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, base_url, agent, "/queue")
    page.goto(f"{base_url}/tickets/{number}")  # waits for the load event: images have failed

    body = page.locator("#timeline .event.replied .body")
    expect(body.locator("b")).to_have_text("bold")
    assert body.locator("b").evaluate("b => getComputedStyle(b).fontWeight") == "700"
    expect(page.locator("#timeline img, #timeline script")).to_have_count(0)
    # The subject is shown as text, never as markup.
    expect(page.locator("h1")).to_contain_text("<script>window.__pwned=3</script> Printer")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []


def test_queue_search_updates_the_table_in_place(
    page: Page, base_url: str, directory: Directory
) -> None:
    agent = directory.person("agent")
    wanted, other = unique("toner"), unique("scanner")
    number = agent.api.open_ticket(f"Out of {wanted}")["number"]
    agent.api.open_ticket(f"Broken {other}")

    log_in(page, base_url, agent, "/queue")
    page.goto(f"{base_url}/queue?queue=all")
    rows = page.locator("table.tickets tbody tr")
    expect(rows.filter(has_text=other)).to_have_count(1)
    # A full navigation would start a new document and drop this marker.
    page.evaluate("window.__sameDocument = true")

    with page.expect_response(
        lambda r: f"q={wanted}" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        page.get_by_label("Search").press_sequentially(wanted, delay=20)
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-number", str(number))
    expect(page).to_have_url(re.compile(f"q={wanted}"))
    # Times in the swapped-in table are written in the reader's zone like the rest
    # (UTC for a person who has not chosen one), by the server, named.
    expect(rows.first.locator("time").first).to_have_text(re.compile(r"UTC$"))

    # Enter runs the same search through htmx instead of reloading the page.
    with page.expect_response(lambda r: r.request.headers.get("hx-request") == "true"):
        page.get_by_label("Search").press("Enter")
    expect(rows).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True
