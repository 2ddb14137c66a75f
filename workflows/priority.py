"""The impact × urgency → priority matrix (ITIL), as plain functions."""

from __future__ import annotations

from workflows.choices import LEVELS, N_, PRIORITIES
from workflows.ticket.errors import Sentence

DEFAULT_MATRIX: list[list[int]] = [[1, 2, 3], [2, 3, 4], [3, 4, 5]]
"""Rows are impact 1..3, columns urgency 1..3."""


def matrix_problems(matrix: list[list[int]]) -> list[str]:
    """Everything wrong with a matrix, in words a process owner can act on."""
    problems: list[str] = []
    if len(matrix) != len(LEVELS) or any(len(row) != len(LEVELS) for row in matrix):
        return [
            Sentence(
                N_("priority_matrix must have %(rows)s rows of %(columns)s priorities"),
                rows=len(LEVELS),
                columns=len(LEVELS),
            )
        ]
    for i, row in enumerate(matrix, start=1):
        for u, value in enumerate(row, start=1):
            if value not in PRIORITIES:
                problems.append(
                    Sentence(
                        N_(
                            "priority_matrix impact %(impact)s urgency %(urgency)s: "
                            "%(value)s is not one of %(allowed_values)s"
                        ),
                        impact=i,
                        urgency=u,
                        value=repr(value),
                        allowed_values=[str(p) for p in PRIORITIES],
                    )
                )
    return problems


def priority_for(matrix: list[list[int]], impact: int, urgency: int) -> int:
    """Priority of a ticket with this impact and urgency (1 = critical)."""
    return matrix[impact - 1][urgency - 1]
