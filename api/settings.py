"""The one settings class. Every host, port, secret and limit is read here.

Values come from `TEMPODESK_*` environment variables (or a `.env` file). The
embedded default (`tempodesk up`) derives the database URL from `home` and
`pg_port`; production sets `TEMPODESK_DATABASE_URL` and
`TEMPODESK_TEMPORAL_ADDRESS` to external services.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEMPODESK_", env_file=".env", extra="ignore")

    home: Path = Field(Path(".tempodesk"), description="Data folder of the embedded stack.")

    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql+psycopg://...). Unset: the embedded PostgreSQL.",
    )
    db_pool_size: int = Field(10, ge=1, le=200)
    db_max_overflow: int = Field(10, ge=0, le=200)

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    pg_port: int = 5433
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    # Worker sizing. See docs/architecture.md: every open ticket is a workflow
    # of roughly 70 KiB in the cache; an evicted one replays on its next action.
    worker_max_cached_workflows: int = Field(10_000, ge=10)
    worker_workflow_task_pollers: int = Field(20, ge=2)
    worker_activity_task_pollers: int = Field(10, ge=1)
    worker_max_concurrent_workflow_tasks: int = Field(200, ge=1)
    worker_max_concurrent_activities: int = Field(200, ge=1)
    worker_sandbox: bool = True

    # A 64 Ki-character body JSON-escaped as \uXXXX takes 6 bytes a character.
    max_json_bytes: int = Field(1024 * 1024, ge=1024, description="Largest JSON or form body.")
    max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_comment_chars: int = Field(65_536, ge=100)

    session_hours: int = Field(12, ge=1, description="Lifetime of a browser session.")
    cookie_secure: bool = Field(False, description="Send the session cookie over HTTPS only.")

    log_level: str = "info"

    # Live notifications (GET /api/v1/notifications/stream, docs/routing.md).
    live_keepalive_seconds: float = Field(
        15, gt=0, le=300, description="Keep-alive comment on a stream idle this long."
    )
    live_inbox_size: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Notifications one stream may have unsent before it is told to re-read.",
    )

    # The email channel (docs/mail.md).
    mail_intake_host: str = Field("127.0.0.1", description="Where the SMTP/LMTP intake listens.")
    mail_intake_port: int = Field(2525, ge=1, le=65535)
    mail_intake_lmtp: bool = Field(False, description="Speak LMTP instead of SMTP.")
    mail_max_message_bytes: int = Field(
        25 * 1024 * 1024, ge=1024, description="Largest message the intake accepts."
    )
    mail_domain: str = Field(
        "tempodesk.localhost", description="Right-hand side of the desk's own Message-IDs."
    )
    mail_address: str = Field(
        "support@tempodesk.localhost", description="The desk's address: From and Reply-To."
    )
    mail_from_name: str = "Tempodesk"
    smtp_host: str | None = Field(None, description="Outgoing SMTP server; unset: no mail sent.")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    secret_key: str | None = Field(
        None,
        description="Fernet key that encrypts stored mailbox passwords "
        "(cryptography.fernet.Fernet.generate_key()); unset: passwords come from env variables.",
    )
    mail_language: str = Field("en", description="Language of the outgoing mail templates.")
    mail_templates_dir: Path | None = Field(
        None, description="Folder of template overrides, one subfolder per language."
    )

    @property
    def pg_data_dir(self) -> Path:
        return self.home / "postgres"

    @property
    def pg_password_file(self) -> Path:
        return self.home / "pg-password"

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded PostgreSQL's under `home`."""
        if self.database_url:
            return self.database_url
        password = ""
        if self.pg_password_file.exists():
            password = ":" + self.pg_password_file.read_text().strip()
        return f"postgresql+psycopg://postgres{password}@127.0.0.1:{self.pg_port}/tempodesk"


@lru_cache
def get_settings() -> Settings:
    return Settings()
