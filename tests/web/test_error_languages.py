"""Errors a person reads on a page are in their language: a refusal of the ticket's rules, a
form the page could not read, an admin's setting the desk refused. The JSON API keeps
answering in English, with the same message and field."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from api.errors import ApiError, from_violation, refused
from tests.factories import Directory, Person, browser_session, csrf_of
from web import i18n
from web.errors import error_text, form_error
from web.i18n import Reader
from workflows.ticket.errors import ViolationKind, refuse
from workflows.ticket.rules import REFUSED


def alert(page: str) -> tuple[str, str]:
    """The page's error message and the form field it names."""
    found = re.search(r'class="flash error" role="alert" data-field="([^"]*)">([^<]*)<', page)
    assert found, "the page shows no error"
    return html.unescape(found.group(2)), found.group(1)


def persian_digits(number: int) -> str:
    return str(number).translate({ord("0") + i: ord("۰") + i for i in range(10)})


def tr(language: str, msgid: str) -> str:
    return i18n.translations(language).gettext(msgid)


def test_a_persian_agent_reads_a_refused_action_in_persian(
    directory: Directory, agent: Person
) -> None:
    agent.api.ok("PATCH", "/users/me", json={"language": "fa"})
    number = agent.api.open_ticket(f"Scanner {uuid.uuid4().hex[:8]}")["number"]
    with browser_session(directory.base_url, agent.email) as browser:
        page = browser.get(f"/tickets/{number}").text
        # Resuming is for a pending ticket; this one is new.
        r = browser.post(f"/tickets/{number}/resume", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 409
    message, field = alert(r.text)
    assert message == (
        f"نمی‌توان تیکت #{persian_digits(number)} را از سر گرفت، چون وضعیتش "
        f"«{tr('fa', 'New')}» است؛ وضعیت‌های مجاز: {tr('fa', 'Pending')}"
    )
    assert field == ""
    # The JSON API answers the same refusal as always: English, for programs and logs.
    answer = agent.api.post(f"/tickets/{number}/resume", json={})
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": f"cannot resume ticket #{number} while it is new; allowed when pending",
        "field": None,
        "code": "illegal_state",
    }


def test_a_persian_agent_reads_a_field_refusal_naming_the_field(
    directory: Directory, agent: Person
) -> None:
    agent.api.ok("PATCH", "/users/me", json={"language": "fa"})
    number = agent.api.open_ticket(f"Badge {uuid.uuid4().hex[:8]}")["number"]
    with browser_session(directory.base_url, agent.email) as browser:
        page = browser.get(f"/tickets/{number}").text
        r = browser.post(
            f"/tickets/{number}/consults",
            data={"csrf_token": csrf_of(page), "colleague_id": agent.id, "message": "?"},
        )
    assert r.status_code == 422
    assert alert(r.text) == ("از همکارتان بپرسید، نه از خودتان", "colleague_id")
    answer = agent.api.post(
        f"/tickets/{number}/consults", json={"colleague_id": agent.id, "message": "?"}
    )
    assert (answer.status_code, answer.json()["detail"], answer.json()["field"]) == (
        422,
        "ask a colleague, not yourself",
        "colleague_id",
    )


def test_a_persian_customer_without_a_subject_reads_that_it_is_required(
    directory: Directory, customer: Person
) -> None:
    customer.api.ok("PATCH", "/users/me", json={"language": "fa"})
    with browser_session(directory.base_url, customer.email) as browser:
        form = browser.get("/tickets/new").text
        r = browser.post(
            "/tickets/new",
            data={
                "csrf_token": csrf_of(form),
                "idempotency_key": uuid.uuid4().hex,
                "type": "incident",
                "description": "The subject is missing.",
            },
        )
    assert r.status_code == 422
    assert alert(r.text) == ("subject: این فیلد الزامی است", "subject")


