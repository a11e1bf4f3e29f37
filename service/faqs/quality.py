"""Help for the editor, from the index being served: a cited article must exist in the cited
document (refused otherwise), and a question close to another FAQ's is named (a warning:
duplicates confuse the matcher)."""

from __future__ import annotations

from service.answering import ACCEPT, Answerer
from service.faqs.rules import FaqDraft
from service.problems import Invalid, Unavailable
from service.query import prepare

OUTDATED = ("已失效", "已废止")


def check_sources(answerer: Answerer | None, draft: FaqDraft) -> None:
    """Each cited document is a current public one in the index and holds the cited article."""
    if not draft.sources:
        return
    if answerer is None:
        raise Unavailable("索引尚未加载，暂时无法核对来源文件，请稍后再试")
    index = answerer.index
    for doc_id, article in draft.sources:
        record = index.documents.get(doc_id)
        if record is None:
            raise Invalid(f"来源 sources：索引中没有编号为 {doc_id} 的公开文件")
        meta = record.meta
        if str(meta.status) in OUTDATED:
            raise Invalid(f"来源 sources：《{meta.title}》{meta.status}，不能作为依据")
        if article is None:
            continue
        chunks = [c for c in index.chunks if c.doc_id == doc_id]
        if not any(article in c.section or c.text.startswith(article) for c in chunks):
            raise Invalid(f"来源 sources：《{meta.title}》中没有“{article}”，请核对条款")


def similar_questions(answerer: Answerer | None, draft: FaqDraft, *, own_id: str) -> list[str]:
    """For each question of the draft that the FAQ matcher would answer with another pair:
    which pair (a warning, not a refusal)."""
    if answerer is None:
        return []
    found: list[str] = []
    for text in (draft.question, *draft.variants):
        result = answerer.faqs.match(prepare(text, answerer.encode), limit=3)
        if result.confidence < ACCEPT:
            continue
        for hit in result.hits[:1]:
            if hit.entry.id != own_id:
                found.append(
                    f"“{text}”与问答 {hit.entry.id}「{hit.entry.question}」相近，"
                    "容易混淆，请合并或改写"
                )
    return found
