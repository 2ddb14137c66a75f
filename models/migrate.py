"""Apply the Alembic migrations programmatically (used by `tempodesk migrate` and the tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "models:migrations")
    # Passed as an attribute, not an option: ConfigParser would treat any '%'
    # in a password as interpolation.
    cfg.attributes["url"] = url.replace("+asyncpg", "+psycopg")
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
