"""Schemathesis over /openapi.json with a bearer token: no 5xx, every response as documented,
invalid input refused. Only this module's routes (/api/v1 of orchestrator.web.api_v1); the
reports routes belong to another module and are fuzzed there.

The server is its own (not the shared one): the fuzzer cancels and reschedules whatever ids it
finds, and other tests must not see that.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import update

from orchestrator.models import ApiToken
from orchestrator.web.api_v1 import router
from tests.api.conftest import Server, create_submission, start_server, stop_server, walk

# Valid requests are refused on purpose here (unknown ids, roles, states), so the check that
# every schema-valid request succeeds does not apply; every other check runs.
EXCLUDED_CHECKS = "positive_data_acceptance"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("fuzz") / "data")
    try:
        sub = create_submission(server)
        walk(server, sub["id"])  # real submissions and publications to find
        create_submission(server)
        server.as_("zhouzh")
        # Far from the small ids the fuzzer tries, so DELETE /tokens/{id} never revokes it.
        with server.app.db.session() as session:
            session.execute(update(ApiToken).values(id=ApiToken.id + 900_000_000))
        yield server
    finally:
        stop_server(server)


def own_paths() -> str:
    paths = sorted(
        {r.path for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema}
    )
    return "^(" + "|".join(re.escape(p) for p in paths) + ")$"


def test_schemathesis_finds_nothing(fuzzed: Server, tmp_path: Path) -> None:
    st = str(Path(sys.executable).with_name("st"))
    result = subprocess.run(
        [
            st,
            "run",
            fuzzed.url + "/openapi.json",
            "--header",
            f"Authorization: Bearer {fuzzed.tokens['zhouzh']}",
            "--include-path-regex",
            own_paths(),
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED_CHECKS,
            "--max-examples",
            "10",
            "--seed",
            "20261125",
            "--workers",
            "1",
            "--request-timeout",
            "30",
            "--warnings",
            "off",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
    selected = re.search(r"(\d+) selected", result.stdout)
    assert selected is not None and int(selected.group(1)) >= 25, result.stdout[:2000]
