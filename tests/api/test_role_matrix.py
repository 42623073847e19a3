"""Every route under /api/v1, tried by every demo person and by nobody, against the literal
table of tests/api/permissions_table.py (written from the seed, not read from the code).

- The code's own tables (orchestrator.permissions, the review policy's stage roles, the
  delegation grantors) must equal the literal table, key for key.
- Every state-changing route: a person whose role the table allows gets the route's documented
  success status (the 2xx of its operation in the OpenAPI schema), each on a fresh object of
  their own in the state the route acts on, with their real password where one is asked; a
  person without the role gets 403 with a role refusal; nobody signed in gets 401.
- Every GET route: the table's readers get 200, others 403, nobody 401.

The routes are read from the application: a new POST/PUT/PATCH/DELETE or GET under /api/ fails
this file until it has a row here (and, for a GET, in the table). No route under /api/v1 but
POST /session (the sign-in itself) answers without a session or token.
"""

from __future__ import annotations

import io
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import docx
import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from channels.registry import load_channels
from gate import DEFAULT_POLICY
from gate.model import Role
from orchestrator.api import api
from orchestrator.models import Publication
from orchestrator.permissions import PERMISSIONS, WRITERS
from orchestrator.services import delegation
from orchestrator.services.dispatch import move, publication_origin_problem, record_move
from orchestrator.states import QUIET_MOVES, State
from orchestrator.web import auth
from tests.api import permissions_table as table
from tests.api.conftest import (
    PASSWORDS,
    WALK,
    Server,
    create_submission,
    draft_body,
    review,
    today_local,
)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
ROLE_REFUSALS = {"not_permitted", "role_not_held", "role_out_of_scope"}
# Rows for routes another module owns; they may not be there in every checkout.
FOREIGN = {("POST", "/api/v1/archive/verify")}
OWN, UPWARD = table.OWN, table.UPWARD
# 发布核验 fetches a channel's pages from its own hosts only, so a URL recorded by hand must be
# there; the page is then fetched at once (without a network: 无法访问, an answer all the same).
PAGE_HOST = {"gov_website": "www.shqp.gov.cn", "xuexi": "www.xuexi.cn"}


# --- the code's tables against the literal one -----------------------------------------------


def differences(name: str, code: dict[Any, frozenset[str]], literal: dict[Any, Any]) -> list[str]:
    found = [f"{name}{key!r}: only in the code" for key in code.keys() - literal.keys()]
    found += [f"{name}{key!r}: only in the table" for key in literal.keys() - code.keys()]
    found += [
        f"{name}{key!r}: the code grants {sorted(code[key])}, the table {sorted(literal[key])}"
        for key in code.keys() & literal.keys()
        if code[key] != literal[key]
    ]
    return sorted(found)


def values(roles: frozenset[Role]) -> frozenset[str]:
    return frozenset(r.value for r in roles)


def test_the_code_grants_what_the_literal_table_says() -> None:
    actions = {(a, kind.value): values(roles) for (a, kind), roles in PERMISSIONS.items()}
    stages = {stage.value: values(roles) for stage, roles in DEFAULT_POLICY.stage_roles.items()}
    wrong = differences("PERMISSIONS", actions, table.ACTIONS)
    wrong += differences("stage_roles", stages, table.STAGES)
    wrong += differences("WRITERS", {"": values(WRITERS)}, {"": table.WRITERS})
    wrong += differences(
        "delegation.GRANTORS", {"": values(delegation.GRANTORS)}, {"": table.DELEGATION_GRANTORS}
    )
    wrong += differences("Role", {"": frozenset(Role)}, {"": table.ROLES})
    assert not wrong, "\n".join(wrong)


# --- the routes -------------------------------------------------------------------------------


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


def api_routes(methods: set[str]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, route in all_routes(api.routes)
        if path.startswith("/api/") and route.endpoint.__name__ != "method_not_allowed"
        for method in (route.methods or set()) & methods
    }


