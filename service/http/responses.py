"""Plain-ASGI error responses in the shape of ``service.schemas.ErrorResponse``."""

from __future__ import annotations

import json

from starlette.types import Send


async def send_error(
    send: Send, *, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps({"detail": detail, "errors": []}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
