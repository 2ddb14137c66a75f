"""Imports flow one way (docs/architecture.md, "Layout"): every import of every module of
the project, read from its source, keeps to the rule."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("workflows", "activities", "models", "api", "web", "tempodesk")

MAY_IMPORT: dict[str, frozenset[str]] = {
    "workflows": frozenset({"workflows"}),
    "models": frozenset({"models"}),
    "activities": frozenset({"activities", "models", "workflows"}),
    "api": frozenset({"api", "models", "workflows"}),
    "web": frozenset({"web", "api", "models", "workflows"}),
    "tempodesk": frozenset(PACKAGES),
}
"""What each package may import of the project. `api.settings` imports nothing of it."""

IO_LIBRARIES = frozenset(
    {
        "sqlalchemy",
        "psycopg",
        "httpx",
        "fastapi",
        "starlette",
        "aiosmtpd",
        "imapclient",
        "smtplib",
        "poplib",
        "socket",
        "subprocess",
        "apprise",
        "requests",
        "asyncpg",
    }
)
"""Libraries that do I/O: the pure domain and the workflows import none of them."""


def _modules(package: str) -> list[Path]:
    return sorted(
        p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.relative_to(ROOT).parts
    )


def imported_by(source: str) -> set[str]:
    """Every module `source` imports, anywhere in it (functions and TYPE_CHECKING too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


# Read when the tests are collected: CPython 3.11.7's parser can fail with "AST constructor
# recursion depth mismatch" when called after some other tests have run in the process
# (a bug of that release, not of the sources read).
IMPORTS = {
    path: imported_by(path.read_text()) for package in PACKAGES for path in _modules(package)
}


def imported(path: Path) -> set[str]:
    return IMPORTS[path]


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_flow_one_way(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules(package)
        for name in imported(path)
        if name.split(".")[0] in PACKAGES and name.split(".")[0] not in MAY_IMPORT[package]
    ]
    assert not wrong, "\n".join(wrong)


def test_settings_import_nothing_of_the_project() -> None:
    names = imported(ROOT / "api" / "settings.py")
    assert not {n for n in names if n.split(".")[0] in PACKAGES}


def test_workflows_do_no_io() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("workflows")
        for name in imported(path)
        if name.split(".")[0] in IO_LIBRARIES
    ]
    assert not wrong, "\n".join(wrong)


INSIDE_A_FUNCTION = imported_by("def f():\n    from api.services import tickets\n")


def test_the_rule_sees_a_wrong_import() -> None:
    """The reader finds imports wherever they are (here inside a function)."""
    assert "api.services" in INSIDE_A_FUNCTION
