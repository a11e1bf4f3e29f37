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
        default=None, max_length=128, description="同一会话的编号，用于理解追问"
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
    type: Literal["faq", "passage", "clarify", "none", "handoff", "smalltalk"] = Field(
        description="faq 常见问答；passage 政策条文；clarify 请市民确认想问的是哪一个（选项在 "
        "related 中，回复序号 1–3 或选项原文即可得到解答）；none 未找到；handoff 转人工；smalltalk 寒暄"
    )
    answer: str
    confidence: float
    sources: list[SourceOut]
    related: list[str] = Field(
        description="相关问题；type 为 clarify 时是供选择的选项（至多 3 个）"
    )
    handoff: bool


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem] = []
