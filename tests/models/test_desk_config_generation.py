"""Every change of the configuration a worker keeps in memory raises the generation.

The worker reads only `desk_config_generation` before opening a ticket and keeps
desk settings, routing rules, SLA policies and calendars while it is unchanged
(`activities.sla.SlaLookups.snapshot`); a write that did not raise it would leave
tickets opened with an old configuration.
"""

from __future__ import annotations

import psycopg
import pytest

WRITES = {
    "desk_settings": [
        "INSERT INTO desk_settings (key, value) VALUES ('generation_test', '1')",
        "UPDATE desk_settings SET value = '2' WHERE key = 'generation_test'",
        "DELETE FROM desk_settings WHERE key = 'generation_test'",
    ],
    "calendars": [
        "INSERT INTO calendars (name, timezone, week) VALUES ('generation test', 'UTC', '[]')",
        "UPDATE calendars SET timezone = 'Europe/Berlin' WHERE name = 'generation test'",
    ],
    "calendar_days": [
        "INSERT INTO calendar_days (calendar_id, day, hours, label) SELECT id, DATE '2030-01-01',"
        " '[]', 'off' FROM calendars WHERE name = 'generation test'",
        "DELETE FROM calendar_days WHERE label = 'off' AND day = DATE '2030-01-01'",
    ],
    "routing_rules": [
        "UPDATE routing_rules SET name = name WHERE false",
    ],
    "sla_policies": [
        "UPDATE sla_policies SET name = name WHERE false",
    ],
}


def _generation(conn: psycopg.Connection[tuple[int]]) -> int:
    row = conn.execute("SELECT generation FROM desk_config_generation WHERE id = 1").fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize("table", sorted(WRITES))
def test_each_write_to_the_configuration_raises_the_generation(
    database_url: str, table: str
) -> None:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        for statement in WRITES[table]:
            before = _generation(conn)
            conn.execute(statement)
            assert _generation(conn) == before + 1, statement
        conn.execute("DELETE FROM calendars WHERE name = 'generation test'")


def test_a_write_elsewhere_leaves_it_alone(database_url: str) -> None:
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        before = _generation(conn)
        conn.execute("UPDATE groups SET name = name WHERE false")
        conn.execute("SELECT count(*) FROM tickets")
        assert _generation(conn) == before
