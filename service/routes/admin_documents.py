"""The document pages under ``/admin/documents``: the list (served and database documents, search
by title or 发文字号), the upload form (a policy and, optionally, its interpretation draft in the
same review), a document's page (metadata, versions, dependents, status change, withholding with
a confirmation step) and the review page (each version's diff and the start of its text)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from indexer.models import Disclosure, Kind, Status
from service.documents import uploads, workflow
from service.documents.rules import STATES as DOC_STATES
from service.documents.rules import check_reason
from service.faqs.rules import STATES as FAQ_STATES
from service.problems import Conflict, Invalid, Problem
from service.routes.admin_pages import page
from service.routes.document_forms import (
    FIELDS,
    INTERPRETATION,
    FieldError,
    chosen_file,
    field_of,
    form_values,
    given,
    interpretation_typed,
    placed,
    read_file,
)
from service.routes.staff_auth import (
    CuratorDep,
    EditorDep,
    ReviewerDep,
    WriterDep,
    client_of,
)
from service.routes.staff_documents import (
    decide,
    in_session,
    served_metas,
    withhold_document,
)
from service.staff.accounts import Staff

router = APIRouter(prefix="/admin/documents", include_in_schema=False)

ORIGINS = {"folder": "知识库文件夹", "database": "上传（数据库）"}  # where the text comes from
KINDS = {Kind.POLICY.value: "政策文件", Kind.INTERPRETATION.value: "政策解读"}
DISCLOSURES = [(d.value, d.value) for d in Disclosure]
STATUSES = [(s.value, s.value) for s in Status]
STATUS_CHANGES = [(Status.REPEALED.value, "已废止"), (Status.EXPIRED.value, "已失效")] + [
    (s.value, s.value) for s in (Status.AMENDED, Status.CURRENT)
]
MAX_TEXT_START = 800
WITHHOLD_REASON = "不予公开的原因 reason"  # as service/documents/workflow.py names it


def _page(request: Request, name: str, title: str, staff: Staff, **context: Any) -> Response:
    return page(
        request,
        name,
        title,
        staff,
        kinds=list(KINDS.items()),
        kinds_map=KINDS,
        disclosures=DISCLOSURES,
        statuses_doc=STATUSES,
        status_changes=STATUS_CHANGES,
        origins=ORIGINS,
        faq_states=FAQ_STATES,
        doc_states=DOC_STATES,
        **context,
    )


def _choices(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The documents an upload may interpret or be replaced by: (id, "title（id）")."""
    return [(r["id"], f"{r.get('title') or r['id']}（{r['id']}）") for r in rows]


def _documents(request: Request) -> list[dict[str, Any]]:
    served = served_metas(request)
    rows: list[dict[str, Any]] = in_session(request, lambda db: workflow.list_documents(db, served))
    return rows


