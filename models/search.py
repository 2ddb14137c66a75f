"""Text search tokenisation: the one place that turns text into search terms.

The projection's write (`document`, the ticket's `search` tsvector) and every search
query (`query`, a tsquery) go through `terms`, so both sides always agree on what a
word is. PostgreSQL's own parser and dictionaries are not involved: the vector and
the query are handed to it as literals (`::tsvector`, `::tsquery`), which behave the
same on the embedded PostgreSQL (no pg_trgm, C locale) and on production.

What `terms` does, in order (docs/architecture.md, "Search"):

1. Normalise: compatibility forms folded (NFKC: full-width Latin, half-width
   katakana, Arabic presentation forms); Arabic-script marks removed (harakat,
   hamza and madda above or below their seat, superscript alef, Quranic marks),
   tatweel and invisible format characters removed (ZWNJ, ZWJ, bidi marks, BOM,
   soft hyphen), Arabic and Persian letter variants folded to one letter
   (ي ی ى → ي, ك ک → ك, أ إ آ ٱ → ا, ة ۀ ه → ه), Arabic-Indic and Persian
   digits made ASCII, and case folded.
2. Split into words: runs of letters, digits and combining marks.
3. Japanese (and Chinese) runs of kana and kanji become overlapping character
   bigrams, so any word of two or more characters found in a sentence without
   spaces is a phrase of bigrams that the sentence contains; a single character
   is matched as a prefix (the document also indexes the last character of each
   run, at the last bigram's position). Measured against SudachiPy in
   bench/bench_segmentation.py: bigrams find every word, Sudachi missed words
   whose segmentation depends on their neighbours.

Pure functions and compiled tables: importing the module loads everything it needs
once per process (the worker and the API alike).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

MAX_POSITION = 16383
"""The largest word position a tsvector stores; later words share it."""
MAX_POSITIONS_PER_TERM = 256
"""PostgreSQL keeps at most this many positions of one lexeme."""
MAX_TERM_CHARS = 100
"""Longer words are cut to this (a lexeme may not exceed 2 KiB; nobody searches
for a hundred-character word by more than its start)."""

_REMOVED = (
    "\u0610-\u061a"  # Arabic signs above/below letters (honorifics, small letters)
    "\u061c"  # Arabic letter mark (bidi)
    "\u0640"  # tatweel (kashida): stretches a word, is not part of it
    "\u064b-\u065f"  # harakat, shadda, sukun, hamza and madda above or below
    "\u0670"  # superscript alef
    "\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"  # Quranic annotation marks
    "\u00ad"  # soft hyphen
    "\u200b-\u200f"  # zero-width space, ZWNJ, ZWJ, LRM, RLM
    "\u202a-\u202e\u2066-\u2069"  # bidi embeddings and isolates
    "\u2060\ufeff"  # word joiner, BOM
)
_REMOVE = re.compile(f"[{_REMOVED}]")

_FOLD = str.maketrans(
    {
        "\u0649": "\u064a",  # ى alef maksura → ي
        "\u06cc": "\u064a",  # ی Persian yeh → ي
        "\u06d0": "\u064a",  # ې
        "\u06a9": "\u0643",  # ک Persian keheh → ك
        "\u06aa": "\u0643",  # ڪ swash kaf → ك
        "\u0629": "\u0647",  # ة teh marbuta → ه
        "\u06d5": "\u0647",  # ە (ۀ without its hamza) → ه
        "\u06c1": "\u0647",  # ہ heh goal → ه
        "\u0671": "\u0627",  # ٱ alef wasla → ا
        "\u0672": "\u0627",
        "\u0673": "\u0627",
        "\u0675": "\u0627",
        **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
    }
)

_CJK = (
    "\u3005-\u3007"  # 々 〆 〇
    "\u3041-\u3096\u309d-\u309f"  # hiragana
    "\u30a1-\u30fa\u30fc-\u30ff"  # katakana with the prolonged sound mark
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kanji / hanzi
    "\U00020000-\U0003134f"
)
_MARKS = "\u0300-\u036f\u0900-\u0dff\u3099\u309a"
"""Combining marks that belong inside a word (Latin accents, Indic vowel signs)."""
_TOKENS = re.compile(f"([{_CJK}]+)|((?:[^\\W_{_CJK}]|[{_MARKS}])+)")
"""A run of kana and kanji, or a word of any other script (letters, digits, marks)."""


def normalise(text: str) -> str:
    """`text` with letter variants, marks, invisible characters and case folded away."""
    # NFKD first so that hamza and madda become marks of their own (أ → ا + hamza)
    # and are removed like harakat; NFC then composes what remains (Japanese voiced
    # kana, Latin accents) as NFKC would.
    decomposed = _REMOVE.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", decomposed).translate(_FOLD).casefold()


@dataclass(frozen=True, slots=True)
class Term:
    """One search term: the lexeme, whether only a prefix is known (a single CJK
    character in a query), and whether it shares the previous term's position
    (the last character of a CJK run, in a document)."""

    text: str
    prefix: bool = False
    same_position: bool = False


def terms(text: str, *, for_query: bool = False) -> Iterator[Term]:
    """The search terms of `text`, in order.

    A document and a query are tokenised alike except for CJK runs: a document
    adds each run's last character (so that a one-character query finds it even
    at the end of a run), a query makes a one-character run a prefix (so that it
    finds that character at the start of any bigram)."""
    for cjk, other in _TOKENS.findall(normalise(text)):
        if other:
            yield Term(other[:MAX_TERM_CHARS])
        elif len(cjk) == 1:
            yield Term(cjk, prefix=for_query)
        else:
            for i in range(len(cjk) - 1):
                yield Term(cjk[i : i + 2])
            if not for_query:
                yield Term(cjk[-1], same_position=True)


def _quoted(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def document(*parts: str) -> str:
    """The tsvector literal of a text made of `parts` (a ticket's subject and
    description), positions counted across them."""
    # The same tokens as `terms` gives, without a Term per token: this runs on every
    # change of every ticket (the cost per ticket is in docs/benchmarks.md).
    positions: dict[str, list[int]] = {}
    position = 0

    def add(lexeme: str) -> None:
        seen = positions.setdefault(lexeme, [])
        if len(seen) < MAX_POSITIONS_PER_TERM and (not seen or seen[-1] != position):
            seen.append(position)

    for part in parts:
        for cjk, other in _TOKENS.findall(normalise(part)):
            if other:
                position = min(position + 1, MAX_POSITION)
                add(other[:MAX_TERM_CHARS])
                continue
            for first, second in pairwise(cjk):
                position = min(position + 1, MAX_POSITION)
                add(first + second)
            if len(cjk) == 1:
                position = min(position + 1, MAX_POSITION)
            add(cjk[-1])  # at the last bigram's position
    return " ".join(
        f"{_quoted(lexeme)}:{','.join(map(str, spots))}" for lexeme, spots in positions.items()
    )


_QUOTED = re.compile(r'"([^"]*)"?|(\S+)')


def query(text: str) -> str | None:
    """The tsquery literal for what a person typed in a search box, or None when it
    holds no word at all (then nothing matches).

    Like `websearch_to_tsquery`: every word must occur; "quoted words" must occur
    in that order, next to each other; `or` between words accepts either side; a
    word starting with `-` must not occur. A word that the tokeniser splits (a
    hyphenated word, a Japanese word's bigrams) must occur as that phrase. Nothing
    typed is ever read as tsquery syntax: every lexeme is quoted."""
    alternatives: list[list[str]] = [[]]
    pending_or = False
    for phrase, word in _QUOTED.findall(text):
        negated = False
        if word:
            if word.casefold() == "or":
                pending_or = bool(alternatives[-1])
                continue
            if word.startswith("-") and len(word) > 1:
                negated, word = True, word[1:]
        found = _phrase(phrase or word)
        if found is None:
            continue
        if pending_or:
            alternatives.append([])
            pending_or = False
        alternatives[-1].append(f"!({found})" if negated else found)
    groups = [" & ".join(group) for group in alternatives if group]
    if not groups:
        return None
    return " | ".join(f"({group})" for group in groups)


def _phrase(text: str) -> str | None:
    lexemes = [
        _quoted(term.text) + (":*" if term.prefix else "") for term in terms(text, for_query=True)
    ]
    return " <-> ".join(lexemes) if lexemes else None
