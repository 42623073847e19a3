"""/api/v1/session, /me and /tokens: signing in and out with a password, the signed-in person,
and the API tokens a person makes for scripts (shown once, kept only as a hash)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import select

from orchestrator import audit
from orchestrator.errors import NotFound
from orchestrator.models import ApiToken
from orchestrator.permissions import person_by_username
from orchestrator.web import auth
from orchestrator.web.deps import RowId, Who, get_app
from orchestrator.web.refusals import ApiRoute, answer_other_methods, refusals
from orchestrator.web.schemas import StrictBody, Text, whole
from orchestrator.web.v1.people import PersonOut, person_out
from orchestrator.web.v1.shared import utc_now

router = APIRouter(prefix="/api/v1", tags=["登录"], route_class=ApiRoute)


class SignIn(StrictBody):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    csrf_token: str
    person: PersonOut


class SignedOut(BaseModel):
    signed_out: bool


class TokenIn(StrictBody):
    name: Text = Field(min_length=1, max_length=100)
    days: Annotated[int, Field(ge=1, le=3650), BeforeValidator(whole)] | None = None


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="只显示这一次，请妥善保存")


class Revoked(BaseModel):
    id: int
    revoked: bool


@router.post("/session", response_model=SessionOut, responses=refusals(401))
def sign_in(body: SignIn, response: Response) -> SessionOut:
    """Sign in with a password: sets the session cookie; send csrf_token back as X-CSRF-Token."""
    app = get_app()
    token, csrf = auth.attempt_sign_in(app.db, body.username, body.password, app.settings)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=app.settings.session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=app.settings.cookie_secure,
    )
    with app.db.read() as session:
        person = person_by_username(session, body.username)
        return SessionOut(csrf_token=csrf, person=person_out(person, utc_now()))


@router.delete("/session", response_model=SignedOut)
def sign_out(request: Request, response: Response, who: Who) -> SignedOut:
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    if who.via == "session" and cookie:
        with get_app().db.session() as session:
            auth.sign_out(session, cookie)
            audit.record(
                session, "session.end", actor=who.username, subject=f"person:{who.username}"
            )
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return SignedOut(signed_out=True)


@router.get("/me", response_model=PersonOut)
def me(who: Who) -> PersonOut:
    with get_app().db.read() as session:
        return person_out(person_by_username(session, who.username), utc_now())


def token_out(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
    }


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_token(body: TokenIn, who: Who) -> NewTokenOut:
    with get_app().db.session() as session:
        token, row = auth.create_token(session, who.username, body.name, days=body.days)
        return NewTokenOut(token=token, **token_out(row))


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(who: Who) -> list[TokenOut]:
    with get_app().db.read() as session:
        rows = session.scalars(
            select(ApiToken).where(ApiToken.person_id == who.person_id).order_by(ApiToken.id)
        )
        return [TokenOut(**token_out(r)) for r in rows]


@router.delete("/tokens/{token_id}", response_model=Revoked, responses=refusals(404))
def revoke_token(token_id: RowId, who: Who) -> Revoked:
    with get_app().db.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None or row.person_id != who.person_id:  # others' tokens do not exist for you
            raise NotFound(f"没有编号为 {token_id} 的令牌", code="token_not_found")
        auth.revoke_token(session, token_id, actor=who.username)
    return Revoked(id=token_id, revoked=True)


answer_other_methods(router)
