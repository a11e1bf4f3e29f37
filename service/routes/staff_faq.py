"""FAQ pairs and their versions under review: ``/api/v1/staff/faq``.

Editors write drafts and submit them; reviewers (not the author) publish or return them.
The cited articles are checked against the served index; questions close to another pair's are
named in ``warnings``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from indexer.models import FaqEntry
from service.answering import Answerer
from service.faq_schemas import FaqCreate, FaqDraftIn, ReturnRequest
from service.faqs import quality, workflow
from service.faqs.rules import CATEGORIES, FaqDraft, check_id, clean
from service.faqs.source import seed_if_empty
from service.problems import Invalid
from service.routes.refusals import refusals
from service.routes.staff_auth import (
    CuratorDep,
    EditorDep,
    ReviewerDep,
    WriterDep,
    client_of,
    database,
)
from service.staff.accounts import Staff

router = APIRouter(prefix="/api/v1/staff/faq", tags=["问答维护"])
_errors = refusals(401, 403, 404, 409, 422)
RESERVED_IDS = {"versions", "new", "categories"}


def answerer_of(request: Request) -> Answerer | None:
    answerer: Answerer | None = request.app.state.engine.answerer
    return answerer


def in_session(request: Request, work: Callable[[Session], Any]) -> Any:
    with database(request).session() as db:
        return work(db)


async def run(request: Request, work: Callable[[Session], Any]) -> Any:
    return await anyio.to_thread.run_sync(lambda: in_session(request, work))


def checked(request: Request, draft: FaqDraft, faq_id: str) -> tuple[FaqDraft, list[str]]:
    """The cleaned draft (refused when a cited article does not exist) and its warnings."""
    draft = clean(draft)
    answerer = answerer_of(request)
    quality.check_sources(answerer, draft)
    return draft, quality.similar_questions(answerer, draft, own_id=faq_id)


# ---- the operations, shared with the /admin pages (service/routes/admin_faq.py) -----------------


def create_draft(
    request: Request, staff: Staff, faq_id: str, draft: FaqDraft
) -> tuple[dict[str, Any], list[str]]:
    faq_id = check_id(faq_id)
    if faq_id in RESERVED_IDS:
        raise Invalid(f"编号 id：“{faq_id}”是保留字，请换一个编号")
    draft, warnings = checked(request, draft, faq_id)
    client = client_of(request)
    version = in_session(
        request,
        lambda db: workflow.version_out(
            workflow.create(db, faq_id=faq_id, draft=draft, actor=staff, client=client)
        ),
    )
    return version, warnings


def save_draft(
    request: Request, staff: Staff, faq_id: str, draft: FaqDraft
) -> tuple[dict[str, Any], list[str]]:
    draft, warnings = checked(request, draft, faq_id)
    client = client_of(request)
    version = in_session(
        request,
        lambda db: workflow.version_out(
            workflow.save(db, faq_id=faq_id, draft=draft, actor=staff, client=client)
        ),
    )
    return version, warnings


def served_faqs(request: Request) -> list[FaqEntry]:
    answerer = answerer_of(request)
    return list(answerer.index.faqs.values()) if answerer is not None else []


def act(request: Request, staff: Staff, action: str, version_id: int, comment: str = "") -> Any:
    client = client_of(request)
    served = served_faqs(request) if action == "approve" else []

    def work(db: Session) -> dict[str, Any]:
        seed_if_empty(db, served)
        if action == "return":
            v = workflow.send_back(
                db, version_id=version_id, actor=staff, comment=comment, client=client
            )
        else:
            operation = {
                "submit": workflow.submit,
                "approve": workflow.approve,
                "restore": workflow.restore,
            }[action]
            v = operation(db, version_id=version_id, actor=staff, client=client)
        return workflow.version_out(v)

    return in_session(request, work)


def request_retirement(
    db: Session, request: Request, staff: Staff, faq_id: str, client: str
) -> dict[str, Any]:
    seed_if_empty(db, served_faqs(request))
    v = workflow.request_retirement(db, faq_id=faq_id, actor=staff, client=client)
    return workflow.version_out(v)


# ---- routes --------------------------------------------------------------------------------------


@router.get("", summary="问答列表与搜索", responses=_errors)
async def list_faqs(
    staff: CuratorDep, request: Request, q: str = "", state: str = "", category: str = ""
) -> dict[str, Any]:
    text = q.strip()[:100]
    items = await run(
        request, lambda db: workflow.list_items(db, text=text, state=state, category=category)
    )
    return {"items": items, "categories": list(CATEGORIES)}


@router.post("", summary="新建问答草稿", status_code=201, responses=_errors)
async def create_faq(body: FaqCreate, staff: EditorDep, request: Request) -> dict[str, Any]:
    version, warnings = await anyio.to_thread.run_sync(
        lambda: create_draft(request, staff, body.id, body.draft())
    )
    return {"version": version, "warnings": warnings}


@router.get("/{faq_id}", summary="问答及其全部版本", responses=_errors)
async def faq_history(faq_id: str, staff: CuratorDep, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await run(request, lambda db: workflow.history(db, faq_id))
    return result


@router.put("/{faq_id}", summary="修改问答（生成新的草稿版本）", responses=_errors)
async def save_faq(
    faq_id: str, body: FaqDraftIn, staff: EditorDep, request: Request
) -> dict[str, Any]:
    version, warnings = await anyio.to_thread.run_sync(
        lambda: save_draft(request, staff, faq_id, body.draft())
    )
    return {"version": version, "warnings": warnings}


@router.post(
    "/{faq_id}/retire",
    summary="申请下线问答（由申请人以外的审核员批准后下线）",
    status_code=201,
    responses=_errors,
)
async def retire_faq(faq_id: str, staff: WriterDep, request: Request) -> dict[str, Any]:
    client = client_of(request)
    version: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: in_session(
            request, lambda db: request_retirement(db, request, staff, faq_id, client)
        )
    )
    return {"version": version}


@router.get("/versions/{version_id}", summary="一个版本及其与已发布版本的差异", responses=_errors)
async def faq_version(version_id: int, staff: CuratorDep, request: Request) -> dict[str, Any]:
    def work(db: Session) -> dict[str, Any]:
        return {"version": workflow.version(db, version_id), "diff": workflow.diff(db, version_id)}

    result: dict[str, Any] = await run(request, work)
    return result


@router.post("/versions/{version_id}/submit", summary="提交审核", responses=_errors)
async def submit(version_id: int, staff: EditorDep, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: act(request, staff, "submit", version_id)
    )
    return result


@router.post("/versions/{version_id}/approve", summary="审核通过并发布", responses=_errors)
async def approve(version_id: int, staff: ReviewerDep, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: act(request, staff, "approve", version_id)
    )
    return result


@router.post("/versions/{version_id}/return", summary="退回修改（附意见）", responses=_errors)
async def send_back(
    version_id: int, body: ReturnRequest, staff: ReviewerDep, request: Request
) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: act(request, staff, "return", version_id, body.comment)
    )
    return result


@router.post(
    "/versions/{version_id}/restore", summary="以曾发布的版本为内容新建草稿", responses=_errors
)
async def restore(version_id: int, staff: EditorDep, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: act(request, staff, "restore", version_id)
    )
    return result
