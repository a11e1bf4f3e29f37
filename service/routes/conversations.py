"""Citizen-side conversation routes: feedback, handoff, messages and the event stream."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from service.conversations import Conversations
from service.desk_schemas import (
    FeedbackRequest,
    HandoffRequest,
    HandoffResponse,
    MessagesResponse,
    StatusResponse,
)
from service.problems import NotFound, Unavailable
from service.routes.refusals import refusals

router = APIRouter(prefix="/api/v1", tags=["会话"])
KEEP_ALIVE_SECONDS = 15.0
STREAM_SECONDS = 30 * 60  # a stream ends after this; the client reconnects with Last-Event-ID
MAX_STREAMS = 500  # per process
_streams = 0


async def get_conversations(request: Request) -> Conversations:
    conversations: Conversations = request.app.state.conversations
    return conversations


ConversationsDep = Annotated[Conversations, Depends(get_conversations)]
_errors = refusals(404, 422)


@router.post("/feedback", response_model=StatusResponse, summary="评价回答", responses=_errors)
async def feedback(body: FeedbackRequest, conversations: ConversationsDep) -> StatusResponse:
    await anyio.to_thread.run_sync(
        lambda: conversations.feedback(
            answer_id=body.answer_id, helpful=body.helpful, comment=body.comment
        )
    )
    return StatusResponse(status="ok")


@router.post("/handoff", response_model=HandoffResponse, summary="转人工", responses=_errors)
async def handoff(body: HandoffRequest, conversations: ConversationsDep) -> HandoffResponse:
    return HandoffResponse(**await conversations.handoff(session_id=body.session_id))


@router.get(
    "/sessions/{session_id}/messages",
    response_model=MessagesResponse,
    summary="会话消息（含工作人员回复）",
    responses=_errors,
)
async def messages(
    session_id: str,
    conversations: ConversationsDep,
    after: Annotated[int, Query(ge=0)] = 0,
) -> MessagesResponse:
    rows = await anyio.to_thread.run_sync(
        lambda: conversations.messages(session_id=session_id, after=after)
    )
    return MessagesResponse.model_validate({"messages": rows})


@router.get(
    "/sessions/{session_id}/events",
    summary="会话消息事件流（text/event-stream）",
    response_class=StreamingResponse,
    responses=_errors,
)
async def events(
    session_id: str,
    conversations: ConversationsDep,
    after: Annotated[int, Query(ge=0)] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    if not await anyio.to_thread.run_sync(lambda: conversations.exists(session_id)):
        raise NotFound("会话不存在或已过期")
    if last_event_id and last_event_id.strip().isdigit():
        after = max(after, int(last_event_id.strip()))
    if _streams >= MAX_STREAMS:
        raise Unavailable("当前连接过多，请稍后重试")
    return StreamingResponse(
        _stream(conversations, session_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(conversations: Conversations, session_id: str, after: int) -> AsyncIterator[str]:
    global _streams
    _streams += 1
    try:
        started = last_sent = time.monotonic()
        yield "retry: 3000\n\n"
        async with conversations.notifier.subscription(session_id) as wait:
            while time.monotonic() - started < STREAM_SECONDS:
                try:
                    rows = await anyio.to_thread.run_sync(
                        partial(conversations.messages, session_id=session_id, after=after)
                    )
                except NotFound:  # purged while the stream was open
                    return
                for row in rows:
                    after = row["id"]
                    data = json.dumps(row, ensure_ascii=False)
                    yield f"id: {row['id']}\nevent: message\ndata: {data}\n\n"
                    last_sent = time.monotonic()
                if time.monotonic() - last_sent >= KEEP_ALIVE_SECONDS:
                    yield ": keep-alive\n\n"
                    last_sent = time.monotonic()
                await wait(max(0.1, KEEP_ALIVE_SECONDS - (time.monotonic() - last_sent)))
    finally:
        _streams -= 1