def test_an_arabic_admin_reads_a_refused_setting_in_arabic(
    directory: Directory, admin: Person
) -> None:
    admin.api.ok("PATCH", "/users/me", json={"language": "ar"})
    domain = f"d{uuid.uuid4().hex[:8]}.example"
    first = f"First {uuid.uuid4().hex[:6]}"
    admin.api.ok("POST", "/organisations", 201, json={"name": first, "domains": [domain]})
    with browser_session(directory.base_url, admin.email) as browser:
        page = browser.get("/admin/organisations").text
        r = browser.post(
            "/admin/organisations",
            data={"csrf_token": csrf_of(page), "name": "Second", "domains": domain},
        )
    assert r.status_code == 409
    assert alert(r.text) == (
        f"domains: \u200f{domain} تابع للمؤسسة {first!r} بالفعل؛ أزله من هناك أولًا",
        "domains",
    )
    answer = admin.api.post("/organisations", json={"name": "Second", "domains": [domain]})
    assert answer.json()["detail"] == (
        f"domains: {domain} belongs to the organisation {first!r} already; remove it there first"
    )


@pytest.fixture
def reading() -> Iterator[None]:
    yield
    i18n.read_as(Reader())


def test_an_error_is_written_for_its_reader(reading: None) -> None:
    exc = from_violation(
        refuse(
            ViolationKind.ILLEGAL_STATE,
            REFUSED["close"][0],
            number=12,
            status="open",
            allowed=["resolved"],
        )
    )
    assert exc.detail == "cannot close ticket #12 while it is open; allowed when resolved"
    # English readers read the API's own text.
    assert error_text(exc) == exc.detail
    i18n.read_as(Reader(language="ja"))
    assert error_text(exc) == (
        f"状態が「{tr('ja', 'Open')}」のため、チケット #12 をクローズできません"
        f"（可能な状態: {tr('ja', 'Resolved')}）"
    )
    i18n.read_as(Reader(language="ar"))
    allowed = refused(
        409, REFUSED["resolve"][0], number=7, status="closed", allowed=["new", "open"]
    )
    assert f"{tr('ar', 'New')} و{tr('ar', 'Open')}" in error_text(allowed)


def test_an_error_whose_translation_does_not_fit_is_shown_in_english(reading: None) -> None:
    i18n.read_as(Reader(language="fa"))
    # A parameter the raise site forgot: the page still shows the error, in English.
    broken = ApiError(409, "cannot close ticket #3", message_id=REFUSED["close"][0], params={})
    assert error_text(broken) == "cannot close ticket #3"
    # An error without an id is looked up as it stands (routes that translated it already).
    assert error_text(ApiError(422, "the file is empty")) == "فایل خالی است"


class _Form(BaseModel):
    subject: str = Field(min_length=3, max_length=5)
    hours: int = Field(ge=1)
    kind: Literal["incident", "service_request"] = "incident"


def _form_error(data: dict[str, object]) -> ApiError:
    with pytest.raises(ValidationError) as caught:
        _Form.model_validate_strings(data)
    return form_error(caught.value)


def test_a_form_error_names_the_field_in_the_reader_s_language(reading: None) -> None:
    too_long = _form_error({"subject": "abcdefg", "hours": "2"})
    # The page's English stays pydantic's, as before.
    assert too_long.detail == "subject: String should have at most 5 characters"
    assert too_long.field == "subject"
    i18n.read_as(Reader(language="ja"))
    assert error_text(too_long) == "subject: 5 文字以内で入力してください"
    assert error_text(_form_error({"subject": "ab", "hours": "2"})) == (
        "subject: 3 文字以上で入力してください"
    )
    i18n.read_as(Reader(language="fa"))
    assert error_text(_form_error({"subject": "abcd", "hours": "0"})) == (
        "hours: باید دست‌کم ۱ باشد"
    )
    i18n.read_as(Reader(language="ar"))
    assert error_text(_form_error({"subject": "abcd", "hours": "2", "kind": "x"})) == (
        "kind: يجب أن يكون أحد القيم التالية: incident وservice_request"
    )