# ---- the list -------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def document_list(request: Request, staff: CuratorDep, q: str = "") -> Response:
    text = q.strip()[:100]
    served = served_metas(request)

    def work(db: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return (
            workflow.list_documents(db, served, text=text),
            workflow.list_reviews(db, served, state="in_review"),
        )

    items, reviews = await anyio.to_thread.run_sync(lambda: in_session(request, work))
    return _page(request, "documents_list", "文件管理", staff, items=items, reviews=reviews, q=text)


# ---- upload ---------------------------------------------------------------------------------------


def _store(
    request: Request,
    staff: Staff,
    values: dict[str, str],
    policy: uploads.DocFile,
    interpretation: uploads.DocFile | None,
) -> str:
    """The policy (and its interpretation) as drafts, submitted as one review when asked; all or
    nothing: one transaction. Returns the policy's id."""
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> str:
        try:
            made = workflow.create(
                db,
                doc_id=values["id"].strip() or None,
                values=given(values),
                file=policy,
                actor=staff,
                client=client,
                served=served,
            )
        except Problem as exc:
            raise placed(exc) from None
        versions = [made.id]
        if interpretation is not None:
            fields = {**given(values, INTERPRETATION), "interprets": made.doc_id}
            fields["kind"] = Kind.INTERPRETATION.value
            try:
                second = workflow.create(
                    db,
                    doc_id=values[INTERPRETATION + "id"].strip() or None,
                    values=fields,
                    file=interpretation,
                    actor=staff,
                    client=client,
                    served=served,
                )
            except Problem as exc:
                raise placed(exc, INTERPRETATION) from None
            versions.append(second.id)
        if values["submit_now"] == "on":
            workflow.submit(db, version_ids=versions, actor=staff, client=client, served=served)
        return made.doc_id

    doc_id: str = in_session(request, work)
    return doc_id


def _upload_limit(request: Request) -> int:
    limit: int = request.app.state.settings.document_upload_max_bytes
    return limit


def _upload_form(
    request: Request, staff: Staff, values: dict[str, str], error: FieldError | None = None
) -> Response:
    response = _page(
        request,
        "documents_new",
        "上传文件",
        staff,
        values=values,
        errors={error.field: error.message} if error and error.field else {},
        error=error.message if error else None,
        documents=_choices(_documents(request)),
        max_mb=f"{_upload_limit(request) / 1048576:g}",
    )
    if error:
        response.status_code = error.status
    return response


@router.get("/new", response_class=HTMLResponse)
async def new_form(request: Request, staff: EditorDep) -> Response:
    values = {"submit_now": "on"}
    return await anyio.to_thread.run_sync(lambda: _upload_form(request, staff, values))


@router.post("/upload")  # a path of DOCUMENT_UPLOAD_PATHS: the upload body limit
async def upload(request: Request, staff: EditorDep) -> Response:
    """A new document (the upload form) or, with ``replace_id``, a change of one (the edit
    form: the metadata, and a new file when one is chosen)."""
    form = await request.form()  # parsed (bounded) once, by the CSRF check; closed here
    values = form_values(form)
    changing = values["replace_id"].strip()
    try:
        if changing:
            doc_id = await _accept_change(request, staff, form, values, changing)
        else:
            doc_id = await _accept_new(request, staff, form, values)
    except FieldError as exc:
        refused = exc
    except Problem as exc:
        refused = placed(exc)
    else:
        return RedirectResponse(f"/admin/documents/{quote(doc_id)}", status_code=303)
    finally:
        await form.close()
    if changing:
        return await anyio.to_thread.run_sync(
            lambda: _edit_form(request, staff, changing, values, refused)
        )
    return await anyio.to_thread.run_sync(lambda: _upload_form(request, staff, values, refused))


async def _accept_new(
    request: Request, staff: Staff, form: FormData, values: dict[str, str]
) -> str:
    """The checked files, then the drafts (and their review) in one transaction."""
    limit = _upload_limit(request)
    policy_file = chosen_file(form, "file")
    if policy_file is None:
        raise FieldError("file", "文件 file：请选择要上传的政策文件", Invalid.status)
    policy = await read_file(policy_file, "file", limit)
    interpretation_file = chosen_file(form, INTERPRETATION + "file")
    interpretation = (
        await read_file(interpretation_file, INTERPRETATION + "file", limit)
        if interpretation_file is not None
        else None
    )
    if interpretation is None and interpretation_typed(values):
        raise FieldError(
            INTERPRETATION + "file",
            "解读文件：填写了解读的信息，但没有选择解读文件",
            Invalid.status,
        )
    doc_id: str = await anyio.to_thread.run_sync(
        lambda: _store(request, staff, values, policy, interpretation)
    )
    return doc_id


async def _accept_change(
    request: Request, staff: Staff, form: FormData, values: dict[str, str], doc_id: str
) -> str:
    """A new draft of ``doc_id`` (submitted when asked), with the new file if one is chosen."""
    chosen = chosen_file(form, "file")
    file = await read_file(chosen, "file", _upload_limit(request)) if chosen else None
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> None:
        try:
            v = workflow.change(
                db,
                doc_id=doc_id,
                values=given(values),
                file=file,
                actor=staff,
                client=client,
                served=served,
            )
        except Problem as exc:
            raise placed(exc) from None
        if values["submit_now"] == "on":
            workflow.submit(db, version_ids=[v.id], actor=staff, client=client, served=served)

    await anyio.to_thread.run_sync(lambda: in_session(request, work))
    return doc_id


def _edit_form(
    request: Request,
    staff: Staff,
    doc_id: str,
    values: dict[str, str] | None = None,
    error: FieldError | None = None,
) -> Response:
    body = _history(request, doc_id)
    if values is None:  # pre-filled: the open draft, else the metadata in force
        pending = body["pending"]
        shown = pending if pending and pending["state"] in ("draft", "returned") else body
        values = {name: shown.get(name) or "" for name in FIELDS}
        values.update(id=doc_id, replace_id=doc_id, submit_now="on")
    response = _page(
        request,
        "documents_edit",
        f"修改文件：{body.get('title') or doc_id}",
        staff,
        d=body,
        values=values,
        errors={error.field: error.message} if error and error.field else {},
        error=error.message if error else None,
        documents=[c for c in _choices(_documents(request)) if c[0] != doc_id],
        max_mb=f"{_upload_limit(request) / 1048576:g}",
    )
    if error:
        response.status_code = error.status
    return response


# ---- reviews --------------------------------------------------------------------------------------


def _review(request: Request, review_id: int) -> dict[str, Any]:
    served = served_metas(request)

    def work(db: Session) -> dict[str, Any]:
        body = workflow.review(db, review_id, served)
        versions = []
        for item in body["items"]:
            v = item["version"]
            text = workflow.version(db, v["id"]).get("text") or ""
            start = text[:MAX_TEXT_START] + ("…" if len(text) > MAX_TEXT_START else "")
            versions.append({**v, "diff": item["diff"], "text_start": start})
        return {**body, "versions": versions}

    result: dict[str, Any] = in_session(request, work)
    return result


@router.get("/reviews/{review_id}", response_class=HTMLResponse)
async def review_page(request: Request, review_id: int, staff: CuratorDep) -> Response:
    body = await anyio.to_thread.run_sync(lambda: _review(request, review_id))
    return _page(request, "documents_review", f"文件审核单 {review_id}", staff, r=body)


@router.post("/reviews/{review_id}/approve")
async def approve(request: Request, review_id: int, staff: ReviewerDep) -> Response:
    await anyio.to_thread.run_sync(lambda: decide(request, staff, review_id, "approve"))
    return RedirectResponse(f"/admin/documents/reviews/{review_id}", status_code=303)


@router.post("/reviews/{review_id}/return")
async def send_back(
    request: Request,
    review_id: int,
    staff: ReviewerDep,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    await anyio.to_thread.run_sync(lambda: decide(request, staff, review_id, "return", comment))
    return RedirectResponse(f"/admin/documents/reviews/{review_id}", status_code=303)


@router.post("/reviews/{review_id}/resubmit")
async def resubmit(request: Request, review_id: int, staff: EditorDep) -> Response:
    """The documents of a returned review submitted again as one review: each one's open draft
    (the returned version, or the draft that changed it since)."""
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> int:
        returned = workflow.review(db, review_id, served)
        if returned["state"] != "returned":
            raise Conflict(f"审核单 {review_id} 的状态是{returned['state_name']}，不能重新提交")
        drafts = [
            workflow.open_version(db, item["version"]["doc_id"]) for item in returned["items"]
        ]
        ids = [v.id for v in drafts if v is not None and v.state in ("draft", "returned")]
        if not ids:
            raise Conflict(f"审核单 {review_id} 中的文件没有待提交的草稿（可能已重新提交）")
        review = workflow.submit(db, version_ids=ids, actor=staff, client=client, served=served)
        return review.id

    new_id = await anyio.to_thread.run_sync(lambda: in_session(request, work))
    return RedirectResponse(f"/admin/documents/reviews/{new_id}", status_code=303)


@router.post("/versions/{version_id}/submit")
async def submit(request: Request, version_id: int, staff: EditorDep) -> Response:
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> int:
        review = workflow.submit(
            db, version_ids=[version_id], actor=staff, client=client, served=served
        )
        return review.id

    review_id = await anyio.to_thread.run_sync(lambda: in_session(request, work))
    return RedirectResponse(f"/admin/documents/reviews/{review_id}", status_code=303)


# ---- one document ---------------------------------------------------------------------------------


def _history(request: Request, doc_id: str) -> dict[str, Any]:
    served = served_metas(request)
    body: dict[str, Any] = in_session(request, lambda db: workflow.history(db, doc_id, served))
    return body


def _document_page(
    request: Request,
    staff: Staff,
    doc_id: str,
    *,
    change: dict[str, str] | None = None,
    error: Problem | None = None,
    flash: str | None = None,
) -> Response:
    body = _history(request, doc_id)
    change_errors = {}
    if error is not None:
        field = field_of(error.message)
        change_errors[field if field in ("status", "superseded_by") else "status"] = error.message
    response = _page(
        request,
        "documents_page",
        body.get("title") or doc_id,
        staff,
        d=body,
        documents=_choices(_documents(request)),
        change=change or {"status": "", "superseded_by": body.get("superseded_by") or ""},
        change_errors=change_errors,
        error=error.message if error else None,
        flash=flash,
    )
    if error is not None:
        response.status_code = error.status
    return response


WITHHELD_NOTICE = "已设为不予公开：索引已重建，市民提问不再引用本文件，含其内容的旧索引版本已删除。"


@router.get("/{doc_id}", response_class=HTMLResponse)
async def document_page(
    request: Request, doc_id: str, staff: CuratorDep, withheld: str = ""
) -> Response:
    flash = WITHHELD_NOTICE if withheld else None
    return await anyio.to_thread.run_sync(
        lambda: _document_page(request, staff, doc_id, flash=flash)
    )


@router.post("/{doc_id}/status")
async def change_status(
    request: Request,
    doc_id: str,
    staff: EditorDep,
    status: Annotated[str, Form(max_length=16)] = "",
    superseded_by: Annotated[str, Form(max_length=200)] = "",
    submit_now: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    served, client = served_metas(request), client_of(request)

    def work(db: Session) -> None:
        v = workflow.change_status(
            db,
            doc_id=doc_id,
            status=status,
            superseded_by=superseded_by.strip() or None,
            actor=staff,
            client=client,
            served=served,
        )
        if submit_now == "on":
            workflow.submit(db, version_ids=[v.id], actor=staff, client=client, served=served)

    try:
        await anyio.to_thread.run_sync(lambda: in_session(request, work))
    except Invalid as exc:
        refused = exc
    else:
        return RedirectResponse(f"/admin/documents/{doc_id}", status_code=303)
    change = {"status": status, "superseded_by": superseded_by}
    return await anyio.to_thread.run_sync(
        lambda: _document_page(request, staff, doc_id, change=change, error=refused)
    )


@router.get("/{doc_id}/edit", response_class=HTMLResponse)
async def edit_form(request: Request, doc_id: str, staff: EditorDep) -> Response:
    return await anyio.to_thread.run_sync(lambda: _edit_form(request, staff, doc_id))


@router.get("/{doc_id}/withhold", response_class=HTMLResponse)
async def withhold_form(request: Request, doc_id: str, staff: WriterDep) -> Response:
    body = await anyio.to_thread.run_sync(lambda: _history(request, doc_id))
    return _page(
        request, "documents_withhold", f"设为不予公开：{body.get('title') or doc_id}", staff, d=body
    )


@router.post("/{doc_id}/withhold")
async def withhold(
    request: Request,
    doc_id: str,
    staff: WriterDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        check_reason(reason, WITHHOLD_REASON)  # before anything else: the form's own field
        await anyio.to_thread.run_sync(lambda: withhold_document(request, staff, doc_id, reason))
    except Invalid as exc:
        refused = exc
    else:
        return RedirectResponse(f"/admin/documents/{doc_id}?withheld=1", status_code=303)
    body = await anyio.to_thread.run_sync(lambda: _history(request, doc_id))
    response = _page(
        request,
        "documents_withhold",
        f"设为不予公开：{body.get('title') or doc_id}",
        staff,
        d=body,
        reason=reason,
        reason_error=refused.message,
    )
    response.status_code = refused.status
    return response
