"""The FastAPI application: assembled in one place, state behind dependencies."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.answering import Answerer
from service.api_docs import mount_docs
from service.config import Settings
from service.db.migrate import ensure_schema
from service.errors import http_error, validation_error
from service.lifecycle import Engine
from service.middleware import BodyLimit, ErrorLog, ServedBy
from service.problems import Unavailable
from service.routes import state
from service.routes.staff_documents import DOCUMENT_UPLOAD_PATHS
from service.routes.staff_faq_files import FAQ_UPLOAD_PATHS
from service.schemas import AskRequest, AskResponse, ErrorResponse

log = logging.getLogger("policyqa.service")


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def not_ready(engine: Engine) -> str:
    if engine.error:  # loading failed (it is retried): say why, not "starting" forever
        return f"暂时无法回答：{engine.error}"
    return "服务正在启动，索引尚未加载完成，请稍后再试"


EngineDep = Annotated[Engine, Depends(get_engine)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "索引未加载"}
}


def create_app(settings: Settings, *, answerer: Answerer | None = None) -> FastAPI:
    engine = Engine(settings, answerer=answerer)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The state's schema before the first question (SQLite migrates itself; PostgreSQL must
        # be at the current revision: `policyqa db upgrade`, checked by `policyqa serve`). An
        # unusable database does not stop the window: questions are answered unrecorded.
        try:
            await anyio.to_thread.run_sync(lambda: ensure_schema(app.state.database))
        except Exception as exc:
            app.state.conversations.problem = f"数据库不可用：{type(exc).__name__}"
            log.error("database unusable (%s): %s", type(exc).__name__, str(exc)[:200])
        engine.start()
        try:
            yield
        finally:
            engine.stop()

    app = FastAPI(
        title="policyqa 政策咨询综合服务窗口",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served from the package by service/api_docs.py, not from a CDN
        redoc_url=None,
    )
    mount_docs(app)
    app.state.engine = engine
    app.state.settings = settings
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_middleware(ErrorLog)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        uploads={
            **{path: settings.faq_upload_max_bytes for path in FAQ_UPLOAD_PATHS},
            **{path: settings.document_upload_max_bytes for path in DOCUMENT_UPLOAD_PATHS},
        },
    )
    app.add_middleware(ServedBy)

    def ready_answerer() -> Answerer:
        if engine.answerer is None:
            raise Unavailable(not_ready(engine))
        return engine.answerer

    # The hot routes first: a request is matched against the routes in order, and each
    # included router costs a look at its own routes (~0.25 ms for /api/v1/ask behind them all).
    @app.get("/healthz", summary="进程存活")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="索引已加载、可以回答", responses=_ERRORS)
    def readyz(engine: EngineDep) -> dict[str, object]:
        if engine.answerer is None:
            detail = f"索引加载失败：{engine.error}" if engine.error else "索引加载中"
            raise HTTPException(status_code=503, detail=detail)
        index = engine.answerer.index
        problems = engine.problems()
        recording = app.state.conversations.problem
        if recording:
            problems.append(f"{recording}（问题仍会回答，但不记录、不结合上文）")
        sessions = engine.sessions
        return {
            "status": "degraded" if problems else "ready",
            "index_version": index.version,
            "documents": len(index.documents),
            "chunks": len(index.chunks),
            "faqs": len(index.faqs),
            "reloading": engine.reloading,
            "sessions": "不可用"
            if recording or (sessions is not None and sessions.problem)
            else "正常",
            "problems": problems,
        }

    @app.post(
        "/api/v1/ask",
        response_model=AskResponse,
        summary="提问",
        responses={
            413: {"model": ErrorResponse, "description": "请求内容过大"},
            422: {"model": ErrorResponse, "description": "问题无效（说明原因）"},
            **_ERRORS,
        },
    )
    async def ask(body: AskRequest, request: Request) -> AskResponse:
        answer = await request.app.state.conversations.ask_session(
            question=body.question, session_id=body.session_id, channel=body.channel
        )
        return AskResponse.model_validate(answer)

    state.install(app, settings, ready_answerer)

    return app
