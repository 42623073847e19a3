"""The schema says what the routes answer: every refusal they give is documented, in the error
body; files are documented as the files they are, never as JSON; input the schema calls valid
is input the routes take. Schemathesis checks the same by fuzzing (test_schemathesis); these
are the rules read off the schema, and the cases a tester found, asked of a real server.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.api import api
from orchestrator.reports import form
from orchestrator.web.deps import SAFE_METHODS
from tests.api.conftest import Server, create_submission, walk

SCHEMA = api.openapi()
OPERATIONS = [
    (method.upper(), path) for path, methods in SCHEMA["paths"].items() for method in methods
]
ANONYMOUS = {("POST", "/api/v1/session"), ("GET", "/healthz")} | {
    (m, "/callbacks/wechat") for m in ("GET", "POST")
}
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def operation(method: str, path: str) -> dict[str, Any]:
    return dict(SCHEMA["paths"][path][method.lower()])


def documented(method: str, path: str) -> dict[str, Any]:
    return dict(operation(method, path)["responses"])


def test_the_schema_holds_the_api_reports_health_and_callbacks_and_no_pages() -> None:
    paths = set(SCHEMA["paths"])
    assert {"/api/v1/submissions", "/api/v1/archive/{entry_id}", "/healthz/details"} <= paths
    assert {"/api/v1/submissions/{submission_id}/form.pdf", "/callbacks/wechat"} <= paths
    assert all(p.startswith(("/api/v1/", "/healthz", "/callbacks/")) for p in paths), paths


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_what_every_route_of_a_kind_may_answer_is_documented(method: str, path: str) -> None:
    statuses = {int(s) for s in documented(method, path)}
    assert 413 in statuses  # the size limit answers before any route
    takes = operation(method, path)
    if takes.get("parameters") or takes.get("requestBody"):
        assert 422 in statuses
    if (method, path) not in ANONYMOUS:
        assert 401 in statuses
        if method not in SAFE_METHODS:
            assert {400, 403} <= statuses  # an unreadable form; the CSRF check
    if "{" in path:
        assert 404 in statuses  # every id in a path names a row that may not exist


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_error_is_the_error_body(method: str, path: str) -> None:
    for status, answer in documented(method, path).items():
        if int(status) < 400 or (int(status) == 413 and not path.startswith("/api/")):
            continue  # outside /api/ the size limit answers with a page
        assert answer["content"] == {"application/json": {"schema": ERROR_BODY}}, status


def test_no_operation_documents_fastapis_own_validation_error() -> None:
    assert "HTTPValidationError" not in SCHEMA["components"]["schemas"]


FILES = {
    ("GET", "/api/v1/submissions/{submission_id}/form.pdf"): {"application/pdf"},
    ("GET", "/api/v1/submissions/{submission_id}/form.docx"): {form.DOCX_MIME},
    ("GET", "/api/v1/archive/export"): {"application/zip"},
    ("GET", "/callbacks/wechat"): {"text/plain"},
    ("POST", "/callbacks/wechat"): {"text/plain"},
}


@pytest.mark.parametrize(("method", "path"), FILES)
def test_files_and_text_are_documented_as_what_they_are(method: str, path: str) -> None:
    success = documented(method, path)["200"]["content"]
    assert set(success) == FILES[method, path]
    assert all("schema" not in media for media in success.values())


def test_an_archived_file_is_documented_as_any_type_the_archive_keeps() -> None:
    success = documented("GET", "/api/v1/archive/{entry_id}")["200"]["content"]
    assert {"application/pdf", form.DOCX_MIME, "application/json"} <= set(success)
    assert all("schema" not in media for media in success.values())


def served_schema(server: Server) -> dict[str, Any]:
    reply = server.as_("zhouzh").get(server.url + "/openapi.json")
    assert reply.status_code == 200
    return dict(reply.json())


def assert_documented(schema: dict[str, Any], method: str, path: str, reply: Any) -> None:
    answers = schema["paths"][path][method.lower()]["responses"]
    assert str(reply.status_code) in answers, (method, path, reply.status_code, reply.text[:300])
    media = reply.headers["content-type"].split(";")[0]
    assert media in answers[str(reply.status_code)]["content"], (method, path, media)


def test_what_the_report_routes_answer_is_documented(server: Server) -> None:
    schema = served_schema(server)
    signed = create_submission(server)["id"]
    walk(server, signed)
    waiting = create_submission(server)["id"]
    client = server.as_("zhouzh")
    pdf = "/api/v1/submissions/{submission_id}/form.pdf"
    docx = "/api/v1/submissions/{submission_id}/form.docx"
    entry = "/api/v1/archive/{entry_id}"
    entries = client.get("/archive", params={"submission": signed}).json()["items"]
    day = entries[0]["created_at"][:10]  # Shanghai time
    tried = [
        ("GET", pdf, f"/submissions/{signed}/form.pdf", client, 200),
        ("GET", docx, f"/submissions/{signed}/form.docx", client, 200),
        ("GET", pdf, f"/submissions/{waiting}/form.pdf", client, 409),
        ("GET", docx, f"/submissions/{waiting}/form.docx", client, 409),
        ("GET", pdf, "/submissions/999999999/form.pdf", client, 404),
        ("GET", pdf, f"/submissions/{signed}/form.pdf", server.client(), 401),
        ("GET", entry, "/archive/999999999", client, 404),
        ("GET", entry, "/archive/1", server.client(), 401),
        ("GET", "/api/v1/archive", "/archive", server.client(), 401),
        ("POST", "/api/v1/archive/verify", "/archive/verify", server.client(), 401),
        ("GET", "/api/v1/archive/export", f"/archive/export?from={day}&to={day}", client, 200),
        ("GET", "/api/v1/archive/export", "/archive/export?from=2026-13-01&to=x", client, 422),
        ("GET", "/api/v1/accountability", "/accountability?channel=wechat&id=x", client, 404),
        ("GET", "/api/v1/accountability", "/accountability?channel=wechat", client, 422),
    ] + [("GET", entry, f"/archive/{e['id']}", client, 200) for e in entries]
    for method, path, url, who, status in tried:
        reply = who.request(method, url)
        assert reply.status_code == status, (url, reply.text[:300])
        assert_documented(schema, method, path, reply)


@pytest.mark.parametrize(
    ("method", "url", "allow"),
    [
        ("GET", "/api/v1/archive/verify", "POST"),
        ("POST", "/api/v1/archive/1", "GET"),
        ("DELETE", "/api/v1/submissions/1/form.pdf", "GET"),
        ("PUT", "/callbacks/wechat", "GET, POST"),
        ("QUERY", "/api/v1/submissions", "GET, POST"),
        ("POST", "/healthz/details", "GET"),
    ],
)
def test_other_methods_are_405_with_the_full_allow(
    server: Server, method: str, url: str, allow: str
) -> None:
    reply = server.as_("zhouzh").request(method, server.url + url)
    assert reply.status_code == 405, reply.text
    assert reply.headers["allow"] == allow
    assert reply.json()["error"] == "method_not_allowed"
