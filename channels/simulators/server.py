"""Every registered platform's simulator on one loopback HTTP server, plus an operator view.

    /                      operator page (Chinese, refreshes itself)
    /api/state             the same as JSON
    /<channel name>/...    that platform's API and its `/_sim/...` admin endpoints

`sanshen simulate` calls `main`; tests use `SimulatorServer` as a context manager.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify, render_template_string
from flask.typing import ResponseReturnValue
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from channels.registry import RegistryError, load_channels, load_simulator
from channels.simulators.base import FaultConfig, Simulator
from channels.simulators.wecom_app import MOUNT as WECOM_APP_MOUNT
from channels.simulators.wecom_app import WeComAppSimulator

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def all_simulators(faults: Mapping[str, FaultConfig] | None = None) -> list[Simulator]:
    """One simulator per registered channel; a channel without a loadable simulator raises."""
    faults = dict(faults or {})
    channels = load_channels()
    unknown = sorted(set(faults) - set(channels))
    if unknown:
        raise RegistryError(f"未知平台：{'、'.join(unknown)}；已注册：{'、'.join(channels)}")
    return [load_simulator(cls)(faults=faults.get(name)) for name, cls in channels.items()]


_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class _ShutdownOnClose:
    """`cut_connection` closes werkzeug's socket, but the handler's file objects keep the
    descriptor open and the reply would still go out; shutting the socket down really cuts it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _InFlight:
    """Tracks the requests being served, so tests can wait for hung handlers to finish.

    A request counts from the app's call until its handler thread is done with it (see
    `_Handler`), not until its response is closed: werkzeug drains an unread request body
    before it calls close(), and skips close() when that drain fails on a reset connection.
    """

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self._active: dict[int, str] = {}  # handler thread -> "POST /path since 12:00:00"
        self._abandoned: set[int] = set()
        self._idle = threading.Condition()
        self.served = 0  # every request since start (benches compare call counts)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if "werkzeug.socket" in environ:
            environ["werkzeug.socket"] = _ShutdownOnClose(environ["werkzeug.socket"])
        path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
        label = f"{environ.get('REQUEST_METHOD')} {path} since {datetime.now():%H:%M:%S}"
        with self._idle:
            self._active[threading.get_ident()] = label
            self.served += 1
        return self._app(environ, start_response)

    def finished(self) -> None:
        """The calling handler thread is done with its request, however that ended."""
        thread = threading.get_ident()
        with self._idle:
            self._active.pop(thread, None)
            self._abandoned.discard(thread)
            self._idle.notify_all()

    def _busy(self) -> dict[int, str]:
        with self._idle:
            return {t: label for t, label in self._active.items() if t not in self._abandoned}

    def busy(self) -> list[str]:
        return list(self._busy().values())

    def report(self) -> str:
        """Each busy request with where its handler thread is now, so a hang explains itself."""
        frames = sys._current_frames()
        parts = []
        for thread, label in self._busy().items():
            frame = frames.get(thread)
            where = "".join(traceback.format_stack(frame)) if frame else "  （线程已结束）\n"
            parts.append(f"{label}，处理线程 {thread}：\n{where}")
        return "\n".join(parts) or "没有未结束的请求"

    def abandon(self) -> None:
        """Stop waiting for the requests running now (they still finish in their own time)."""
        with self._idle:
            self._abandoned |= self._active.keys()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: not self._active.keys() - self._abandoned, timeout)


class _Handler(WSGIRequestHandler):
    """Tells `_InFlight` when this thread is done with a request, whatever werkzeug skipped."""

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            if isinstance(self.server.app, _InFlight):
                self.server.app.finished()


