"""Sign-in, sessions, CSRF and API tokens, over real HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import nacl.pwhash
import pytest
from sqlalchemy import update

from orchestrator.errors import Unauthenticated
from orchestrator.models import WebSession, utcnow
from orchestrator.web import auth
from tests.api.conftest import IDLE_MINUTES, MAX_FAILURES, PASSWORDS, Server, draft_body


def test_sign_in_sets_a_safe_cookie_and_returns_the_person(server: Server) -> None:
    client = server.client()
    reply = client.post("/session", json={"username": "wuyun", "password": "demo-pass-7"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["person"]["username"] == "wuyun"
    assert body["person"]["roles"] == [{"role": "web_operations", "label": "政府网站运行科"}]
    assert len(body["csrf_token"]) > 20
    cookie = reply.headers["set-cookie"].lower()
    assert "sanshen_session=" in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie.replace("sanshen_session", "")  # off unless configured
    me = client.get("/me")
    assert me.status_code == 200
    assert me.json()["department"] == {"code": "wzyx", "name": "政府网站运行科"}


def test_wrong_password_and_unknown_user_get_the_same_refusal(server: Server) -> None:
    username, _ = server.new_person()
    client = server.client()
    wrong = client.post("/session", json={"username": username, "password": "nope"})
    nobody = client.post("/session", json={"username": "no-such-user", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()
    assert wrong.json()["error"] == "bad_credentials"
    assert "set-cookie" not in wrong.headers


def test_account_locks_after_too_many_failures(server: Server) -> None:
    username, password = server.new_person()
    client = server.client()
    for _ in range(MAX_FAILURES):
        reply = client.post("/session", json={"username": username, "password": "wrong"})
        assert reply.json()["error"] == "bad_credentials"
    locked = client.post("/session", json={"username": username, "password": password})
    assert locked.status_code == 401
    assert locked.json()["error"] == "account_locked"
    assert "锁定" in locked.json()["message"]


def test_one_failure_fewer_than_the_limit_does_not_lock(server: Server) -> None:
    username, password = server.new_person()
    client = server.client()
    for _ in range(MAX_FAILURES - 1):
        client.post("/session", json={"username": username, "password": "wrong"})
    assert (
        client.post("/session", json={"username": username, "password": password}).status_code
        == 200
    )


def test_an_idle_session_expires(server: Server) -> None:
    username, password = server.new_person()
    client, _ = server.signed_in(username, password)
    assert client.get("/me").status_code == 200
    with server.app.db.session() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.person_id == _person_id(server, username))
            .values(last_seen_at=utcnow() - timedelta(minutes=IDLE_MINUTES + 1))
        )
    reply = client.get("/me")
    assert reply.status_code == 401
    assert reply.json()["error"] == "session_expired"


def _person_id(server: Server, username: str) -> int:
    from orchestrator.services.org import person_by_username

    with server.app.db.read() as session:
        return person_by_username(session, username).id


def test_session_changes_need_the_csrf_token(server: Server) -> None:
    client, csrf = server.signed_in("zhengop")
    missing = client.post("/tokens", json={"name": "脚本"})
    forged = client.post("/tokens", json={"name": "脚本"}, headers={"X-CSRF-Token": "x" * 43})
    right = client.post("/tokens", json={"name": "脚本"}, headers={"X-CSRF-Token": csrf})
    assert missing.status_code == forged.status_code == 403
    assert missing.json()["error"] == forged.json()["error"] == "csrf_failed"
    assert right.status_code == 201, right.text


def test_reads_need_no_csrf_token_but_a_sign_in(server: Server) -> None:
    client, _ = server.signed_in("zhengop")
    assert client.get("/publications").status_code == 200
    anonymous = server.client()
    reply = anonymous.get("/publications")
    assert reply.status_code == 401
    assert reply.json()["error"] == "not_signed_in"


def test_bearer_token_works_without_csrf_and_a_revoked_one_is_refused(server: Server) -> None:
    client, csrf = server.signed_in("lijun")
    created = client.post(
        "/tokens", json={"name": "夜间脚本", "days": 30}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201, created.text
    token, token_id = created.json()["token"], created.json()["id"]
    assert created.json()["expires_at"] is not None
    listed = client.get("/tokens").json()
    assert token_id in [t["id"] for t in listed]
    assert all("token" not in t for t in listed)  # shown once, never again
    bearer = server.client(headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/me").json()["username"] == "lijun"
    made = bearer.post("/tokens", json={"name": "另一个"})  # no CSRF token needed
    assert made.status_code == 201, made.text
    assert bearer.delete(f"/tokens/{token_id}").status_code == 200
    refused = bearer.get("/me")
    assert refused.status_code == 401
    assert refused.json()["error"] == "bad_token"


def test_nobody_can_revoke_someone_elses_token(server: Server) -> None:
    mine = server.as_("wangfang").post("/tokens", json={"name": "王芳的脚本"}).json()
    reply = server.as_("lijun").delete(f"/tokens/{mine['id']}")
    assert reply.status_code == 404
    assert reply.json()["error"] == "token_not_found"
    ok = server.client(headers={"Authorization": f"Bearer {mine['token']}"}).get("/me")
    assert ok.status_code == 200


def test_sign_out_ends_the_session(server: Server) -> None:
    client, csrf = server.signed_in("zhaomin")
    cookie = client.cookies.get("sanshen_session")
    assert client.delete("/session", headers={"X-CSRF-Token": csrf}).status_code == 200
    client.cookies.set("sanshen_session", cookie or "")
    reply = client.get("/me")
    assert reply.status_code == 401
    assert reply.json()["error"] == "session_expired"


def test_token_cli_checks_the_password_and_prints_a_working_token(server: Server) -> None:
    sanshen = str(Path(sys.executable).with_name("sanshen"))
    env = {
        **os.environ,
        "DATABASE_URL": server.app.db.url,  # the server's database, not this test's own
        "SANSHEN_DATA_DIR": str(server.data_dir),
        "SANSHEN_KDF_PROFILE": "min",
    }
    args = [sanshen, "token", "create", "--as", "chenzhu", "--name", "报表脚本"]
    made = subprocess.run(
        [*args, "--days", "7", "--password-stdin", "--json"],
        input=PASSWORDS["chenzhu"] + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    token = json.loads(made.stdout)["token"]
    reply = server.client(headers={"Authorization": f"Bearer {token}"}).get("/me")
    assert reply.json()["username"] == "chenzhu"
    refused = subprocess.run(
        [*args, "--password-stdin"],
        input="not-the-password\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 4
    assert "用户名或密码不正确" in refused.stderr


def test_every_read_needs_a_sign_in(server: Server) -> None:
    from fastapi.routing import APIRoute

    from orchestrator.web.v1 import router

    anonymous = server.client()
    reads = [
        r.path
        for r in router.routes
        if isinstance(r, APIRoute) and r.include_in_schema and "GET" in (r.methods or ())
    ]
    assert len(reads) >= 10
    for path in reads:
        url = re.sub(r"\{[^}]+\}", "1", path.removeprefix("/api/v1"))
        reply = anonymous.get(url, params={"from": 1, "to": 1})
        assert reply.status_code == 401, (path, reply.status_code, reply.text)


# …and a calendar feed, whose token in the path is its key (an unknown one: 404, nothing else)
FEED = "/calendar/feed/{token}.ics"
PUBLIC_GETS = {"/login", "/healthz", "/callbacks/wechat", "/static/{name}", FEED}


def test_nothing_but_sign_in_health_and_callbacks_answers_anonymously(server: Server) -> None:
    """Every GET of the whole app — API, pages, reports, metrics, the schema — without a session:
    401 for a program, a redirect to the sign-in page for a browser."""
    from fastapi.routing import APIRoute

    from orchestrator.api import api

    # FastAPI ≥ 0.120 keeps included routers whole; their routes carry the full path.
    routes = [
        route
        for entry in api.routes
        for route in getattr(getattr(entry, "original_router", None), "routes", [entry])
    ]
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        gets = sorted(
            r.path
            for r in routes
            if isinstance(r, APIRoute) and "GET" in (r.methods or ()) and r.path not in PUBLIC_GETS
        )
        assert {"/openapi.json", "/metrics", "/board", "/api/v1/publications"} <= set(gets)
        for path in gets:
            url = re.sub(r"\{[^}]+\}", "1", path)
            reply = anonymous.get(url, params={"from": 1, "to": 1})
            if reply.status_code == 405:  # a POST-only path: the API's method handler answers
                continue
            assert reply.status_code == 401, (path, reply.status_code, reply.text[:200])
            page = anonymous.get(url, headers={"Accept": "text/html"}, follow_redirects=False)
            assert page.status_code in (303, 401), (path, page.status_code)
        unknown = anonymous.get("/calendar/feed/not-a-token.ics")
        assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_feed"


def test_wrong_signing_passwords_lock_the_account_too(server: Server) -> None:
    """A stolen session cannot guess the signing password: misses count like sign-in misses."""
    username, password = server.new_person(roles=("contributor",))
    client, csrf = server.signed_in(username, password)
    created = client.post(
        "/submissions", json=draft_body(department="sjgl"), headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201, created.text
    url = f"/submissions/{created.json()['id']}/reviews"
    ask = {"stage": "first", "decision": "approve", "comment": "同意"}
    for _ in range(MAX_FAILURES):
        reply = client.post(url, json=ask | {"password": "guess"}, headers={"X-CSRF-Token": csrf})
        assert reply.json()["error"] == "wrong_password"
    right = client.post(url, json=ask | {"password": password}, headers={"X-CSRF-Token": csrf})
    assert right.status_code == 403
    assert right.json()["error"] == "account_locked"
    again = server.client().post("/session", json={"username": username, "password": password})
    assert again.json()["error"] == "account_locked"


def test_an_unknown_username_locks_like_a_real_one(server: Server) -> None:
    """After the same failures, a real account and a name nobody has get the same answer."""
    username, _ = server.new_person()
    nobody = f"nobody-{username}"
    client = server.client()
    answers: dict[str, list[tuple[int, dict[str, object]]]] = {username: [], nobody: []}
    for name in (username, nobody):
        for _ in range(MAX_FAILURES + 1):
            reply = client.post("/session", json={"username": name, "password": "wrong"})
            answers[name].append((reply.status_code, reply.json()))
    assert answers[username] == answers[nobody]
    assert answers[nobody][-1][1]["error"] == "account_locked"


def test_an_unknown_username_costs_one_password_hash_like_a_wrong_password(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same work, so the same time: a name nobody has is checked against a stand-in hash."""
    username, _ = server.new_person()
    checked: list[bytes] = []
    verify = nacl.pwhash.verify

    def counting(hashed: bytes, password: bytes) -> bool:
        checked.append(hashed)
        return bool(verify(hashed, password))

    monkeypatch.setattr(nacl.pwhash, "verify", counting)
    for name in (username, f"nobody-{username}"):
        with server.app.db.read() as session, pytest.raises(Unauthenticated) as refused:
            auth.check_password(session, name, "wrong", server.app.settings, now=utcnow())
        assert refused.value.code == "bad_credentials"
    assert len(checked) == 2 and all(h.startswith(b"$argon2id$") for h in checked)


def login_page(client: httpx.Client, url: str) -> str:
    page = client.get(url + "/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_the_sign_in_form_needs_its_csrf_token(server: Server) -> None:
    username, password = server.new_person()
    form = {"username": username, "password": password}
    with httpx.Client(base_url=server.url) as browser:
        forged = browser.post("/login", data=form)
        assert forged.status_code == 403 and "刷新" in forged.text
        token = login_page(browser, server.url)
        assert "sanshen_login_csrf" in browser.cookies
        other = browser.post("/login", data=form | {"csrf_token": token + "x"})
        assert other.status_code == 403
        signed = browser.post("/login", data=form | {"csrf_token": token})
        assert signed.status_code == 303 and "sanshen_session" in signed.headers["set-cookie"]
    with httpx.Client(base_url=server.url) as attacker:  # a token without its cookie
        assert attacker.post("/login", data=form | {"csrf_token": token}).status_code == 403
