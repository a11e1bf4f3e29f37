"""The index lifecycle of a serving process: the first load (with back-off, falling back to the
newest intact version when the current one is damaged), background reloads of new versions, the
session store, and an orderly stop.

Loading runs beside the server, so /healthz answers at once and /readyz tells when questions can
be answered and what is wrong. A version that fails to load is reported (``problems``, the log:
one line) and the last good one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from indexer.store import current_version, version_names
from service.answering import Answerer
from service.config import Settings
from service.db.engine import get_database
from service.engine import load_answerer
from service.faqs.refresh import Refresher
from service.session_guard import GuardedSessionStore
from service.sessions import DbSessionStore, SessionStore

log = logging.getLogger("policyqa.service")

FIRST_RETRY_SECONDS = 1.0

Loader = Callable[..., Answerer]


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"


def open_session_store(settings: Settings) -> SessionStore:
    """The conversation context of the served app, on the conversations' rows (service/db)."""
    database = get_database(settings.effective_database_url())
    return DbSessionStore(database, ttl_seconds=settings.session_ttl_seconds)


class Engine:
    def __init__(
        self,
        settings: Settings,
        *,
        answerer: Answerer | None = None,
        loader: Loader = load_answerer,
        open_sessions: Callable[[], SessionStore] | None = None,
    ) -> None:
        self.settings = settings
        self.answerer = answerer
        self._loader = loader
        self._open_sessions = open_sessions or (lambda: open_session_store(settings))
        self.sessions: GuardedSessionStore | None = None
        self.error: str | None = None  # why no index is serving
        self.fallback: str | None = None  # the current version is damaged, an older one serves
        self.rejected: str | None = None  # a new version found while running failed to load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresher: Refresher | None = None  # FAQ curation → new index versions

    # ---- control --------------------------------------------------------------------------------

    def start(self) -> None:
        if self.answerer is not None:
            return  # given ready-made (tests, benchmarks): nothing to load or reload
        self.sessions = GuardedSessionStore(self._open_sessions)
        if self.settings.knowledge_poll_seconds > 0:
            database = get_database(self.settings.effective_database_url())
            self.refresher = Refresher(self.settings.index_dir, database)
        self._thread = threading.Thread(target=self._run, daemon=True, name="index-loader")
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        """Stop the reload thread and close the session store (at shutdown)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.sessions is not None:
            self.sessions.close()

    @property
    def reloading(self) -> bool:
        """Whether the thread that loads and reloads the index is alive."""
        return self._thread is not None and self._thread.is_alive()

    def problems(self) -> list[str]:
        found = [p for p in (self.fallback, self.rejected) if p]
        if self.refresher is not None and self.refresher.problem:
            found.append(self.refresher.problem)
        if self._thread is not None and not self.reloading and not self._stop.is_set():
            found.append("索引更新线程已停止，新的索引版本不会被加载")
        if self.sessions is not None and self.sessions.problem:
            found.append(f"{self.sessions.problem}（追问暂时无法结合上文理解）")
        return found

    # ---- the loader thread ------------------------------------------------------------------------

    def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while self.answerer is None and not self._stop.is_set():
            if self._first_load():
                break
            log.warning("no index could be loaded; trying again in %.0f s", delay)
            if self._stop.wait(delay):
                return
            # Doubling, but never longer than the reload interval an operator has chosen.
            delay = min(delay * 2, max(FIRST_RETRY_SECONDS, self.settings.reload_seconds))
        serving = self.answerer.index.version if self.answerer is not None else None
        tried = current_version(self.settings.index_dir) or serving
        poll = self.settings.reload_seconds
        if self.refresher is not None:
            poll = min(poll, self.settings.knowledge_poll_seconds)
        while not self._stop.wait(poll):
            self._refresh()
            try:
                version = current_version(self.settings.index_dir)
                if version is not None and version != tried and version != self._serving():
                    tried = version  # each new version is tried once: one log line, not one a poll
                    self._reload(version)
                elif version == self._serving():
                    self.rejected = None
            except Exception as exc:  # the thread must outlive any one poll
                log.error("index reload check failed: %s: %s", type(exc).__name__, _short(exc))

    def _refresh(self) -> None:
        """A new index version when the curated FAQ changed (service/faqs/refresh.py)."""
        if self.refresher is None or self.answerer is None:
            return
        try:
            self.refresher.check(self.answerer)
        except Exception as exc:  # the database or the build failed: the current version serves
            problem = f"知识库更新（问答或文件）未能编入索引：{_short(exc)}"
            if problem != self.refresher.problem:
                log.error("knowledge refresh failed: %s: %s", type(exc).__name__, _short(exc))
            self.refresher.problem = problem

    def serve_version(self, version: str) -> bool:
        """Load ``version`` now, in the caller's thread (a withholding waits for it); the reload
        thread would load it within ``reload_seconds``. False: it could not be loaded."""
        if self._serving() == version:
            return True
        self._reload(version)
        return self._serving() == version

    def _serving(self) -> str | None:
        return self.answerer.index.version if self.answerer is not None else None

    def _load(self, version: str | None) -> Answerer:
        loaded = {"encoder": self.answerer.encoder} if self.answerer is not None else {}
        sessions: SessionStore | None = self.sessions
        if sessions is None and self.answerer is not None:
            sessions = self.answerer.sessions  # given ready-made (tests): keep its store
        return self._loader(
            self.settings.index_dir,
            **loaded,
            sessions=sessions,
            encoder_model_dir=self.settings.encoder_model_dir,
            encode_slots=self.settings.effective_encode_slots(),
            encoder_threads=1,
            version=version,
        )

    def _first_load(self) -> bool:
        """The current version, else the newest intact older one. False when none loads."""
        index_dir: Path = self.settings.index_dir
        current = current_version(index_dir)
        try:
            answerer = self._load(current)
        except Exception as exc:
            self.error = f"索引版本 {current} 无法加载：{_short(exc)}" if current else _short(exc)
            log.error("index could not be loaded: %s", self.error)
        else:
            self.answerer, self.error, self.fallback = answerer, None, None
            log.info("index version %s loaded", answerer.index.version)
            return True
        for older in reversed(version_names(index_dir)):
            if older == current:
                continue
            try:
                answerer = self._load(older)
            except Exception as exc:
                log.error("index version %s could not be loaded either: %s", older, _short(exc))
                continue
            self.answerer = answerer
            self.fallback = f"{self.error}；已回退到此前完好的版本 {older}，请重建索引"
            self.error = None
            log.warning("serving index version %s instead of the damaged current one", older)
            return True
        return False

    def _reload(self, version: str) -> None:
        try:
            answerer = self._load(version)
        except Exception as exc:
            self.rejected = (
                f"新的索引版本 {version} 无法加载：{_short(exc)}；继续使用版本 {self._serving()}"
            )
            log.error(
                "index version %s could not be loaded; still serving %s: %s",
                version,
                self._serving(),
                _short(exc),
            )
            return
        self.answerer, self.rejected, self.fallback = answerer, None, None
        log.info("index version %s loaded", version)
