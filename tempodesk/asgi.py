"""The whole web application: the JSON API plus the server-rendered UI."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.settings import Settings, get_settings
from web import install as install_web


def build_app(settings: Settings | None = None) -> FastAPI:
    app = create_app(settings or get_settings())
    install_web(app)
    return app
