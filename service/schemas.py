"""HTTP request and response bodies of /api/v1."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictStr, field_validator

MAX_QUESTION = 500


class AskRequest(BaseModel):
    question: StrictStr = Field(
        description="市民的问题，1–500 字", examples=["供应商如何对中标结果提出质疑？"]
    )
    session_id: StrictStr | None = Field(
        default=None,
        max_length=128,
        description="上次回答中的 session_id（由服务端签发），用于理解追问和人工回复",
    )
    channel: StrictStr | None = Field(default=None, max_length=32, description="web、wechat 等")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("问题不能为空，请输入您要咨询的问题")
        if len(value) > MAX_QUESTION:
            raise ValueError(f"问题过长（{len(value)} 字），请控制在 {MAX_QUESTION} 字以内")
        return value


class SourceOut(BaseModel):
    doc_id: str
    title: str
    doc_no: str | None
    section: str | None
    issued_on: str | None
    status: str
    url: str | None
    excerpt: str


class AskResponse(BaseModel):
    answer_id: str
    type: Literal["faq", "passage", "none", "handoff", "smalltalk"]
    answer: str
    confidence: float
    sources: list[SourceOut]
    related: list[str]
    handoff: bool
    session_id: str = Field(description="会话编号：由服务端签发，下次提问请带上最新的这个值")


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem] = []
