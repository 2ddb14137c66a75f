"""The worker's garbage-collection pacing: survivors of a full collection are frozen, and a
collection after the frozen set doubled walks everything again, reclaiming what died."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from tempodesk.worker import CollectorPacing


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def pacing() -> Iterator[CollectorPacing]:
    pacing = CollectorPacing(min_interval=0)
    pacing.install()
    try:
        yield pacing
    finally:
        gc.callbacks.remove(pacing._callback)
        gc.unfreeze()


def test_survivors_are_frozen_and_reclaimed_once_the_frozen_set_doubles(
    pacing: CollectorPacing,
) -> None:
    gc.collect()
    gc.collect()  # the second full collection sets the baseline after a thaw
    baseline = gc.get_freeze_count()
    assert baseline > 0, "survivors of a full collection are frozen"

    node = Node()
    probe = weakref.ref(node)
    gc.collect()  # `node` survives and is frozen with the rest
    del node
    gc.collect()
    assert probe() is not None, "frozen cyclic garbage waits for the next thaw"

    keep = [[Node()] for _ in range(baseline + 1000)]  # the frozen set more than doubles
    gc.collect()  # freezes them
    gc.collect()  # frozen > 2 x baseline: thaws and walks everything
    assert probe() is None, "the thawed collection reclaimed it"
    assert gc.get_freeze_count() >= len(keep), "and froze the survivors again"


def test_a_thaw_waits_for_its_interval() -> None:
    now = 0.0
    pacing = CollectorPacing(min_interval=3600, clock=lambda: now)
    pacing.install()
    try:
        gc.collect()  # the first thaw is due at once
        baseline = gc.get_freeze_count()
        node = Node()
        probe = weakref.ref(node)
        gc.collect()  # `node` survives and is frozen
        del node
        keep = [[Node()] for _ in range(baseline + 1000)]  # the frozen set more than doubles

        now = 3599.0
        gc.collect()  # freezes them
        gc.collect()  # doubled, but the hour has not passed
        assert probe() is not None, "no thaw before the interval: frozen cyclic garbage stays"
        # Each entry of `keep` is two tracked objects (the list and its Node).
        assert gc.get_freeze_count() >= baseline + 2 * len(keep), "the survivors are frozen"

        now = 3600.0
        gc.collect()  # the interval has passed: thaws and walks everything
        assert probe() is None, "the thawed collection reclaimed the frozen cyclic garbage"
        assert gc.get_freeze_count() >= 2 * len(keep), "and froze the survivors again"
    finally:
        gc.callbacks.remove(pacing._callback)
        gc.unfreeze()
