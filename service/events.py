"""Wakes the event streams of a conversation when one of its messages is stored.

The database holds every message; this only says "look again". With Redis (``REDIS_URL``) a
message stored by any process reaches the streams held by every other process at once (pub/sub);
without it each stream polls the database every second.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

log = logging.getLogger("policyqa.events")
POLL_SECONDS = 1.0
# With Redis, a stream still looks at the database now and then (a lost notification).
REDIS_FALLBACK_SECONDS = 5.0

Wait = Callable[[float], Awaitable[bool]]


def _channel(conversation_id: str) -> str:
    return f"policyqa:conversation:{conversation_id}"


class Notifier:
    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._sync = None
        if redis_url:
            import redis

            self._sync = redis.Redis.from_url(redis_url, socket_timeout=2)

    def publish(self, conversation_id: str, message_id: int) -> None:
        if self._sync is None:
            return
        try:
            self._sync.publish(_channel(conversation_id), str(message_id))
        except Exception as exc:  # the streams still poll; one failed wake-up loses nothing
            log.warning("redis publish failed: %s", exc)

    @asynccontextmanager
    async def subscription(self, conversation_id: str) -> AsyncIterator[Wait]:
        """``wait(seconds)`` returns True when a message may have arrived, False on timeout."""
        if not self.redis_url:

            async def poll(seconds: float) -> bool:
                await anyio.sleep(min(seconds, POLL_SECONDS))
                return True

            yield poll
            return
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.redis_url)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(_channel(conversation_id))

            async def wait(seconds: float) -> bool:
                limit = min(seconds, REDIS_FALLBACK_SECONDS)
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=limit)
                return True if message is not None else limit < seconds

            yield wait
        finally:
            with anyio.CancelScope(shield=True):
                await pubsub.aclose()
                await client.aclose()
