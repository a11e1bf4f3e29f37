"""Citations as citizens see them: document title, 发文字号, article or heading path, date,
validity, link and an excerpt of at most 300 characters."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from indexer.models import Chunk, Disclosure, DocumentMeta
from indexer.sentences import MAX_EXCERPT
from indexer.store import DocumentRecord

FLK_HOST = "flk.npc.gov.cn"  # 国家法律法规数据库
FLK_URL = f"https://{FLK_HOST}/"
_POINTS_TO_ANNEX = re.compile(r"所附|附后|附表|附件|《[^《》]*表》")
DEFAULT_APPLY_NOTE = (
    "该文件属于依申请公开的政府信息。如需获取，可向泰安市财政局提出政府信息公开申请"
    "（当面、信函或通过政府信息公开申请平台提交），写明申请人信息和所需信息的名称、文号等内容。"
)


@dataclass(frozen=True)
class Source:
    doc_id: str
    title: str
    doc_no: str | None
    section: str | None
    issued_on: str | None
    status: str
    url: str | None
    excerpt: str


def excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 1] + "…"


def apply_note(meta: DocumentMeta) -> str:
    return meta.apply_note or DEFAULT_APPLY_NOTE


def cite(meta: DocumentMeta, chunk: Chunk | None, *, section: str | None = None) -> Source:
    """A citation of a document; a 依申请公开 document is cited by its metadata and how to apply."""
    if meta.disclosure == Disclosure.ON_REQUEST:
        text, section = apply_note(meta), "依申请公开"
    elif meta.disclosure != Disclosure.PUBLIC:
        raise ValueError(f"document {meta.id} is not public")  # never reaches here: not indexed
    else:
        text = chunk.text if chunk is not None else ""
        section = section or (chunk.section if chunk is not None else None)
    return Source(
        doc_id=meta.id,
        title=meta.title,
        doc_no=meta.doc_no,
        section=section,
        issued_on=meta.issued_on,
        status=meta.status.value,
        url=meta.url,
        excerpt=excerpt(text),
    )


def validity_note(meta: DocumentMeta, replacement: DocumentMeta | None) -> str:
    """Said whenever an answer rests on a document that is no longer current."""
    if replacement is not None:
        return (
            f"注意：《{meta.title}》（{meta.issued_on or '旧版'}）状态为{meta.status.value}，"
            f"现行有效的是《{replacement.title}》（{replacement.issued_on or ''}）。"
        )
    return f"注意：《{meta.title}》状态为{meta.status.value}，以下内容仅供参考。"


def annex_notes(sources: list[Source], documents: Mapping[str, DocumentRecord]) -> str:
    """Said when a cited passage points to an annex or table that its document's text lacks
    (see indexer/annexes.py): the table is not in the knowledge base, and where the official
    text is. One note per document."""
    notes = []
    for doc_id in dict.fromkeys(s.doc_id for s in sources):
        record = documents.get(doc_id)
        if record is None or not record.missing_annexes:
            continue
        excerpts = [s.excerpt for s in sources if s.doc_id == doc_id]
        if not any(
            _POINTS_TO_ANNEX.search(text) or any(name in text for name in record.missing_annexes)
            for text in excerpts
        ):
            continue
        meta = record.meta
        names = "、".join(f"《{name}》" for name in record.missing_annexes)
        if meta.url and FLK_HOST in meta.url:
            where = f"请查阅国家法律法规数据库（{meta.url}）中的官方文本"
        elif meta.url:
            where = f"请查阅官方文本（{meta.url}）"
        else:
            where = f"请查阅该文件的正式文本（法律、行政法规可在国家法律法规数据库 {FLK_URL} 查询）"
        notes.append(f"说明：《{meta.title}》所附{names}未收入本知识库，具体内容{where}。")
    return "".join(notes)
