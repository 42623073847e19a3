"""/metrics and /healthz/details through a real uvicorn process: they need a token, the
exposition parses, and its numbers are the seeded database's."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from orchestrator import logs, redis_embedded
from orchestrator.models import Attempt, Publication
from orchestrator.services import health
from orchestrator.states import State
from orchestrator.web import auth
from tests.ops.conftest import publications, put
from tests.pipeline.conftest import Stack

BIN = Path(sys.executable).parent


@dataclass
class Api:
    url: str
    token: str

    def get(self, path: str, token: str | None = None) -> requests.Response:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, headers=headers, timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def api(stack: Stack, tmp_path: Path) -> Iterator[Api]:
    config = tmp_path / "log-config.json"
    config.write_text(json.dumps(logs.uvicorn_config("json")))
    port = free_port()
    stack.procs.env = stack.env
    stack.procs.start(
        "api",
        [
            str(BIN / "uvicorn"),
            "orchestrator.api:api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-config",
            str(config),
        ],
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/healthz", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline or not stack.procs.alive("api"):
                raise AssertionError(stack.log("api")) from None
            time.sleep(0.1)
    with stack.app.db.session() as session:
        token, _ = auth.create_token(session, "ops", "prometheus")
    yield Api(url, token)
    stack.kill("api")


def attempt(pub_id: int, operation: str, outcome: str, ms: int) -> Attempt:
    return Attempt(
        publication_id=pub_id,
        operation=operation,
        started_at=datetime.now(UTC),
        duration_ms=ms,
        outcome=outcome,
    )


@pytest.fixture
def seeded(stack: Stack) -> dict[str, int]:
    """gov_website published (three publish calls, sent 30 s late), wechat failed, xuexi
    scheduled; one task waiting in the wechat queue; the dispatch loop ran at 1.7e9."""
    pubs = publications(stack, ("gov_website", "wechat", "xuexi"))
    put(stack, pubs["gov_website"], State.PUBLISHED)
    put(stack, pubs["wechat"], State.FAILED)
    with stack.app.db.session() as session:
        session.add_all(
            [
                attempt(pubs["gov_website"], "publish", "retryable", 50),
                attempt(pubs["gov_website"], "publish", "retryable", 300),
                attempt(pubs["gov_website"], "publish", "ok", 2000),
                attempt(pubs["gov_website"], "status", "ok", 10),
                attempt(pubs["wechat"], "publish", "permanent", 700),
            ]
        )
        planned = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
        session.execute(
            update(Publication)
            .where(Publication.id == pubs["gov_website"])
            .values(scheduled_at=planned, sent_at=planned + timedelta(seconds=30))
        )
    redis = redis_embedded.client(stack.env["SANSHEN_REDIS_URL"])
    redis.lpush("publish.wechat", "waiting")
    health.mark_round(redis, "dispatch", datetime.fromtimestamp(1.7e9, UTC))
    return pubs


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }


def test_metrics_need_a_token(api: Api) -> None:
    for token in (None, "ssp_not-a-real-token"):
        response = api.get("/metrics", token)
        assert response.status_code == 401
        assert "sanshen_" not in response.text
    assert api.get("/healthz/details").status_code == 401


def test_metrics_parse_and_carry_the_database_counts(
    stack: Stack, api: Api, seeded: dict[str, int]
) -> None:
    response = api.get("/metrics", api.token)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = samples(response.text)

    def value(name: str, **labels: str) -> float:
        return got[(name, tuple(sorted(labels.items())))]

    assert value("sanshen_publications", channel="gov_website", state="published") == 1
    assert value("sanshen_publications", channel="wechat", state="failed") == 1
    assert value("sanshen_publications", channel="xuexi", state="scheduled") == 1
    calls = "sanshen_platform_calls_total"
    assert value(calls, channel="gov_website", operation="publish", outcome="retryable") == 2
    assert value(calls, channel="gov_website", operation="publish", outcome="ok") == 1
    assert value(calls, channel="gov_website", operation="status", outcome="ok") == 1
    assert value(calls, channel="wechat", operation="publish", outcome="permanent") == 1

    send = "sanshen_send_duration_seconds"
    buckets = {
        le: value(f"{send}_bucket", channel="gov_website", le=le)
        for le in ("0.1", "0.5", "2.5", "+Inf")
    }
    assert buckets == {"0.1": 1, "0.5": 2, "2.5": 3, "+Inf": 3}  # the status call is not a send
    assert value(f"{send}_count", channel="gov_website") == 3
    assert value(f"{send}_sum", channel="gov_website") == pytest.approx(2.35)
    assert value(f"{send}_count", channel="wechat") == 1

    late = "sanshen_schedule_lateness_seconds"
    assert value(f"{late}_bucket", channel="gov_website", le="15") == 0
    assert value(f"{late}_bucket", channel="gov_website", le="60") == 1
    assert value(f"{late}_sum", channel="gov_website") == pytest.approx(30, abs=0.01)
    assert ("sanshen_schedule_lateness_seconds_count", (("channel", "wechat"),)) not in got

    assert value("sanshen_queue_length", queue="publish.wechat") == 1
    assert value("sanshen_queue_length", queue="publish.gov_website") == 0
    assert value("sanshen_broker_up") == 1
    assert value("sanshen_database_up") == 1
    assert value("sanshen_scheduler_last_round_timestamp_seconds", loop="dispatch") == 1.7e9
    assert ("sanshen_scheduler_last_round_timestamp_seconds", (("loop", "alerts"),)) not in got


def test_alerts_are_counted(stack: Stack, api: Api, seeded: dict[str, int]) -> None:
    from orchestrator.services import alerts

    alerts.run_once(stack.app, alerts.AlertConfig())
    got = samples(api.get("/metrics", api.token).text)
    key = (
        "sanshen_alerts",
        (("acknowledged", "false"), ("delivery_state", "pending"), ("kind", "failed")),
    )
    assert got[key] == 1


def test_health_details(stack: Stack, api: Api, seeded: dict[str, int]) -> None:
    response = api.get("/healthz/details", api.token)
    assert response.status_code == 200
    body = response.json()
    assert body["broker"]["ok"] and body["database"]["ok"]
    assert body["queues"]["lengths"]["publish.wechat"] == 1
    assert body["publications"]["by_state"] == {"failed": 1, "published": 1, "scheduled": 1}
    assert body["workers"] == {"ok": False, "count": 0, "names": [], "error": "没有发送进程应答"}
    assert body["ok"] is False


def test_the_api_logs_json_lines(stack: Stack, api: Api) -> None:
    api.get("/metrics", "ssp_secret-token-value")  # a refused scrape is logged too
    deadline = time.monotonic() + 10
    while "/metrics" not in stack.log("api") and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [line for line in stack.log("api").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert any(e["logger"] == "uvicorn.access" and "/metrics" in e["message"] for e in entries)
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in entries)
    assert "secret-token-value" not in stack.log("api")


def test_promtool_finds_no_lint_problems(api: Api, seeded: dict[str, int]) -> None:
    # Fails rather than skips without it: .ci/run installs Debian's prometheus package.
    assert shutil.which("promtool"), "promtool missing: apt-get install prometheus"
    exposition = api.get("/metrics", api.token).text
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=exposition, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
