"""Every id in a path, on every route of the app: past the database's integer range or below 1
is bad input (422 and the error body), never a 500. Walking the routes means a new route cannot
forget it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from orchestrator.api import api
from tests.api.conftest import Server

BAD_IDS = (2**63, 2**31, -1, 0)  # 2**31: past PostgreSQL's INTEGER ids


def int_path_params(route: APIRoute) -> list[str]:
    return [p.name for p in route.dependant.path_params if p.field_info.annotation is int]


def all_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """The app's routes, into included routers (FastAPI keeps those as wrappers of the router)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from all_routes(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, APIRoute):
            yield prefix, route


def routes_with_ids() -> Iterator[tuple[str, str, str]]:
    """(method, path, the id parameter) for every route that takes an integer in its path."""
    for prefix, route in all_routes(api.routes):
        for name in int_path_params(route):
            for method in sorted(route.methods):
                yield method, prefix + route.path_format, name


ROUTES = list(routes_with_ids())


def test_the_walk_finds_the_routes_with_ids() -> None:
    paths = {path for _, path, _ in ROUTES}
    assert "/api/v1/submissions/{submission_id}" in paths
    assert "/api/v1/archive/{entry_id}" in paths
    assert "/items/{submission_id}" in paths


def url_for(path: str, bad: str, value: int) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(value) if name == bad else ("1" if name.endswith(("_id", "number")) else "x")

    return re.sub(r"\{(\w+)\}", fill, path)


@pytest.mark.parametrize(("method", "path", "name"), ROUTES)
def test_ids_out_of_range_are_422_with_the_error_body(
    server: Server, method: str, path: str, name: str
) -> None:
    client = server.as_("zhouzh")
    for value in BAD_IDS:
        reply = client.request(method, server.url + url_for(path, name, value))
        assert reply.status_code == 422, (method, path, value, reply.text)
        body = reply.json()
        assert body["error"] == "invalid_input" and name in body["message"], body


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/publications?submission=9223372036854775808",
        "/api/v1/archive?submission=9223372036854775808",
        "/api/v1/archive?page=9223372036854775808",
        "/api/v1/archive?per_page=0",
    ],
)
def test_ids_and_pages_in_queries_are_bounded_too(server: Server, query: str) -> None:
    reply = server.as_("zhouzh").get(server.url + query)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"] == "invalid_input"
