"""The documentation names only files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
_PATH = re.compile(r"`([\w.-]+(?:/[\w.*-]+)+/?)`")
"""A path in code quotes: at least one slash, no placeholders (`<release>`), no spaces."""


def named_paths(text: str) -> set[str]:
    return {
        m
        for m in _PATH.findall(text)
        if not m.startswith(("/", "http", "api/v1"))
        and "*" not in m
        and (Path(m).suffix or m.endswith("/"))
    }


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_file_a_doc_names_exists(doc: Path) -> None:
    missing = sorted(p for p in named_paths(doc.read_text()) if not (ROOT / p).exists())
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_the_check_sees_a_path() -> None:
    assert named_paths("see `docs/nowhere.md` and `/api/v1/tickets`") == {"docs/nowhere.md"}
