"""Baseline (a) of bench_tickets.py: one plain INSERT behind the same FastAPI app.

The app is Tempodesk's own (`api.app.create_app`: same middleware, same auth,
same pool settings) with one extra route added here, so nothing is added to the
product. `POST /bench/insert` authenticates with the same bearer-token
dependency (`CurrentUser`) and inserts one row into `bench_insert`, a table the
benchmark creates. Settings come from the same TEMPODESK_* environment as the
API process; served by uvicorn with the options `tempodesk api` uses.

    python bench/insert_app.py
"""

from __future__ import annotations

from typing import Annotated

import uvicorn
from fastapi import Header
from pydantic import BaseModel
from sqlalchemy import text

from api.app import create_app
from api.deps import CurrentUser, SessionDep
from api.settings import get_settings

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_insert (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL,
    idempotency_key text UNIQUE,
    subject text NOT NULL,
    description text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class InsertBody(BaseModel):
    subject: str
    description: str = ""


class InsertResult(BaseModel):
    id: int
    subject: str


def build():  # type: ignore[no-untyped-def]
    settings = get_settings()
    app = create_app(settings)

    @app.post("/bench/insert", status_code=201)
    async def insert(
        body: InsertBody,
        user: CurrentUser,
        session: SessionDep,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> InsertResult:
        row_id = await session.scalar(
            text(
                "INSERT INTO bench_insert (user_id, idempotency_key, subject, description) "
                "VALUES (:u, :k, :s, :d) RETURNING id"
            ),
            {"u": user.id, "k": idempotency_key, "s": body.subject, "d": body.description},
        )
        await session.commit()
        return InsertResult(id=int(row_id or 0), subject=body.subject)

    return app, settings


def main() -> None:
    app, settings = build()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
