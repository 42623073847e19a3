"""Fixtures for channel tests: every registered adapter against its simulator over real HTTP.

`adapter_name` is parametrised over the `sanshen.channels` entry points, so a new adapter is
picked up by the contract suite as soon as its module exists. An entry point whose module (or
simulator module) cannot be loaded fails collection: no suite is ever skipped silently.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request

from channels.base import Channel
from channels.item import Image, Item, ReviewLine
from channels.registry import channel_entries, load_simulator
from channels.simulators.base import Simulator
from channels.simulators.server import SimulatorServer

DATA = Path(__file__).parent / "data"


def _discover() -> dict[str, type[Channel]]:
    """Every registered channel with its simulator; one that cannot load fails collection."""
    channels: dict[str, type[Channel]] = {}
    for entry in channel_entries():
        cls = entry.load()
        load_simulator(cls)
        channels[entry.name] = cls
    return channels


CHANNELS = _discover()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every registered channel, or only the module's `CHANNEL` in a platform's own tests."""
    if "adapter_name" not in metafunc.fixturenames:
        return
    only = getattr(metafunc.module, "CHANNEL", None)
    params = [pytest.param(name, id=name) for name in CHANNELS if only in (None, name)]
    metafunc.parametrize("adapter_name", params)


@pytest.fixture(scope="session")
def sim_server() -> Iterator[SimulatorServer]:
    simulators = [load_simulator(cls)() for cls in CHANNELS.values()]
    with SimulatorServer(simulators) as server:
        yield server


def _garbage_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    Request(environ).get_data()  # read what was sent, as a real server would
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
    return ["<html><body><h1>系统维护通知</h1></body></html>".encode()]


@pytest.fixture(scope="session")
def garbage_url() -> Iterator[str]:
    """A server answering every request with an HTML page and HTTP 200 (a misrouted proxy)."""
    server = make_server("127.0.0.1", 0, _garbage_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}/"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.fixture
def sims(sim_server: SimulatorServer) -> SimulatorServer:
    """The shared server with every platform emptied and its fault knobs back to normal."""
    if not sim_server.wait_idle(timeout=10):
        hanging = sim_server.busy_report()
        sim_server.abandon_busy()  # fail this test only, not every one after it
        pytest.fail(f"模拟平台仍有请求未结束（前一个测试遗留）：\n{hanging}")
    sim_server.reset()
    return sim_server


@pytest.fixture
def channel_cls(adapter_name: str) -> type[Channel]:
    return CHANNELS[adapter_name]


@pytest.fixture
def simulator(sims: SimulatorServer, adapter_name: str) -> Simulator:
    return sims.simulator(adapter_name)


@pytest.fixture
def make_channel(sims: SimulatorServer, channel_cls: type[Channel]) -> Callable[..., Channel]:
    """Build the adapter pointed at its simulator; keyword overrides change settings."""

    def make(**overrides: Any) -> Channel:
        values = sims.client_settings(channel_cls.name, **overrides)
        return channel_cls(channel_cls.settings_model.model_validate(values))

    return make


@pytest.fixture
def adapter(make_channel: Callable[..., Channel]) -> Channel:
    return make_channel()


@pytest.fixture
def idempotency_key() -> str:
    return f"pub-{uuid.uuid4().hex}"


def image_file(filename: str, mime: str) -> Image:
    data = (DATA / filename).read_bytes()
    return Image(hashlib.sha256(data).hexdigest(), filename, mime, data)


COVER = image_file("cover.jpg", "image/jpeg")  # 16x16 JPEG, 543 bytes
FIGURE = image_file("figure.png", "image/png")  # 16x16 PNG, 1,020 bytes


def sample_item(**overrides: Any) -> Item:
    """An item every built-in platform accepts: title ≤ 32 characters, a JPEG cover under
    64 KB, one PNG body image under 1 MB, digest, author, department and a full review."""
    acted = datetime(2024, 5, 6, 2, 30, tzinfo=UTC)
    fields: dict[str, Any] = {
        "reference": f"ref-{uuid.uuid4().hex[:12]}",
        "title": "青浦区政务服务中心推出周末延时服务",
        "body_html": (
            "<p>为方便企业和群众办事，区政务服务中心自下月起在周六上午提供延时服务。</p>"
            f'<p><img src="{FIGURE.src}" alt="服务大厅"></p>'
            "<p>办理事项包括社保、医保、不动产登记等 120 项高频事项。</p>"
        ),
        "images": (FIGURE,),
        "cover": COVER,
        "author": "综合科",
        "digest": "区政务服务中心自下月起在周六上午提供延时服务，涵盖120项高频事项。",
        "department": "综合科",
        "publish_date": date(2024, 5, 6),
        "review": tuple(
            ReviewLine(stage, person, acted, "ab12cd34ef56")
            for stage, person in [
                ("初审", "张编辑"),
                ("复审", "李科长"),
                ("终审", "王分管"),
                ("签发", "赵宣传"),
            ]
        ),
        "fingerprint": hashlib.sha256(b"sample version").hexdigest(),
    }
    return Item(**(fields | overrides))


@pytest.fixture
def make_item() -> Callable[..., Item]:
    """`sample_item`: keyword overrides replace fields of the universal valid item."""
    return sample_item


@pytest.fixture
def item() -> Item:
    return sample_item()
