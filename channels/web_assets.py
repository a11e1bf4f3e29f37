"""The widget's script and styles and the pages' stylesheet, served from the package's
``static/`` folder (read once; nothing comes from another origin)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

router = APIRouter(tags=["网页"])

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
WIDGET_FILES = ("widget.js", "widget.css")


@cache
def asset(name: str) -> bytes:
    return files("channels").joinpath("static", name).read_bytes()


def _serve(name: str, *, embeddable: bool) -> Response:
    headers = {"Cache-Control": "public, max-age=300"}
    if embeddable:  # loaded by the pages of other origins that embed the widget
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    suffix = name[name.rfind(".") :]
    return Response(asset(name), media_type=_TYPES[suffix], headers=headers)


@router.get("/widget.js", summary="咨询窗口脚本", response_class=Response)
def widget_js() -> Response:
    return _serve("widget.js", embeddable=True)


@router.get("/widget.css", summary="咨询窗口样式", response_class=Response)
def widget_css() -> Response:
    return _serve("widget.css", embeddable=True)


@router.get("/static/site.css", summary="网页样式", response_class=Response)
def site_css() -> Response:
    return _serve("site.css", embeddable=False)
