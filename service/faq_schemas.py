"""HTTP bodies of the FAQ curation routes (``/api/v1/staff/faq``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, StrictStr

from service.faqs.rules import MAX_ANSWER, MAX_QUESTION, FaqDraft


class FaqSourceIn(BaseModel):
    doc_id: StrictStr = Field(max_length=128, description="来源文件编号")
    article: StrictStr | None = Field(default=None, max_length=128, description="条款，如 第三条")


class FaqDraftIn(BaseModel):
    question: StrictStr = Field(max_length=MAX_QUESTION, description="标准问题")
    answer: StrictStr = Field(max_length=MAX_ANSWER, description="答案")
    category: StrictStr = Field(max_length=32, description="分类（固定列表）")
    variants: list[StrictStr] = Field(default_factory=list, max_length=30, description="相似问法")
    sources: list[FaqSourceIn] = Field(default_factory=list, max_length=30)
    effective_on: date | None = None
    expires_on: date | None = None
    ticket_id: StrictStr | None = Field(default=None, max_length=64, description="来源工单")

    def draft(self) -> FaqDraft:
        return FaqDraft(
            question=self.question,
            answer=self.answer,
            category=self.category,
            variants=tuple(v[: MAX_QUESTION + 1] for v in self.variants),
            sources=tuple((s.doc_id, s.article) for s in self.sources),
            effective_on=self.effective_on,
            expires_on=self.expires_on,
            ticket_id=self.ticket_id,
        )


class FaqCreate(FaqDraftIn):
    id: StrictStr = Field(max_length=64, description="问答编号（稳定，不可重复）")


class ReturnRequest(BaseModel):
    comment: StrictStr = Field(max_length=2000, description="退回意见")
