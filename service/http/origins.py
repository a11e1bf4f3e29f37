"""Which web pages may call the API (CORS): the configured origins and the service's own.

Unlike a permissive CORS layer that only leaves the allow header out, a request under ``/api/``
that carries the ``Origin`` of a page not allowed is refused with 403 before it reaches a route,
so a foreign page cannot even make the service work for it. Requests without ``Origin``
(server-to-server, WeChat, curl) are not browser calls and pass.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.responses import send_error

ALLOWED_METHODS = b"GET, POST, OPTIONS"
ALLOWED_HEADERS = b"content-type, last-event-id"
EXPOSED_HEADERS = b"retry-after"


def own_origin(scope: Scope, headers: Headers) -> str:
    host = headers.get("host", "")
    return f"{scope.get('scheme', 'http')}://{host}".lower()


class AllowedOrigins:
    def __init__(self, app: ASGIApp, *, origins: frozenset[str], prefix: str = "/api/") -> None:
        self.app, self.origins, self.prefix = app, origins, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        if origin.lower() not in self.origins and origin.lower() != own_origin(scope, headers):
            await send_error(
                send,
                status=403,
                detail=f"来源 {origin[:100]} 未获准调用本服务（请在 POLICYQA_ALLOWED_ORIGINS 中配置）",
                headers=[(b"vary", b"Origin")],
            )
            return
        allow = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [
                        *allow,
                        (b"access-control-allow-methods", ALLOWED_METHODS),
                        (b"access-control-allow-headers", ALLOWED_HEADERS),
                        (b"access-control-max-age", b"600"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_allowed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *allow,
                    (b"access-control-expose-headers", EXPOSED_HEADERS),
                ]
            await send(message)

        await self.app(scope, receive, send_allowed)
