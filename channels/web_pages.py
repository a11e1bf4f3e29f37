"""The public pages: the bureau's demo home page, a document opened at an article, and a
printable answer. Server-rendered from the loaded index; every value is escaped."""

from __future__ import annotations

import os
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from channels.policy_text import Part, article_anchor, document_parts
from channels.web_html import SITE, esc, page
from indexer.models import Disclosure, DocumentMeta, Kind, Status
from indexer.store import LoadedIndex
from service.citations import apply_note

router = APIRouter(tags=["网页"], default_response_class=HTMLResponse)

HOME_INTERPRETATIONS = 6
HOME_POLICIES = 8
_ARTICLE = re.compile(r"^第[零〇一二三四五六七八九十百千两\d]+条")


def _index(request: Request) -> LoadedIndex | None:
    answerer = getattr(request.app.state.engine, "answerer", None)
    return None if answerer is None else answerer.index


def _html(status: int, title: str, body: str, **kwargs: Any) -> HTMLResponse:
    return HTMLResponse(page(title, body, **kwargs), status_code=status)


def _starting() -> HTMLResponse:
    return _html(
        503, "服务启动中", "<h1>服务正在启动</h1><p>政策文件正在加载，请稍后刷新本页。</p>"
    )


def _not_found(what: str) -> HTMLResponse:
    return _html(404, "未找到", f'<h1>未找到{esc(what)}</h1><p><a href="/">返回首页</a></p>')


def _public(index: LoadedIndex, kind: Kind) -> list[DocumentMeta]:
    metas = [
        r.meta
        for r in index.documents.values()
        if r.meta.kind == kind and r.meta.disclosure == Disclosure.PUBLIC
    ]
    return sorted(metas, key=lambda m: m.issued_on or "", reverse=True)


def _doc_list(metas: list[DocumentMeta]) -> str:
    items = "".join(
        f'<li><a href="/policies/{esc(m.id)}">{esc(m.title)}</a>'
        f'<span class="date">{esc(m.issued_on or "")}</span></li>'
        for m in metas
    )
    return f'<ul class="doc-list">{items}</ul>'


@router.get("/", summary="示例门户首页（带咨询窗口）")
def home(request: Request) -> HTMLResponse:
    index = _index(request)
    if index is None:
        return _starting()
    interpretations = _public(index, Kind.INTERPRETATION)[:HOME_INTERPRETATIONS]
    policies = [m for m in _public(index, Kind.POLICY) if m.is_current][:HOME_POLICIES]
    body = f"""<h1 class="visually-hidden">{SITE}</h1>
<div class="columns">
<section class="column" id="interpretations" aria-labelledby="h-interpretations">
<h2 id="h-interpretations">政策解读</h2>{_doc_list(interpretations)}</section>
<section class="column" id="policies" aria-labelledby="h-policies">
<h2 id="h-policies">政策文件</h2>{_doc_list(policies)}</section>
</div>
<section class="consult" id="consult" aria-labelledby="h-consult">
<h2 id="h-consult">政策咨询综合服务窗口</h2>
<p>对财政预决算、政府采购、税收、会计、社会保险、政务公开等政策有疑问？点击页面右下角的“政策咨询”按钮，
用日常语言提问，系统会给出带文件名称、发文字号和条款出处的回答；需要时可以转人工，由工作人员答复。</p>
</section>"""
    return _html(200, "首页", body)


def _meta_rows(meta: DocumentMeta) -> str:
    rows = [
        ("发文字号", esc(meta.doc_no or "无")),
        ("发布机关", esc(meta.issuer or "")),
        ("发布日期", esc(meta.issued_on or "")),
        ("施行日期", esc(meta.effective_on or "")),
        ("效力状态", esc(meta.status.value)),
        ("公开方式", esc(meta.disclosure.value)),
    ]
    return "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows if v)


def _validity(meta: DocumentMeta, index: LoadedIndex) -> str:
    if meta.status == Status.CURRENT:
        return ""
    newer = index.documents.get(meta.superseded_by or "")
    replaced = (
        f'现行有效的是<a href="/policies/{esc(newer.meta.id)}">《{esc(newer.meta.title)}》</a>。'
        if newer is not None
        else ""
    )
    return (
        f'<p class="validity">注意：本文件状态为{esc(meta.status.value)}，仅供参考。{replaced}</p>'
    )