@cache
def documented() -> dict[tuple[str, str], int]:
    """Each operation's success status, as its OpenAPI schema lists it (exactly one 2xx)."""
    found = {}
    for path, operations in api.openapi()["paths"].items():
        for method, operation in operations.items():
            ok = [int(code) for code in operation["responses"] if code.startswith("2")]
            assert len(ok) == 1, (method, path, ok)
            found[(method.upper(), path)] = ok[0]
    return found


# --- the world: fresh objects, made in one batch -----------------------------------------------


@dataclass
class World:
    server: Server
    people: dict[str, frozenset[str]]  # demo username -> role values
    clients: dict[str, httpx.Client]  # by API token
    anonymous: httpx.Client
    pools: dict[str, list[Any]]
    channel_of: dict[int, str]  # publication id -> channel
    reads: dict[str, Any]  # what the GET routes are asked about

    def take(self, pool: str) -> Any:
        assert self.pools[pool], f"no fresh object left in pool {pool!r}"
        return self.pools[pool].pop(0)

    def token_id(self, username: str) -> int:
        with self.server.app.db.session() as session:
            _, row = auth.create_token(session, username, "matrix")
        return row.id


Obj = Any
Path = Callable[[World, Obj, str], str]
Send = Callable[[World, Obj, str], dict[str, Any]]


def password(username: str) -> str:
    return PASSWORDS.get(username, "no-password")  # nobody signed in: anything will do


def no_body(_w: World, _o: Obj, _u: str) -> dict[str, Any]:
    return {}


def send_json(value: dict[str, Any]) -> Send:
    return lambda _w, _o, _u: {"json": value}


REASON = send_json({"reason": "测试"})


def shanghai_today() -> date:
    return date.fromisoformat(today_local())


@dataclass(frozen=True)
class Case:
    """One try of a route. `allowed`: role values (any one will do), or table.ANY_SIGNED_IN /
    table.NO_SIGN_IN. `pool`: each allowed person takes a fresh object from it (the refused and
    nobody try the first allowed person's object first, while it is in the right state)."""

    allowed: frozenset[str] | str
    path: Path
    send: Send = no_body
    pool: str | None = None
    also: frozenset[str] = frozenset()  # usernames allowed whatever their roles

    def allows(self, username: str, roles: frozenset[str]) -> bool:
        if isinstance(self.allowed, str):
            return True
        return username in self.also or bool(roles & self.allowed)


def on(template: str) -> Path:
    """A path with the object in it: "/publications/{}/retry"."""
    return lambda _w, obj, _u: template.format(obj)


def fixed(path: str) -> Path:
    return lambda _w, _o, _u: path


def reviewing(stage: str) -> Case:
    return Case(
        table.STAGES[stage],
        on("/submissions/{}/reviews"),
        lambda _w, _o, u: {
            "json": {
                "stage": stage,
                "decision": "approve",
                "comment": "同意",
                "password": password(u),
            }
        },
        pool=f"waiting:{stage}",
    )


def publication(action: str, kind: str, verb: str, pool: str, send: Send = no_body) -> Case:
    return Case(table.ACTIONS[(action, kind)], on(f"/publications/{{}}/{verb}"), send, pool)


def published_by_hand(w: World, pub_id: int, u: str) -> dict[str, Any]:
    url = f"https://{PAGE_HOST[w.channel_of[pub_id]]}/a/{pub_id}.html"
    return {"json": {"url": url, "external_id": f"m{pub_id}", "password": password(u)}}


def amended(_w: World, _o: Obj, u: str) -> dict[str, Any]:
    new_date = shanghai_today() + timedelta(days=7)
    return {"json": {"new_date": new_date.isoformat(), "password": password(u)}}


def confirmed(_w: World, pub_id: int, _u: str) -> dict[str, Any]:
    return {"json": {"url": f"https://pages.invalid/confirmed/{pub_id}.html"}}


def delegated(_w: World, day: date, _u: str) -> dict[str, Any]:
    body = {"deputy": "zhouzh", "acting_for": "lijun", "role": "section_head"}
    return {"json": {**body, "start": day.isoformat(), "end": day.isoformat()}}


