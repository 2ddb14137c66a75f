"""Request body size limits, enforced before the body is read (HTTP 413)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Rejects bodies over `limit` bytes; paths ending in `/attachments` get `upload_limit`.

    Checks Content-Length first and also counts the bytes actually received, so
    a chunked upload cannot get around it.
    """

    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.upload_limit if path.rstrip("/").endswith("/attachments") else self.limit
        html = not path.startswith("/api/")
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._reject(send, limit, html=html)
                return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send, limit, html=html)

    @staticmethod
    async def _reject(send: Send, limit: int, *, html: bool) -> None:
        message = f"request body is larger than the limit of {limit // 1024} KiB"
        if html:
            # The web UI's own pages: a person reads this, not a program.
            content_type = b"text/html; charset=utf-8"
            body = (
                "<!doctype html><meta charset=utf-8><title>Too large</title>"
                f"<h1>Too large</h1><p>The {message.removeprefix('request ')}.</p>"
                '<p><a href="javascript:history.back()">Go back</a></p>'
            ).encode()
        else:
            content_type = b"application/json"
            body = json.dumps({"detail": message, "field": None, "code": "too_large"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
