"""Request edges shared by the HTTP services: credentials before the body, a body limit.

``RequestLimits`` is plain ASGI, outside FastAPI's routing, because FastAPI reads a request's
whole body before any dependency runs: a 300 MB body with no token took the ingest API from
76 to 690 MB. Here a request that must be signed in is refused (401) before a byte of its
body is read, a declared ``Content-Length`` over the limit is refused (413) unread, and a body
without one is counted as it arrives and refused (413) at the first chunk past the limit.
An unread body stays in the server's socket buffers (uvicorn pauses reading at 64 KiB).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Refusal(BaseModel):
    """The body of every refusal both services answer: a sentence, or field errors (loc, msg
    and type of each, never the value)."""

    detail: str | list[dict[str, Any]]


def documented_refusal(description: str) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a refusal with ``Refusal``'s body."""
    return {"model": Refusal, "description": description}


# (method, path, headers) -> why the request may not go on (401), or None
Authenticate = Callable[[str, str, dict[str, str]], str | None]


class RequestLimits:
    """Refuses before reading: 401 from ``authenticate``, 413 past ``max_body`` bytes."""

    def __init__(
        self, app: ASGIApp, *, max_body: int, authenticate: Authenticate | None = None
    ) -> None:
        self.app, self.max_body, self.authenticate = app, max_body, authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.authenticate is not None:
            refused = self.authenticate(scope["method"], scope["path"], headers)
            if refused is not None:
                challenge = {"WWW-Authenticate": "Bearer"}
                await _answer(send, 401, refused, challenge)
                return
        declared = headers.get("content-length", "")
        if declared and (not declared.isdigit() or int(declared) > self.max_body):
            await _answer(send, 413, self._too_large())
            return
        await self.app(scope, self._counted(receive), send)

    def _too_large(self) -> str:
        return f"the request body may hold at most {self.max_body} bytes"

    def _counted(self, receive: Receive) -> Receive:
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # FastAPI passes an HTTPException raised while reading the body through
                    raise HTTPException(413, self._too_large())
            return message

        return counted


async def _answer(
    send: Send, status: int, detail: str, extra: dict[str, str] | None = None
) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the unread body is not worth reading to keep the socket
        *((k.lower().encode(), v.encode()) for k, v in (extra or {}).items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
