"""Request errors in plain Chinese that name the problem."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

_FIELD_NAMES = {
    "question": "问题（question）",
    "session_id": "会话编号（session_id）",
    "channel": "渠道（channel）",
}


def _message(error: dict[str, Any]) -> tuple[str, str]:
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    field = loc[-1] if loc else ""
    name = _FIELD_NAMES.get(field, field or "请求内容")
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "body", "请求内容不是有效的 JSON"
    if kind == "missing":
        return field, f"缺少{name}"
    if kind == "string_unicode":  # e.g. a lone surrogate ("\ud800") in JSON
        return field, f"{name}含有无效字符（不是完整的 Unicode 字符）"
    if kind == "string_type":
        return field, f"{name}必须是文字"
    if kind == "string_too_long":
        return field, f"{name}过长，最多 {error.get('ctx', {}).get('max_length')} 个字符"
    if kind == "model_attributes_type" or kind == "dict_type":
        return "body", '请求内容应为 JSON 对象，例如 {"question": "…"}'
    if kind == "value_error":
        return field, str(error.get("ctx", {}).get("error", error.get("msg", "")))
    return field, f"{name}无效"


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [_message(e) for e in exc.errors()]
    body = {
        "detail": "；".join(m for _, m in items),
        "errors": [{"field": f, "message": m} for f, m in items],
    }
    return JSONResponse(status_code=422, content=body)


# What the framework says in English, said in Chinese (by status code).
_FRAMEWORK = {
    400: "请求内容无法解析，请发送 UTF-8 编码的 JSON 对象",
    404: "请求的地址不存在",
    405: "不支持该请求方法",
    413: "请求内容过大",
    415: "不支持该内容类型，请发送 JSON",
}


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    """HTTP errors in the ErrorResponse shape; the framework's English texts in Chinese. A body
    that is not UTF-8 (the framework's 400) is invalid JSON, like any other: 422."""
    assert isinstance(exc, HTTPException)
    status, detail = exc.status_code, exc.detail
    if status == 400 and detail == "There was an error parsing the body":
        status, detail = 422, "请求内容不是有效的 JSON（须为 UTF-8 编码）"
    elif not isinstance(detail, str) or detail.isascii():
        detail = _FRAMEWORK.get(status, f"请求无法处理（HTTP {status}）")
    field = "body" if status in (413, 422) else ""
    errors = [{"field": field, "message": detail}] if field else []
    headers = exc.headers
    if status == 405:  # every method of the path, not only the first route's (Starlette's Allow)
        headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(request))}
    return JSONResponse(
        status_code=status, content={"detail": detail, "errors": errors}, headers=headers
    )


def _allowed_methods(request: Request) -> list[str]:
    scope = {**request.scope, "method": "GET"}
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)
