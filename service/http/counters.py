"""Fixed-window request counters shared by the worker processes that serve one site.

``hit(key)`` counts one request of a client in the current window and returns the count so far
and the seconds until the window ends. Three stores, chosen by ``open_counters``:

- Redis (``POLICYQA_REDIS_URL`` / ``REDIS_URL``): shared by every process and server using it;
- an SQLite file (``POLICYQA_RATE_LIMIT_DB``; by default one in the temporary folder named
  after the index folder served, so the workers of one ``policyqa serve --workers N`` share
  it): shared by the processes of one machine;
- process memory, only when that file cannot be opened: exact for one worker process only.
"""

from __future__ import annotations

import hashlib
import logging
import math
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

import anyio.to_thread

from service.config import Settings

log = logging.getLogger("policyqa.ratelimit")

MAX_MEMORY_KEYS = 100_000  # bounds the memory store: about 10 MB at worst


class Counters(Protocol):
    kind: str

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]: ...


def _window(window_seconds: int) -> tuple[int, float]:
    now = time.time()
    index = math.floor(now / window_seconds)
    return index, (index + 1) * window_seconds - now


class MemoryCounters:
    kind = "memory"

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}  # key -> (window index, count)
        self._lock = threading.Lock()

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]:
        index, remaining = _window(window_seconds)
        with self._lock:
            window, count = self._counts.get(key, (index, 0))
            count = count + 1 if window == index else 1
            if key not in self._counts and len(self._counts) >= MAX_MEMORY_KEYS:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == index}
                if len(self._counts) >= MAX_MEMORY_KEYS:  # a flood of clients: forget the oldest
                    self._counts.pop(next(iter(self._counts)))
            self._counts[key] = (index, count)
        return count, remaining


class SqliteCounters:
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS rate_counters"
                " (key TEXT PRIMARY KEY, window INTEGER NOT NULL, count INTEGER NOT NULL)"
            )
        self._hits = 0

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def _hit(self, key: str, index: int) -> int:
        db = self._connect()
        row = db.execute(
            "INSERT INTO rate_counters (key, window, count) VALUES (?, ?, 1)"
            " ON CONFLICT(key) DO UPDATE SET"
            " count = CASE WHEN window = excluded.window THEN count + 1 ELSE 1 END,"
            " window = excluded.window"
            " RETURNING count",
            (key, index),
        ).fetchone()
        self._hits += 1
        if self._hits % 1000 == 0:  # keeps the file small: old windows are of no use
            db.execute("DELETE FROM rate_counters WHERE window < ?", (index,))
        return int(row[0])

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]:
        index, remaining = _window(window_seconds)
        count = await anyio.to_thread.run_sync(self._hit, key, index)
        return count, remaining


class RedisCounters:
    kind = "redis"

    def __init__(self, url: str, *, namespace: str) -> None:
        import redis.asyncio

        self._redis = redis.asyncio.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.namespace = namespace

    async def hit(self, key: str, *, window_seconds: int) -> tuple[int, float]:
        index, remaining = _window(window_seconds)
        name = f"{self.namespace}:rate:{key}:{index}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds + 1)
            count, _ = await pipe.execute()
        return int(count), remaining


def default_db(index_dir: Path) -> Path:
    """The counters file of the server that serves ``index_dir``: every worker process of one
    ``policyqa serve`` computes the same path, with no setting and no coordination."""
    key = hashlib.sha256(str(index_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"policyqa-ratelimit-{key}.sqlite"


def open_counters(settings: Settings, *, index_dir: Path) -> Counters:
    if settings.redis_url:
        return RedisCounters(settings.redis_url, namespace=settings.rate_limit_namespace)
    path = settings.rate_limit_db or default_db(index_dir)
    try:
        return SqliteCounters(path)
    except (OSError, sqlite3.Error) as exc:
        log.warning("rate limit file %s unusable (%s): counting per process", path, exc)
        return MemoryCounters()
