"""Every state-changing endpoint, tried by every demo role and by nobody.

The routes are read from the application, so a new POST/PUT/PATCH/DELETE under /api/ fails
this file until it has a row here. Who may act comes from the tables the services use
(orchestrator.permissions.PERMISSIONS, the review policy's stage roles, the API's writers):
a person without the role gets 403 with the service's code; a person with it gets past the
check (success, or a refusal that is not about the role); nobody gets 401.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from channels.base import ChannelKind
from gate import DEFAULT_POLICY
from gate.model import ReviewStage, Role
from orchestrator.api import api
from orchestrator.models import Publication, utcnow
from orchestrator.permissions import PERMISSIONS, WRITERS
from orchestrator.services import delegation
from orchestrator.web import auth
from tests.api.conftest import PASSWORDS, Server, create_submission, draft_body, walk

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ANYONE: frozenset[Role] = frozenset(Role)
ROLE_REFUSALS = {"not_permitted", "role_not_held"}
# Rows for routes another module owns; they may not be there in every checkout.
FOREIGN = {("POST", "/api/v1/archive/verify")}


@dataclass(frozen=True)
class Case:
    """One try of a route. `allowed` None: the route needs no sign-in at all."""

    path: Callable[[World, str], str]
    body: Callable[[World, str], dict[str, Any] | None]
    allowed: frozenset[Role] | None
    # What a permitted person gets when the try itself cannot succeed (a wrong password).
    permitted_error: str | None = None


@dataclass
class World:
    server: Server
    fresh: int  # a submission waiting for 初审
    at_usage: int  # one waiting for 稿件用途
    at_sign_off: int  # one waiting for 签发
    own: int  # a scheduled publication on an own platform
    upward: int  # a scheduled upward report
    out: int  # a submission published on an own platform
    delegation: int  # 李军's delegation to 周综, far ahead

    def token_id(self, username: str) -> int:
        with self.server.app.db.session() as session:
            _, row = auth.create_token(session, username, "matrix")
        return row.id


def perm(action: str, kind: ChannelKind) -> frozenset[Role]:
    return PERMISSIONS.get((action, kind), frozenset())


def stage_roles(stage: ReviewStage) -> frozenset[Role]:
    return DEFAULT_POLICY.roles_for(stage)


def fixed(path: str) -> Callable[[World, str], str]:
    return lambda _world, _user: path


def body(value: dict[str, Any] | None) -> Callable[[World, str], dict[str, Any] | None]:
    return lambda _world, _user: value


def wrong_review(stage: str) -> Callable[[World, str], dict[str, Any]]:
    return lambda _w, _u: {"stage": stage, "decision": "approve", "password": "wrong-password"}


REASON = body({"reason": "测试"})
MATRIX: dict[tuple[str, str], list[Case]] = {
    ("POST", "/api/v1/session"): [
        Case(fixed("/session"), lambda _w, u: {"username": u, "password": PASSWORDS[u]}, None)
    ],
    ("DELETE", "/api/v1/session"): [Case(fixed("/session"), body(None), ANYONE)],
    ("POST", "/api/v1/tokens"): [Case(fixed("/tokens"), body({"name": "矩阵"}), ANYONE)],
    ("DELETE", "/api/v1/tokens/{token_id}"): [
        Case(lambda w, u: f"/tokens/{w.token_id(u)}", body(None), ANYONE)
    ],
    ("POST", "/api/v1/manuscripts"): [Case(fixed("/manuscripts"), body(None), WRITERS)],
    ("POST", "/api/v1/submissions"): [
        Case(fixed("/submissions"), lambda _w, _u: draft_body(department="sjgl"), WRITERS)
    ],
    ("POST", "/api/v1/submissions/{submission_id}/versions"): [
        Case(lambda w, _u: f"/submissions/{w.fresh}/versions", lambda _w, _u: draft_body(), WRITERS)
    ],
    ("POST", "/api/v1/submissions/{submission_id}/reviews"): [
        Case(
            lambda w, _u: f"/submissions/{w.fresh}/reviews",
            wrong_review("first"),
            stage_roles(ReviewStage.FIRST),
            permitted_error="wrong_password",
        ),
        Case(
            lambda w, _u: f"/submissions/{w.at_usage}/reviews",
            wrong_review("usage"),
            stage_roles(ReviewStage.USAGE),
            permitted_error="wrong_password",
        ),
        Case(
            lambda w, _u: f"/submissions/{w.at_sign_off}/reviews",
            wrong_review("sign_off"),
            stage_roles(ReviewStage.SIGN_OFF),
            permitted_error="wrong_password",
        ),
    ],
    ("POST", "/api/v1/submissions/{submission_id}/retract"): [
        Case(
            lambda w, _u: f"/submissions/{w.out}/retract", REASON, perm("retract", ChannelKind.OWN)
        )
    ],
    ("POST", "/api/v1/publications/{pub_id}/reschedule"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/reschedule",
            body({"now": True}),
            perm("schedule", ChannelKind.OWN),
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/reschedule",
            body({"now": True}),
            perm("schedule", ChannelKind.UPWARD),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/cancel"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/cancel", REASON, perm("schedule", ChannelKind.OWN)
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/cancel",
            REASON,
            perm("schedule", ChannelKind.UPWARD),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/retract"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/retract", REASON, perm("retract", ChannelKind.OWN)
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/retract",
            REASON,
            perm("retract", ChannelKind.UPWARD),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/retry"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/retry", body({}), perm("retry", ChannelKind.OWN)
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/retry",
            body({}),
            perm("retry", ChannelKind.UPWARD),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/release"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/release",
            body(None),
            perm("release", ChannelKind.OWN),
        )
    ],
    ("POST", "/api/v1/publications/{pub_id}/drop"): [
        Case(lambda w, _u: f"/publications/{w.own}/drop", REASON, perm("release", ChannelKind.OWN)),
    ],
    ("POST", "/api/v1/publications/{pub_id}/confirm"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/confirm",
            body({"url": "https://example.cn/1"}),
            perm("confirm", ChannelKind.OWN),
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/confirm",
            body({"url": "https://example.cn/2"}),
            perm("confirm", ChannelKind.UPWARD),
        ),
    ],
    # 发布核验 and the hand steps of an assisted channel: each permitted person gets as far as
    # the row's state (no page yet, not waiting for a person), never a role refusal
    ("POST", "/api/v1/publications/{pub_id}/verify"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/verify",
            body(None),
            perm("verify", ChannelKind.OWN),
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/verify",
            body(None),
            perm("verify", ChannelKind.UPWARD),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/published-by-hand"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/published-by-hand",
            body({"url": "https://www.shqp.gov.cn/a/2.html", "password": "wrong-password"}),
            perm("publish_by_hand", ChannelKind.OWN),
        ),
        Case(
            lambda w, _u: f"/publications/{w.upward}/published-by-hand",
            body({"url": "https://www.xuexi.cn/a/2.html", "password": "wrong-password"}),
            perm("publish_by_hand", ChannelKind.UPWARD),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/taken-down"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/taken-down",
            body(None),
            perm("retract", ChannelKind.OWN),
        ),
    ],
    ("POST", "/api/v1/publications/{pub_id}/amend-date"): [
        Case(
            lambda w, _u: f"/publications/{w.own}/amend-date",
            lambda _w, _u: {"new_date": "2099-01-01", "password": "wrong-password"},
            stage_roles(ReviewStage.SIGN_OFF),
            permitted_error="wrong_password",  # the 宣传分管领导 gets as far as the key
        )
    ],
    ("POST", "/api/v1/delegations"): [
        Case(
            fixed("/delegations"),
            lambda _w, _u: {
                "deputy": "zhouzh",
                "acting_for": "lijun",
                "role": "section_head",
                "start": "2099-01-01",
                "end": "2099-01-02",
            },
            # the absent person themselves, a 主要领导 or 综合科
            frozenset({Role.SECTION_HEAD, Role.PRINCIPAL_LEADER, Role.GENERAL_OFFICE}),
        )
    ],
    ("POST", "/api/v1/delegations/{delegation_id}/end"): [
        Case(
            lambda w, _u: f"/delegations/{w.delegation}/end",
            body(None),
            frozenset({Role.SECTION_HEAD, Role.PRINCIPAL_LEADER, Role.GENERAL_OFFICE}),
        )
    ],
    # orchestrator/web/api_reports.py: recomputes the archive's hashes, changes nothing.
    ("POST", "/api/v1/archive/verify"): [Case(fixed("/archive/verify"), body(None), ANYONE)],
    ("POST", "/api/v1/upward/{pub_id}/repost"): [
        Case(
            lambda w, _u: f"/upward/{w.upward}/repost", body({}), perm("repost", ChannelKind.UPWARD)
        )
    ],
    ("POST", "/api/v1/upward/{pub_id}/cite"): [
        Case(
            lambda w, _u: f"/upward/{w.upward}/cite", body(None), perm("repost", ChannelKind.UPWARD)
        )
    ],
}


def all_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, through included routers at any depth."""
    found: list[tuple[str, APIRoute]] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append((prefix + route.path, route))
        elif hasattr(route, "original_router"):  # FastAPI's included router
            inner = prefix + getattr(route.include_context, "prefix", "")
            found.extend(all_routes(route.original_router.routes, inner))
    return found


