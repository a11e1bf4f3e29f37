"""HTTP bodies of the conversation, handoff-desk and staff routes (``/api/v1``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr, field_validator

MAX_COMMENT = 1000
MAX_TEXT = 2000


def _bounded(value: str, *, name: str, limit: int, required: bool = True) -> str:
    if required and not value.strip():
        raise ValueError(f"{name}不能为空")
    if len(value) > limit:
        raise ValueError(f"{name}过长（{len(value)} 字），请控制在 {limit} 字以内")
    return value


class FeedbackRequest(BaseModel):
    answer_id: StrictStr = Field(max_length=64)
    helpful: StrictBool
    comment: StrictStr | None = None

    @field_validator("comment")
    @classmethod
    def _comment(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _bounded(value, name="评价意见", limit=MAX_COMMENT, required=False) or None


class StatusResponse(BaseModel):
    status: str


class HandoffRequest(BaseModel):
    session_id: StrictStr = Field(max_length=128)


class HandoffResponse(BaseModel):
    ticket_id: str
    status: Literal["open"]
    message: str


class MessageOut(BaseModel):
    id: int
    role: Literal["citizen", "bot", "staff", "system"]
    text: str
    created_at: str
    answer: dict[str, Any] | None


class MessagesResponse(BaseModel):
    messages: list[MessageOut]


class LoginRequest(BaseModel):
    name: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)


class StaffOut(BaseModel):
    id: int
    name: str
    roles: list[str]
    csrf_token: str | None


class ReplyRequest(BaseModel):
    text: StrictStr

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return _bounded(value, name="回复内容", limit=MAX_TEXT)


class TransferRequest(BaseModel):
    to: StrictStr | None = Field(default=None, max_length=64)


class CloseRequest(BaseModel):
    resolution: StrictStr

    @field_validator("resolution")
    @classmethod
    def _resolution(cls, value: str) -> str:
        return _bounded(value, name="处理结果", limit=MAX_TEXT)


class UserCreate(BaseModel):
    name: StrictStr = Field(max_length=64)
    password: StrictStr = Field(max_length=256)
    roles: list[StrictStr]


class RolesUpdate(BaseModel):
    roles: list[StrictStr]


class TokenCreate(BaseModel):
    name: StrictStr = Field(max_length=64)


class TokenOut(BaseModel):
    token: str
    name: str
