"""The search tokeniser: normalisation, and that a query built from any part of a text
matches the vector built from the text, as PostgreSQL itself evaluates them."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.search import document, normalise, query

ARABIC_SCRIPT = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي" + "پچژگکیةىأإآٱؤئء"
MARKS = "\u064b\u064c\u064d\u064e\u064f\u0650\u0651\u0652\u0670\u0640\u200c"
KANA_KANJI = "あいうえおかがきぎくけこさしすせそたちつてとなにのはばまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテトナニヌネノハバパビピフプヘベペホボポマミムメモヤユヨラリルレロワンー印刷会議室東京本社経理部申請確認障害対応税"  # noqa: E501
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éüß"

word = st.one_of(
    st.text(alphabet=LATIN, min_size=1, max_size=12),
    st.text(alphabet=ARABIC_SCRIPT + MARKS, min_size=1, max_size=10).filter(
        lambda w: any(c in ARABIC_SCRIPT for c in w)
    ),
    st.text(alphabet=KANA_KANJI, min_size=1, max_size=20),
)
separator = st.sampled_from([" ", "  ", ", ", ". ", "\n", "、", "。", " - ", "/", "\t", "!? "])


@st.composite
def words_and_separators(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    words = draw(st.lists(word, min_size=1, max_size=12))
    seps = draw(st.lists(separator, min_size=len(words), max_size=len(words)))
    return words, seps


def joined(words: list[str], seps: list[str]) -> str:
    return "".join(w + s for w, s in zip(words, seps, strict=True))


@pytest.fixture(scope="module")
def pg(database_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        yield conn


def matches(pg: psycopg.Connection, text: str, typed: str) -> bool:
    q = query(typed)
    assert q is not None, typed
    row = pg.execute(
        "SELECT CAST(%s AS tsvector) @@ CAST(%s AS tsquery)", (document(text), q)
    ).fetchone()
    assert row is not None
    return bool(row[0])


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("علي", "علی"),  # Arabic and Persian yeh
        ("كتاب", "کتاب"),  # Arabic and Persian kaf
        ("مستشفى", "مستشفي"),  # alef maksura
        ("أحمد", "احمد"),
        ("إسلام", "اسلام"),
        ("آب", "اب"),
        ("مدرسة", "مدرسه"),  # teh marbuta
        ("خانۀ", "خانه"),  # heh with hamza (Persian ezafe)
        ("مُحَمَّدٌ", "محمد"),  # harakat
        ("عـــربي", "عربي"),  # tatweel
        ("می‌خواهم", "میخواهم"),  # zero-width non-joiner
        ("١٢٣", "123"),
        ("۴۵۶", "456"),
        ("ＰＲＩＮＴＥＲ", "printer"),
        ("ﾌﾟﾘﾝﾀｰ", "プリンター"),  # half-width katakana
        ("Outlook", "OUTLOOK"),
    ],
)
def test_variants_normalise_alike(one: str, other: str) -> None:
    assert normalise(one) == normalise(other)


@given(st.text())
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text())
def test_no_typed_text_breaks_the_query(pg: psycopg.Connection, typed: str) -> None:
    """Whatever a person types is a valid tsquery or no query: never syntax, never an error."""
    q = query(typed.replace("\x00", ""))
    if q is not None:
        pg.execute("SELECT CAST(%s AS tsquery)", (q,))


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words_and_separators(), st.data())
def test_any_run_of_words_finds_the_text(
    pg: psycopg.Connection, text: tuple[list[str], list[str]], data: st.DataObject
) -> None:
    words, seps = text
    start = data.draw(st.integers(0, len(words) - 1))
    end = data.draw(st.integers(start + 1, len(words)))
    assert matches(pg, joined(words, seps), words[start])
    phrase = " ".join(words[start:end])
    assert matches(pg, joined(words, seps), f'"{phrase}"')


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=KANA_KANJI, min_size=1, max_size=40), st.data())
def test_any_part_of_a_japanese_sentence_finds_it(
    pg: psycopg.Connection, sentence: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(sentence) - 1))
    end = data.draw(st.integers(start + 1, len(sentence)))
    assert matches(pg, f"件名 {sentence}。", sentence[start:end])


def test_a_japanese_word_that_is_not_in_the_sentence_does_not_find_it(
    pg: psycopg.Connection,
) -> None:
    sentence = "プリンターが印刷できません。"
    assert matches(pg, sentence, "印刷")
    assert matches(pg, sentence, "刷")  # one character: any word starting with it
    assert not matches(pg, sentence, "印刷機")
    assert not matches(pg, sentence, "できない")
    assert not matches(pg, sentence, "税")


def test_words_must_all_occur_unless_or_and_never_when_negated(pg: psycopg.Connection) -> None:
    text = "Outlook crashes when opening attachments"
    assert matches(pg, text, "outlook attachments")
    assert not matches(pg, text, "outlook printer")
    assert matches(pg, text, "printer or outlook")
    assert not matches(pg, text, "outlook -crashes")
    assert matches(pg, text, '"opening attachments"')
    assert not matches(pg, text, '"attachments opening"')


def test_text_without_words_is_no_query() -> None:
    assert query("& | ! :* <-> () '\" -") is None


def test_positions_and_lexemes_stay_within_what_postgresql_keeps(pg: psycopg.Connection) -> None:
    long_text = " ".join(f"w{i}" for i in range(20_000)) + " " + "x" * 5000 + " same" * 1000
    pg.execute("SELECT CAST(%s AS tsvector)", (document(long_text),))
    assert matches(pg, long_text, "x" * 5000)
