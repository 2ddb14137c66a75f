"""The server-rendered web UI: agent workspace, portal, token and admin pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from web import (
        actions,
        common,
        directory_routes,
        i18n,
        incident_routes,
        login,
        mail,
        mail_templates,
        routing_routes,
        settings_routes,
        sla_routes,
        tickets,
    )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(login.router)
    app.include_router(tickets.router)
    app.include_router(actions.router)
    app.include_router(settings_routes.router)
    app.include_router(incident_routes.router)
    app.include_router(sla_routes.router)
    app.include_router(routing_routes.router)
    app.include_router(mail.router)
    app.include_router(mail_templates.router)
    app.include_router(directory_routes.router)
    common.install_handlers(app)
    app.add_middleware(i18n.ReaderMiddleware)
