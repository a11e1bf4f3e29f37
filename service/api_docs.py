"""The interactive API documentation (/docs: Swagger UI, /redoc: ReDoc), served entirely from the
package: a government intranet cannot reach public CDNs or Google Fonts.

The assets in ``service/static`` are copied unchanged from the npm packages ``swagger-ui-dist``
5.35.0 and ``redoc`` 2.5.4 (standalone bundle), with their licence files.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = "/static/docs"
# The pages may load nothing from elsewhere, whatever the bundles contain (ReDoc's sidebar shows
# a logo from cdn.redoc.ly): the browser enforces it. Inline script and styles: FastAPI's page
# starts Swagger UI inline; ReDoc styles inline and runs its search in a blob: worker.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'"
)


def _local_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    return page


def mount_docs(app: FastAPI) -> None:
    """Adds /docs, /redoc and their assets; ``app`` is made with docs_url=None, redoc_url=None."""
    folder = resources.files("service").joinpath("static")
    app.mount(STATIC, StaticFiles(directory=str(folder)), name="docs-static")
    title = f"{app.title} – 接口文档"
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{STATIC}/swagger-ui/favicon-32x32.png"
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    def swagger_ui() -> HTMLResponse:
        return _local_only(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=title,
                swagger_js_url=f"{STATIC}/swagger-ui/swagger-ui-bundle.js",
                swagger_css_url=f"{STATIC}/swagger-ui/swagger-ui.css",
                swagger_favicon_url=favicon,
                oauth2_redirect_url="/docs/oauth2-redirect",
                # No "validator" badge: it would send the schema to validator.swagger.io.
                swagger_ui_parameters={"validatorUrl": None},
            )
        )

    @router.get("/docs/oauth2-redirect")
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        return _local_only(
            get_redoc_html(
                openapi_url=openapi_url,
                title=title,
                redoc_js_url=f"{STATIC}/redoc/redoc.standalone.js",
                redoc_favicon_url=favicon,
                with_google_fonts=False,
            )
        )

    app.include_router(router)