@cache
def manuscript() -> bytes:
    document = docx.Document()
    document.add_heading("青浦区政务服务“一网通办”再添新功能", level=1)
    document.add_paragraph("近日，青浦区政务服务办公室推出“一网通办”新功能。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def upload(_w: World, _o: Obj, _u: str) -> dict[str, Any]:
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return {"files": {"file": ("稿件.docx", manuscript(), mime)}}


ACCOUNT = table.ACCOUNT
MATRIX: dict[tuple[str, str], list[Case]] = {
    ("POST", "/api/v1/session"): [
        Case(
            ACCOUNT["sign_in"],
            fixed("/session"),
            lambda _w, _o, u: {"json": {"username": u, "password": password(u)}},
        )
    ],
    ("DELETE", "/api/v1/session"): [Case(ACCOUNT["sign_out"], fixed("/session"))],
    ("POST", "/api/v1/tokens"): [
        Case(ACCOUNT["tokens"], fixed("/tokens"), send_json({"name": "矩阵"}))
    ],
    ("DELETE", "/api/v1/tokens/{token_id}"): [
        Case(ACCOUNT["tokens"], lambda w, _o, u: f"/tokens/{w.token_id(u or 'wangfang')}")
    ],
    ("POST", "/api/v1/manuscripts"): [Case(table.WRITERS, fixed("/manuscripts"), upload)],
    ("POST", "/api/v1/submissions"): [
        Case(
            table.WRITERS,
            fixed("/submissions"),
            lambda _w, _o, _u: {"json": draft_body(department="sjgl")},
        )
    ],
    ("POST", "/api/v1/submissions/{submission_id}/versions"): [
        Case(
            table.WRITERS,
            on("/submissions/{}/versions"),
            lambda _w, _o, _u: {"json": draft_body()},
            pool="waiting:first",
        )
    ],
    ("POST", "/api/v1/submissions/{submission_id}/reviews"): [
        reviewing(stage) for stage in table.STAGES
    ],
    # 撤稿 of a whole submission: allowed when the person may retract on one of its channels
    ("POST", "/api/v1/submissions/{submission_id}/retract"): [
        Case(
            table.ACTIONS[("retract", kind)],
            on("/submissions/{}/retract"),
            REASON,
            pool=f"submission:retract_{kind}",
        )
        for kind in (OWN, UPWARD)
    ],
    ("POST", "/api/v1/publications/{pub_id}/reschedule"): [
        publication("schedule", kind, "reschedule", f"{kind}:scheduled", send_json({"now": True}))
        for kind in (OWN, UPWARD)
    ],
    ("POST", "/api/v1/publications/{pub_id}/cancel"): [
        publication("schedule", kind, "cancel", f"{kind}:scheduled", REASON)
        for kind in (OWN, UPWARD)
    ],
    ("POST", "/api/v1/publications/{pub_id}/retract"): [
        publication("retract", kind, "retract", f"{kind}:by_hand", REASON) for kind in (OWN, UPWARD)
    ],
    ("POST", "/api/v1/publications/{pub_id}/retry"): [
        publication("retry", kind, "retry", f"{kind}:failed", send_json({}))
        for kind in (OWN, UPWARD)
    ],
    # upward rows are never held: only the own case can succeed
    ("POST", "/api/v1/publications/{pub_id}/release"): [
        publication("release", OWN, "release", "own:held")
    ],
    ("POST", "/api/v1/publications/{pub_id}/drop"): [
        publication("release", OWN, "drop", "own:held", REASON)
    ],
    ("POST", "/api/v1/publications/{pub_id}/confirm"): [
        publication("confirm", OWN, "confirm", "own:unconfirmed", confirmed),
        publication("confirm", UPWARD, "confirm", "upward:submitted", confirmed),
    ],
    ("POST", "/api/v1/publications/{pub_id}/verify"): [
        publication("verify", kind, "verify", f"{kind}:live") for kind in (OWN, UPWARD)
    ],
    ("POST", "/api/v1/publications/{pub_id}/published-by-hand"): [
        publication(
            "publish_by_hand", kind, "published-by-hand", f"{kind}:manual", published_by_hand
        )
        for kind in (OWN, UPWARD)
    ],
    # the person says the page is down: a step of 撤稿
    ("POST", "/api/v1/publications/{pub_id}/taken-down"): [
        publication("retract", kind, "taken-down", f"{kind}:takedown") for kind in (OWN, UPWARD)
    ],
    ("POST", "/api/v1/publications/{pub_id}/amend-date"): [
        Case(table.AMEND_DATE, on("/publications/{}/amend-date"), amended, pool="own:scheduled")
    ],
    # the absent person themselves (李军, whose 科室负责人 role is delegated), or a grantor
    ("POST", "/api/v1/delegations"): [
        Case(
            table.DELEGATION_GRANTORS,
            fixed("/delegations"),
            delegated,
            pool="window",
            also=frozenset({"lijun"}),
        )
    ],
    ("POST", "/api/v1/delegations/{delegation_id}/end"): [
        Case(
            table.DELEGATION_GRANTORS,
            on("/delegations/{}/end"),
            pool="delegation",
            also=frozenset({"lijun"}),
        )
    ],
    ("POST", "/api/v1/archive/verify"): [Case(ACCOUNT["archive_verify"], fixed("/archive/verify"))],
    ("POST", "/api/v1/upward/{pub_id}/repost"): [
        Case(
            table.ACTIONS[("repost", UPWARD)],
            on("/upward/{}/repost"),
            send_json({}),
            pool="upward:adopted",
        )
    ],
    # the original's repost cites this (another) adoption instead
    ("POST", "/api/v1/upward/{pub_id}/cite"): [
        Case(table.ACTIONS[("repost", UPWARD)], on("/upward/{}/cite"), pool="upward:cite")
    ],
}

# Each GET route as it is asked: the path (with its query) from the world's objects.
READ_TRIES: dict[str, Callable[[World], str]] = {
    "/api/v1/me": lambda _w: "/me",
    "/api/v1/tokens": lambda _w: "/tokens",
    "/api/v1/submissions": lambda _w: "/submissions",
    "/api/v1/submissions/{submission_id}": lambda w: f"/submissions/{w.reads['signed']}",
    "/api/v1/submissions/{submission_id}/versions/{number}": (
        lambda w: f"/submissions/{w.reads['signed']}/versions/1"
    ),
    "/api/v1/submissions/{submission_id}/diff": (
        lambda w: f"/submissions/{w.reads['revised']}/diff?from=1&to=2"
    ),
    "/api/v1/submissions/{submission_id}/gate": lambda w: f"/submissions/{w.reads['signed']}/gate",
    "/api/v1/submissions/{submission_id}/form.pdf": (
        lambda w: f"/submissions/{w.reads['signed']}/form.pdf"
    ),
    "/api/v1/submissions/{submission_id}/form.docx": (
        lambda w: f"/submissions/{w.reads['signed']}/form.docx"
    ),
    "/api/v1/publications": lambda _w: "/publications",
    "/api/v1/publications/{pub_id}": lambda w: f"/publications/{w.reads['publication']}",
    "/api/v1/publications/{pub_id}/verifications": (
        lambda w: f"/publications/{w.reads['publication']}/verifications"
    ),
    "/api/v1/upward/queue": lambda _w: "/upward/queue",
    "/api/v1/calendar": lambda _w: "/calendar",
    "/api/v1/people": lambda _w: "/people",
    "/api/v1/delegations": lambda _w: "/delegations",
    "/api/v1/channels": lambda _w: "/channels",
    "/api/v1/audit/verify": lambda _w: "/audit/verify",
    "/api/v1/archive": lambda _w: "/archive",
    "/api/v1/archive/export": lambda _w: (
        f"/archive/export?from={shanghai_today()}&to={shanghai_today()}"
    ),
    "/api/v1/archive/{entry_id}": lambda w: f"/archive/{w.reads['entry']}",
    "/api/v1/accountability": (
        lambda w: "/accountability?channel={}&url={}".format(*w.reads["live"])
    ),
}


def test_every_route_is_in_the_matrix() -> None:
    unsafe = api_routes(UNSAFE)
    assert unsafe - set(MATRIX) == set(), "add these routes to MATRIX"
    assert set(MATRIX) - unsafe - FOREIGN == set(), "these MATRIX rows match no route"
    reads = {path for _, path in api_routes({"GET"})}
    assert reads - set(table.READS) == set(), "add these routes to permissions_table.READS"
    assert set(table.READS) - reads == set(), "these READS rows match no route"
    assert set(READ_TRIES) == set(table.READS), "READ_TRIES and READS name other routes"


# --- building the world ------------------------------------------------------------------------

FIVE = ("gov_website", "suishenban", "wechat", "xuexi", "lvse_qingpu")
SIGNED_OFF = tuple((stage, who) for stage, who in WALK if stage != "principal")
Cell = str | tuple[str, str | None]
Sub = tuple[tuple[Cell, ...], str | None]


def only(recipe: str) -> Cell:
    """A row that joins no pool: only its submission's case uses it."""
    return (recipe, None)


# Submissions that a case needs whole: 撤稿 of all its channels, a repost of an adoption not yet
# reposted, and the citing of another adoption by an existing repost.
SPECIAL: dict[str, Sub] = {
    # the own rows are out, the upward ones never will be
    "submission:retract_own": (
        (only("by_hand"), only("by_hand"), only("held"), only("scheduled"), only("scheduled")),
        "submission:retract_own",
    ),
    # the upward rows are out, the own ones held for them
    "submission:retract_upward": (
        (only("held"), only("held"), only("held"), only("by_hand"), only("by_hand")),
        "submission:retract_upward",
    ),
    "upward:adopted": (
        (only("held"), only("held"), only("held"), "adopted", only("scheduled")),
        None,
    ),
    # adopted on both; the repost (drafted below) cites 学习强国, 绿色青浦 is cited instead
    "upward:cite": (
        (
            only("held"),
            only("held"),
            only("held"),
            ("adopted", "cited"),
            ("adopted", "upward:cite"),
        ),
        None,
    ),
}
# Signed-off submissions on the five channels, in FIVE's order (the sign-off holds the own rows
# for the upward adoption); each row is then brought where a worker or a person would have left
# it. A cell names a recipe, and the row joins pool "<kind>:<recipe>", or (recipe, pool). The
# second item: the pool the submission itself joins. Made for the table and the demo people of
# today: `layout` adds submissions for what a wider table needs.
LAYOUT: list[Sub] = [
    (("held", "held", "scheduled", "scheduled", "scheduled"), None),
    (("scheduled", "scheduled", "failed", "failed", "failed"), None),
    (("manual", "failed", "unconfirmed", "manual", "by_hand"), None),
    # confirming an upward row drafts the repost, which takes the held rows' place: none here
    (("unconfirmed", "live", "live", "submitted", "submitted"), None),
    (("by_hand", "takedown", only("held"), "live", "live"), None),
    # the upward 学习强国 row is waiting to be taken down: never to be retracted again
    (
        (only("by_hand"), only("by_hand"), only("held"), "takedown", only("scheduled")),
        "submission:retract_own",
    ),
    SPECIAL["submission:retract_upward"],
    SPECIAL["upward:adopted"],
    SPECIAL["upward:cite"],
]


def pool_of(cell: Cell, channel: str) -> tuple[str, str | None]:
    kind = load_channels()[channel].kind.value
    return (cell, f"{kind}:{cell}") if isinstance(cell, str) else cell


def fits(recipe: str, channel: str) -> bool:
    """Rows by hand are on assisted channels; one to be recorded, where its page can be."""
    if recipe == "manual":
        return channel in PAGE_HOST
    return recipe not in ("by_hand", "takedown") or load_channels()[channel].assisted


def layout(need: Counter[str]) -> list[Sub]:
    """LAYOUT, and further submissions for every pool of publications it leaves short."""
    made: Counter[str] = Counter()
    for cells, whole in LAYOUT:
        made.update(p for c, ch in zip(cells, FIVE, strict=True) if (p := pool_of(c, ch)[1]))
        made.update([whole] if whole else [])
    rows = [p for p in need if p in SPECIAL or p.partition(":")[0] in (OWN, UPWARD)]
    short = +Counter({p: need[p] - made[p] for p in rows})
    subs = list(LAYOUT)
    for pool, sub in SPECIAL.items():
        subs += [sub] * short.pop(pool, 0)
    items = {
        kind: [p.partition(":")[2] for p in short.elements() if p.startswith(f"{kind}:")]
        for kind in (OWN, UPWARD)
    }
    while items[OWN] or items[UPWARD]:
        upward: list[Cell] = []
        for channel in FIVE[3:]:  # upward first: an adoption takes the held rows' place
            pick = next((r for r in items[UPWARD] if fits(r, channel)), None)
            upward.append(only("scheduled") if pick is None else pick)
            if pick is not None:
                items[UPWARD].remove(pick)
        adopting = "submitted" in upward
        own: list[Cell] = []
        for channel in FIVE[:3]:
            pick = next(
                (r for r in items[OWN] if fits(r, channel) and not (adopting and r == "held")),
                None,
            )
            own.append(only("scheduled" if adopting else "held") if pick is None else pick)
            if pick is not None:
                items[OWN].remove(pick)
        subs.append(((*own, *upward), None))
    return subs


def page_url(pub_id: int, channel: str) -> str:
    # Not a host 发布核验 fetches pages from for any channel: a check is answered at once, with
    # or without a network.
    return f"https://pages.invalid/{channel}/{pub_id}.html"


Steps = list[tuple[State, dict[str, Any]]]


def recipe(name: str, pub_id: int, channel: str, now: datetime) -> Steps:
    """The moves from 待发布 to the named state, each with the columns it sets."""
    url = page_url(pub_id, channel)
    receipt: dict[str, Any] = {
        "channel": channel,
        "idempotency_key": f"matrix-{pub_id}",
        "external_id": f"x{pub_id}",
        "state": "submitted",
        "url": None,
        "extra": {},
    }
    sent: Steps = [(State.QUEUED, {}), (State.SENDING, {"attempts": 1, "sent_at": now})]
    out: dict[str, Any] = {
        "url": url,
        "external_id": f"x{pub_id}",
        "published_at": now - timedelta(minutes=5),
    }
    manual: Steps = [(State.QUEUED, {}), (State.MANUAL, {"mode": "assisted"})]
    recorded = {"url": url, "external_id": f"x{pub_id}"}  # what a person recorded by hand
    by_hand: Steps = [*manual, (State.PUBLISHED, {**out, "sent_at": now, "receipt": recorded})]
    recipes: dict[str, Steps] = {
        "scheduled": [],
        "failed": [
            *sent,
            (State.FAILED, {"last_error_class": "unavailable", "last_error": "平台暂时不可用"}),
        ],
        "unconfirmed": [*sent, (State.UNCONFIRMED, {"receipt": receipt})],
        "submitted": [*sent, (State.SUBMITTED, {"receipt": receipt, "external_id": f"x{pub_id}"})],
        "live": [*sent, (State.PUBLISHED, {**out, "receipt": {**receipt, "url": url}})],
        "adopted": [*sent, (State.SUBMITTED, {"receipt": receipt}), (State.PUBLISHED, out)],
        "manual": manual,
        "by_hand": by_hand,
        "takedown": [*by_hand, (State.TAKEDOWN, {})],
    }
    return recipes[name]


def bring(session: Any, pub: Publication, name: str, now: datetime) -> None:
    """Move one row as the workers and people do, each move in the audit chain but the quiet
    ones, so the row's state is one the chain vouches for."""
    if name == "held":
        assert pub.state == State.HELD.value, (pub.id, pub.state)
        return
    state = State(pub.state)
    steps = recipe(name, pub.id, pub.channel, now)
    if state is State.HELD:
        steps = [(State.SCHEDULED, {"hold_until": None}), *steps]
    for target, columns in steps:
        assert move(session, pub.id, (state,), target, now=now, **columns), (pub.id, target)
        if (state, target) not in QUIET_MOVES:
            record_move(session, pub.id, f"publication.{target.value}", target, at=now)
        state = target


def roles_of(server: Server) -> dict[str, frozenset[str]]:
    people = server.as_("zhouzh").get("/people").json()
    return {
        p["username"]: frozenset(r["role"] for r in p["roles"])
        for p in people
        if p["username"] in PASSWORDS
    }


def split(case: Case, people: dict[str, frozenset[str]]) -> tuple[list[str], list[str]]:
    allowed = [u for u, roles in sorted(people.items()) if case.allows(u, roles)]
    return allowed, [u for u in sorted(people) if u not in allowed]


def needed(people: dict[str, frozenset[str]]) -> Counter[str]:
    """How many fresh objects each pool must hold: one per allowed person of each case."""
    count: Counter[str] = Counter()
    for rows in MATRIX.values():
        for case in rows:
            if case.pool is not None:
                count[case.pool] += max(1, len(split(case, people)[0]))
    return count


def sign_off(server: Server, count: int, **changes: Any) -> list[int]:
    ids = [create_submission(server, **changes)["id"] for _ in range(count)]
    for stage, username in SIGNED_OFF:
        for submission_id in ids:
            review(server, submission_id, stage, username)
    return ids


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    people = roles_of(server)
    need = needed(people)
    pools: dict[str, list[Any]] = defaultdict(list)

    # Submissions waiting for each stage, walked there by the demo people.
    for i, (stage, _) in enumerate(WALK):
        for _ in range(need[f"waiting:{stage}"]):
            submission_id = create_submission(server)["id"]
            for earlier, username in WALK[:i]:
                review(server, submission_id, earlier, username)
            pools[f"waiting:{stage}"].append(submission_id)

    # Publications in every state a route acts on.
    plan = layout(need)
    subs = sign_off(server, len(plan), channels=FIVE, major_event=False)
    now = datetime.now(UTC)
    channel_of: dict[int, str] = {}
    with server.app.db.session() as session:
        rows = session.scalars(
            select(Publication).where(Publication.submission_id.in_(subs)).order_by(Publication.id)
        ).all()
        by = {(p.submission_id, p.channel): p for p in rows}
        for submission_id, (cells, own_pool) in zip(subs, plan, strict=True):
            for channel, cell in zip(FIVE, cells, strict=True):
                pub = by[(submission_id, channel)]
                name, pool = pool_of(cell, channel)
                bring(session, pub, name, now)
                channel_of[pub.id] = channel
                if pool is not None:
                    pools[pool].append(pub.id)
            if own_pool is not None:
                pools[own_pool].append(submission_id)
    with server.app.db.read() as session:  # states the audit chain vouches for, as if real
        brought = session.scalars(select(Publication).where(Publication.submission_id.in_(subs)))
        forged = {p.id: why for p in brought if (why := publication_origin_problem(session, p))}
    assert not forged, forged
    for cited in pools.pop("cited", []):  # the repost that another adoption may be cited by
        reposted = server.as_("zhouzh").post(f"/upward/{cited}/repost", json={})
        assert reposted.status_code == 201, reposted.text

    # Delegations of 李军's 科室负责人 role to 周综, each on a day of its own, far ahead.
    far = shanghai_today() + timedelta(days=3650)
    days = iter(far + timedelta(days=i) for i in range(1000))
    pools["window"] = [next(days) for _ in range(need["window"])]
    with server.app.db.session() as session:
        for _ in range(need["delegation"]):
            day = next(days)
            row = delegation.delegate(
                session,
                deputy="zhouzh",
                acting_for="lijun",
                role=Role.SECTION_HEAD,
                start=day,
                end=day,
                actor="lijun",
            )
            pools["delegation"].append(row.id)

    short = {p: (n, len(pools[p])) for p, n in need.items() if len(pools[p]) < n}
    assert not short, f"pools with too few fresh objects (needed, made): {short}"

    # What the GET routes read: a signed-off submission, one with two versions, a live row.
    revised = create_submission(server)["id"]
    again = server.as_("wangfang").post(f"/submissions/{revised}/versions", json=draft_body())
    assert again.status_code == 201, again.text
    live = pools["own:live"][0]
    archive = server.as_("zhouzh").get("/archive", params={"submission": subs[0]}).json()
    reads = {
        "signed": subs[0],
        "revised": revised,
        "publication": by[(subs[0], "xuexi")].id,
        "live": (channel_of[live], page_url(live, channel_of[live])),
        "entry": archive["items"][0]["id"],
    }
    return World(
        server,
        people,
        {u: server.as_(u) for u in people},
        server.client(),
        pools,
        channel_of,
        reads,
    )


# --- the tries -----------------------------------------------------------------------------------


def verdict(reply: httpx.Response, want: int | None) -> str | None:
    """None when the reply is right: `want` exactly, or (None) 403 with a role refusal."""
    if want is not None:
        return None if reply.status_code == want else f"wanted {want}"
    error = reply.json().get("error") if reply.status_code == 403 else None
    return None if error in ROLE_REFUSALS else "wanted 403 with a role refusal"


def tries(world: World, method: str, case: Case, success: int) -> list[str]:
    """Every demo person and nobody try the case; what went wrong, in words."""
    allowed, refused = split(case, world.people)
    objects = [world.take(case.pool) if case.pool else None for _ in allowed or [""]]
    signed_in = case.allowed != table.NO_SIGN_IN
    wrong: list[str] = []
    if not isinstance(case.allowed, str) and not (allowed and refused):
        # a role row that allows every demo person, or none, would test nothing
        wrong.append(f"the row allows {allowed or 'nobody'} of the demo people")

    def attempt(username: str, obj: Obj, want: int | None) -> None:
        if not signed_in:  # a client of its own: the sign-in sets its cookie
            client = world.server.client()
        else:
            client = world.clients[username] if username else world.anonymous
        path = case.path(world, obj, username)
        reply = client.request(method, path, **case.send(world, obj, username))
        problem = verdict(reply, want)
        if problem:
            roles = sorted(world.people.get(username, ()))
            who = f"{username} {roles}" if username else "nobody"
            wrong.append(f"{who}: {problem}, got {reply.status_code} {reply.text[:300]}")

    # The refused and nobody first, on an object the first allowed person then acts on: only
    # the role (or the missing sign-in) can stand in their way.
    for username in refused:
        attempt(username, objects[0], None)
    if signed_in:
        attempt("", objects[0], 401)
    for username, obj in zip(allowed, objects, strict=False):
        attempt(username, obj, success)
    return wrong


def reading(path: str) -> Case:
    return Case(table.READS[path], lambda w, _o, _u: READ_TRIES[path](w))


# One test for all the routes of a kind, not one per route: on PostgreSQL every test gets a
# database of its own (tests/conftest.py), half a second each. A failure names every wrong try.
def test_every_state_changing_route_answers_as_the_table_says(world: World) -> None:
    present = api_routes(UNSAFE)
    wrong = [
        f"{method} {path} #{i} {problem}"
        for (method, path), rows in MATRIX.items()
        if (method, path) in present
        for i, case in enumerate(rows)
        for problem in tries(world, method, case, documented()[(method, path)])
    ]
    assert not wrong, "\n".join(wrong)


def test_every_read_answers_as_the_table_says(world: World) -> None:
    wrong = [
        f"GET {path} {problem}"
        for path in sorted(table.READS)
        for problem in tries(world, "GET", reading(path), documented()[("GET", path)])
    ]
    assert not wrong, "\n".join(wrong)
