"""The FastAPI application: JSON API under /api/v1, the web UI, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import APIRouter, FastAPI

from api import errors
from api.limits import BodyLimit
from api.live import NotificationHub, streams_end_on_exit_signal
from api.routers import (
    desk,
    directory,
    intake,
    integrations,
    mail,
    notifications,
    routing,
    sla,
    ticket_actions,
    tickets,
    tokens,
)
from api.schemas import ERROR_RESPONSES
from api.settings import Settings, get_settings
from api.temporal import connect
from api.ticket_client import TemporalTicketClient
from models.db import make_engine, make_session_factory

# Multipart framing and form fields around the file itself.
_UPLOAD_OVERHEAD = 64 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.resolved_database_url(),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        app.state.settings = settings
        app.state.sessions = make_session_factory(engine)
        # Same pool; autocommit is a client-side flag, reset when a connection returns.
        app.state.reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        app.state.temporal = await connect(settings.temporal_address, settings.temporal_namespace)
        app.state.tickets = TemporalTicketClient(app.state.temporal)
        app.state.live = NotificationHub(
            settings.resolved_database_url(),
            app.state.sessions,
            inbox_size=settings.live_inbox_size,
        )
        app.state.live.start()
        try:
            with streams_end_on_exit_signal(app.state.live):
                yield
        finally:
            await app.state.live.stop()
            await engine.dispose()

    app = FastAPI(
        title="Tempodesk",
        version=version("tempodesk"),
        summary="A service desk in which every ticket is a durable Temporal workflow.",
        lifespan=lifespan,
    )
    errors.install(app)

    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    for router in (
        tickets.router,
        ticket_actions.router,
        tickets.attachments_router,
        directory.router,
        tokens.router,
        desk.router,
        sla.router,
        notifications.router,
        intake.router,
        integrations.router,
        mail.mailboxes_router,
        mail.quarantine_router,
        mail.messages_router,
        mail.templates_router,
        routing.router,
    ):
        api.include_router(router)
    app.include_router(api)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        BodyLimit,
        limit=settings.max_json_bytes,
        upload_limit=settings.max_attachment_bytes + _UPLOAD_OVERHEAD,
    )
    return app
