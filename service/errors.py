"""Request errors in plain Chinese that name the problem."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

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
    if kind in ("string_type", "string_unicode"):
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
