"""Migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from alembic import command
from sqlalchemy.engine import make_url

from models.migrate import alembic_config, upgrade
from models.search import query


@contextmanager
def fresh_database(database_url: str) -> Iterator[str]:
    """An empty database beside the session's, dropped afterwards; yields its URL."""
    url = make_url(database_url)
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_migrations_match_the_models_and_are_reversible(database_url: str) -> None:
    with fresh_database(database_url) as target:
        upgrade(target)
        command.check(alembic_config(target))  # raises when models and migrations differ
        command.downgrade(alembic_config(target), "base")
        upgrade(target)
        with psycopg.connect(target.replace("+psycopg", "")) as conn:
            number = conn.execute("SELECT nextval('ticket_number_seq')").fetchone()
        assert number == (1000,)


TICKETS_BEFORE_0010 = {
    "ja": (
        "プリンターが印刷できません",
        "会議室のプロジェクターが映らないので至急対応してください。",
    ),
    "fa": ("کیبورد کار نمی‌کند", "صفحه‌کلید لپ‌تاپ از دیروز کار نمی‌کند."),
    "ar": ("مشكلة في الطابعة", "الطَّابِعَةُ لا تَعْمَلُ منذ الصباح."),
    "en": ("Outlook crashes", "It crashes when opening attachments."),
}


def test_tickets_written_before_the_search_migration_are_found_after_it(
    database_url: str,
) -> None:
    with fresh_database(database_url) as target:
        upgrade(target, "0009")
        dsn = target.replace("+psycopg", "")
        with psycopg.connect(dsn, autocommit=True) as conn:
            for language, (subject, description) in TICKETS_BEFORE_0010.items():
                conn.execute(
                    "INSERT INTO tickets (id, seq, type, status, channel, subject, description,"
                    " impact, urgency, priority, created_at, updated_at) VALUES"
                    " (%s, 1, 'incident', 'new', 'portal', %s, %s, 2, 2, 3, now(), now())",
                    (f"ticket-{language}", subject, description),
                )
        upgrade(target)

        def found(typed: str) -> set[str]:
            with psycopg.connect(dsn) as conn:
                rows = conn.execute(
                    "SELECT id FROM tickets WHERE search @@ CAST(%s AS tsquery)", (query(typed),)
                ).fetchall()
            return {row[0].removeprefix("ticket-") for row in rows}

        assert found("印刷") == {"ja"}
        assert found("プロジェクター") == {"ja"}
        assert found("نمیکند") == {"fa"}  # written with a ZWNJ, searched without
        assert found("كيبورد") == {"fa"}  # Persian letters, searched with Arabic ones
        assert found("الطابعة") == {"ar"}  # written with harakat, searched without
        assert found("attachments") == {"en"}
