"""The schema says what the routes answer: every refusal they give is documented, in the error
body; files are documented as the files they are, never as JSON; input the schema calls valid
is input the routes take. Schemathesis checks the same by fuzzing (test_schemathesis); these
are the rules read off the schema, and the cases a tester found, asked of a real server.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from channels.registry import load_channels
from gate.model import Role
from orchestrator.api import api
from orchestrator.reports import form
from orchestrator.states import State
from orchestrator.web.deps import SAFE_METHODS
from tests.api.conftest import Server, create_submission, draft_body, walk

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


@pytest.mark.parametrize(
    "checkpoint",
    ["²:" + "0" * 64, "99999999999999999999:" + "0" * 64, "1:" + "z" * 64, "1:abc"],
)
def test_a_checkpoint_out_of_shape_is_bad_input(server: Server, checkpoint: str) -> None:
    """Not a 500: ² is a digit to str.isdigit() but not to int(), and SQLite's integer ends
    before 20 digits do."""
    reply = server.as_("zhouzh").get("/audit/verify", params={"checkpoint": checkpoint})
    assert reply.status_code == 422, reply.text
    assert reply.json()["message"]


# --- input the schema calls valid is input the routes take ----------------------------------


def test_a_whole_number_written_with_a_point_is_an_integer(server: Server) -> None:
    client = server.as_("wangfang")
    taken = client.post("/tokens", json={"name": "脚本", "days": 385.0})
    assert taken.status_code == 201, taken.text
    assert taken.json()["expires_at"] is not None
    for days in (385.5, "385", True, 0.0, 3651.0):
        refused = client.post("/tokens", json={"name": "脚本", "days": days})
        assert refused.status_code == 422, days
        assert refused.json()["error"] == "invalid_input"


def values_of(schema: dict[str, Any]) -> set[str]:
    """The enum of a string, or of the strings in an array, either perhaps nullable."""
    for choice in schema.get("anyOf", [schema]):
        inner = choice.get("items", choice)
        if "enum" in inner:
            return set(inner["enum"])
    raise AssertionError(f"no enum in {schema}")


def parameter(method: str, path: str, name: str) -> dict[str, Any]:
    found = [p for p in operation(method, path)["parameters"] if p["name"] == name]
    return dict(found[0]["schema"])


def body_field(model: str, name: str) -> dict[str, Any]:
    return dict(SCHEMA["components"]["schemas"][model]["properties"][name])


STATES = {s.value for s in State}
CHANNELS = set(load_channels())
LABELS = {cls.display_name for cls in load_channels().values()}
LISTED = [
    ("GET", "/api/v1/publications", "state", STATES),
    ("GET", "/api/v1/upward/queue", "state", STATES),
    ("GET", "/api/v1/publications", "channel", CHANNELS),
    ("GET", "/api/v1/submissions", "state", {"in_review", "returned", "rejected", "signed_off"}),
    ("GET", "/api/v1/accountability", "channel", CHANNELS | LABELS),
]


@pytest.mark.parametrize(("method", "path", "name", "values"), LISTED)
def test_a_string_checked_against_a_list_is_that_list_in_the_schema(
    server: Server, method: str, path: str, name: str, values: set[str]
) -> None:
    assert values_of(parameter(method, path, name)) == values
    client = server.as_("zhouzh")
    wanted = {"channel": "wechat", "id": "x"} if path.endswith("accountability") else {}
    for value in sorted(values):
        reply = client.request(method, server.url + path, params={**wanted, name: value})
        assert reply.status_code != 422, (value, reply.text)
    refused = client.request(method, server.url + path, params={**wanted, name: "nope"})
    assert refused.status_code == 422


def test_channels_and_roles_in_bodies_are_listed_too() -> None:
    assert values_of(body_field("ChannelIn", "channel")) == CHANNELS | LABELS
    assert values_of(body_field("RepostRequest", "channels")) == CHANNELS | LABELS
    assert values_of(body_field("DelegationIn", "role")) == {r.value for r in Role} | {
        r.label for r in Role
    }


def test_days_in_queries_are_dates() -> None:
    for method, path, name in (
        ("GET", "/api/v1/publications", "from"),
        ("GET", "/api/v1/publications", "to"),
        ("GET", "/api/v1/archive/export", "from"),
        ("GET", "/api/v1/archive/export", "to"),
    ):
        found = parameter(method, path, name)
        assert {"type": "string", "format": "date"}.items() <= found.get("anyOf", [found])[
            0
        ].items(), (path, name)


def test_blank_in_the_schema_is_blank_to_the_services() -> None:
    """A reason the schema takes, the service's strip() does not empty, and the other way."""
    pattern = re.compile(body_field("ReasonIn", "reason")["pattern"])
    for code in range(1, sys.maxunicode + 1):
        assert bool(pattern.search(chr(code))) == bool(chr(code).strip()), hex(code)
    assert not pattern.search("原因\x00")  # no NUL anywhere (test_no_text_taken_may_hold_nul)
    url = re.compile(body_field("ConfirmIn", "url")["pattern"])
    assert url.match("https://www.shqp.gov.cn/a?b=1") and not url.match("https://a\x1d")


