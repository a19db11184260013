"""The API's description for signed-in admins only: ``/openapi.json``, ``/docs`` (Swagger UI) and ``/redoc``.

FastAPI serves them to anyone by default; ``create_app`` turns that off and ``harden`` mounts these instead,
behind the same authentication as every route and the admin permission (or nothing at all with
``api.security.docs: false``). The two viewer pages load their script from the CDN FastAPI names, so they carry
their own Content-Security-Policy allowing exactly that."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from shopwatch.api.access.deps import authenticate, require
from shopwatch.core.principal import Permission

CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (
    f"default-src 'none'; script-src {CDN} 'unsafe-inline'; style-src {CDN} https://fonts.googleapis.com "
    "'unsafe-inline'; font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
    f"{CDN}; connect-src 'self'; worker-src blob:; frame-ancestors 'none'; base-uri 'none'"
)


def mount_docs(app: FastAPI) -> None:
    admins = [Depends(authenticate), Depends(require(Permission.ADMIN))]
    router = APIRouter(dependencies=admins, include_in_schema=False)

    @router.get("/openapi.json")
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi(), headers={"Cache-Control": "no-store"})

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} API")
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} API")
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    app.include_router(router)
