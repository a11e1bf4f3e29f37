"""Policy documents and their reviews: ``/api/v1/staff/documents``.

Editors upload documents (multipart: the file and the metadata form) and change them (metadata
only, or a new file), and submit drafts together as one review; reviewers (never an author of
the review) publish or return it. Editors and reviewers may withhold a document (不予公开) at
once: the index is rebuilt before the answer (service/documents/withholding.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from indexer.models import FaqEntry
from service.document_schemas import (
    CommentRequest,
    DocumentChange,
    ReasonRequest,
    StatusChange,
    SubmitRequest,
)
from service.documents import workflow
from service.documents.uploads import read_upload
from service.documents.withholding import withhold_now
from service.faqs.source import seed_if_empty
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

router = APIRouter(prefix="/api/v1/staff/documents", tags=["文件管理"])
# Where document files are uploaded: the body limit there is document_upload_max_bytes
# (service/app.py); a staff page that uploads documents adds its path here.
DOCUMENT_UPLOAD_PATHS = ("/api/v1/staff/documents/upload", "/admin/documents/upload")
_errors = refusals(401, 403, 404, 409, 422)
_upload_errors = refusals(
    401,
    403,
    404,
    409,
    422,
    described={
        400: "表单无法解析",
        413: "文件超过大小上限",
        415: "文件类型不支持或内容与扩展名不符",
    },
)


# ---- shared with the staff pages ----------------------------------------------------------------


def served_metas(request: Request) -> workflow.ServedIndex:
    """The metadata of the documents the loaded index serves, with its FAQ pairs."""
    answerer = request.app.state.engine.answerer
    if answerer is None:
        return workflow.ServedIndex({})
    return workflow.ServedIndex(answerer.metas, list(answerer.index.faqs.values()))


def served_faqs(request: Request) -> list[FaqEntry]:
    answerer = request.app.state.engine.answerer
    return list(answerer.index.faqs.values()) if answerer is not None else []


def in_session(request: Request, work: Callable[[Session], Any]) -> Any:
    with database(request).session() as db:
        return work(db)


async def run(request: Request, work: Callable[[Session], Any]) -> Any:
    return await anyio.to_thread.run_sync(lambda: in_session(request, work))


def upload_document(
    request: Request,
    staff: Staff,
    *,
    file_name: str,
    data: bytes,
    values: dict[str, Any],
    doc_id: str | None,
    replace_file: bool,
) -> dict[str, Any]:
    """A new document (or, with ``replace_file``, a new file for document ``doc_id``) as a
    draft; nothing is stored when the file or a field is refused."""
    limit: int = request.app.state.settings.document_upload_max_bytes
    file = read_upload(file_name, data, max_bytes=limit)
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> dict[str, Any]:
        if replace_file and doc_id:
            v = workflow.change(
                db,
                doc_id=doc_id,
                values=values,
                file=file,
                actor=staff,
                client=client,
                served=served,
            )
        else:
            v = workflow.create(
                db,
                doc_id=doc_id,
                values=values,
                file=file,
                actor=staff,
                client=client,
                served=served,
            )
        return {
            "version": workflow.version_out(v),
            "dependents": workflow.dependents(db, v.doc_id, served),
        }

    result: dict[str, Any] = in_session(request, work)
    return result


def change_document(
    request: Request, staff: Staff, doc_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> dict[str, Any]:
        v = workflow.change(
            db, doc_id=doc_id, values=values, actor=staff, client=client, served=served
        )
        return {
            "version": workflow.version_out(v),
            "dependents": workflow.dependents(db, doc_id, served),
        }

    result: dict[str, Any] = in_session(request, work)
    return result


def decide(
    request: Request, staff: Staff, review_id: int, action: str, comment: str = ""
) -> dict[str, Any]:
    """``approve`` (publish every version of the review) or ``return`` (with the comment)."""
    served, client, faqs = served_metas(request), client_of(request), served_faqs(request)

    def work(db: Session) -> dict[str, Any]:
        if action == "approve":
            seed_if_empty(db, faqs)  # the served FAQ stay served when this is the first change
            review = workflow.approve(
                db, review_id=review_id, actor=staff, client=client, served=served
            )
        else:
            review = workflow.send_back(
                db, review_id=review_id, actor=staff, comment=comment, client=client
            )
        return workflow.review_out(db, review, served)

    result: dict[str, Any] = in_session(request, work)
    return result


def withhold_document(request: Request, staff: Staff, doc_id: str, reason: str) -> dict[str, Any]:
    done = withhold_now(
        engine=request.app.state.engine,
        database=database(request),
        index_dir=request.app.state.settings.index_dir,
        doc_id=doc_id,
        reason=reason,
        actor=staff,
        client=client_of(request),
    )
    served = served_metas(request)
    dependents = in_session(request, lambda db: workflow.dependents(db, doc_id, served))
    return {
        "version": done.version,
        "index_version": done.index_version,
        "removed_versions": done.removed_versions,
        "dependents": dependents,
    }


# ---- routes --------------------------------------------------------------------------------------


@router.get("", summary="文件列表与搜索", responses=_errors)
async def list_documents(
    staff: CuratorDep, request: Request, q: str = "", status: str = "", state: str = ""
) -> dict[str, Any]:
    served = served_metas(request)
    text = q.strip()[:100]
    items = await run(
        request,
        lambda db: workflow.list_documents(db, served, text=text, status=status, state=state),
    )
    return {"items": items}


@router.post(
    "/upload", summary="上传文件（文件与元数据表单，生成草稿）", status_code=201,
    responses=_upload_errors,
)  # fmt: skip
async def upload(
    request: Request,
    staff: EditorDep,
    file: Annotated[UploadFile, File(description=".docx、.pdf、.md、.txt、.html")],
    disclosure: Annotated[str, Form(max_length=8, description="公开属性（必填）")] = "",
    id: Annotated[str, Form(max_length=200, description="文档编号（默认取文件名）")] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    doc_no: Annotated[str, Form(max_length=100, description="发文字号")] = "",
    issuer: Annotated[str, Form(max_length=200)] = "",
    issued_on: Annotated[str, Form(max_length=10)] = "",
    effective_on: Annotated[str, Form(max_length=10)] = "",
    status: Annotated[str, Form(max_length=8)] = "",
    superseded_by: Annotated[str, Form(max_length=80)] = "",
    interprets: Annotated[str, Form(max_length=80)] = "",
    kind: Annotated[str, Form(max_length=16)] = "",
    category: Annotated[str, Form(max_length=64)] = "",
    apply_note: Annotated[str, Form(max_length=2000)] = "",
    url: Annotated[str, Form(max_length=500)] = "",
    replace_file: Annotated[bool, Form(description="为已有文件 id 上传新文件")] = False,
) -> dict[str, Any]:
    data = await file.read()  # bounded by the body limit of this path (service/app.py)
    values = {
        "disclosure": disclosure,
        "title": title,
        "doc_no": doc_no,
        "issuer": issuer,
        "issued_on": issued_on,
        "effective_on": effective_on,
        "status": status,
        "superseded_by": superseded_by,
        "interprets": interprets,
        "kind": kind,
        "category": category,
        "apply_note": apply_note,
        "url": url,
    }
    if replace_file:  # a change: only the fields given replace the metadata in force
        values = {k: v for k, v in values.items() if v}
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: upload_document(
            request,
            staff,
            file_name=file.filename or "",
            data=data,
            values=values,
            doc_id=id.strip() or None,
            replace_file=replace_file,
        )
    )
    return result


@router.get("/reviews", summary="审核列表", responses=_errors)
async def list_reviews(staff: CuratorDep, request: Request, state: str = "") -> dict[str, Any]:
    served = served_metas(request)
    items = await run(request, lambda db: workflow.list_reviews(db, served, state=state))
    return {"items": items}


@router.post(
    "/reviews", summary="提交审核（一个或多个草稿一起）", status_code=201, responses=_errors
)
async def submit(body: SubmitRequest, staff: EditorDep, request: Request) -> dict[str, Any]:
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> dict[str, Any]:
        review = workflow.submit(
            db, version_ids=body.version_ids, actor=staff, client=client, served=served
        )
        return workflow.review_out(db, review, served)

    result: dict[str, Any] = await run(request, work)
    return result


@router.get(
    "/reviews/{review_id}",
    summary="一次审核：各版本与已发布元数据的差异、相关内容",
    responses=_errors,
)
async def get_review(review_id: int, staff: CuratorDep, request: Request) -> dict[str, Any]:
    served = served_metas(request)
    result: dict[str, Any] = await run(request, lambda db: workflow.review(db, review_id, served))
    return result


@router.post("/reviews/{review_id}/approve", summary="审核通过并一起发布", responses=_errors)
async def approve(review_id: int, staff: ReviewerDep, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: decide(request, staff, review_id, "approve")
    )
    return result


@router.post("/reviews/{review_id}/return", summary="退回修改（附意见）", responses=_errors)
async def send_back(
    review_id: int, body: CommentRequest, staff: ReviewerDep, request: Request
) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: decide(request, staff, review_id, "return", body.comment)
    )
    return result


@router.get("/versions/{version_id}", summary="一个版本（含提取的正文）", responses=_errors)
async def get_version(version_id: int, staff: CuratorDep, request: Request) -> dict[str, Any]:
    result: dict[str, Any] = await run(request, lambda db: workflow.version(db, version_id))
    return result


_MEDIA = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "application/octet-stream",  # never rendered on this origin
    ".htm": "application/octet-stream",
}


@router.get("/versions/{version_id}/file", summary="下载版本的文件", responses=_errors)
async def download(version_id: int, staff: CuratorDep, request: Request) -> Response:
    name, suffix, data = await run(request, lambda db: workflow.file_of(db, version_id))
    disposition = f"attachment; filename=\"file{suffix}\"; filename*=UTF-8''{quote(name)}"
    return Response(
        data,
        media_type=_MEDIA.get(suffix, "application/octet-stream"),
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/{doc_id}", summary="文件：元数据、全部版本、相关问答与解读", responses=_errors)
async def get_document(doc_id: str, staff: CuratorDep, request: Request) -> dict[str, Any]:
    served = served_metas(request)
    result: dict[str, Any] = await run(request, lambda db: workflow.history(db, doc_id, served))
    return result


@router.put("/{doc_id}", summary="修改元数据（生成草稿，不改正文）", responses=_errors)
async def change(
    doc_id: str, body: DocumentChange, staff: EditorDep, request: Request
) -> dict[str, Any]:
    values = body.values()
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: change_document(request, staff, doc_id, values)
    )
    return result


@router.post(
    "/{doc_id}/status", summary="变更效力状态（废止、失效、被替代；生成草稿）", responses=_errors
)
async def change_status(
    doc_id: str, body: StatusChange, staff: EditorDep, request: Request
) -> dict[str, Any]:
    values: dict[str, Any] = {"status": body.status}
    if body.superseded_by is not None:
        values["superseded_by"] = body.superseded_by
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: change_document(request, staff, doc_id, values)
    )
    return result


@router.post(
    "/{doc_id}/withhold",
    summary="设为不予公开：立即从索引撤下（不等待审核，须写明原因）",
    responses=refusals(401, 403, 404, 409, 422, described={503: "索引未能重建"}),
)
async def withhold(
    doc_id: str, body: ReasonRequest, staff: WriterDep, request: Request
) -> dict[str, Any]:
    result: dict[str, Any] = await anyio.to_thread.run_sync(
        lambda: withhold_document(request, staff, doc_id, body.reason)
    )
    return result