@pytest.mark.parametrize("reason", ["\x1d", "\u3000 ", " "])
def test_a_blank_reason_is_refused_before_the_service(server: Server, reason: str) -> None:
    reply = server.as_("zhouzh").post("/publications/1/retract", json={"reason": reason})
    assert reply.status_code == 422
    assert reply.json()["error"] == "invalid_input", reply.text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/publications/1/amend-date", {"new_date": 4102444800, "password": "x"}, "new_date"),
        (
            "/delegations",
            {"deputy": "lijun", "acting_for": "zhaomin", "role": "leader_in_charge"}
            | {"start": 4102444800, "end": "2100-01-02"},
            "start",
        ),
    ],
)
def test_a_day_in_a_body_is_a_string_as_the_schema_says(
    server: Server, path: str, body: dict[str, Any], field: str
) -> None:
    """Not a number of seconds since 1970 (4102444800 was taken as 2100-01-01)."""
    reply = server.as_("zhouzh").post(path, json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "invalid_input"
    assert [d["loc"] for d in reply.json()["details"]] == [["body", field]]
    assert {"type": "string", "format": "date"}.items() <= body_field(
        "AmendDateIn" if field == "new_date" else "DelegationIn", field
    ).items()


# --- text with NUL (U+0000): PostgreSQL's text cannot hold it, so no text is taken with it ----


def string_schemas(schema: dict[str, Any], where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every string schema inside `schema` (through $ref, unions, objects and arrays)."""
    if "$ref" in schema:
        schema = SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    for choice in schema.get("anyOf", []) + schema.get("allOf", []) + schema.get("oneOf", []):
        yield from string_schemas(choice, where)
    if schema.get("type") == "string":
        yield where, schema
    for name, inner in schema.get("properties", {}).items():
        yield from string_schemas(inner, f"{where}.{name}")
    if "items" in schema:
        yield from string_schemas(schema["items"], f"{where}[]")


def strings_taken() -> Iterator[tuple[str, dict[str, Any]]]:
    for method, path in OPERATIONS:
        op = operation(method, path)
        for media in op.get("requestBody", {}).get("content", {}).values():
            yield from string_schemas(media["schema"], f"{method} {path} body")
        for param in op.get("parameters", []):
            yield from string_schemas(param["schema"], f"{method} {path} {param['name']}")


def test_no_text_taken_may_hold_nul() -> None:
    """Each string the API takes is a listed value, a date, or has a pattern without NUL: the
    schema says what the database can hold (schemathesis found a URL with NUL taken by the
    schema and refused by PostgreSQL). A new field without `Text` fails here."""
    open_ = [
        where
        for where, string in strings_taken()
        if not (
            {"enum", "const", "contentMediaType"} & string.keys()
            or string.get("format") in {"date", "date-time"}
        )
        and ("pattern" not in string or re.search(string["pattern"], "a\x00b"))
    ]
    assert len(list(strings_taken())) > 40
    assert open_ == []


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/publications/1/confirm", {"url": "https://a.cn/\x00"}, "url"),
        ("POST", "/submissions", draft_body(title="标题\x00"), "title"),
        (
            "POST",
            "/submissions/1/reviews",
            {"stage": "first", "decision": "approve", "comment": "同意\x00", "password": "x"},
            "comment",
        ),
        ("GET", "/submissions?q=%00", None, "q"),
    ],
)
def test_text_with_nul_is_refused_naming_the_field(
    server: Server, method: str, path: str, body: Any, field: str
) -> None:
    reply = server.as_("wangfang").request(method, path, json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "invalid_input"
    assert f"{field}：不能含有空字符（U+0000）" in reply.json()["message"], reply.text
