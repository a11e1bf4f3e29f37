"""What an FAQ draft must satisfy before it is stored: fields, the fixed category list, dates.
Every refusal is a Chinese 422 naming the field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from service.problems import Invalid

CATEGORIES = (
    "政府采购",
    "预算",
    "税收",
    "社会保险",
    "会计",
    "国有资产",
    "审计",
    "政务公开",
    "财政监督",
    "其他",
)
STATES = {
    "draft": "草稿",
    "in_review": "待审核",
    "published": "已发布",
    "returned": "已退回",
    "superseded": "已被替代",
    "retired": "已下线",
    "retire_review": "待审核（申请下线）",
    "retire_refused": "下线申请已退回",
}
MAX_QUESTION = 200
MAX_ANSWER = 5000
MAX_VARIANTS = 30
_ID = re.compile(r"^[\w\-.]{2,64}$")


@dataclass(frozen=True)
class FaqDraft:
    """The content of one version, as an editor submits it."""

    question: str
    answer: str
    category: str
    variants: tuple[str, ...] = ()
    # (document id, article or None), in the order the editor gave them.
    sources: tuple[tuple[str, str | None], ...] = ()
    effective_on: date | None = None
    expires_on: date | None = None
    ticket_id: str | None = None
    warnings: list[str] = field(default_factory=list, compare=False)


def parse_sources(text: str) -> tuple[tuple[str, str | None], ...]:
    """The form's sources: one a line, ``文件编号 条款`` (the article optional)."""
    found: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        parts = line.split(None, 1)
        if parts:
            found.append((parts[0], parts[1].strip() if len(parts) > 1 else None))
    return tuple(found)


def format_sources(sources: list[dict[str, str | None]]) -> str:
    return "\n".join(f"{s['doc_id']} {s.get('article') or ''}".strip() for s in sources)


def check_id(faq_id: str) -> str:
    faq_id = faq_id.strip()
    if not _ID.match(faq_id):
        raise Invalid("编号 id：应为 2–64 个字母、数字、汉字或 - _ .")
    return faq_id


def clean(draft: FaqDraft) -> FaqDraft:
    """The draft with whitespace trimmed and duplicate variants dropped; refuses bad fields."""
    question = " ".join(draft.question.split())
    answer = draft.answer.strip()
    if not question:
        raise Invalid("标准问题 question：不能为空")
    if len(question) > MAX_QUESTION:
        raise Invalid(f"标准问题 question：最多 {MAX_QUESTION} 个字")
    if not answer:
        raise Invalid("答案 answer：不能为空")
    if len(answer) > MAX_ANSWER:
        raise Invalid(f"答案 answer：最多 {MAX_ANSWER} 个字")
    if draft.category not in CATEGORIES:
        raise Invalid(f"分类 category：未知分类“{draft.category}”（可选：{'、'.join(CATEGORIES)}）")
    variants: list[str] = []
    for v in draft.variants:
        v = " ".join(v.split())
        if not v or v == question or v in variants:
            continue
        if len(v) > MAX_QUESTION:
            raise Invalid(f"相似问法 variants：“{v[:20]}…”超过 {MAX_QUESTION} 个字")
        variants.append(v)
    if len(variants) > MAX_VARIANTS:
        raise Invalid(f"相似问法 variants：最多 {MAX_VARIANTS} 条")
    sources: list[tuple[str, str | None]] = []
    for doc, article in draft.sources:
        doc, article = doc.strip(), (article or "").strip() or None
        if not doc:
            if article:
                raise Invalid(f"来源 sources：条款“{article}”没有写明来源文件编号 doc_id")
            continue
        if len(doc) > 128 or len(article or "") > 128:
            raise Invalid("来源 sources：文件编号和条款各最多 128 个字")
        if (doc, article) not in sources:
            sources.append((doc, article))
    if len(sources) > MAX_VARIANTS:
        raise Invalid(f"来源 sources：最多 {MAX_VARIANTS} 条")
    if draft.effective_on and draft.expires_on and draft.expires_on <= draft.effective_on:
        raise Invalid("失效日期 expires_on：应晚于生效日期 effective_on")
    return FaqDraft(
        question=question,
        answer=answer,
        category=draft.category,
        variants=tuple(variants),
        sources=tuple(sources),
        effective_on=draft.effective_on,
        expires_on=draft.expires_on,
        ticket_id=(draft.ticket_id or "").strip()[:64] or None,
    )
