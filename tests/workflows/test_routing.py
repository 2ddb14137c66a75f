"""The pure choice of whom a ticket is offered to."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from workflows.routing import Candidate, Strategy, choose


def team(*loads: float, away: tuple[int, ...] = ()) -> list[Candidate]:
    return [
        Candidate(user_id=i + 1, load=load, available=(i + 1) not in away)
        for i, load in enumerate(loads)
    ]


def test_round_robin_goes_round_and_skips_the_unavailable() -> None:
    members = team(0, 0, 0, 0, away=(3,))
    offered: list[int] = []
    last = None
    for _ in range(9):
        last = choose(Strategy.ROUND_ROBIN, members, declined=[], skills=[], last_offered=last)
        assert last is not None
        offered.append(last)
    assert offered == [1, 2, 4, 1, 2, 4, 1, 2, 4]


def test_least_loaded_picks_the_lightest_and_never_a_decliner() -> None:
    members = team(3, 1, 2)
    assert choose(Strategy.LEAST_LOADED, members, declined=[], skills=[], last_offered=None) == 2
    assert choose(Strategy.LEAST_LOADED, members, declined=[2], skills=[], last_offered=None) == 3
    assert (
        choose(Strategy.LEAST_LOADED, members, declined=[1, 2, 3], skills=[], last_offered=None)
        is None
    )


def test_skills_need_every_skill_then_least_loaded() -> None:
    members = [
        Candidate(user_id=1, load=0, skills=["sap"]),
        Candidate(user_id=2, load=4, skills=["sap", "german"]),
        Candidate(user_id=3, load=1, skills=["sap", "german", "vpn"]),
    ]
    assert (
        choose(Strategy.SKILLS, members, declined=[], skills=["sap", "german"], last_offered=None)
        == 3
    )
    assert (
        choose(Strategy.SKILLS, members, declined=[3], skills=["sap", "german"], last_offered=None)
        == 2
    )
    assert (
        choose(Strategy.SKILLS, members, declined=[], skills=["cobol"], last_offered=None) is None
    )


def test_manual_offers_nothing() -> None:
    assert choose(Strategy.MANUAL, team(0), declined=[], skills=[], last_offered=None) is None


@given(st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=60))
def test_round_robin_is_even(size: int, tickets: int) -> None:
    members = team(*([0.0] * size))
    counts: Counter[int] = Counter()
    last = None
    for _ in range(tickets):
        last = choose(Strategy.ROUND_ROBIN, members, declined=[], skills=[], last_offered=last)
        assert last is not None
        counts[last] += 1
    assert max(counts.values()) - min(counts.get(m.user_id, 0) for m in members) <= 1
