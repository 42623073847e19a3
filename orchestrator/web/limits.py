"""The request size limit, one for the API and the console's forms (SANSHEN_UPLOAD_MAX_MB).

A declared Content-Length past the limit is refused before anything is read; a body without
one is counted as it arrives and cut off at the limit, whatever the route was doing with it.
The API gets the error body, a page gets the same sentence as a page.
"""

from __future__ import annotations

from html import escape

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from orchestrator.web.deps import get_app
from orchestrator.web.middleware import HttpMiddleware


class BodyTooLarge(Exception):
    """Raised into the route that reads past the limit; the middleware answers 413."""


def too_large(path: str, size: int, limit: int) -> Response:
    message = (
        f"请求内容过大（{size / 1024 / 1024:.1f} MB），上限为 {limit // 1024 // 1024} MB；"
        "请压缩图片后重试"
    )
    if path.startswith("/api/"):
        return JSONResponse({"error": "body_too_large", "message": message}, status_code=413)
    page = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>上传内容过大</title>'
        f'<p role="alert">{escape(message)}</p><p><a href="/">返回首页</a></p>'
    )
    return HTMLResponse(page, status_code=413)


class BodyLimit(HttpMiddleware):
    """ASGI middleware: 413 for a request body past the configured limit."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = get_app().settings.upload_max_mb * 1024 * 1024
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await too_large(scope["path"], int(declared), limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge
            return message

        async def unless_cut_off(message: Message) -> None:
            nonlocal started
            if received > limit:
                return  # whatever the route made of the cut-off body: ours goes out instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, unless_cut_off)
        except BodyTooLarge:
            pass
        except Exception:
            if received <= limit:
                raise
        if received > limit and not started:
            await too_large(scope["path"], received, limit)(scope, receive, send)
