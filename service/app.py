"""The FastAPI application: assembled in one place, state behind dependencies."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from indexer.store import current_version
from service.answering import Answerer
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import ensure_schema
from service.engine import load_answerer
from service.errors import validation_error
from service.problems import Unavailable
from service.routes import state
from service.schemas import AskRequest, AskResponse, ErrorResponse
from service.sessions import DbSessionStore, SessionStore

log = logging.getLogger("policyqa.service")


class Engine:
    """Holds the answerer once the index is loaded. Loading runs beside the server, so /healthz
    answers at once and /readyz tells when questions can be answered; afterwards a new index
    version (``policyqa index`` switched CURRENT) is loaded in the background and swapped in."""

    def __init__(self) -> None:
        self.answerer: Answerer | None = None
        self.error: str | None = None
        self._stop = threading.Event()

    def load(self, settings: Settings) -> None:
        # A serving process computes on one thread per question batch: its parallelism is the
        # encode slots and the worker processes. BLAS threads per matrix product would only
        # oversubscribe the cores (and threadpoolctl's limits are process-wide, not per thread).
        threadpool_limits(1, user_api="blas")
        sessions: SessionStore
        try:
            database = get_database(settings.effective_database_url())
            ensure_schema(database)
            sessions = DbSessionStore(database, ttl_seconds=settings.session_ttl_seconds)
        except Exception as exc:  # e.g. an unwritable database: say so on /readyz
            self.error = f"会话存储不可用：{exc}"
            log.exception("session store could not be opened")
            return
        tried = current_version(settings.index_dir)
        self._load(settings, sessions)
        while not self._stop.wait(settings.reload_seconds):
            # Each new version is tried once: a broken one is logged once, not every poll.
            version = current_version(settings.index_dir)
            if version is not None and version != tried:
                tried = version
                self._load(settings, sessions)

    def _load(self, settings: Settings, sessions: SessionStore) -> None:
        try:
            answerer = load_answerer(
                settings.index_dir,
                sessions=sessions,
                encoder_model_dir=settings.encoder_model_dir,
                encode_slots=settings.effective_encode_slots(),
                encoder_threads=1,
            )
        except Exception as exc:  # reported by /readyz and the log; the last good index serves on
            self.error = str(exc)
            log.exception("index could not be loaded")
            return
        self.answerer, self.error = answerer, None
        log.info("index version %s loaded", answerer.index.version)

    def stop(self) -> None:
        self._stop.set()


class ServedBy:
    """Names the worker process that answered (``X-Policyqa-Worker``): with ``--workers N`` an
    operator can tell which process a slow or failing answer came from. Plain ASGI, so it costs
    nothing measurable, unlike a BaseHTTPMiddleware."""

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


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_answerer(engine: Annotated[Engine, Depends(get_engine)]) -> Answerer:
    if engine.answerer is None:
        raise HTTPException(status_code=503, detail="服务正在启动，索引尚未加载完成，请稍后再试")
    return engine.answerer


AnswererDep = Annotated[Answerer, Depends(get_answerer)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def create_app(settings: Settings, *, answerer: Answerer | None = None) -> FastAPI:
    engine = Engine()
    engine.answerer = answerer

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if engine.answerer is not None:  # given (tests): the state still needs its schema
            await anyio.to_thread.run_sync(lambda: ensure_schema(app.state.database))
        else:
            threading.Thread(
                target=engine.load, args=(settings,), daemon=True, name="index-loader"
            ).start()
        yield

    app = FastAPI(title="policyqa 政策咨询综合服务窗口", version="0.1.0", lifespan=lifespan)
    app.state.engine = engine
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(ServedBy)

    def ready_answerer() -> Answerer:
        if engine.answerer is None:
            raise Unavailable("服务正在启动，索引尚未加载完成，请稍后再试")
        return engine.answerer

    state.install(app, settings, ready_answerer)

    @app.get("/healthz", summary="进程存活")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="索引已加载、可以回答", responses={503: {"model": ErrorResponse}})
    def readyz(engine: EngineDep) -> dict[str, object]:
        if engine.answerer is None:
            detail = f"索引加载失败：{engine.error}" if engine.error else "索引加载中"
            raise HTTPException(status_code=503, detail=detail)
        index = engine.answerer.index
        return {
            "status": "ready",
            "index_version": index.version,
            "documents": len(index.documents),
            "chunks": len(index.chunks),
            "faqs": len(index.faqs),
        }

    @app.post(
        "/api/v1/ask",
        response_model=AskResponse,
        summary="提问",
        responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}},
    )
    async def ask(body: AskRequest, request: Request) -> AskResponse:
        answer = await request.app.state.conversations.ask_session(
            question=body.question, session_id=body.session_id, channel=body.channel
        )
        return AskResponse.model_validate(answer)

    return app
