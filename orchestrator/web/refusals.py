"""How the API says no, and how its schema says so.

Every refusal is an `ErrorBody`: a stable English code, a Chinese message. Some come from the
machinery around a handler and are the same for every route of a kind; `ApiRoute` documents
those itself, from the route's shape:

    400  an unreadable body          (a route that takes one; a signed-in change: CSRF reads a form)
    401  no valid session or token   (a route that needs the signed-in person)
    403  the CSRF check failed       (a change made with a browser session)
    413  the body is past the limit  (every route: web.limits answers before any route)
    422  parameters or body invalid  (a route that takes any)

The rest are the handler's own — an unknown id (404), a state that does not allow it (409), a
missing role or a wrong password (403), a channel without its settings (503) — and each route
names them: `responses=refusals(404, 409)`. A route that answers with a file or plain text
says so with `response_class=Response` and `media(...)`: its media types, no JSON schema.

A path answers the methods it does not have with 405 and the full `Allow` (`answer_other_methods`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from orchestrator.web import schemas as s
from orchestrator.web.deps import SAFE_METHODS, principal

Responses = dict[int | str, dict[str, Any]]

MEANINGS = {
    400: "请求无法处理：内容无法解析，或服务无法完成（如平台拒绝、存储缺失）",
    401: "未登录、会话过期或令牌无效",
    403: "无权操作、密码错误、账户已锁定或 CSRF 校验失败",
    404: "对象不存在",
    409: "与当前状态冲突（顺序、重复、审核闸门未通过、存档文件受损）",
    413: "请求内容过大",
    422: "输入有误",
    503: "发布渠道未配置",
}
# Outside /api/ the size limit answers with a page (web.limits).
PAGE_TOO_LARGE = {"description": MEANINGS[413], "content": {"text/html": {}}}


# Each error code's HTTP status; an error class inherits its parent's.
STATUS_BY_ERROR = {
    "not_found": 404,
    "invalid_input": 422,
    "forbidden": 403,
    "unauthenticated": 401,
    "conflict": 409,
    "wrong_password": 403,
    "gate_refused": 409,
    "channel_not_configured": 503,
}


def refusals(*statuses: int) -> Responses:
    """The error answers of these statuses, each the error body, for `responses=`."""
    return {status: {"model": s.ErrorBody, "description": MEANINGS[status]} for status in statuses}


def media(*media_types: str, description: str) -> Responses:
    """The answer is not JSON: these media types, no schema (with `response_class=Response`)."""
    return {200: {"description": description, "content": {t: {} for t in media_types}}}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for inner in dependant.dependencies:
        yield inner
        yield from _dependencies(inner)


def needs_sign_in(route: APIRoute) -> bool:
    return any(d.call is principal for d in _dependencies(route.dependant))


def takes_input(route: APIRoute) -> bool:
    d = route.dependant
    return bool(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
    )


def shape_refusals(route: APIRoute) -> Responses:
    """What the machinery may answer on this route, whatever its handler does."""
    changes = bool(set(route.methods or ()) - SAFE_METHODS)
    signed_in = needs_sign_in(route)
    found = refusals(
        *([400] if route.body_field is not None or (changes and signed_in) else []),
        *([401] if signed_in else []),
        *([403] if changes and signed_in else []),
        413,
        *([422] if takes_input(route) else []),
    )
    if not route.path.startswith("/api/"):
        found[413] = PAGE_TOO_LARGE
    return found


def validation_refusal(exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    body = s.ErrorBody(
        error="bad_json" if malformed else "invalid_input",
        message=("请求内容不是有效的 JSON" if malformed else "请求内容有误：")
        + ("" if malformed else "；".join(_problem(e) for e in errors)),
        details=[
            {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type")} for e in errors
        ],
    )
    return JSONResponse(body.model_dump(), status_code=400 if malformed else 422)


_PROBLEMS = {
    "missing": "缺少此项",
    "extra_forbidden": "不允许的字段",
    "string_too_short": "内容太短或为空",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不符",
    "too_short": "项数太少",
    "too_long": "项数太多",
    "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "json_invalid": "JSON 无法解析",
    "model_attributes_type": "应为对象",
    "dict_type": "应为对象",
    "list_type": "应为数组",
    "timezone_aware": "时间必须带时区",
}


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "请求"
    kind = str(error.get("type", ""))
    if kind == "string_pattern_mismatch" and "\x00" in str(error.get("input", "")):
        return f"{where}：不能含有空字符（U+0000）"
    text = _PROBLEMS.get(kind) or ("类型不符" if kind.endswith("_type") else "取值无效")
    return f"{where}：{text}"


def _unreadable() -> JSONResponse:
    """FastAPI's own 400 for a body it cannot decode (not UTF-8, broken form), in our model."""
    body = s.ErrorBody(error="bad_body", message="请求内容无法解析（应为 UTF-8 编码的 JSON）")
    return JSONResponse(body.model_dump(), status_code=400)


class ApiRoute(APIRoute):
    """Our error model for FastAPI's validation errors, the machinery's refusals in the schema
    (`shape_refusals`), and the handler's own time in X-Process-Time (milliseconds).
    Oversize bodies never get here (web.limits)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # FastAPI reads `responses` while it builds the route, and the shape is known only
        # once it is built: so build it twice.
        super().__init__(path, endpoint, **kwargs)
        kwargs["responses"] = {**shape_refusals(self), **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except RequestValidationError as exc:
                response = validation_refusal(exc)
            except HTTPException as exc:
                if exc.status_code != 400:
                    raise
                response = _unreadable()
            response.headers["X-Process-Time"] = f"{(time.perf_counter() - started) * 1000:.2f}"
            return response

        return route


# --- 405 with the right Allow header --------------------------------------------------------

# QUERY: the IETF's safe method with a body, which clients (and schemathesis) already send.
ALL_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"}
)


def _not_allowed(allowed: list[str]) -> Callable[[], Coroutine[Any, Any, Response]]:
    async def method_not_allowed() -> Response:
        body = s.ErrorBody(
            error="method_not_allowed",
            message=f"此地址不支持该请求方法（可用：{', '.join(allowed)}）",
        )
        return JSONResponse(
            body.model_dump(), status_code=405, headers={"Allow": ", ".join(allowed)}
        )

    return method_not_allowed


def answer_other_methods(router: APIRouter) -> None:
    """Starlette's 405 names only the first route of a path; one path here often has two
    (GET and POST /submissions), so every path answers other methods itself.

    Each answer goes right after its path's last route: before a later route whose template
    also matches the path (GET /archive/verify would otherwise reach GET /archive/{entry_id}),
    after every route of its own."""
    methods: dict[str, set[str]] = {}
    for route in router.routes:
        if isinstance(route, APIRoute):
            methods.setdefault(route.path, set()).update(route.methods or ())
    for path, allowed in methods.items():
        router.add_api_route(
            path.removeprefix(router.prefix),
            _not_allowed(sorted(allowed)),
            methods=sorted(ALL_METHODS - allowed),
            include_in_schema=False,
        )
    answers = router.routes[-len(methods) :]
    ordered = [r for r in router.routes if all(r is not a for a in answers)]
    for answer in answers:
        assert isinstance(answer, APIRoute)
        last = max(
            i for i, r in enumerate(ordered) if isinstance(r, APIRoute) and r.path == answer.path
        )
        ordered.insert(last + 1, answer)
    router.routes[:] = ordered