def _parts_html(parts: list[Part]) -> str:
    out: list[str] = []
    used: set[str] = set()
    previous: tuple[str, ...] = ()
    for part in parts:
        heads, last = part.path[:-1], part.path[-1] if part.path else ""
        common = len(os.path.commonprefix([list(previous[:-1]), list(heads)]))
        for level, head in enumerate(heads[common:], start=common):
            out.append(f"<h{min(2 + level, 4)}>{esc(head)}</h{min(2 + level, 4)}>")
        previous = part.path
        paragraphs = "".join(f"<p>{esc(p)}</p>" for p in part.paragraphs)
        anchor = article_anchor(last)
        ident = ""
        if anchor and anchor not in used:
            used.add(anchor)
            ident = f' id="{esc(anchor)}"'
        if last == "落款":
            out.append(f'<section class="closing">{paragraphs}</section>')
            continue
        first = re.sub(r"\s+", "", part.paragraphs[0]) if part.paragraphs else ""
        in_text = anchor is None or first.startswith(re.sub(r"\s+", "", last))
        level = min(2 + len(heads), 4)
        heading = "" if in_text else f"<h{level}>{esc(last)}</h{level}>"
        kind = "article" if _ARTICLE.match(last) else "part"
        out.append(f'<section class="{kind}"{ident}>{heading}{paragraphs}</section>')
    return "".join(out)


@router.get("/policies/{doc_id}", summary="政策文件全文（仅主动公开）")
def policy(doc_id: str, request: Request) -> HTMLResponse:
    index = _index(request)
    if index is None:
        return _starting()
    record = index.documents.get(doc_id)
    if record is None or record.meta.disclosure not in (Disclosure.PUBLIC, Disclosure.ON_REQUEST):
        return _not_found("该文件")
    meta = record.meta
    head = (
        f'<article class="document"><h1>{esc(meta.title)}</h1>'
        f'<dl class="doc-meta">{_meta_rows(meta)}</dl>{_validity(meta, index)}'
    )
    if meta.disclosure == Disclosure.ON_REQUEST:
        body = (
            f'{head}<section class="apply"><h2>如何申请公开</h2>'
            f"<p>本文件属于依申请公开的政府信息，未在网上主动公开。</p>"
            f"<p>{esc(apply_note(meta))}</p></section></article>"
        )
        return _html(200, meta.title, body)
    parts = document_parts(c for c in index.chunks if c.doc_id == doc_id)
    body = f'{head}<div class="doc-text">{_parts_html(parts)}</div></article>'
    return _html(200, meta.title, body)


async def stored_answer(request: Request, answer_id: str) -> dict[str, Any] | None:
    """One stored answer (AskResponse-like dict, optionally with ``question`` and
    ``created_at``) from the conversations store, when the service has one."""
    conversations = getattr(request.app.state, "conversations", None)
    find = getattr(conversations, "get_answer", None)
    if find is None:
        return None
    found: dict[str, Any] | None = await find(answer_id=answer_id)
    return found


def _source_html(source: dict[str, Any]) -> str:
    anchor = article_anchor(source.get("section"))
    href = f"/policies/{esc(source.get('doc_id'))}" + (f"#{esc(anchor)}" if anchor else "")
    facts = " · ".join(
        esc(x)
        for x in (
            source.get("doc_no"),
            source.get("section"),
            f"{source['issued_on']} 发布" if source.get("issued_on") else None,
            source.get("status"),
        )
        if x
    )
    return (
        f'<li><a href="{href}">《{esc(source.get("title"))}》</a>'
        f'<p class="facts">{facts}</p><blockquote>{esc(source.get("excerpt"))}</blockquote></li>'
    )


@router.get("/answers/{answer_id}", summary="一次完整回答（可打印）")
async def answer(answer_id: str, request: Request) -> HTMLResponse:
    if len(answer_id) > 128:
        return _not_found("该回答")
    found = await stored_answer(request, answer_id)
    if found is None:
        return _not_found("该回答")
    question = (
        f'<p class="question"><strong>问：</strong>{esc(found["question"])}</p>'
        if found.get("question")
        else ""
    )
    text = "".join(f"<p>{esc(p)}</p>" for p in str(found.get("answer", "")).split("\n") if p)
    sources = found.get("sources") or []
    cited = (
        f'<h2>依据</h2><ol class="sources">{"".join(_source_html(s) for s in sources)}</ol>'
        if sources
        else ""
    )
    when = f"，{esc(found['created_at'])}" if found.get("created_at") else ""
    body = (
        f'<article class="answer-page"><h1>{SITE}政策咨询回答</h1>{question}'
        f'<div class="answer"><strong>答：</strong>{text}</div>{cited}'
        f'<p class="answer-id">回答编号 {esc(answer_id)}{when}。本回答依据上列文件自动生成，'
        f"以正式发布的文件为准。</p></article>"
    )
    return _html(200, "政策咨询回答", body, widget=False, printable=True)
