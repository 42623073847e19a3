"""The publications board under load: 100,000 publications, filtered pages over real HTTP.

A temporary data folder gets the migrated SQLite database, the demo organisation and 20,000
signed-off submissions (each with its 签发 action) × 5 channels = 100,000 publications (bulk
inserts through SQLAlchemy core): mostly published in the past, the rest scheduled ahead,
failed, unconfirmed or overdue, spread over ±60 days and the demo's departments. `uvicorn
orchestrator.api:api` then serves it on loopback; a token signs the bench in. ~200 GET
/api/v1/publications requests with random filters (state, channel, department, a date range, a
page) are timed on the client and by the server's own X-Process-Time header (the route handler
with its sign-in check, in ms); GET /api/v1/me is timed the same way as the floor. The HTML
board page (GET /board, signed in by session) is timed too; null when the console does not serve it.

排期日历: 3,000 of the rows are moved into one month of their own (June 2027, outside the ±60
days), and its month view (GET /calendar?view=month), a week of it, and the .ics feed for the
month are timed on the client over loopback (the page's full answer, HTML or iCalendar).

Run: python bench/console.py [--publications 100000] [--requests 200] [--calendar-rows 3000]
The last line of stdout is the JSON result.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench._console_data import CALENDAR_MONTH, CHANNELS, STATES, seed, seed_month  # noqa: E402
from bench._stack import REPO, emit, percentile, rounded, say  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.demo import ensure_organisation  # noqa: E402
from orchestrator.devstack import api_argv  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.services import calendar_feed, org  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from orchestrator.web import auth  # noqa: E402

BOARD_LOADS = 20
CALENDAR_LOADS = 20


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def api_server(data_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SANSHEN_DATA_DIR": str(data_dir), "SANSHEN_KDF_PROFILE": "min"}
    process = subprocess.Popen(
        api_argv("127.0.0.1", port),
        cwd=REPO,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the API server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def random_filters(rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {"per_page": 50, "page": rng.choice((1, 1, 1, 2, 3, 10))}
    if rng.random() < 0.5:
        params["state"] = rng.choice([s for s, _ in STATES])
    if rng.random() < 0.5:
        params["channel"] = rng.choice(CHANNELS)
    if rng.random() < 0.3:
        params["department"] = rng.choice(("zhk", "wzyx", "sjgl"))
    if rng.random() < 0.4:
        first = datetime.now(UTC).date() + timedelta(days=rng.randint(-60, 50))
        params["from"] = first.isoformat()
        params["to"] = (first + timedelta(days=rng.choice((0, 1, 7, 30)))).isoformat()
    return params


def measure_api(url: str, token: str, requests: int, rng: random.Random) -> dict[str, Any]:
    client_ms: list[float] = []
    server_ms: list[float] = []
    slowest: list[tuple[float, dict[str, Any]]] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=30) as client:
        for _ in range(10):  # warm-up: imports, caches, SQLite pages
            client.get("/publications", params=random_filters(rng)).raise_for_status()
        for _ in range(requests):
            params = random_filters(rng)
            started = time.perf_counter()
            reply = client.get("/publications", params=params)
            client_ms.append((time.perf_counter() - started) * 1000)
            reply.raise_for_status()
            server_ms.append(float(reply.headers["x-process-time"]))
            slowest = sorted([*slowest, (server_ms[-1], params)], key=lambda x: -x[0])[:5]
        for took, params in slowest:
            say(f"slow: {took:.1f} ms {params}")
        floor = []
        for _ in range(50):  # the same sign-in and framework work, without the board
            floor.append(float(client.get("/me").headers["x-process-time"]))
    return {
        "floor_me_server_ms_p50": rounded(percentile(floor, 50), 1),
        "floor_me_server_ms_p95": rounded(percentile(floor, 95), 1),
        "server_ms_p50": rounded(percentile(server_ms, 50), 1),
        "server_ms_p95": rounded(percentile(server_ms, 95), 1),
        "client_ms_p50": rounded(percentile(client_ms, 50), 1),
        "client_ms_p95": rounded(percentile(client_ms, 95), 1),
    }


def measure_board(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post(
            "/api/v1/session", json={"username": "wuyun", "password": "demo-pass-7"}
        ).raise_for_status()
        first = client.get("/board", headers={"accept": "text/html"})
        if first.status_code != 200:
            return {"board_status": first.status_code, "board_ms_p50": None, "board_ms_p95": None}
        times = []
        for _ in range(BOARD_LOADS):
            started = time.perf_counter()
            client.get("/board", headers={"accept": "text/html"}).raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return {
        "board_status": 200,
        "board_ms_p50": rounded(percentile(times, 50), 1),
        "board_ms_p95": rounded(percentile(times, 95), 1),
    }


def timed(client: httpx.Client, path: str) -> tuple[list[float], httpx.Response]:
    times, last = [], None
    for _ in range(CALENDAR_LOADS):
        started = time.perf_counter()
        last = client.get(path)
        last.raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    assert last is not None
    return times, last


def measure_calendar(url: str, feed_token: str) -> dict[str, Any]:
    month = CALENDAR_MONTH.isoformat()
    last_day = (CALENDAR_MONTH + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    with httpx.Client(base_url=url, timeout=60) as client:
        client.post(
            "/api/v1/session", json={"username": "wuyun", "password": "demo-pass-7"}
        ).raise_for_status()
        month_ms, page = timed(client, f"/calendar?view=month&date={month}")
        week_ms, _ = timed(client, f"/calendar?date={CALENDAR_MONTH + timedelta(days=14)}")
        ics_ms, feed = timed(
            client, f"/calendar/feed/{feed_token}.ics?from={month}&to={last_day.isoformat()}"
        )
    return {
        "calendar_month_page_kb": round(len(page.content) / 1024),
        "calendar_month_ms_p50": rounded(percentile(month_ms, 50), 1),
        "calendar_month_ms_p95": rounded(percentile(month_ms, 95), 1),
        "calendar_week_ms_p95": rounded(percentile(week_ms, 95), 1),
        "ics_month_events": feed.text.count("BEGIN:VEVENT"),
        "ics_month_ms_p50": rounded(percentile(ics_ms, 50), 1),
        "ics_month_ms_p95": rounded(percentile(ics_ms, 95), 1),
    }


def main(publications: int, requests: int, calendar_rows: int) -> dict[str, Any]:
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="sanshen-console-") as folder:
        data_dir = Path(folder) / "data"
        app = App(Settings(data_dir=data_dir, kdf_profile="min"))
        upgrade(app.db)
        ensure_organisation(app)
        started = time.perf_counter()
        seed(app, publications, rng)
        seed_s = time.perf_counter() - started
        say(f"seeded {publications} publications in {seed_s:.1f} s")
        seed_month(app, calendar_rows, rng)
        with app.db.session() as session:
            token, _ = auth.create_token(session, "wuyun", "bench")
            feed = calendar_feed.create(session, org.person_by_username(session, "wuyun"))
        app.db.dispose()
        with api_server(data_dir) as url:
            say(f"API on {url}; {requests} filtered pages")
            result = measure_api(url, token, requests, rng)
            result |= measure_board(url)
            say(f"calendar: {calendar_rows} rows in {CALENDAR_MONTH:%Y-%m}")
            result |= measure_calendar(url, feed)
    return {
        "bench": "console",
        "publications": publications,
        "requests": requests,
        "calendar_rows": calendar_rows,
        "seed_s": round(seed_s, 1),
        **result,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--calendar-rows", type=int, default=3_000)
    args = parser.parse_args()
    emit(main(args.publications, args.requests, args.calendar_rows))
