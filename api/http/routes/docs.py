"""/docs (Swagger UI) and /redoc (ReDoc), served whole from this service.

The scripts, styles and favicon are the copies that the `fastapi-offline` package
ships (pinned in uv.lock), so the pages work on a machine without internet. Each
page also carries a Content-Security-Policy that keeps the browser on this origin:
ReDoc's footer would otherwise fetch its vendor's logo from a CDN.
"""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

# Inline script and styles: Swagger UI's page starts it with an inline script, and both
# libraries style themselves inline. ReDoc runs its search in a worker made from a blob.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

router = APIRouter(include_in_schema=False)


def _own_origin_only(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on this service's OpenAPI document."""
    return _own_origin_only(
        get_swagger_ui_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # No validator badge: it sends the document to a public validator.
            swagger_ui_parameters={"validatorUrl": None},
        )
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc on this service's OpenAPI document."""
    return _own_origin_only(
        get_redoc_html(
            openapi_url=request.app.openapi_url,
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
    )


def install(app: FastAPI) -> None:
    """Serve the pages and their assets; the app must be made with docs_url=None, redoc_url=None."""
    app.mount(ASSETS, StaticFiles(directory=_ASSETS_DIR), name="docs-assets")
    app.include_router(router)
