"""FAQ files: upload (.xlsx, .csv, .yaml → drafts) and export of the database in the knowledge
format: ``/api/v1/staff/faq-files``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from service.faqs import uploads
from service.routes.refusals import refusals
from service.routes.staff_auth import CuratorDep, EditorDep, client_of
from service.routes.staff_faq import answerer_of, in_session
from service.schemas import ErrorResponse
from service.staff.accounts import Staff

router = APIRouter(prefix="/api/v1/staff/faq-files", tags=["问答维护"])
# Where FAQ files are uploaded: the body limit there is faq_upload_max_bytes (service/app.py).
FAQ_UPLOAD_PATHS = ("/api/v1/staff/faq-files/import", "/admin/faq/import")
_errors = refusals(401, 403, 413, 422, described={503: "索引未加载，无法核对来源"})


async def run_import(
    request: Request, staff: Staff, file: UploadFile, good_rows: bool
) -> uploads.ImportResult:
    limit: int = request.app.state.settings.faq_upload_max_bytes
    data = await file.read()  # bounded by the body limit of this path (service/app.py)
    answerer, client = answerer_of(request), client_of(request)

    def work() -> uploads.ImportResult:
        result: uploads.ImportResult = in_session(
            request,
            lambda db: uploads.import_upload(
                db,
                data=data,
                filename=file.filename or "",
                good_rows=good_rows,
                answerer=answerer,
                actor=staff,
                client=client,
                max_bytes=limit,
            ),
        )
        return result

    return await anyio.to_thread.run_sync(work)


def result_body(result: uploads.ImportResult) -> dict[str, Any]:
    return {"stored": result.stored, "errors": result.errors, "warnings": result.warnings}


@router.post(
    "/import",
    summary="上传问答文件（每行成为草稿）",
    status_code=201,
    responses={**_errors, 400: {"model": ErrorResponse, "description": "表单无法解析"}},
)
async def import_file(
    request: Request,
    staff: EditorDep,
    file: Annotated[UploadFile, File(description=".xlsx、.csv 或 .yaml")],
    good_rows: Annotated[bool, Form(description="有错误时仍导入无误的行")] = False,
) -> Response:
    try:
        result = await run_import(request, staff, file, good_rows)
    except uploads.ImportRefused as exc:
        body = {
            "detail": exc.message,
            "errors": [
                {"field": f"第{e['row']}行「{e['column']}」", "message": e["reason"]}
                for e in exc.result.errors
            ],
            "rows": exc.result.errors,
        }
        return JSONResponse(body, status_code=422)
    return JSONResponse(result_body(result), status_code=201)


@router.get("/export", summary="导出已发布的问答（知识库格式）", responses=_errors)
async def export_file(staff: CuratorDep, request: Request, format: str = "yaml") -> Response:
    filename, data = await anyio.to_thread.run_sync(
        lambda: in_session(request, lambda db: uploads.export(db, format))
    )
    media = {
        "yaml": "application/yaml",
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }[format]
    disposition = f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
    return Response(data, media_type=media, headers={"Content-Disposition": disposition})
