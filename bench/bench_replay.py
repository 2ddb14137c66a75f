"""Worker CPU of one ticket workflow run, without any server: replay of a recorded history.

    python bench/bench_replay.py [--runs N] [--history FILE] [--events N] [--strict]

`--events 7` with tests/histories/0.2.0/lifecycle-run1.json replays just the
opening of a ticket as current code records it (start, the `open` update, the
opening's local activity): what a new ticket costs the worker in workflow code.

Replays the same recorded ticket history N times in this process with the
worker's workflows, data converter and runners (`TicketWorkflow` outside the
sandbox, as deployed), or with `--strict` in the SDK's sandbox as the tests run
it, and prints the CPU time per replay. Each replay creates the workflow
instance anew (in the sandbox: re-imports the workflow's modules) and runs every activation of
the history, so this is the part of a new ticket's cost that lives in workflow
code and the SDK, free of the noise of a whole stack on a shared machine. It
complements bench_tickets.py; it is not a target of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from temporalio.client import WorkflowHistory  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from api.settings import get_settings  # noqa: E402
from tempodesk.worker import (  # noqa: E402
    STRICT_RUNNERS,
    WORKFLOWS,
    cache_workflow_bytecode,
    workflow_runner,
)


async def _each(histories: Sequence[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=300)
    p.add_argument(
        "--history",
        type=Path,
        default=ROOT / "tests" / "histories" / "0.2.0" / "auto-close-run1.json",
    )
    p.add_argument("--events", type=int, default=None, help="replay only the first N events")
    p.add_argument("--strict", action="store_true", help="in the sandbox, as the tests run it")
    args = p.parse_args()
    cache_workflow_bytecode()  # as the worker does at start
    runners = (
        STRICT_RUNNERS if args.strict else {"workflow_runner": workflow_runner(get_settings())}
    )
    replayer = Replayer(
        workflows=list(WORKFLOWS), data_converter=pydantic_data_converter, **runners
    )
    recorded = json.loads(args.history.read_text())
    if args.events is not None:
        recorded["events"] = recorded["events"][: args.events]
    text = json.dumps(recorded)
    histories = [WorkflowHistory.from_json(f"bench-{i}", text) for i in range(args.runs)]
    await replayer.replay_workflows(_each(histories[:20]), raise_on_replay_failure=True)
    cpu, wall = time.process_time(), time.perf_counter()
    await replayer.replay_workflows(_each(histories), raise_on_replay_failure=True)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{args.history.name}{'' if args.events is None else f' (first {args.events} events)'}: "
        f"{args.runs} replays, {cpu / args.runs * 1000:.2f} ms CPU "
        f"and {wall / args.runs * 1000:.2f} ms wall per replay "
        f"({'strict sandbox' if args.strict else 'as deployed'})"
    )


if __name__ == "__main__":
    asyncio.run(main())