def unsafe_api_routes() -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, route in all_routes(api.routes)
        if path.startswith("/api/") and route.endpoint.__name__ != "method_not_allowed"
        for method in (route.methods or set()) & UNSAFE
    }


def test_every_state_changing_route_is_in_the_matrix() -> None:
    routes = unsafe_api_routes()
    assert routes - set(MATRIX) == set(), "add these routes to MATRIX"
    assert set(MATRIX) - routes - FOREIGN == set(), "these MATRIX rows match no route"


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    fresh = create_submission(server)["id"]
    at_usage = create_submission(server)["id"]
    walk(server, at_usage, until="principal")
    at_sign_off = create_submission(server)["id"]
    walk(server, at_sign_off, until="usage")
    signed = create_submission(server)["id"]
    walk(server, signed)
    out = create_submission(server, channels=("gov_website",))["id"]
    walk(server, out)
    with server.app.db.session() as session:
        rows = session.execute(
            select(Publication.submission_id, Publication.channel, Publication.id).where(
                Publication.submission_id.in_([signed, out])
            )
        ).all()
        by = {(sub_id, channel): pub_id for sub_id, channel, pub_id in rows}
        # Where a worker would have left it: published, with the platform's receipt.
        session.execute(
            update(Publication)
            .where(Publication.id == by[(out, "gov_website")])
            .values(
                state="published",
                external_id="gw-1",
                url="https://www.shqp.gov.cn/a/1.html",
                receipt={
                    "channel": "gov_website",
                    "idempotency_key": "matrix",
                    "external_id": "gw-1",
                    "state": "published",
                    "url": "https://www.shqp.gov.cn/a/1.html",
                    "extra": {},
                },
                published_at=utcnow() - timedelta(minutes=5),
            )
        )
    with server.app.db.session() as session:
        far = utcnow().date() + timedelta(days=3650)
        delegated = delegation.delegate(
            session,
            deputy="zhouzh",
            acting_for="lijun",
            role=Role.SECTION_HEAD,
            start=far,
            end=far,
            actor="lijun",
        ).id
    return World(
        server,
        fresh,
        at_usage,
        at_sign_off,
        by[(signed, "gov_website")],
        by[(signed, "xuexi")],
        out,
        delegated,
    )


