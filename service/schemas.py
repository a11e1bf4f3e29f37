"""HTTP request and response bodies of /api/v1 (and the CLI's ``ask --json``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, StrictStr, ValidationInfo, field_validator

from service.questions import (
    MAX_CHANNEL,
    MAX_QUESTION,
    MAX_SESSION_ID,
    QUESTION_PATTERN,
    check_question,
    check_text,
)

if TYPE_CHECKING:
    from service.answering import Answer

_NAMES = {"session_id": "会话编号", "channel": "渠道"}


class AskRequest(BaseModel):
    question: StrictStr = Field(
        # Enforced by check_question (its order and messages), described here for clients.
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION, "pattern": QUESTION_PATTERN},
        description=(
            f"市民的问题，1–{MAX_QUESTION} 字，须含文字或数字；"
            f"全角/繁体等规范化后仍不得超过 {MAX_QUESTION} 字"
        ),
        examples=["供应商如何对中标结果提出质疑？"],
    )
    session_id: StrictStr | None = Field(
        default=None,
        max_length=MAX_SESSION_ID,
        description="上次回答中的 session_id（由服务端签发），用于理解追问和人工回复",
    )
    channel: StrictStr | None = Field(
        default=None, max_length=MAX_CHANNEL, description="web、wechat 等"
    )

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return check_question(value)

    @field_validator("session_id", "channel")
    @classmethod
    def _valid_text(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            check_text(value, name=_NAMES[info.field_name or ""])
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
    type: Literal["faq", "passage", "none", "handoff", "smalltalk", "clarify"] = Field(
        description=(
            "faq 常见问答；passage 政策条文；none 未找到；handoff 转人工；smalltalk 寒暄；"
            "clarify 需确认：最相近的几个问题难以区分，related 按序列出可选项（最多 3 个），"
            "回复序号（1–3）或选项原文即答复该项"
        )
    )
    answer: str
    confidence: float
    sources: list[SourceOut]
    related: list[str] = Field(
        description="相近问题，按序号排列：在同一会话中回复序号（1–3）或问题原文即答复该项；"
        "type 为 clarify 时为可选项（常见问题或文件标题与条款）"
    )
    handoff: bool
    session_id: str = Field(description="会话编号：由服务端签发，下次提问请带上最新的这个值")

    @classmethod
    def from_answer(cls, answer: Answer, *, session_id: str) -> AskResponse:
        """The one mapping from the answering core's Answer to what clients receive."""
        return cls(
            session_id=session_id,
            answer_id=answer.answer_id,
            type=answer.type.value,
            answer=answer.answer,
            confidence=round(answer.confidence, 4),
            sources=[SourceOut(**vars(s)) for s in answer.sources],
            related=answer.related,
            handoff=answer.handoff,
        )


class ErrorItem(BaseModel):
    field: str
    message: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[ErrorItem] = []
