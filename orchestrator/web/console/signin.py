"""Signing in and out of the console, and where a person starts once signed in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gate.model import STAGE_ORDER
from orchestrator.errors import Unauthenticated
from orchestrator.web import auth
from orchestrator.web.console.common import FormText, Who
from orchestrator.web.deps import get_app
from orchestrator.web.templating import load_me, templates

router = APIRouter(include_in_schema=False)


def local_path(target: str | None) -> str | None:
    """Only a path on this site: never another host (//evil, /\\evil, https://…). Browsers
    drop tabs and newlines from a URL and read a backslash as a slash, so neither may appear."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(c == "\\" or ord(c) < 0x20 for c in target):
        return None
    return target


def _login_form(
    request: Request, *, username: str = "", error: str = "", next_: str = "", status: int = 200
) -> HTMLResponse:
    token = auth.login_csrf_token(request.cookies.get(auth.LOGIN_CSRF_COOKIE))
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "me": None,
            "csrf_token": "",
            "login_csrf": token,
            "flash": None,
            "username": username,
            "error": error,
            "next": local_path(next_) or "",
        },
        status_code=status,
    )
    response.set_cookie(
        auth.LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=get_app().settings.cookie_secure,
        max_age=24 * 3600,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "") -> HTMLResponse:
    return _login_form(request, next_=next)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    app = get_app()
    if not auth.login_csrf_ok(request.cookies.get(auth.LOGIN_CSRF_COOKIE), csrf_token):
        return _login_form(
            request,
            username=username,
            error="登录页面已失效或来源不明（CSRF 校验失败），请刷新页面后重新登录",
            next_=next,
            status=403,
        )
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
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
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
