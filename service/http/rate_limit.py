"""Per-client rate limits on the public endpoints, with a Chinese 429 and ``Retry-After``."""

from __future__ import annotations

import logging
import math
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from service.http.counters import Counters
from service.http.responses import send_error

log = logging.getLogger("policyqa.ratelimit")

WINDOW_SECONDS = 60

# (bucket, path pattern, what a citizen did too often)
_RULES = (
    ("ask", re.compile(r"^/api/v1/ask$"), "提问"),
    ("feedback", re.compile(r"^/api/v1/feedback$"), "评价"),
    ("handoff", re.compile(r"^/api/v1/handoff$"), "转人工请求"),
    ("events", re.compile(r"^/api/v1/sessions/[^/]+/events$"), "消息连接"),
)


def bucket_of(path: str) -> tuple[str, str] | None:
    for name, pattern, action in _RULES:
        if pattern.match(path):
            return name, action
    return None


class RateLimit:
    """Counts each client's requests per endpoint and minute in shared ``Counters``. A store
    that fails (Redis down) lets requests through and logs one short line per failure kind."""

    def __init__(self, app: ASGIApp, *, counters: Counters, per_minute: int) -> None:
        self.app, self.counters, self.per_minute = app, counters, per_minute
        self._failed: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        rule = bucket_of(scope["path"])
        if rule is None:
            await self.app(scope, receive, send)
            return
        bucket, action = rule
        client = scope["client"][0] if scope.get("client") else "unknown"
        try:
            count, remaining = await self.counters.hit(
                f"{bucket}:{client}", window_seconds=WINDOW_SECONDS
            )
        except Exception as exc:  # the limiter must not take the service down with it
            kind = type(exc).__name__
            if kind not in self._failed:
                self._failed.add(kind)
                log.warning("rate limit store %s unavailable: %s", self.counters.kind, exc)
            await self.app(scope, receive, send)
            return
        if count <= self.per_minute:
            await self.app(scope, receive, send)
            return
        retry = max(1, math.ceil(remaining))
        await send_error(
            send,
            status=429,
            detail=f"{action}过于频繁（每分钟最多 {self.per_minute} 次），请 {retry} 秒后再试",
            headers=[(b"retry-after", str(retry).encode())],
        )
