"""The HTTP application: health, the platforms' callbacks (WeChat's PUBLISHJOBFINISH), and the
routers of orchestrator.web — the REST API (/api/v1, web.v1), the console pages and /metrics.

Only sign-in, /healthz and the platforms' signed callbacks answer without a session or token."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError

from channels.errors import ChannelError
from orchestrator.errors import SanshenError, Unauthenticated
from orchestrator.web import (
    metrics,
    pages,
    pages_calendar,
    pages_manual,
    pages_me,
    pages_reports,
    pages_work,
    v1,
)
from orchestrator.web.deps import Who, publisher
from orchestrator.web.headers import SecurityHeaders
from orchestrator.web.limits import BodyLimit
from orchestrator.web.refusals import (
    STATUS_BY_ERROR,
    ApiRoute,
    answer_other_methods,
    media,
    refusals,
    validation_refusal,
)

# The schema needs a session or token like everything else; Swagger UI is off (it loads its
# scripts from a CDN, and these machines have no internet).
api = FastAPI(title="三审发布", version="0.1.0", openapi_url=None, docs_url=None, redoc_url=None)
api.router.route_class = ApiRoute
api.add_middleware(BodyLimit)
api.add_middleware(SecurityHeaders)  # added last, so outermost: 413s carry the headers too


@api.exception_handler(DataError)
async def _out_of_range(_request: Request, error: DataError) -> JSONResponse:
    """A value the database cannot hold (an id past PostgreSQL's integer range, a NUL in
    text where no schema stopped it first, as on console forms): bad input."""
    if "NUL" in str(error.orig):
        body = {"error": "invalid_text", "message": "输入的文字含有空字符（U+0000），无法保存"}
    else:
        body = {"error": "value_out_of_range", "message": "输入的数值超出允许范围（如编号过大）"}
    return JSONResponse(body, status_code=422)


@api.exception_handler(RequestValidationError)
async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
    """Bad input on routes outside /api/v1 (reports, console pages): the same error body."""
    return validation_refusal(error)


def wants_page(request: Request) -> bool:
    """A browser navigating to a page (not the API, not htmx) is sent to the sign-in page."""
    return (
        not request.url.path.startswith("/api/")
        and "text/html" in request.headers.get("accept", "")
        and "hx-request" not in request.headers
    )


@api.exception_handler(SanshenError)
async def _refusal(request: Request, error: SanshenError) -> Response:
    if isinstance(error, Unauthenticated) and wants_page(request):
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # Its query too (a filtered board), encoded so it stays one parameter.
        return RedirectResponse(f"/login?next={quote(wanted, safe='/')}", status_code=303)
    status = next(
        (
            code
            for cls in type(error).__mro__
            if (code := STATUS_BY_ERROR.get(getattr(cls, "code", ""))) is not None
        ),
        400,
    )
    return JSONResponse(error.as_dict(), status_code=status)


for module in (
    v1,
    pages,
    pages_work,
    pages_manual,
    pages_me,
    pages_calendar,
    pages_reports,
    metrics,
):
    api.include_router(module.router)


@api.get("/openapi.json", include_in_schema=False)
def openapi_schema(_who: Who) -> dict[str, Any]:
    return api.openapi()


@api.get("/healthz")
def health() -> dict[str, Any]:
    return {"status": "ok"}


# 403: not signed by WeChat; 503: the WeChat channel has no settings here.
@api.get(
    "/callbacks/wechat",
    response_class=Response,
    responses={**media("text/plain", description="echostr"), **refusals(403, 503)},
)
def wechat_verify(request: Request) -> Response:
    """WeChat checks the server URL once with a signed echostr."""
    adapter: Any = publisher().hub.get("wechat")
    try:
        return PlainTextResponse(adapter.verify_url(dict(request.query_params)))
    except ChannelError as error:
        return JSONResponse({"error": error.code, "message": error.message}, status_code=403)


# 404: a result for a publish id we never sent.
@api.post(
    "/callbacks/wechat",
    response_class=Response,
    responses={**media("text/plain", description="success"), **refusals(403, 404, 503)},
)
async def wechat_event(request: Request) -> Response:
    """A signed event; a publish result settles the publication. Anything unsigned: 403."""
    body = await request.body()
    p = publisher()
    adapter: Any = p.hub.get("wechat")
    try:
        job = adapter.parse_callback(dict(request.query_params), body)
    except ChannelError as error:
        return JSONResponse({"error": error.code, "message": error.message}, status_code=403)
    if job is None:
        return PlainTextResponse("success")
    p.apply_status("wechat", job.publish_id, job.status)  # unknown publish id: 404
    return PlainTextResponse("success")


answer_other_methods(api.router)
