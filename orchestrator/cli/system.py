"""The running parts: demo, simulators, scheduler, worker, API.

`tasks` is imported inside its commands: importing the Celery app starts the embedded Redis.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from channels.registry import RegistryError, channel_entries
from channels.simulators.base import FaultConfig
from orchestrator.cli import files
from orchestrator.cli.base import (
    JsonOpt,
    app,
    ctx,
    fail,
    run,
)
from orchestrator.cli.chinese import os_reason
from orchestrator.config_check import channels_or_exit
from orchestrator.errors import GateRefused, InvalidInput

# --- demo and simulators --------------------------------------------------------------------


@app.command(
    "demo",
    help="演示：建立演示组织，一篇稿件走完初审到签发，"
    "再经内置 Redis、发送进程和模拟平台发布到各渠道",
)
def demo_cmd(
    publish: Annotated[bool, typer.Option("--publish/--no-publish", help="签发后是否发布")] = True,
    as_json: JsonOpt = False,
) -> None:
    from orchestrator import demo

    def work() -> dict[str, Any]:
        return demo.run(ctx().app, echo=None if as_json else typer.echo, publish=publish)

    run(as_json, work, lambda r: None, status=lambda r: 0 if r["passed"] else GateRefused.exit_code)


@app.command("simulate", help="在本机回环地址上启动全部平台模拟器（含运营视图），Ctrl-C 停止")
def simulate_cmd(
    host: Annotated[str, typer.Option(help="监听地址（仅限本机回环）")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8900,
    faults: Annotated[
        Path | None, typer.Option(help="故障注入配置 YAML，如 `{平台名: {rates: {5xx: 0.1}}}`")
    ] = None,
) -> None:

    config: dict[str, Any] = {}
    if faults is not None:
        try:
            config = yaml.safe_load(files.read_text(faults, "故障配置文件")) or {}
        except InvalidInput as refusal:
            fail(refusal, False)
        except yaml.YAMLError as exc:
            fail(InvalidInput(f"故障配置文件不是有效的 YAML：{exc}", code="bad_faults"), False)

    try:
        knobs = {name: FaultConfig.model_validate(value) for name, value in config.items()}
    except (ValueError, TypeError) as exc:
        fail(InvalidInput(f"故障配置有误：{exc}", code="bad_faults"), False)

    from channels.simulators import server  # Flask and the simulators, for this command only

    try:
        server.main(host=host, port=port, faults=knobs)
    except RegistryError as exc:
        fail(InvalidInput(f"故障配置有误：{exc}", code="bad_faults"), False)
    except OSError as exc:
        fail(
            InvalidInput(f"无法在 {host}:{port} 上启动：{os_reason(exc)}", code="port_unavailable"),
            False,
        )


@app.command("scheduler", help="调度循环：按时把到期的发布投入队列，并定期核对结果")
def scheduler_cmd() -> None:
    channels_or_exit()
    from tasks import scheduler

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo("调度循环已启动，Ctrl-C 停止")
    try:
        scheduler.run(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("worker", help="启动 Celery 发送进程（消费全部渠道队列）")
def worker_cmd(
    concurrency: Annotated[
        int | None, typer.Option(help="并发进程数（默认 SANSHEN_WORKER_CONCURRENCY）", min=1)
    ] = None,
) -> None:
    channels_or_exit()
    concurrency = concurrency or ctx().app.settings.worker_concurrency
    from tasks.app import CONTROL_QUEUE, queue_for
    from tasks.app import app as celery_app

    queues = ",".join([CONTROL_QUEUE] + [queue_for(e.name) for e in channel_entries()])
    celery_app.worker_main(
        [
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "--without-gossip",
            "--without-mingle",
            "-E",
            "--loglevel",
            "INFO",
        ]
    )


@app.command(
    "api", help="启动 HTTP 服务：控制台网页、REST API（/api/v1）、指标、健康检查、平台回调"
)
def api_cmd(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8800,
) -> None:
    channels_or_exit()
    import uvicorn

    from orchestrator import logs

    uvicorn.run(
        "orchestrator.api:api",
        host=host,
        port=port,
        log_level="warning",
        log_config=logs.uvicorn_config(level="WARNING"),
    )
