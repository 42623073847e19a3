"""Security headers on every response, and stored files served as what they are, as downloads."""

from __future__ import annotations

from urllib.parse import unquote

import httpx

from tests.api.conftest import Server, create_submission, walk

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def assert_secured(reply: httpx.Response) -> None:
    assert reply.headers["content-security-policy"] == POLICY
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "same-origin"


def test_pages_api_answers_and_refusals_carry_the_security_headers(server: Server) -> None:
    assert_secured(httpx.get(server.url + "/login"))
    assert_secured(httpx.get(server.url + "/static/console.js"))
    assert_secured(httpx.get(server.url + "/api/v1/me"))  # 401
    assert_secured(server.as_("wangfang").get("/me"))


def filename_of(reply: httpx.Response) -> str:
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


def test_stored_images_are_their_type_and_a_download(server: Server) -> None:
    sub = create_submission(server)
    image = sub["current"]["images"][0]
    reply = server.as_("wangfang").get(
        f"{server.url}/submissions/{sub['id']}/images/{image['sha256']}"
    )
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "image/png"
    assert filename_of(reply) == "photo.png"
    assert_secured(reply)


def test_forms_are_downloads_named_in_chinese(server: Server) -> None:
    sub = create_submission(server)
    walk(server, sub["id"])
    reply = server.as_("zhouzh").get(f"/submissions/{sub['id']}/form.pdf")
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "application/pdf"
    assert filename_of(reply) == f"审批表-稿件{sub['id']}-v1.pdf"
    assert 'filename="' in reply.headers["content-disposition"]
    assert_secured(reply)
