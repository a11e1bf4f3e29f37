"""Domain errors (``service.problems``) become HTTP responses here, at the edge: JSON
``{"detail", "errors"}`` for the API; for the staff pages a redirect to the sign-in page or a
short Chinese page."""

from __future__ import annotations

import html

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from service.problems import Problem, Unauthenticated


async def problem_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if request.url.path.startswith("/admin"):
        if isinstance(exc, Unauthenticated):
            return RedirectResponse("/admin/login", status_code=303)
        page = (
            '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>出错了</title>'
            f'<link rel="stylesheet" href="/admin/static/admin.css"><main><h1>无法完成操作</h1>'
            f'<p role="alert">{html.escape(exc.message)}</p><p><a href="/admin">返回工单队列</a>'
            "</p></main></html>"
        )
        return HTMLResponse(page, status_code=exc.status)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return JSONResponse(
        {"detail": exc.message, "errors": []}, status_code=exc.status, headers=headers
    )
