"""`sanshen up`: the whole system on one machine, the embedded default.

The data folder holds the SQLite database and the embedded Redis (append-only, so queued work
survives a restart); the API with the console, a Celery worker and the scheduler run as child
processes, each in its own process group. Each part is waited for until it really answers; a
part that dies is reported and everything stops (exit 1) — nothing is restarted silently.
Ctrl-C or SIGTERM stops the parts in order: console, scheduler, worker, simulators, Redis last.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from orchestrator import redis_embedded
from orchestrator.app import App
from orchestrator.cli.base import Context, app, ctx, fail
from orchestrator.cli.chinese import os_reason
from orchestrator.cli.table import table
from orchestrator.config_check import channels_or_exit
from orchestrator.demo_channels import publish_demo_channels, withdraw_demo_channels
from orchestrator.devstack import (
    FolderBusy,
    FolderLock,
    Processes,
    api_argv,
    record_children,
    scheduler_argv,
    simulator_env,
    stop_leftovers,
    worker_argv,
)
from orchestrator.errors import Conflict, InvalidInput, SanshenError
from orchestrator.migrate import upgrade

STARTUP_TIMEOUT = 60.0
SCHEDULER_GRACE = 10.0
STOP_TIMEOUT = {"api": 10.0, "scheduler": 10.0, "worker": 30.0}
LABELS = {"api": "控制台", "worker": "发送进程", "scheduler": "调度器"}
DEMO_PACE = {  # the demo walk settles in seconds rather than at production pace
    "SANSHEN_SCHEDULER_INTERVAL": "0.5",
    "SANSHEN_ALERT_INTERVAL": "2",
    "SANSHEN_CONFIRM_FIRST_CHECK": "1",
    "SANSHEN_VERIFY_INTERVAL": "5",
    "SANSHEN_VERIFY_FIRST_DAY_EVERY": "60",
    "SANSHEN_NOTIFY_INTERVAL": "2",
}
# The website as it is in this office: no publishing API, 政府网站运行科 publishes it by hand
# in the platform's CMS (the simulator's /gov_website/cms/) and records the URL. The variable
# set to api in the environment puts it back on the simulated API.
DEMO_MODES = {"SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "assisted"}


class PartDied(SanshenError):
    code = "part_died"
    exit_code = 1


class Stop(BaseException):
    """SIGTERM or SIGINT, delivered the way Ctrl-C is."""


@app.command(
    "up",
    help="一条命令启动全部：数据库、Redis、发送进程、调度器与控制台（Ctrl-C 停止）",
)
def up_cmd(
    demo: Annotated[
        bool, typer.Option("--demo", help="同时启动平台模拟器并建立演示组织（打印账号密码）")
    ] = False,
    host: Annotated[str, typer.Option(help="控制台监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="控制台端口")] = 8000,
    workers: Annotated[
        int | None,
        typer.Option(help="发送进程的并发数（默认 SANSHEN_WORKER_CONCURRENCY）", min=1),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="数据目录（同 SANSHEN_DATA_DIR 或 sanshen --data-dir；缺省 ./sanshen-data）",
        ),
    ] = None,
) -> None:
    channels_or_exit()
    application = Context(data_dir).app if data_dir is not None else ctx().app
    workers = workers or application.settings.worker_concurrency
    stack = Stack(application, host=host, port=port, workers=workers, demo=demo)
    try:
        code = stack.run()
    except SanshenError as error:
        fail(error, False)
    raise typer.Exit(code)


@dataclass
class Stack:
    app: App
    host: str
    port: int
    workers: int
    demo: bool
    say: Callable[[str], None] = typer.echo
    procs: Processes | None = None
    sims: Any = None
    redis_url: str = ""
    embedded_redis: bool = False
    own_redis: bool = False
    started: dict[str, float] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.app.settings.data_dir.resolve()

    @property
    def children_file(self) -> Path:
        return self.data_dir / "logs" / "up-children.json"

    @property
    def console_url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{shown}:{self.port}"

    def run(self) -> int:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FolderLock(self.data_dir)
        try:
            lock.acquire()
        except FolderBusy as busy:
            raise Conflict(
                f"数据目录 {self.data_dir} 已有一个 sanshen {busy.command} 在运行"
                f"（进程 {busy.holder}）。请先停止它（Ctrl-C），或用 --data-dir 指定另一个数据目录",
                code="already_running",
            ) from None
        try:
            left = stop_leftovers(self.children_file)
            if left:
                names = "、".join(LABELS.get(name, name) for name in left)
                self.say(f"! 上次运行未正常停止（进程被强行结束），已停止它留下的{names}")
            self._port_free()
            with _signals_as_stop():
                return self._serve()
        finally:
            lock.release()

    def _serve(self) -> int:
        self.say(f"三审发布正在启动，数据目录：{self.data_dir}")
        try:
            self._start_all()
            self.say(f"全部就绪。请在浏览器中打开 {self.console_url}/login ，按 Ctrl-C 停止。")
            self._watch()
        except (KeyboardInterrupt, Stop):
            self.say("正在停止……")
            return 0
        except PartDied as died:
            self.say(f"✗ {died.message}")
            self.say("正在停止其余部分……")
            return died.exit_code
        finally:
            with _signals_ignored():
                self._stop_all()
        return 0  # pragma: no cover - _watch only returns by raising

    # --- starting -------------------------------------------------------------------------

    def _start_all(self) -> None:
        where = _where(self.app.settings.sqlalchemy_url)
        try:
            upgrade(self.app.db)
        except SQLAlchemyError as exc:
            reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).splitlines()[0]
            raise PartDied(f"数据库无法使用（{where}）：{reason}") from None
        self.say(f"✓ 数据库已就绪（{where}）")
        if self.demo:
            from orchestrator.demo import ensure_organisation

            ensure_organisation(self.app)
        self._start_redis()
        env = self._child_env()
        self.procs = Processes(self.data_dir / "logs", env)
        # started side by side (each takes seconds to import), then waited for one by one
        self._launch("worker", worker_argv(self.workers))
        self._launch("scheduler", scheduler_argv())
        self._launch("api", api_argv(self.host, self.port))
        record_children(self.procs, self.children_file)
        self._await("worker", self._worker_answers)
        self.say(f"✓ 发送进程已就绪（Celery worker，并发 {self.workers}）")
        self._await("scheduler", self._scheduler_ran)
        scan = env.get("SANSHEN_SCHEDULER_SAFETY_SCAN", self.app.settings.scheduler_safety_scan)
        note = "" if self._scheduler_stamped() else "；尚无轮次记录，仅确认进程在运行"
        self.say(f"✓ 调度器已就绪（到期即发，另每 {scan} 秒安全扫描{note}）")
        self._await("api", self._api_answers)
        self.say(f"✓ 控制台 {self.console_url}/login")
        if self.demo:
            self._show_demo_people()

    def _start_redis(self) -> None:
        if self.app.settings.redis_url:
            self.redis_url = self.app.settings.redis_url
            where = "外部服务"
        else:
            self.redis_url = redis_embedded.ensure_running(self.data_dir)
            self.embedded_redis = True
            # ours to stop: started now, or left by a killed run; not one another process runs
            self.own_redis = redis_embedded.adopt(self.data_dir)
            where = f"内置，{self.redis_url.removeprefix('redis+socket://')}"
        try:
            redis_embedded.client(self.redis_url, socket_timeout=2).ping()
        except Exception as exc:
            raise PartDied(f"Redis 无法连接（{type(exc).__name__}）") from None
        self.say(f"✓ Redis 已就绪（{where}）")

    def _child_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k.startswith("SANSHEN_")}
        env |= {"SANSHEN_DATA_DIR": str(self.data_dir), "SANSHEN_REDIS_URL": self.redis_url}
        if self.demo:
            from channels.simulators.server import SimulatorServer

            self.sims = SimulatorServer().start()
            env = DEMO_PACE | DEMO_MODES | env | self._simulator_settings()
            channels = {k: v for k, v in env.items() if k.startswith("SANSHEN_CHANNEL_")}
            publish_demo_channels(self.data_dir, channels)
            self.say(f"✓ 模拟平台 {self.sims.url}/（运营视图）")
        return env

    def _simulator_settings(self) -> dict[str, str]:
        """The channels' simulated platforms, and the 企业微信 application that tells people
        when something waits for them (its messages on the simulators' operator view)."""
        env = simulator_env({name: self.sims.client_settings(name) for name in self.sims.names})
        wecom = self.sims.wecom_app.client_settings(self.sims.wecom_app_url)
        return env | {
            "SANSHEN_WECOM_CORP_ID": wecom["corp_id"],
            "SANSHEN_WECOM_SECRET": wecom["secret"],
            "SANSHEN_WECOM_AGENT_ID": str(wecom["agent_id"]),
            "SANSHEN_WECOM_BASE_URL": wecom["base_url"],
            "SANSHEN_PUBLIC_URL": self.console_url,
        }

    def _launch(self, name: str, argv: list[str]) -> None:
        assert self.procs is not None
        self.started[name] = time.time()
        self.procs.start(name, argv)

    def _await(self, name: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready():
            self._check_alive()
            if time.monotonic() > deadline:
                raise PartDied(
                    f"{LABELS[name]}在 {STARTUP_TIMEOUT:g} 秒内未就绪，"
                    f"日志：{self.data_dir / 'logs' / f'{name}.log'}"
                )
            time.sleep(0.2)

    def _worker_answers(self) -> bool:
        from orchestrator.services import health

        return bool(health.workers_part(self.redis_url, timeout=1.0)["ok"])

    def _scheduler_ran(self) -> bool:
        """A dispatch round stamped in Redis since this scheduler started; a scheduler that
        stamps no rounds counts once it has stayed up for SCHEDULER_GRACE seconds."""
        grace_over = time.time() - self.started["scheduler"] > SCHEDULER_GRACE
        return self._scheduler_stamped() or grace_over

    def _scheduler_stamped(self) -> bool:
        from orchestrator.services import health

        try:
            stamp = redis_embedded.client(self.redis_url, socket_timeout=2).get(
                health.ROUND_KEY.format(loop="dispatch")
            )
        except Exception:
            return False
        if not stamp:
            return False
        ran = datetime.fromisoformat(stamp.decode() if isinstance(stamp, bytes) else str(stamp))
        return ran.timestamp() >= self.started["scheduler"]

    def _api_answers(self) -> bool:
        probe = self.console_url.replace("localhost", "127.0.0.1")
        try:
            with urllib.request.urlopen(f"{probe}/healthz", timeout=2) as reply:
                return bool(reply.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _port_free(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((self.host, self.port))
            except OSError as exc:
                raise InvalidInput(
                    f"无法在 {self.host}:{self.port} 上启动控制台：{os_reason(exc)}"
                    "（端口已被占用？可用 --port 换一个）",
                    code="port_unavailable",
                ) from None

    # --- running --------------------------------------------------------------------------

    def _watch(self) -> None:
        while True:
            self._check_alive()
            time.sleep(0.5)

    def _check_alive(self) -> None:
        assert self.procs is not None
        if self.embedded_redis and redis_embedded.server_pid(self.data_dir) is None:
            self.embedded_redis = self.own_redis = False  # nothing left to stop
            log = redis_embedded.socket_dir(self.data_dir) / "redis.log"
            raise PartDied(f"内置 Redis 意外退出，日志：{log}")
        for name, code in self.procs.exited().items():
            self.procs.procs.pop(name)
            log = self.data_dir / "logs" / f"{name}.log"
            raise PartDied(f"{LABELS[name]}意外退出（退出码 {code}），日志：{log}")

    # --- stopping -------------------------------------------------------------------------

    def _stop_all(self) -> None:
        if self.procs is not None:
            for name in ("api", "scheduler", "worker"):
                if name in self.procs.procs:
                    self.procs.stop(name, timeout=STOP_TIMEOUT[name])
                    self.say(f"✓ {LABELS[name]}已停止")
        if self.sims is not None:
            withdraw_demo_channels(self.data_dir)
            self.sims.stop()
            self.say("✓ 模拟平台已停止")
        self.children_file.unlink(missing_ok=True)
        if self.own_redis:
            redis_embedded.stop(self.data_dir)
            self.say("✓ Redis 已停止")
        elif self.embedded_redis:
            self.say("· 内置 Redis 由另一个进程启动，仍在运行")
        self.say("已全部停止。")

    def _show_demo_people(self) -> None:
        from orchestrator.services.org import parse_organisation, parse_role

        text = files("orchestrator").joinpath("data/demo-organisation.yaml").read_text("utf-8")
        spec = parse_organisation(text)
        rows = [
            (p.username, p.name, "、".join(parse_role(r).label for r in p.roles), p.password or "")
            for p in spec.people
        ]
        self.say(f"演示组织：{spec.organisation}。登录账号（密码仅供演示）：")
        self.say(table(rows, ("用户名", "姓名", "角色", "密码"), indent="  "))


def _where(url: str) -> str:
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"  # without the user and password


@contextlib.contextmanager
def _signals_as_stop() -> Iterator[None]:
    """SIGTERM and SIGINT stop the stack. SIGINT gets its handler here too: started in a
    script's background, up inherits SIGINT ignored and Python then installs none."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    """While stopping, a second Ctrl-C must not cut the orderly stop short."""
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
