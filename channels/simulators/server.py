"""Every registered platform's simulator on one loopback HTTP server, plus an operator view.

    /                      operator page (Chinese, refreshes itself)
    /api/state             the same as JSON
    /<channel name>/...    that platform's API and its `/_sim/...` admin endpoints

`sanshen simulate` calls `main`; tests use `SimulatorServer` as a context manager. Which
requests are being served is tracked in `inflight.py`, the operator page is `operator_view.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, make_server

from channels.registry import RegistryError, load_channels, load_simulator
from channels.simulators.background import BackgroundServer
from channels.simulators.base import Simulator
from channels.simulators.faults import FaultConfig
from channels.simulators.inflight import InFlight, InFlightHandler, QuietInFlightHandler
from channels.simulators.operator_view import operator_app
from channels.simulators.wecom_app.simulator import MOUNT as WECOM_APP_MOUNT
from channels.simulators.wecom_app.simulator import WeComAppSimulator

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


def all_simulators(faults: Mapping[str, FaultConfig] | None = None) -> list[Simulator]:
    """One simulator per registered channel; a channel without a loadable simulator raises."""
    faults = dict(faults or {})
    channels = load_channels()
    unknown = sorted(set(faults) - set(channels))
    if unknown:
        raise RegistryError(f"未知平台：{'、'.join(unknown)}；已注册：{'、'.join(channels)}")
    return [load_simulator(cls)(faults=faults.get(name)) for name, cls in channels.items()]


_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


class SimulatorServer(BackgroundServer[BaseWSGIServer]):
    """One threaded werkzeug server in a background thread, each simulator under `/<name>`."""

    thread_name = "sanshen-simulators"

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
        operator = operator_app(self.state, lambda: self.wecom_app.messages())
        self._app = InFlight(DispatcherMiddleware(operator, mounts))
        handler = InFlightHandler if log_requests else QuietInFlightHandler
        super().__init__(make_server(host, port, self._app, threaded=True, request_handler=handler))
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

    def serve_forever(self) -> None:
        self._server.serve_forever()

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
