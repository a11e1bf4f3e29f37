"""Plain ASGI middleware of the served application (cheaper than BaseHTTPMiddleware):
the worker header, the request-body limit and the last-resort error handler."""

from __future__ import annotations

import json
import logging
import os
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("policyqa.service")


async def send_json(send: Send, status: int, body: dict[str, object]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class ServedBy:
    """Names the worker process that answered (``X-Policyqa-Worker``): with ``--workers N`` an
    operator can tell which process a slow or failing answer came from."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.header = (b"x-policyqa-worker", str(os.getpid()).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed (chunked) body passes the limit: an HTTPException,
    so that the framework's body reader lets it through and the app answers 413."""


class BodyLimit:
    """Refuses a request body over ``max_bytes`` with 413: by its Content-Length before reading
    anything, and by counting the bytes of a chunked body as they arrive."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, uploads: dict[str, int] | None = None
    ) -> None:
        # ``uploads``: paths that take files, with their own (larger) limit.
        self.app, self.max_bytes, self.uploads = app, max_bytes, uploads or {}

    @property
    def detail(self) -> str:
        return f"请求内容过大（上限 {self.max_bytes // 1024} KB），请缩短问题后再试"

    def _refusal(self, limit: int | None = None) -> dict[str, object]:
        detail = self.detail
        if limit is not None:
            size = f"{limit / 1048576:.1f} MB" if limit >= 1048576 else f"{limit // 1024} KB"
            detail = f"上传的文件过大（上限 {size}），请缩小文件或分成几个文件上传"
        return {"detail": detail, "errors": [{"field": "body", "message": detail}]}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = self.uploads.get(scope.get("path", ""))
        # A multipart form carries a little more than the file: its field names and boundaries.
        max_bytes = self.max_bytes if upload is None else upload + 64 * 1024
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_json(send, 400, {"detail": "请求头 Content-Length 无效"})
                    return
                if declared > max_bytes:
                    await send_json(send, 413, self._refusal(upload))
                    return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(413, self.detail)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, self._refusal(upload))


class ErrorLog:
    """The last resort for an unexpected error: one short log line with a request id, and a 500
    in Chinese quoting that id, instead of a traceback per request. Expected input errors never
    get here (they are 4xx responses)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        except Exception as exc:
            request_id = uuid.uuid4().hex[:12]
            text = str(exc).replace("\n", " ")[:200]
            log.error(
                "request %s %s %s failed: %s: %s",
                request_id,
                scope.get("method"),
                scope.get("path"),
                type(exc).__name__,
                text,
            )
            if not started:
                detail = f"服务内部错误，请稍后再试（错误编号 {request_id}）"
                await send_json(send, 500, {"detail": detail, "errors": []})
