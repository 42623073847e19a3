"""`sanshen up`: everything from one command, stopped cleanly, resumed without loss or repeat."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from channels.simulators.server import SimulatorServer
from gate.model import Decision, ReviewStage
from orchestrator import redis_embedded
from orchestrator.app import App
from orchestrator.demo import ALL_DEMO_CHANNELS, demo_draft, submit_and_sign_off, walk
from orchestrator.demo_channels import DEMO_CHANNELS, demo_channels, publish_demo_channels
from orchestrator.devstack import FolderLock, simulator_env
from orchestrator.migrate import upgrade
from orchestrator.models import Publication, Submission
from orchestrator.services import amendments, org, review, submissions
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from orchestrator.settings import Settings
from orchestrator.states import State
from tests.orchestrator.conftest import ORG_YAML, PASSWORDS
from tests.up.conftest import READY, Up, alive, base_env, sanshen

SETTLED = {s.value for s in (State.PUBLISHED, State.FAILED, State.UNCONFIRMED, State.CANCELLED)}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def publications(app: App, sub_id: int) -> list[Publication]:
    with app.db.read() as session:
        query = select(Publication).where(Publication.submission_id == sub_id)
        return list(session.scalars(query.order_by(Publication.id)))


def states(app: App, sub_id: int) -> dict[str, str]:
    return {p.channel: p.state for p in publications(app, sub_id)}


def wait_until(app: App, sub_id: int, up: Up, done: set[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = states(app, sub_id)
        if now and all(s in done for s in now.values()):
            return
        if up.proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"states {states(app, sub_id)}\n{up.output}\n{up.logs()}")


def test_demo_comes_up_refuses_a_second_up_publishes_everywhere_and_stops_every_part(
    data: Path, ups: list[Up]
) -> None:
    up = Up(data, "--demo")
    ups.append(up)
    up.wait_for(READY)
    out = up.output
    for line in ("✓ 数据库已就绪", "✓ Redis", "✓ 发送进程", "✓ 调度器", "✓ 模拟平台"):
        assert line in out
    assert f"✓ 控制台 {up.url}/login" in out
    assert "sunxuan" in out and "demo-pass-5" in out and "宣传分管领导" in out
    assert up.get("/healthz") == 200
    assert up.get("/login") == 200

    second = Up(data, "--demo")
    ups.append(second)
    assert second.wait() == 5
    assert f"已有一个 sanshen up 在运行（进程 {up.proc.pid}）" in second.output
    assert up.get("/healthz") == 200  # the first one carries on untouched

    app = App(Settings(data_dir=data, kdf_profile="min"))
    sub = submit_and_sign_off(app, demo_draft(ALL_DEMO_CHANNELS), publish_time="00:00")
    wait_until(app, sub, up, SETTLED)
    upward, own = ALL_DEMO_CHANNELS[3:], ALL_DEMO_CHANNELS[:3]
    # upward first: the own platforms make way for the one repost of the first adoption
    assert states(app, sub) == dict.fromkeys(upward, State.PUBLISHED.value) | dict.fromkeys(
        own, State.CANCELLED.value
    )
    with app.db.read() as session:
        repost = session.scalars(select(Submission).where(Submission.repost_origin_id == sub))
        (repost_id,) = [r.id for r in repost]
    walk(app, repost_id, lambda _line: None, "00:00", major=True)
    wait_until(app, repost_id, up, SETTLED | {State.MANUAL.value})
    # the demo's website is assisted: it waits for 政府网站运行科 to publish it by hand
    assert states(app, repost_id) == dict.fromkeys(own, State.PUBLISHED.value) | {
        "gov_website": State.MANUAL.value
    }
    app.db.dispose()

    # Another terminal, on the same data folder and without the simulators' settings, sees the
    # demo's platforms: its channel pre-check finds every channel configured.
    beside = sanshen(data, "gate", "check", str(sub))
    assert beside.returncode == 0, beside.stdout + beside.stderr
    assert "审核闸门通过" in beside.stdout and "channel_not_configured" not in beside.stdout

    owned = up.pids()
    assert len(owned) >= 4, owned  # console, worker and its pool, scheduler, Redis
    assert up.stop(signal.SIGINT) == 0, up.output
    assert [pid for pid in owned if alive(pid)] == []
    assert "已全部停止" in up.output
    assert not (data / "redis" / "redis.sock").exists()
    assert not (data / DEMO_CHANNELS).exists()
    after = sanshen(data, "gate", "check", str(sub))
    assert "[channel_not_configured]" in after.stdout, after.stdout + after.stderr


def test_up_in_a_scripts_background_stops_on_sigint_and_takes_data_dir_after_up(
    data: Path, ups: list[Up]
) -> None:
    """A script's `sanshen up … &` inherits SIGINT ignored; `kill -INT` must still stop it.
    `up --data-dir` (as the README writes it) names the folder like `sanshen --data-dir`."""
    own = data.parent / "own"
    up = Up(data, "--data-dir", str(own), sigint_ignored=True)
    up.data = own  # what teardown must clean up
    ups.append(up)
    up.wait_for(READY)
    assert f"数据目录：{own.resolve()}" in up.output
    assert up.stop(signal.SIGINT, timeout=30) == 0, up.output
    assert "正在停止" in up.output and redis_embedded.server_pid(own) is None


def test_a_demo_channels_file_counts_only_while_its_up_holds_the_folder(data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    env = {"SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL": "http://127.0.0.1:9/"}
    publish_demo_channels(data, env)  # as this process: its pid is in the file
    assert (data / DEMO_CHANNELS).stat().st_mode & 0o777 == 0o600
    assert demo_channels(data) == {}  # no lock file: no `up` holds the folder
    lock = FolderLock(data)
    lock.acquire()
    try:
        assert demo_channels(data) == env
        (data / DEMO_CHANNELS).write_text('{"pid": 999999999, "env": {}}')  # a killed up's
        assert demo_channels(data) == {}
    finally:
        lock.release()
    publish_demo_channels(data, env)
    assert demo_channels(data) == {}  # the lock released: the holder's pid is gone from it


@pytest.mark.parametrize(
    ("part", "report"), [("scheduler", "调度器意外退出"), ("redis", "内置 Redis 意外退出")]
)
def test_a_part_that_dies_is_reported_and_everything_stops(
    data: Path, ups: list[Up], part: str, report: str
) -> None:
    up = Up(data)
    ups.append(up)
    up.wait_for(READY)
    owned = up.pids()
    victim = redis_embedded.server_pid(data) if part == "redis" else up.child(part)
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    assert up.wait() == 1
    assert report in up.output and "日志：" in up.output
    assert [pid for pid in owned if alive(pid)] == []


def test_parts_left_by_a_killed_up_are_stopped_by_the_next(data: Path, ups: list[Up]) -> None:
    first = Up(data)
    ups.append(first)
    first.wait_for(READY)
    children = {first.child(word) for word in ("celery", "scheduler", "uvicorn")}
    first.proc.kill()  # kill -9: no orderly stop, the children live on
    assert first.wait() == -signal.SIGKILL
    assert all(alive(pid) for pid in children)

    second = Up(data)
    ups.append(second)
    second.wait_for(READY)
    assert "上次运行未正常停止" in second.output
    assert [pid for pid in children if alive(pid)] == []
    assert second.stop(signal.SIGINT) == 0


# --- resuming ---------------------------------------------------------------------------------


@pytest.fixture
def sims() -> Iterator[SimulatorServer]:
    with SimulatorServer() as server:
        yield server


@pytest.fixture
def configured(data: Path, sims: SimulatorServer) -> Iterator[tuple[App, dict[str, str]]]:
    """A data folder with a test organisation, the adapters pointed at simulators that
    outlive any one `sanshen up`: their ledgers count every publication across runs."""
    env = base_env(
        SANSHEN_SCHEDULER_INTERVAL="0.3",
        SANSHEN_RECONCILE_INTERVAL="1",
        SANSHEN_CONFIRM_FIRST_CHECK="1",
        SANSHEN_TASK_TIME_LIMIT="6",
        SANSHEN_SETTLE_AFTER="7",
    ) | simulator_env({name: sims.client_settings(name) for name in sims.names})
    app = App(Settings(data_dir=data, kdf_profile="min"))
    upgrade(app.db)
    with app.db.session() as session:
        org.initialise(session, org.parse_organisation(ORG_YAML), kdf_profile="min")
        for person in org.all_people(session):
            for assignment in person.assignments:
                assignment.valid_from = datetime(2020, 1, 1, tzinfo=UTC)
    yield app, env
    app.db.dispose()


def signed_off(app: App, day: date) -> int:
    draft = demo_draft(("gov_website", "wechat"), publish_date=day, major_event=False)
    with app.db.session() as session:
        sub_id = submissions.create(
            session, app.blobs, author="author", department="sjgl", draft=draft
        ).id
    for stage, who in (
        (ReviewStage.FIRST, "author"),
        (ReviewStage.SECOND, "head"),
        (ReviewStage.FINAL, "leader"),
        (ReviewStage.USAGE, "zhk"),
        (ReviewStage.SIGN_OFF, "publicity"),
    ):
        with app.db.session() as session:
            review.review(
                session,
                sub_id,
                stage=stage,
                decision=Decision.APPROVE,
                actor=who,
                password=PASSWORDS[who],
                policy=app.policy,
                app=app,
                default_publish_time="00:00",
            )
    return sub_id


def test_a_second_up_resumes_the_schedule_and_sends_nothing_twice(
    data: Path, configured: tuple[App, dict[str, str]], sims: SimulatorServer, ups: list[Up]
) -> None:
    app, env = configured
    today = datetime.now(SHANGHAI).date()
    first = Up(data, env=env)
    ups.append(first)
    first.wait_for(READY)
    later = signed_off(app, today + timedelta(days=1))
    assert set(states(app, later).values()) == {State.SCHEDULED.value}

    # stopped while a send is on its way to a slow platform
    sims.simulator("gov_website").faults.update({"latency_ms": 400})
    now = signed_off(app, today)
    wait_until(app, now, first, {State.SENDING.value, *SETTLED} - {"scheduled"})
    owned = first.pids()
    assert first.stop(signal.SIGTERM) == 0, first.output
    assert [pid for pid in owned if alive(pid)] == []
    sims.simulator("gov_website").faults.update({"latency_ms": 0})

    # while nothing runs, the publicity leader signs tomorrow's publications over to today and
    # the web office brings them forward to now
    office = Publisher(app, ChannelHub(env), MemoryRateGate())
    for pub in publications(app, later):
        with app.db.session() as session:
            amendments.amend_date(
                session,
                pub.id,
                new_date=today,
                actor="publicity",
                password=PASSWORDS["publicity"],
                policy=app.policy,
            )
        office.reschedule(pub.id, when=datetime.now(UTC), actor="web")

    second = Up(data, env=env)
    ups.append(second)
    second.wait_for(READY)
    for sub in (now, later):
        wait_until(app, sub, second, {State.PUBLISHED.value})
    for channel in ("gov_website", "wechat"):
        ledger = sims.simulator(channel).ledger.snapshot()
        assert sorted(ledger.values()) == [1, 1], (channel, ledger)
    assert second.stop(signal.SIGINT) == 0


# --- configuration ---


def test_a_port_in_use_is_refused_before_anything_starts(data: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = sanshen(data, "up", "--port", str(port))
    assert result.returncode == 2
    assert f"无法在 127.0.0.1:{port} 上启动控制台" in result.stderr and "--port" in result.stderr
    assert redis_embedded.server_pid(data) is None
    assert not (data / "logs").exists()


def test_a_bad_channel_setting_is_named_and_nothing_starts(data: Path) -> None:
    env = base_env(
        SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL="intranet-website",
        SANSHEN_CHANNEL_GOV_WEBSITE_APP_KEY="qp",
        SANSHEN_CHANNEL_GOV_WEBSITE_APP_SECRET="do-not-print-me",
        SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN=" 12",
    )
    result = sanshen(data, "up", env=env)
    assert result.returncode == 2
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_BASE_URL 的值“intranet-website”无效" in result.stderr
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN_ID：必须设置" in result.stderr
    assert "SANSHEN_CHANNEL_GOV_WEBSITE_COLUMN 不是渠道 gov_website 的设置" in result.stderr
    assert "do-not-print-me" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not data.exists()


def test_a_bad_setting_gives_a_clear_message_and_exit_code_2(data: Path) -> None:
    result = sanshen(data, "up", env=base_env(SANSHEN_SCHEDULER_INTERVAL="abc"))
    assert result.returncode == 2, result.stderr
    assert "SANSHEN_SCHEDULER_INTERVAL" in result.stderr and "“abc”" in result.stderr
    assert "应为数字" in result.stderr and "Traceback" not in result.stderr


# --- sharing a data folder ----------------------------------------------------------------------


def test_demo_on_the_folder_of_a_running_up_refuses_and_leaves_up_running(
    data: Path, ups: list[Up]
) -> None:
    """`sanshen demo` starts a worker and a scheduler of its own: beside a running `up` it
    refuses, and it never shuts down the Redis that `up` started."""
    up = Up(data)
    ups.append(up)
    up.wait_for(READY)
    redis_pid = redis_embedded.server_pid(data)
    demo = sanshen(data, "demo")
    assert redis_embedded.server_pid(data) == redis_pid, demo.stdout + demo.stderr
    assert redis_embedded.client(redis_embedded.url_for(data), socket_timeout=2).ping()
    time.sleep(1.5)  # up's watch loop would have noticed a part gone by now
    assert up.proc.poll() is None, up.output
    assert up.get("/healthz") == 200
    assert demo.returncode == 5, demo.stdout + demo.stderr
    assert f"已有一个 sanshen up 在运行（进程 {up.proc.pid}）" in demo.stderr
    assert "sanshen demo" in demo.stderr and "--data-dir" in demo.stderr
    assert "稿件" not in demo.stdout  # refused before the walk: nothing submitted
    assert up.stop(signal.SIGINT) == 0, up.output
    assert redis_embedded.server_pid(data) is None  # up stops the Redis it started


def test_a_process_stops_only_the_redis_it_started(data: Path) -> None:
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, pathlib; from orchestrator import redis_embedded;"
            " redis_embedded.ensure_running(pathlib.Path(sys.argv[1]))",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode == 0, other.stderr
    pid = redis_embedded.server_pid(data)
    assert pid is not None
    try:
        assert redis_embedded.ensure_running(data)  # answers: used as it is
        assert not redis_embedded.started_here(data)
        assert redis_embedded.stop(data) is False
        assert redis_embedded.server_pid(data) == pid  # still running
        assert redis_embedded.adopt(data)  # its starter has exited: nobody's, so ours now
        assert redis_embedded.stop(data) is True
        assert redis_embedded.server_pid(data) is None
        redis_embedded.ensure_running(data)
        assert redis_embedded.started_here(data)
    finally:
        redis_embedded.shutdown(data)
    assert redis_embedded.server_pid(data) is None
