"""Schemathesis over all of /openapi.json with a bearer token and every check: no 5xx, every
answer as documented (status, media type, body), invalid input refused, valid input accepted,
405 with the full Allow. The /api/v1 routes, the 审批表/archive/accountability routes, health and
the WeChat callbacks alike. tests/api/schemathesis.toml names the few operations whose
valid-looking input may still be refused with 422, and why.

The server is its own (not the shared one): the fuzzer cancels and reschedules whatever ids it
finds, and other tests must not see that. WeChat has settings there, so that its callbacks
answer an unsigned call with 403 rather than 503 (not configured). Tokens are made and revoked
by a spare person (see the toml), so the fuzzer's own token lives to the end of the run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from orchestrator.api import api
from orchestrator.models import ApiToken
from tests.api.conftest import Server, create_submission, start_server, stop_server, walk

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Per operation and phase, beside the coverage phase's boundary values (10 until 2026-12-07: the
# run took 37 s then, 60 s now, on a busy machine).
EXAMPLES = 30
WECHAT = {
    "SANSHEN_CHANNEL_WECHAT_APP_ID": "wx-fuzz",
    "SANSHEN_CHANNEL_WECHAT_APP_SECRET": "fuzz-secret",
    "SANSHEN_CHANNEL_WECHAT_CALLBACK_TOKEN": "fuzz-token",
}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("fuzz") / "data", **WECHAT)
    try:
        sub = create_submission(server)
        walk(server, sub["id"])  # real submissions, publications and archive entries to find
        create_submission(server)
        server.as_("zhouzh")
        spare, _ = server.new_person()
        server.as_(spare)
        server.tokens["spare"] = server.tokens[spare]  # for GET, POST and DELETE /tokens
        # Far from the small ids the fuzzer tries, so a guess never revokes a token; the ids it
        # reads from GET /tokens are the spare's.
        with server.app.db.session() as session:
            session.execute(update(ApiToken).values(id=ApiToken.id + 900_000_000))
        yield server
    finally:
        stop_server(server)


def operations() -> set[str]:
    return {
        f"{m.upper()} {path}" for path, methods in api.openapi()["paths"].items() for m in methods
    }


def test_the_settings_name_operations_that_exist() -> None:
    """A renamed route would leave its settings behind without a word from schemathesis."""
    for settings in tomllib.loads(CONFIG.read_text(encoding="utf-8"))["operations"]:
        names = settings["include-name"]
        assert set([names] if isinstance(names, str) else names) <= operations(), names


def test_schemathesis_finds_nothing(fuzzed: Server, tmp_path: Path) -> None:
    st = str(Path(sys.executable).with_name("st"))
    result = subprocess.run(
        [
            st,
            "--config-file",
            str(CONFIG),
            "run",
            fuzzed.url + "/openapi.json",
            "--header",
            f"Authorization: Bearer {fuzzed.tokens['zhouzh']}",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
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
        env={**os.environ, "SANSHEN_FUZZ_SPARE_TOKEN": fuzzed.tokens["spare"]},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-2000:]
    counted = re.search(r"(\d+) selected / (\d+) total", result.stdout)
    assert counted is not None, result.stdout[:2000]
    assert int(counted.group(1)) == int(counted.group(2)) == len(operations()) >= 40
