"""The FAQ curation pages under ``/admin/faq``: list and search, the edit form (prefilled from
``question``, ``answer`` and ``ticket`` when opened from the analytics or a closed ticket), the
history with restore, and the review page with the diff against the published version."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.faqs import quality, uploads, workflow
from service.faqs.rules import CATEGORIES, STATES, FaqDraft, format_sources, parse_sources
from service.problems import Invalid, Problem
from service.routes.admin_pages import page
from service.routes.staff_auth import CuratorDep, EditorDep, ReviewerDep, WriterDep, client_of
from service.routes.staff_faq import (
    act,
    answerer_of,
    create_draft,
    in_session,
    request_retirement,
    save_draft,
)
from service.routes.staff_faq_files import run_import
from service.staff.accounts import Staff

router = APIRouter(prefix="/admin/faq", include_in_schema=False)
LIST_STATES = {
    "": "全部",
    "draft": "有草稿",
    "in_review": "待审核",
    "returned": "已退回",
    "flagged": "需复核",
    "retired": "已下线",
}


def _page(request: Request, name: str, title: str, staff: Staff, **context: Any) -> Response:
    return page(request, name, title, staff, categories=CATEGORIES, states=STATES, **context)


@router.get("", response_class=HTMLResponse)
async def faq_list(
    request: Request, staff: CuratorDep, q: str = "", state: str = "", category: str = ""
) -> Response:
    text = q.strip()[:100]
    items = await anyio.to_thread.run_sync(
        lambda: in_session(
            request, lambda db: workflow.list_items(db, text=text, state=state, category=category)
        )
    )
    return _page(
        request,
        "faq_list",
        "问答维护",
        staff,
        items=items,
        q=text,
        state=state,
        category=category,
        list_states=LIST_STATES,
    )


def _form_values(
    question: str = "",
    answer: str = "",
    category: str = "",
    variants: str = "",
    sources: str = "",
    effective_on: str = "",
    expires_on: str = "",
    ticket: str = "",
    faq_id: str = "",
) -> dict[str, str]:
    return {
        "id": faq_id,
        "question": question,
        "answer": answer,
        "category": category,
        "variants": variants,
        "sources": sources,
        "effective_on": effective_on,
        "expires_on": expires_on,
        "ticket": ticket,
    }


@router.get("/new", response_class=HTMLResponse)
async def new_form(
    request: Request, staff: EditorDep, question: str = "", answer: str = "", ticket: str = ""
) -> Response:
    values = _form_values(question=question[:200], answer=answer[:5000], ticket=ticket[:64])
    return _page(request, "faq_edit", "新建问答", staff, values=values, faq=None)


def _draft(values: dict[str, str]) -> FaqDraft:
    def day(name: str, label: str) -> date | None:
        return workflow.parse_date(values[name], name, label)

    return FaqDraft(
        question=values["question"],
        answer=values["answer"],
        category=values["category"],
        variants=tuple(line for line in values["variants"].splitlines() if line.strip()),
        sources=parse_sources(values["sources"]),
        effective_on=day("effective_on", "生效日期"),
        expires_on=day("expires_on", "失效日期"),
        ticket_id=values["ticket"] or None,
    )


Text = Annotated[str, Form(max_length=5000)]


@router.post("/new")
async def create(
    request: Request,
    staff: EditorDep,
    faq_id: Annotated[str, Form(alias="id", max_length=64)] = "",
    question: Text = "",
    answer: Text = "",
    category: Text = "",
    variants: Text = "",
    sources: Text = "",
    effective_on: Text = "",
    expires_on: Text = "",
    ticket: Text = "",
) -> Response:
    values = _form_values(
        question, answer, category, variants, sources, effective_on, expires_on, ticket, faq_id
    )
    try:
        await anyio.to_thread.run_sync(lambda: create_draft(request, staff, faq_id, _draft(values)))
    except Invalid as exc:
        response = _page(
            request, "faq_edit", "新建问答", staff, values=values, faq=None, error=exc.message
        )
        response.status_code = exc.status
        return response
    return RedirectResponse(f"/admin/faq/{faq_id.strip()}", status_code=303)


@router.get("/versions/{version_id}", response_class=HTMLResponse)
async def review_page(request: Request, version_id: int, staff: CuratorDep) -> Response:
    def work() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return in_session(
            request, lambda db: (workflow.version(db, version_id), workflow.diff(db, version_id))
        )

    version, diff = await anyio.to_thread.run_sync(work)
    return _page(
        request, "faq_review", f"审核问答 {version['faq_id']}", staff, v=version, diff=diff
    )


def _back(version: dict[str, Any]) -> Response:
    return RedirectResponse(f"/admin/faq/{version['faq_id']}", status_code=303)


@router.post("/versions/{version_id}/submit")
async def submit(request: Request, version_id: int, staff: EditorDep) -> Response:
    return _back(await anyio.to_thread.run_sync(lambda: act(request, staff, "submit", version_id)))


@router.post("/versions/{version_id}/approve")
async def approve(request: Request, version_id: int, staff: ReviewerDep) -> Response:
    return _back(await anyio.to_thread.run_sync(lambda: act(request, staff, "approve", version_id)))


@router.post("/versions/{version_id}/return")
async def send_back(
    request: Request,
    version_id: int,
    staff: ReviewerDep,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _back(
        await anyio.to_thread.run_sync(lambda: act(request, staff, "return", version_id, comment))
    )


@router.post("/versions/{version_id}/restore")
async def restore(request: Request, version_id: int, staff: EditorDep) -> Response:
    return _back(await anyio.to_thread.run_sync(lambda: act(request, staff, "restore", version_id)))


@router.get("/import", response_class=HTMLResponse)
async def import_form(request: Request, staff: EditorDep) -> Response:
    return _page(request, "faq_import", "导入与导出问答", staff, result=None)


@router.post("/import")
async def import_file(
    request: Request,
    staff: EditorDep,
    file: Annotated[UploadFile, File()],
    good_rows: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        result = await run_import(request, staff, file, good_rows == "on")
    except uploads.ImportRefused as exc:
        response = _page(
            request,
            "faq_import",
            "导入与导出问答",
            staff,
            result=exc.result,
            error=exc.message,
        )
        response.status_code = exc.status
        return response
    except Invalid as exc:
        response = _page(
            request, "faq_import", "导入与导出问答", staff, result=None, error=exc.message
        )
        response.status_code = exc.status
        return response
    return _page(request, "faq_import", "导入与导出问答", staff, result=result)


@router.get("/{faq_id}", response_class=HTMLResponse)
async def history_page(request: Request, faq_id: str, staff: CuratorDep) -> Response:
    body = await anyio.to_thread.run_sync(
        lambda: in_session(request, lambda db: workflow.history(db, faq_id))
    )
    warnings: list[str] = []
    pending = body["pending"]
    if pending and pending["state"] in ("draft", "in_review"):  # not for a retirement
        draft = FaqDraft(
            question=pending["question"],
            answer=pending["answer"],
            category=pending["category"],
            variants=tuple(pending["variants"]),
        )
        warnings = await anyio.to_thread.run_sync(
            lambda: quality.similar_questions(answerer_of(request), draft, own_id=faq_id)
        )
    return _page(request, "faq_history", f"问答 {faq_id}", staff, f=body, warnings=warnings)


@router.get("/{faq_id}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, faq_id: str, staff: EditorDep) -> Response:
    body = await anyio.to_thread.run_sync(
        lambda: in_session(request, lambda db: workflow.history(db, faq_id))
    )
    shown = body["pending"] or body["published"] or body["versions"][0]
    values = _form_values(
        question=shown["question"],
        answer=shown["answer"],
        category=shown["category"],
        variants="\n".join(shown["variants"]),
        sources=format_sources(shown["sources"]),
        effective_on=shown["effective_on"] or "",
        expires_on=shown["expires_on"] or "",
        faq_id=faq_id,
    )
    return _page(request, "faq_edit", f"修改问答 {faq_id}", staff, values=values, faq=body)


@router.post("/{faq_id}/edit")
async def save(
    request: Request,
    faq_id: str,
    staff: EditorDep,
    question: Text = "",
    answer: Text = "",
    category: Text = "",
    variants: Text = "",
    sources: Text = "",
    effective_on: Text = "",
    expires_on: Text = "",
) -> Response:
    values = _form_values(
        question, answer, category, variants, sources, effective_on, expires_on, "", faq_id
    )
    try:
        await anyio.to_thread.run_sync(lambda: save_draft(request, staff, faq_id, _draft(values)))
    except Problem as exc:
        body = await anyio.to_thread.run_sync(
            lambda: in_session(request, lambda db: workflow.history(db, faq_id))
        )
        response = _page(
            request,
            "faq_edit",
            f"修改问答 {faq_id}",
            staff,
            values=values,
            faq=body,
            error=exc.message,
        )
        response.status_code = exc.status
        return response
    return RedirectResponse(f"/admin/faq/{faq_id}", status_code=303)


@router.post("/{faq_id}/retire")
async def retire(request: Request, faq_id: str, staff: WriterDep) -> Response:
    client = client_of(request)
    await anyio.to_thread.run_sync(
        lambda: in_session(
            request, lambda db: request_retirement(db, request, staff, faq_id, client)
        )
    )
    return RedirectResponse(f"/admin/faq/{faq_id}", status_code=303)
