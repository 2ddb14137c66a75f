"""The desk in Persian, Arabic and Japanese in a real headless Chromium, on a phone and on a
desktop: right-to-left layout, and search that finds words in each language."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from models import catalogues
from tests.factories import PASSWORD, Directory, Person

pytestmark = pytest.mark.browser
NewPage = Callable[..., Page]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def tr(language: str, message: str) -> str:
    return catalogues.translations(language).gettext(message)


def log_in(page: Page, base_url: str, person: Person, language: str) -> None:
    # The login page speaks the browser's language (Accept-Language, see new_page below).
    page.goto(f"{base_url}/login")
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.get_by_label(tr(language, "Email")).fill(person.email)
    page.get_by_label(tr(language, "Password")).fill(PASSWORD)
    page.get_by_role("button", name=tr(language, "Log in")).click()
    page.wait_for_load_state()


def no_horizontal_scroll(page: Page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390x844", "1280x800"])
def test_a_persian_agent_works_right_to_left(
    new_page: NewPage, base_url: str, directory: Directory, viewport: dict[str, int]
) -> None:
    agent = directory.person("agent", name="مریم رضایی")
    agent.api.ok("PATCH", "/users/me", json={"language": "fa"})
    customer = directory.person("customer", directory.organisation())
    number = customer.api.open_ticket(
        "Outlook روی لپ‌تاپ باز نمی‌شود", description="از دیروز؛ see https://example.com/kb/42"
    )["number"]

    page = new_page(viewport=viewport, locale="fa-IR")
    log_in(page, base_url, agent, "fa")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "fa")
    # The menu reads from the right: the brand sits at the right edge, the log-out at the left.
    brand = page.locator(".brand").bounding_box()
    logout = page.locator(".logout").bounding_box()
    assert brand is not None and logout is not None
    assert brand["x"] + brand["width"] > viewport["width"] - 40, brand
    if viewport is DESKTOP:
        assert logout["x"] < brand["x"], (logout, brand)
    expect(page.get_by_role("link", name=tr("fa", "Queue"))).to_be_visible()
    no_horizontal_scroll(page)

    page.goto(f"{base_url}/tickets/{number}")
    expect(page.locator("h1")).to_contain_text("Outlook")
    # Mixed-direction text keeps its own direction inside the Persian page.
    assert page.locator("[dir=auto]").count() > 0
    no_horizontal_scroll(page)
    page.goto(f"{base_url}/queue")
    no_horizontal_scroll(page)


def test_an_arabic_customer_finds_a_ticket_by_another_letter_form(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    customer = directory.person("customer", directory.organisation())
    customer.api.ok("PATCH", "/users/me", json={"language": "ar"})
    tag = uuid.uuid4().hex[:6]
    page = new_page(viewport=PHONE, locale="ar")
    log_in(page, base_url, customer, "ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")

    page.goto(f"{base_url}/tickets/new")
    # Written with Arabic yeh (ي) and kaf (ك) and a teh marbuta (ة).
    page.get_by_label(tr("ar", "Subject")).fill(f"مشكلة في الطابعة الكبيرة {tag}")
    page.get_by_label(tr("ar", "Description")).fill("لا تطبع منذ الصباح")
    page.get_by_role("button", name=tr("ar", "Send")).click()
    page.wait_for_load_state()

    page.goto(f"{base_url}/portal")
    # Searched with Persian yeh (ی) and keheh (ک), without the teh marbuta's dots: the
    # letter forms a Persian keyboard types.
    page.get_by_label(tr("ar", "Search my tickets")).fill("الکبیره")
    page.get_by_role("button", name=tr("ar", "Search")).click()
    found = page.locator(".ticket-list li[data-number]")
    expect(found).to_have_count(1)
    expect(found).to_contain_text(tag)
    no_horizontal_scroll(page)


def test_a_japanese_agent_finds_a_ticket_by_a_word_inside_a_sentence(
    new_page: NewPage, base_url: str, directory: Directory
) -> None:
    agent = directory.person("agent")
    agent.api.ok("PATCH", "/users/me", json={"language": "ja"})
    customer = directory.person("customer", directory.organisation())
    tag = uuid.uuid4().hex[:6]
    number = customer.api.open_ticket(
        f"会議室のプロジェクターが映らない {tag}",
        description="昨日から東京本社の会議室でプロジェクターの電源が入りません。",
    )["number"]

    page = new_page(viewport=DESKTOP, locale="ja-JP")
    log_in(page, base_url, agent, "ja")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.goto(f"{base_url}/queue?queue=all")
    search = page.get_by_role("searchbox", name=tr("ja", "Search"))
    search.fill("電源")  # a word in the middle of a sentence written without spaces
    search.press("Enter")
    rows = page.locator(f'tr[data-number="{number}"]')
    expect(rows).to_have_count(1)
    no_horizontal_scroll(page)
