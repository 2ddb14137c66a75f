"""Every stored release's workflow histories replay without non-determinism.

A change to a workflow that would break workflows already running from an earlier
release fails here; docs/architecture.md ("Changing a workflow") says how to make such
a change safely. Each release's histories are recorded once, from its tagged commit, by
`python -m tests.histories.record`, into tests/histories/<release>/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from tempodesk.worker import STRICT_RUNNERS, WORKFLOWS

STORED = Path(__file__).parent / "histories"
RELEASES = sorted(p for p in STORED.iterdir() if p.is_dir() and p.name[0].isdigit())
HISTORIES = sorted(h for release in RELEASES for h in release.glob("*.json"))

PATHS_THAT_MATTER = {
    "lifecycle",
    "sla",
    "routing",
    "consult",
    "followup",
    "auto-close",
    "continued",
    "retried",
    "alert",
    "alert-flap",
    "bulk",
    "mailbox",
}
"""What every release records (tests/histories/record.py): the ticket's lifecycle; SLA
warning, breach and escalation; offers, declines and expiry; a consult and a reminder;
idleness and a customer reminded until the ticket closes; auto-close; continue-as-new,
with an update retried across it; an alert's incident, flapping; a bulk job; a mailbox."""


def test_every_release_stores_every_path_that_matters() -> None:
    assert RELEASES, "no stored release"
    for release in RELEASES:
        scenarios = {h.stem.rsplit("-run", 1)[0] for h in release.glob("*.json")}
        assert scenarios >= PATHS_THAT_MATTER, (release.name, PATHS_THAT_MATTER - scenarios)


def test_every_workflow_type_has_a_stored_history() -> None:
    recorded = {
        WorkflowHistory.from_json(h.stem, h.read_text())
        .events[0]
        .workflow_execution_started_event_attributes.workflow_type.name
        for h in HISTORIES
    }
    assert {w.__name__ for w in WORKFLOWS} <= recorded


@pytest.mark.parametrize(
    "history",
    [WorkflowHistory.from_json(h.stem, h.read_text()) for h in HISTORIES],
    ids=[f"{h.parent.name}/{h.stem}" for h in HISTORIES],
)
async def test_history_replays(history: WorkflowHistory) -> None:
    # In the SDK's sandbox as it comes, TicketWorkflow too: where a breach of its rules shows.
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=pydantic_data_converter, **STRICT_RUNNERS
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