class _QuietHandler(_Handler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SimulatorServer:
    """One threaded werkzeug server in a background thread, each simulator under `/<name>`."""

    def __init__(
        self,
        simulators: list[Simulator] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_requests: bool = False,
    ) -> None:
        sims = all_simulators() if simulators is None else simulators
        self._simulators: dict[str, Simulator] = {}
        for sim in sims:
            if sim.name in self._simulators:
                raise RegistryError(f"模拟平台 {sim.name} 重复")
            self._simulators[sim.name] = sim
        self._initial = {name: sim.faults.config for name, sim in self._simulators.items()}
        mounts: dict[str, WSGIApplication] = {
            f"/{name}": sim.create_app() for name, sim in self._simulators.items()
        }
        # Not a channel (it tells reviewers their turn), so outside `names` and the operator view.
        self.wecom_app = WeComAppSimulator()
        mounts[WECOM_APP_MOUNT] = self.wecom_app.create_app()
        self._app = _InFlight(DispatcherMiddleware(self._operator_app(), mounts))
        handler = _Handler if log_requests else _QuietHandler
        self._server: BaseWSGIServer = make_server(
            host, port, self._app, threaded=True, request_handler=handler
        )
        self._thread: threading.Thread | None = None
        if host not in _WILDCARD_HOSTS:  # else each request's own host names the pages
            for name, sim in self._simulators.items():
                sim.public_root = self.base_url(name)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    @property
    def names(self) -> list[str]:
        return list(self._simulators)

    @property
    def requests_served(self) -> int:
        return self._app.served

    def base_url(self, name: str) -> str:
        self.simulator(name)
        return f"{self.url}/{name}"

    @property
    def wecom_app_url(self) -> str:
        """The 企业微信 API root of `wecom_app` (its credentials: `wecom_app.client_settings`)."""
        return f"{self.url}{WECOM_APP_MOUNT}"

    def simulator(self, name: str) -> Simulator:
        try:
            return self._simulators[name]
        except KeyError:
            raise KeyError(f"没有模拟平台 {name}") from None

    def client_settings(self, name: str, **overrides: Any) -> dict[str, Any]:
        """Settings values pointing `name`'s adapter at its simulator."""
        return self.simulator(name).client_settings(self.base_url(name)) | overrides

    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="sanshen-simulators", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once no request is being served (hung handlers included)."""
        return self._app.wait_idle(timeout)

    def busy_requests(self) -> list[str]:
        """The requests still being served, e.g. "POST /wechat/cgi-bin/draft/add since ..."."""
        return self._app.busy()

    def busy_report(self) -> str:
        """The busy requests with their handler threads' stacks (a hang explains itself)."""
        return self._app.report()

    def abandon_busy(self) -> None:
        """Let `wait_idle` ignore the requests running now."""
        self._app.abandon()

    def reset(self) -> None:
        """Every platform back to its start: nothing held, the fault knobs it started with."""
        for name, sim in self._simulators.items():
            sim.reset()
            sim.faults.update(self._initial[name].model_dump())
        self.wecom_app.reset()

    def state(self) -> dict[str, Any]:
        return {"platforms": [sim.snapshot() for sim in self._simulators.values()]}

    def _operator_app(self) -> Flask:
        app = Flask("sanshen-simulators")
        app.json.ensure_ascii = False  # type: ignore[attr-defined]

        @app.get("/")
        def operator_page() -> ResponseReturnValue:
            return render_template_string(
                _PAGE,
                platforms=self.state()["platforms"],
                wecom=list(reversed(self.wecom_app.messages()[-30:])),
            )

        @app.get("/api/state")
        def api_state() -> ResponseReturnValue:
            return jsonify(self.state())

        return app


def main(
    host: str = "127.0.0.1",
    port: int = 8900,
    faults: Mapping[str, FaultConfig] | None = None,
) -> None:
    """Serve every platform until Ctrl-C (`sanshen simulate`)."""
    server = SimulatorServer(all_simulators(faults), host, port, log_requests=True)
    print(f"模拟平台已启动，运营视图：{server.url}/")
    for name in server.names:
        sim = server.simulator(name)
        base = server.base_url(name)
        back_end = f"，内容管理后台 {base}/cms/" if sim.cms_columns else ""
        print(f"  {sim.display_name}（{name}）：{base}{back_end}")
    print("按 Ctrl-C 停止。")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="3">
<title>模拟平台运行情况</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
section { border: 1px solid #ccc; padding: 0.5em 1em; margin-bottom: 1em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ddd; padding: 2px 6px; text-align: left; font-size: 90%; }
.dup { color: #b00; font-weight: bold; }
</style>
</head>
<body>
<h1>模拟平台运行情况</h1>
<p>每 3 秒自动刷新。数据接口：<a href="api/state">api/state</a></p>
{% for p in platforms %}
<section>
<h2>{{ p.display_name }}（{{ p.name }}）</h2>
<p>已发布稿件 {{ p.ledger | length }} 篇，发布次数 {{ p.ledger.values() | sum }} 次；
{% if p.duplicates %}<span class="dup">重复发布 {{ p.duplicates | length }} 篇：
{% for key, n in p.duplicates.items() %}{{ key }} × {{ n }}{% if not loop.last %}，{% endif %}
{% endfor %}</span>{% else %}无重复发布{% endif %}</p>
<p>公开页面 {{ p.pages | length }} 个{% if p.pages %}（{% for page in p.pages -%}
<a href="{{ page.url }}">{{ page.title }}</a>{% if page.state == "gone" %}（已下线）{% endif %}
{%- if page.faults %}（故障：{{ page.faults | join("、") }}）{% endif %}
{%- if not loop.last %}；{% endif %}{% endfor %}）{% endif %}
{% if p.cms %}；<a href="{{ p.name }}/cms/">内容管理后台</a>{% endif %}</p>
<p>故障设置：
{% for kind, rate in p.faults.rates.items() %}{{ kind }} {{ rate }}；{% endfor %}
延迟 {{ p.faults.latency_ms }} 毫秒；挂起 {{ p.faults.hang_s }} 秒；
限流等待 {{ p.faults.retry_after_s }} 秒；确认延迟 {{ p.faults.confirm_delay_s }} 秒；
丢弃答复 {{ p.faults.drop_reply_rate }}</p>
<table>
<tr><th>时间</th><th>操作</th><th>内容</th></tr>
{% for r in p.received | reverse %}
<tr><td>{{ r.at }}</td><td>{{ r.operation }}</td>
<td>{% for k, v in r.items() if k not in ("at", "operation") -%}
{{ k }}={{ v }} {% endfor %}</td></tr>
{% else %}
<tr><td colspan="3">尚未收到请求</td></tr>
{% endfor %}
</table>
</section>
{% endfor %}
<section id="wecom">
<h2>企业微信应用消息（通知）</h2>
<p>三审发布发给个人的通知（轮到本人审核、稿件被退回、发布失败、超时提醒），最新在前。</p>
<table>
<tr><th>时间</th><th>收件人</th><th>标题</th><th>内容</th><th>链接</th></tr>
{% for m in wecom %}
<tr><td>{{ m.at }}</td><td>{{ m.userid }}</td><td>{{ m.textcard.title if m.textcard else "" }}</td>
<td>{{ m.textcard.description if m.textcard else m.text }}</td>
<td>{% if m.textcard %}<a href="{{ m.textcard.url }}">{{ m.textcard.btntxt or "详情" }}</a>
{%- endif %}</td></tr>
{% else %}
<tr><td colspan="5">尚无消息</td></tr>
{% endfor %}
</table>
</section>
</body>
</html>
"""
