"""Ticket search through the API, as people type it: a Japanese word from inside a
sentence, Arabic and Persian words in any letter form, with or without harakat and
ZWNJ, English as before; hostile text answers with results or a 422, never a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from models.search import document
from tests.factories import Directory, Person


@pytest.fixture
def requester(directory: Directory) -> Person:
    """A customer of an organisation of their own: their search sees only their tickets."""
    return directory.person("customer", directory.organisation())


def found(person: Person, q: str) -> set[int]:
    page = person.api.ok("GET", "/tickets", params={"q": q, "limit": 100})
    return {t["number"] for t in page["items"]}


def test_a_japanese_word_from_the_middle_of_a_sentence_finds_the_ticket(
    requester: Person, agent: Person
) -> None:
    printer = requester.api.open_ticket("プリンターが印刷できません")["number"]
    projector = requester.api.open_ticket(
        "会議室の件", description="会議室のプロジェクターが映らないので至急対応してください。"
    )["number"]
    tax = requester.api.open_ticket("請求書の金額に消費税が含まれていません")["number"]

    assert found(requester, "印刷") == {printer}
    assert found(requester, "プロジェクター") == {projector}
    assert found(requester, "至急対応") == {projector}
    assert found(requester, "会議室") == {projector}
    assert found(requester, "消費税") == {tax}
    assert found(requester, "税") == {tax}  # one character, at the end of a word
    assert found(requester, "ｲﾝｻﾂ") == set()  # nothing by sound
    assert found(requester, "印刷機") == set()  # not in any of them
    assert found(requester, "京都") == set()
    # Agents search every ticket: the same word finds it among all of them.
    assert printer in found(agent, "プリンターが印刷")


def test_arabic_and_persian_words_are_found_in_any_letter_form(requester: Person) -> None:
    arabic = requester.api.open_ticket(
        "مشكلة في الطابعة", description="الطَّابِعَةُ لا تَعْمَلُ منذ الصباح في مكتب علي."
    )["number"]
    persian = requester.api.open_ticket(
        "کیبورد کار نمی‌کند", description="صفحه‌کلید لپ‌تاپ از دیروز کار نمی‌کند."
    )["number"]
    hospital = requester.api.open_ticket("شبكة المستشفى بطيئة")["number"]

    assert found(requester, "مشكلة") == {arabic}
    assert found(requester, "مشکله") == {arabic}  # Persian kaf, heh for teh marbuta
    assert found(requester, "الطابعة") == {arabic}  # written with harakat, typed without
    assert found(requester, "تَعْمَلُ") == {arabic}  # typed with harakat too
    assert found(requester, "علی") == {arabic}  # Persian yeh for the Arabic one
    assert found(requester, "كيبورد") == {persian}  # Arabic kaf and yeh for Persian ones
    assert found(requester, "نمیکند") == {persian}  # written with a ZWNJ, typed without
    assert found(requester, "نمی‌کند") == {persian}
    assert found(requester, "صفحه‌کلید") == {persian}
    assert found(requester, "المستشفي") == {hospital}  # yeh for alef maksura
    assert found(requester, "شبكه") == {hospital}
    assert found(requester, "مدرسة") == set()


def test_english_words_phrases_or_and_exclusion(requester: Person) -> None:
    tag = uuid.uuid4().hex[:10]
    outlook = requester.api.open_ticket(
        f"Outlook crashes {tag}", description="It crashes when opening attachments."
    )["number"]
    printer = requester.api.open_ticket(f"Printer jammed {tag}")["number"]

    assert found(requester, "OUTLOOK attachments") == {outlook}
    assert found(requester, f"{tag}") == {outlook, printer}
    assert found(requester, f"{tag} -outlook") == {printer}
    assert found(requester, "outlook or printer") == {outlook, printer}
    assert found(requester, '"opening attachments"') == {outlook}
    assert found(requester, '"attachments opening"') == set()
    assert found(requester, "outlook printer") == set()
    assert found(requester, f"#{printer}") == {printer}


def test_a_change_keeps_the_ticket_findable_by_its_text(requester: Person, agent: Person) -> None:
    number = requester.api.open_ticket("لپ‌تاپ روشن نمی‌شود")["number"]
    agent.api.ok("POST", f"/tickets/{number}/comments", json={"body": "بررسی می‌کنیم"})
    assert found(requester, "لپتاپ") == {number}


HOSTILE = [
    "'",
    '"',
    '"unclosed phrase',
    "& | ! :* <-> ( )",
    "printer:*",
    "printer & !printer",
    "a <-> b",
    "\\",
    "'; DROP TABLE tickets; --",
    "-",
    "--",
    "or",
    "or or or",
    "!!!",
    "-印刷",
    "a" * 200,
    "あ" * 200,
    "ـ" * 200,  # tatweel only: no word at all
    "\u200c\u200c",
    " ".join(["x"] * 100),
    "%_*?",
    "#",
    "#99999999999999999999",
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_search_text_gives_results_or_a_clean_error(requester: Person, q: str) -> None:
    response = requester.api.get("/tickets", params={"q": q})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["items"], list)


@pytest.mark.parametrize("q", ["a" * 201, "printer\x00"])
def test_search_text_too_long_or_with_nul_is_refused_naming_the_field(
    requester: Person, q: str
) -> None:
    response = requester.api.get("/tickets", params={"q": q})
    assert response.status_code == 422
    assert "q" in response.text


def test_a_search_over_more_tickets_than_its_window_finds_old_and_new_matches_in_order(
    directory: Directory,
) -> None:
    """More tickets than api.services.tickets.SEARCH_WINDOW (1000) read in order: a common
    word fills the page from the newest, a rare one is found among the oldest, and
    pages cross the window's edge without losing or repeating a ticket."""
    customer = directory.person("customer", directory.organisation())
    tag = uuid.uuid4().hex[:10]
    now = datetime.now(UTC)
    rows = []
    for i in range(1100):  # i = 0 is the oldest
        words = ["common", tag]
        if i in (3, 1099):
            words.append("rare")
        if i % 40 == 0:  # 28 tickets, on both sides of the window's edge
            words.append("sparse")
        at = now - timedelta(days=400) + timedelta(minutes=i)
        subject = f"ticket {i}"
        description = " ".join(words)
        rows.append(
            (f"ticket-{uuid.uuid4().hex}", 1, "incident", "closed", "portal", subject,
             description, customer.id, 2, 2, 3, at, at, document(subject, description))
        )  # fmt: skip
    with psycopg.connect(directory.dsn, autocommit=True) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY tickets (id, seq, type, status, channel, subject, description, requester_id,"
                " impact, urgency, priority, created_at, updated_at, search) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        conn.execute("ANALYZE tickets")

    def subjects(q: str, limit: int = 25, *, every_page: bool = True) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, object] = {"q": q, "limit": limit}
            if cursor:
                params["cursor"] = cursor
            page = customer.api.ok("GET", "/tickets", params=params)
            seen += [t["subject"] for t in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None or not every_page:
                return seen

    assert subjects("common", every_page=False) == [f"ticket {i}" for i in range(1099, 1074, -1)]
    assert subjects(f"rare {tag}") == ["ticket 1099", "ticket 3"]
    assert subjects("sparse", limit=10) == [f"ticket {i}" for i in range(1080, -1, -40)]
