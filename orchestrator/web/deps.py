"""What every request handler shares: the application, the signed-in person, CSRF."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Path, Request

from orchestrator.app import App
from orchestrator.errors import Forbidden, Unauthenticated
from orchestrator.settings import get_settings
from orchestrator.web import auth

if TYPE_CHECKING:
    from orchestrator.services.publishing import Publisher

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# The ids are INTEGER columns: 32 bits on PostgreSQL (64 on SQLite), and past that the driver
# raises. One limit for both, so the schema says the same on either database.
MAX_ROW_ID = 2**31 - 1

# Every id in a path: out of range is bad input (422), not a driver error (500).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="编号")]


@cache
def get_app() -> App:
    return App(get_settings())


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _principal(request: Request) -> auth.Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    app = get_app()
    bearer = _bearer(request)
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if bearer is None and cookie is None:
        raise Unauthenticated("请先登录", code="not_signed_in")
    with app.db.session() as session:
        if bearer is not None:
            found = auth.token_principal(session, bearer)
        else:
            assert cookie is not None
            found = auth.session_principal(session, cookie, app.settings)
    request.state.principal = found
    return found


async def principal(request: Request) -> auth.Principal:
    """The signed-in person; for a state-changing request by a browser session, also the CSRF
    check (header X-CSRF-Token, or the form field csrf_token)."""
    from starlette.concurrency import run_in_threadpool

    found = await run_in_threadpool(_principal, request)
    if request.method not in SAFE_METHODS and found.via == "session":
        presented = request.headers.get(auth.CSRF_HEADER)
        if presented is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            value = (await request.form()).get(auth.CSRF_FIELD)
            presented = value if isinstance(value, str) else None
        if not auth.csrf_ok(found, presented):
            raise Forbidden(
                "表单已失效或来源不明（CSRF 校验失败），请刷新页面后重试", code="csrf_failed"
            )
    return found


# The signed-in person as a handler's parameter (it runs `principal` first).
Who = Annotated[auth.Principal, Depends(principal)]


@cache
def publisher() -> Publisher:
    """The one Publisher of this API process (its channel hub and rate gate on the broker)."""
    from orchestrator.redis_embedded import client
    from orchestrator.services.hub import ChannelHub, RedisRateGate
    from orchestrator.services.publishing import Publisher
    from tasks.app import broker_url
    from tasks.jobs import enqueue

    url = broker_url()
    return Publisher(
        App(get_settings()),
        ChannelHub(redis_url=url),
        RedisRateGate(client(url)),
        enqueue=enqueue,
    )
