"""The 企业微信 simulator alone on loopback: `with WeComAppServer() as wecom: ...` in a test,
`python -m channels.simulators.wecom_app` by hand."""

from __future__ import annotations

import time
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from channels.simulators.background import BackgroundServer, QuietRequests
from channels.simulators.wecom_app.simulator import WeComAppSimulator


class WeComAppServer(BackgroundServer[BaseWSGIServer]):
    """The simulator alone on 127.0.0.1 (port 0: any free one), in a thread; a context manager.

    `url` is the API root to give the client (`WeComApp(base_url=server.url, ...)`).
    """

    thread_name = "wecom-app-simulator"

    def __init__(
        self, simulator: WeComAppSimulator | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.simulator = simulator or WeComAppSimulator()
        app = self.simulator.create_app()
        super().__init__(make_server(host, port, app, threaded=True, request_handler=QuietRequests))

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def client_settings(self) -> dict[str, Any]:
        """base_url, corp_id, secret and agent_id pointing a client at this server."""
        return self.simulator.client_settings(self.url)


def main(port: int = 8902) -> None:
    """Serve the simulator alone until Ctrl-C (`python -m channels.simulators.wecom_app`)."""
    with WeComAppServer(port=port) as server:
        settings = server.client_settings()
        print(f"企业微信应用消息模拟器：{server.url}（CorpID {settings['corp_id']}，", end="")
        print(f"AgentId {settings['agent_id']}）；收到的消息：{server.url}/_sim/received")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
