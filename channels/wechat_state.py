"""State the WeChat channel shares between service processes and keeps across restarts: the
access token, a lease so that one process at a time refreshes it, and the de-duplication marks of
inbound messages (WeChat retries a message up to three times).

Redis when ``REDIS_URL``/``POLICYQA_REDIS_URL`` is set, else one SQLite file. This module owns
both formats: the SQLite tables ``seen``, ``token`` and ``lease``, and the Redis keys
``policyqa:wechat:<appid>:{seen:<key>|token|lease:<name>}``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

SEEN_TTL_S = 24 * 3600  # WeChat retries within ~15 s; a day also covers replays of old requests
MAX_KEY = 256  # bytes of a de-duplication key


class StateUnavailable(Exception):
    """The shared state cannot be reached (Chinese message)."""


class WechatState(Protocol):
    def claim(self, key: str, *, ttl_s: float = SEEN_TTL_S) -> bool:
        """True for the first caller with this key (in any process); False for every other."""
        ...

    def token(self) -> tuple[str, float] | None:
        """The shared access token and when it expires (epoch seconds), if one is stored."""
        ...

    def store_token(self, token: str, expires_at: float) -> None: ...

    def drop_token(self, token: str) -> None:
        """Forget the token, if it is still this one (another process may have refreshed it)."""
        ...

    def lease(self, name: str, *, ttl_s: float) -> str | None:
        """A holder id when this caller now holds the named lease; None when another does."""
        ...

    def release(self, name: str, holder: str) -> None: ...

    def ping(self) -> None:
        """Raise StateUnavailable when the state cannot be used."""
        ...


class SqliteState:
    """One SQLite file in WAL mode; every operation is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                db.executescript(
                    "CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires REAL NOT NULL);"
                    "CREATE INDEX IF NOT EXISTS seen_expires ON seen(expires);"
                    "CREATE TABLE IF NOT EXISTS token (id INTEGER PRIMARY KEY CHECK (id = 1),"
                    " value TEXT NOT NULL, expires REAL NOT NULL);"
                    "CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
                    " expires REAL NOT NULL);"
                )
        except (OSError, sqlite3.Error) as exc:
            raise StateUnavailable(f"微信渠道状态文件 {self.path} 无法使用：{exc}") from None

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            # Switching to WAL takes an exclusive lock without waiting for it: processes that
            # open a new file at the same moment retry for a while.
            for attempt in range(100):
                try:
                    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError:
                    if attempt == 99:
                        raise
                    time.sleep(0.05)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def claim(self, key: str, *, ttl_s: float = SEEN_TTL_S) -> bool:
        now = time.time()
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM seen WHERE key = ? AND expires < ?", (key[:MAX_KEY], now))
            inserted = db.execute(
                "INSERT OR IGNORE INTO seen (key, expires) VALUES (?, ?)",
                (key[:MAX_KEY], now + ttl_s),
            ).rowcount
            if inserted and secrets.randbelow(100) == 0:  # keep the table bounded
                db.execute("DELETE FROM seen WHERE expires < ?", (now,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return bool(inserted)

    def token(self) -> tuple[str, float] | None:
        row = self._db().execute("SELECT value, expires FROM token WHERE id = 1").fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    def store_token(self, token: str, expires_at: float) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO token (id, value, expires) VALUES (1, ?, ?)",
            (token, expires_at),
        )

    def drop_token(self, token: str) -> None:
        self._db().execute("DELETE FROM token WHERE id = 1 AND value = ?", (token,))

    def lease(self, name: str, *, ttl_s: float) -> str | None:
        now, holder = time.time(), secrets.token_hex(8)
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM lease WHERE name = ? AND expires < ?", (name, now))
            got = db.execute(
                "INSERT OR IGNORE INTO lease (name, holder, expires) VALUES (?, ?, ?)",
                (name, holder, now + ttl_s),
            ).rowcount
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return holder if got else None

    def release(self, name: str, holder: str) -> None:
        self._db().execute("DELETE FROM lease WHERE name = ? AND holder = ?", (name, holder))

    def ping(self) -> None:
        try:
            self._db().execute("BEGIN IMMEDIATE")
            self._db().execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise StateUnavailable(f"微信渠道状态文件 {self.path} 无法写入：{exc}") from None


_DROP_IF_SAME = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
_RELEASE = _DROP_IF_SAME


class RedisState:
    """Redis: SET NX for claims and leases, one JSON value for the token."""

    def __init__(self, url: str, *, appid: str) -> None:
        import redis

        self.url = url
        self.prefix = f"policyqa:wechat:{appid}:"
        try:
            self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        except ValueError as exc:
            raise StateUnavailable(f"REDIS_URL 无效：{exc}") from None

    def claim(self, key: str, *, ttl_s: float = SEEN_TTL_S) -> bool:
        done = self.redis.set(
            f"{self.prefix}seen:{key[:MAX_KEY]}", "1", nx=True, px=int(ttl_s * 1000)
        )
        return bool(done)

    def token(self) -> tuple[str, float] | None:
        raw = self.redis.get(f"{self.prefix}token")
        if raw is None:
            return None
        value = json.loads(raw)
        return str(value["token"]), float(value["expires"])

    def store_token(self, token: str, expires_at: float) -> None:
        value = json.dumps({"token": token, "expires": expires_at})
        ttl = max(1, int(expires_at - time.time()))
        self.redis.set(f"{self.prefix}token", value, ex=ttl)

    def drop_token(self, token: str) -> None:
        current = self.token()
        if current is not None and current[0] == token:
            raw = self.redis.get(f"{self.prefix}token")
            if raw is not None:
                self.redis.eval(_DROP_IF_SAME, 1, f"{self.prefix}token", raw)

    def lease(self, name: str, *, ttl_s: float) -> str | None:
        holder = secrets.token_hex(8)
        got = self.redis.set(f"{self.prefix}lease:{name}", holder, nx=True, px=int(ttl_s * 1000))
        return holder if got else None

    def release(self, name: str, holder: str) -> None:
        self.redis.eval(_RELEASE, 1, f"{self.prefix}lease:{name}", holder)

    def ping(self) -> None:
        import redis

        try:
            self.redis.ping()
        except redis.RedisError as exc:
            raise StateUnavailable(f"无法连接 Redis：{exc}") from None


def open_state(*, redis_url: str | None, sqlite_path: Path, appid: str) -> WechatState:
    if redis_url:
        return RedisState(redis_url, appid=appid)
    return SqliteState(sqlite_path)