def roles_of(server: Server) -> dict[str, set[Role]]:
    people = server.as_("zhouzh").get("/people").json()
    return {
        p["username"]: {Role(r["role"]) for r in p["roles"]}
        for p in people
        if p["username"] in PASSWORDS
    }


def cases() -> list[Any]:
    present = unsafe_api_routes()
    return [
        pytest.param(key, i, id=f"{key[0]} {key[1]} #{i}")
        for key, rows in MATRIX.items()
        if key in present
        for i in range(len(rows))
    ]


@pytest.mark.parametrize(("route", "index"), cases())
def test_role_matrix(world: World, route: tuple[str, str], index: int) -> None:
    method, _template = route
    case = MATRIX[route][index]
    server = world.server
    wrong: list[str] = []
    for username, roles in sorted(roles_of(server).items()):
        reply = server.as_(username).request(
            method, case.path(world, username), json=case.body(world, username)
        )
        error = reply.json().get("error") if reply.status_code >= 400 else None
        if case.allowed is None:
            ok = reply.status_code == 200
        elif roles & case.allowed:
            ok = reply.status_code != 401 and (
                error == case.permitted_error if case.permitted_error else reply.status_code != 403
            )
        else:
            ok = reply.status_code == 403 and error in ROLE_REFUSALS
        if not ok:
            wrong.append(f"{username} ({sorted(roles)}): {reply.status_code} {reply.text[:200]}")
    anonymous = server.client().request(
        method, case.path(world, "wangfang"), json=case.body(world, "wangfang")
    )
    if case.allowed is not None and anonymous.status_code != 401:
        wrong.append(f"nobody: {anonymous.status_code} {anonymous.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_the_matrix_allows_someone_and_refuses_someone(server: Server) -> None:
    """A row whose role set allows everyone or no demo person would test nothing."""
    people = roles_of(server)
    for key, rows in MATRIX.items():
        for case in rows:
            if case.allowed is None or case.allowed == ANYONE:
                continue
            allowed = [u for u, roles in people.items() if roles & case.allowed]
            assert allowed and len(allowed) < len(people), key
