"""The operators' console: sign-in, the status board, one item's story, system health, alerts.

Server-rendered Chinese pages (Jinja2); console.js swaps in fragments such as /board/rows every
few seconds. Every page needs a session (deps.principal); forms carry the session's CSRF token.
"""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gate.model import STAGE_ORDER
from orchestrator.errors import NotFound, Unauthenticated
from orchestrator.web import auth
from orchestrator.web.deps import get_app, principal
from orchestrator.web.templating import STATIC_DIR, load_me, templates

router = APIRouter(include_in_schema=False)
Who = Annotated[auth.Principal, Depends(principal)]
STATIC_FILES = frozenset(p.name for p in STATIC_DIR.iterdir() if p.is_file())


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> Response:
    """The console's own CSS and JS (a fixed list of files: no path ever reaches the disk)."""
    if name not in STATIC_FILES:
        raise NotFound(f"没有静态文件 {name}", code="static_not_found")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(
        (STATIC_DIR / name).read_bytes(),
        media_type=kind + ("; charset=utf-8" if kind.startswith("text/") else ""),
        headers={"Cache-Control": "public, max-age=300"},
    )


# --- signing in and out ---------------------------------------------------------------------


def local_path(target: str | None) -> str | None:
    """Only a path on this site: never another host (//evil, /\\evil, https://…)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    return target


def _login_form(
    request: Request, *, username: str = "", error: str = "", next_: str = "", status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "me": None,
            "csrf_token": "",
            "flash": None,
            "username": username,
            "error": error,
            "next": local_path(next_) or "",
        },
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return _login_form(request, next_=next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    app = get_app()
    if not username.strip() or not password:
        return _login_form(
            request, username=username, error="请输入用户名和密码", next_=next, status=400
        )
    try:
        token, _csrf = auth.attempt_sign_in(app.db, username.strip(), password, app.settings)
    except Unauthenticated as refusal:
        return _login_form(
            request, username=username, error=refusal.message, next_=next, status=401
        )
    response = RedirectResponse(local_path(next) or "/", status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=app.settings.cookie_secure,
        max_age=app.settings.session_max_hours * 3600,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, who: Who) -> Response:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if cookie and who.via == "session":
        with get_app().db.session() as session:
            auth.sign_out(session, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(who: Who) -> Response:
    """Reviewers start at their to-do list, everyone else at the board."""
    policy = get_app().policy
    reviewer_roles = {r.value for stage in STAGE_ORDER for r in policy.roles_for(stage)}
    me = load_me(who)
    return RedirectResponse("/todo" if me.has(*reviewer_roles) else "/board", status_code=303)
