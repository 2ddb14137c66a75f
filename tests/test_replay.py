"""Stored histories of real ticket workflows replay without non-determinism.

A change to TicketWorkflow that would break tickets already running in the
field fails here; put it behind `workflow.patched` instead. The histories are
recorded by `python -m tests.histories.record`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tempodesk.worker import STRICT_RUNNERS, WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize(
    "history",
    [WorkflowHistory.from_json(p.stem, p.read_text()) for p in HISTORIES],
    ids=[p.stem for p in HISTORIES],
)
async def test_history_replays(history: WorkflowHistory) -> None:
    # In the SDK's sandbox as it comes, TicketWorkflow too: where a breach of its rules shows.
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=pydantic_data_converter, **STRICT_RUNNERS
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
