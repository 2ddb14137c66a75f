"""An alert storm: how fast the intake takes events, and how soon every incident exists.

    python bench/bench_alerts.py [--events 10000] [--keys 500] [--concurrency 50]

One run starts the embedded stack of bench/bench_tickets.py (pgserver
PostgreSQL, the Temporal dev server on SQLite with the pragmas `tempodesk up`
uses, the real `tempodesk worker` and `tempodesk api` processes) in a temporary
data folder, creates an Events API v2 integration, then sends `--events`
trigger events spread round-robin over `--keys` dedup keys, as fast as the
intake answers, from `--concurrency` connections. It reports:

- accepted events per second and the p50/p95/p99 intake latency (202 answers);
- the time from the first event until all incidents exist (one ticket per key);
- the time until every occurrence is recorded on its incident;
- the check: exactly `--keys` incidents and `--events` recorded occurrences.

It prints a Markdown table and appends the raw figures to
bench/results/alerts-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import bench_tickets as bt  # noqa: E402


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def dsn(stack: bt.Stack) -> str:
    return stack.database_url.replace("postgresql+psycopg://", "postgresql://")


def counts(stack: bt.Stack, requester_id: int) -> tuple[int, int]:
    """(incidents the integration opened, trigger events recorded on an incident)."""
    with psycopg.connect(dsn(stack), autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM tickets WHERE requester_id = %s),"
            " (SELECT count(*) FROM alert_events WHERE ticket_id IS NOT NULL"
            "  AND action = 'trigger')",
            (requester_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def run(stack: bt.Stack, args: argparse.Namespace) -> dict[str, Any]:
    with psycopg.connect(dsn(stack), autocommit=True) as conn:
        conn.execute("UPDATE users SET role = 'admin' WHERE id = %s", (stack.user_id,))
    base = f"http://127.0.0.1:{stack.api_port}/api/v1"
    async with httpx.AsyncClient(
        base_url=base,
        timeout=120,
        limits=httpx.Limits(
            max_connections=args.concurrency, max_keepalive_connections=args.concurrency
        ),
    ) as http:
        created = await http.post(
            "/integrations",
            json={"name": "Storm", "kind": "events"},
            headers={"Authorization": f"Bearer {stack.token}"},
        )
        if created.status_code != 201:
            raise SystemExit(f"integration: {created.status_code} {created.text}")
        integration = created.json()
        token, requester = integration["token"], integration["requester_id"]

        async def send(i: int) -> None:
            key = f"storm-{i % args.keys}"
            response = await http.post(
                "/integrations/events",
                json={
                    "routing_key": token,
                    "event_action": "trigger",
                    "dedup_key": key,
                    "payload": {
                        "summary": f"Storm alert {key}",
                        "source": f"host-{i % args.keys}.example",
                        "severity": "error",
                        "custom_details": {"i": i},
                    },
                },
            )
            if response.status_code != 202:
                raise RuntimeError(f"{response.status_code} {response.text[:200]}")

        log(f"sending {args.events} events over {args.keys} keys at {args.concurrency}")
        start = time.monotonic()
        intake = await bt.measured(
            stack,
            ["api", "worker", "temporal", "postgres"],
            send,
            concurrency=args.concurrency,
            seconds=3600,
            max_ops=args.events,
        )
        log(f"intake done in {intake['seconds']:.1f} s; waiting for the incidents")
        all_incidents = all_recorded = None
        incidents = recorded = 0
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            incidents, recorded = await asyncio.to_thread(counts, stack, requester)
            now = time.monotonic() - start
            if all_incidents is None and incidents >= args.keys:
                all_incidents = now
            if recorded >= intake["ops"]:
                all_recorded = now
                break
            await asyncio.sleep(0.5)
        incidents, recorded = await asyncio.to_thread(counts, stack, requester)
    return {
        "intake": intake,
        "seconds_until_all_incidents": round(all_incidents, 2) if all_incidents else None,
        "seconds_until_all_recorded": round(all_recorded, 2) if all_recorded else None,
        "incidents": incidents,
        "recorded_occurrences": recorded,
        "exact": incidents == args.keys and recorded == args.events,
    }


def markdown(report: dict[str, Any]) -> str:
    r = report["results"]
    intake = r["intake"]
    return "\n".join(
        [
            f"Alert storm: {report['events']} events over {report['keys']} keys, "
            f"concurrency {report['concurrency']}",
            "",
            "| measure | value |",
            "|---|---|",
            f"| accepted events/s | {intake['rate']:.0f} |",
            f"| intake p50 / p95 / p99 | {intake['p50_ms']:.1f} / {intake['p95_ms']:.1f} / "
            f"{intake['p99_ms']:.1f} ms |",
            f"| errors | {intake['errors']} |",
            f"| all {report['keys']} incidents exist after "
            f"| {r['seconds_until_all_incidents']} s |",
            f"| all occurrences recorded after | {r['seconds_until_all_recorded']} s |",
            f"| incidents / recorded occurrences | {r['incidents']} / "
            f"{r['recorded_occurrences']} ({'exact' if r['exact'] else 'NOT EXACT'}) |",
            f"| stack CPU per event (intake phase) | {intake['cpu_ms_per_op']:.1f} ms |",
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--keys", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--wait", type=float, default=900.0, help="seconds to wait for the work")
    p.add_argument("--label", default="")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="tempodesk-bench-alerts-"))
    stack = bt.Stack(home, bt.parse_args([]))
    started = datetime.now(UTC)
    try:
        log(f"data folder {home}")
        stack.start_infra()
        stack.start_app()
        log("stack up")
        results = asyncio.run(run(stack, args))
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    report = {
        "label": args.label,
        "started": started.isoformat(timespec="seconds"),
        "command": bt.command_line("bench/bench_alerts.py", argv),
        "machine": bt.machine(),
        "events": args.events,
        "keys": args.keys,
        "concurrency": args.concurrency,
        "results": results,
    }
    print(markdown(report))
    out = args.out or BENCH_DIR / "results" / f"alerts-{started.strftime('%Y-%m-%d')}.json"
    bt.append_run(out, report)
    log(f"raw figures appended to {out}")
    return 0 if results["exact"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
