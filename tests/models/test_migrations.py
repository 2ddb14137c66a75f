"""Migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import uuid

import psycopg
from alembic import command
from sqlalchemy.engine import make_url

from models.migrate import alembic_config, upgrade


def test_migrations_match_the_models_and_are_reversible(database_url: str) -> None:
    url = make_url(database_url)
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    target = url.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(target)
        command.check(alembic_config(target))  # raises when models and migrations differ
        command.downgrade(alembic_config(target), "base")
        upgrade(target)
        with psycopg.connect(target.replace("+psycopg", "")) as conn:
            number = conn.execute("SELECT nextval('ticket_number_seq')").fetchone()
        assert number == (1000,)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
