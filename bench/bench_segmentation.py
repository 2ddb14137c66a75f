"""Japanese segmentation for search: character bigrams (models/search.py) against
SudachiPy with sudachidict-core, on recall, write cost per ticket and index size.

    pip install sudachipy sudachidict-core   # only for this comparison
    python bench/bench_segmentation.py [--tickets N]

Recall: for every (sentence, word) of bench/ja_corpus.py, whether a search for the
word finds the sentence, the word segmented alone and searched as a phrase of its
segments in the sentence's segments (what a tsquery `a <-> b` does). Cost: the time
to turn a generated Japanese ticket (subject and a description of a few sentences)
into its tsvector literal, per ticket. Size: lexemes and literal bytes per ticket.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from ja_corpus import SENTENCES  # noqa: E402

from models import search  # noqa: E402


def bigram_match(sentence: str, word: str) -> bool:
    """Whether search.query(word) matches search.document(sentence), evaluated here as
    PostgreSQL evaluates a phrase of (prefix) lexemes over positions."""
    positions: dict[str, set[int]] = {}
    position = 0
    for term in search.terms(sentence):
        if not term.same_position:
            position += 1
        positions.setdefault(term.text, set()).add(position)
    wanted = list(search.terms(word, for_query=True))

    def at(term: search.Term) -> set[int]:
        if term.prefix:
            return {p for lex, ps in positions.items() if lex.startswith(term.text) for p in ps}
        return positions.get(term.text, set())

    starts = at(wanted[0])
    for offset, term in enumerate(wanted[1:], start=1):
        starts = {s for s in starts if s + offset in at(term)}
    return bool(starts)


def token_match(tokenise: Callable[[str], list[str]], sentence: str, word: str) -> bool:
    doc, want = tokenise(sentence), tokenise(word)
    return any(doc[i : i + len(want)] == want for i in range(len(doc) - len(want) + 1))


def recall(match: Callable[[str, str], bool]) -> tuple[float, list[str]]:
    misses = [word for sentence, words in SENTENCES for word in words if not match(sentence, word)]
    total = sum(len(words) for _, words in SENTENCES)
    return 1 - len(misses) / total, misses


def tickets(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    sentences = [s for s, _ in SENTENCES]
    return [
        (rng.choice(sentences)[:-1], "".join(rng.choices(sentences, k=rng.randint(3, 8))))
        for _ in range(count)
    ]


def per_ticket_us(build: Callable[[str, str], str], data: Iterable[tuple[str, str]]) -> float:
    items = list(data)
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for subject, description in items:
            build(subject, description)
        runs.append((time.perf_counter() - start) / len(items) * 1e6)
    return statistics.median(runs)


def literal_size(
    build: Callable[[str, str], str], data: list[tuple[str, str]]
) -> tuple[float, float]:
    literals = [build(s, d) for s, d in data]
    lexemes = statistics.mean(lit.count("':") for lit in literals)
    size = statistics.mean(len(lit.encode()) for lit in literals)
    return lexemes, size


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    data = tickets(args.tickets)
    rows: list[tuple[str, str, str, str, str, str]] = []

    rate, misses = recall(bigram_match)
    lexemes, size = literal_size(search.document, data)
    rows.append(
        (
            "character bigrams (chosen)",
            f"{rate:.1%}",
            f"{per_ticket_us(search.document, data):.0f}",
            f"{lexemes:.0f}",
            f"{size:.0f}",
            "none",
        )
    )
    print("bigram misses:", misses)

    try:
        from sudachipy import Dictionary, SplitMode
    except ImportError:
        print("SudachiPy is not installed: pip install sudachipy sudachidict-core")
    else:
        before, start = rss_mib(), time.perf_counter()
        dictionary = Dictionary(dict="core")
        tokenizer = dictionary.tokenizer()
        load = f"{time.perf_counter() - start:.2f} s, +{rss_mib() - before:.0f} MiB"
        for name, mode in (("A", SplitMode.A), ("C", SplitMode.C)):

            def segments(text: str, mode: SplitMode = mode) -> list[str]:
                # The same normalisation as the bigrams, then Sudachi's normalised forms.
                return [
                    m.normalized_form()
                    for m in tokenizer.tokenize(search.normalise(text), mode)
                    if m.part_of_speech()[0] not in ("補助記号", "空白")
                ]

            def build(
                subject: str, description: str, segments: Callable[..., list[str]] = segments
            ) -> str:
                spots: dict[str, list[int]] = {}
                for i, word in enumerate(segments(subject) + segments(description), start=1):
                    spots.setdefault(word, []).append(i)
                return " ".join(f"'{w}':{','.join(map(str, p))}" for w, p in spots.items())

            def match(
                sentence: str, word: str, segments: Callable[..., list[str]] = segments
            ) -> bool:
                return token_match(segments, sentence, word)

            rate, misses = recall(match)
            lexemes, size = literal_size(build, data)
            rows.append(
                (
                    f"SudachiPy {name} mode, sudachidict-core",
                    f"{rate:.1%}",
                    f"{per_ticket_us(build, data):.0f}",
                    f"{lexemes:.0f}",
                    f"{size:.0f}",
                    load,
                )
            )
            print(f"sudachi {name} misses:", misses)

    total = sum(len(words) for _, words in SENTENCES)
    print(f"\n{total} words in {len(SENTENCES)} sentences; {args.tickets} generated tickets\n")
    print(
        "| segmentation | recall | µs per ticket | lexemes per ticket "
        "| tsvector literal bytes | dictionary load |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
