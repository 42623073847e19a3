"""The console in a real browser: Debian's headless Chromium driven by Playwright, against a real
`uvicorn orchestrator.api:api` process on loopback. The pipeline tests add that process to the
pipeline's stack (Redis, Celery worker, scheduler, platform simulators)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from orchestrator import demo
from orchestrator.app import App
from orchestrator.devstack import BIN, Processes
from orchestrator.migrate import upgrade
from orchestrator.settings import Settings, get_settings
from tests.clock import shanghai_tomorrow
from tests.pipeline.conftest import Stack, redis_url, sims, stack  # noqa: F401  (fixtures)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the console tests need Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def csp_violations(page: Page) -> list[str]:
    """What the browser refused under the Content-Security-Policy, as it tells its console."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return found


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser tab; any CSP violation on any page a test visits fails the test."""
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    opened = context.new_page()
    violations = csp_violations(opened)
    yield opened
    context.close()
    assert not violations, "\n".join(violations)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(procs: Processes, timeout: float = 30.0) -> str:
    """`uvicorn orchestrator.api:api` as a process of `procs` (with its environment); its URL."""
    port = free_port()
    procs.start(
        "api",
        [str(BIN / "uvicorn"), "orchestrator.api:api", "--host", "127.0.0.1", "--port", str(port)],
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.alive("api"):
            break
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the API did not start:\n{procs.log('api')[-3000:]}")


def sign_in(page: Page, url: str, username: str, password: str, next_path: str = "") -> None:
    page.goto(f"{url}/login" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@dataclass
class Console:
    """The API process over a fresh database holding the demo organisation; no worker."""

    url: str
    app: App
    procs: Processes

    def signed_off(self, channels: tuple[str, ...], publish_date: date | None = None) -> int:
        draft = demo.demo_draft(channels, publish_date=publish_date or shanghai_tomorrow())
        return demo.submit_and_sign_off(self.app, draft)


DEMO_PASSWORDS = {
    "wangfang": "demo-pass-1",
    "sunxuan": "demo-pass-5",
    "zhouzh": "demo-pass-6",
    "wuyun": "demo-pass-7",
    "zhengop": "demo-pass-8",
}


@pytest.fixture
def console(
    tmp_path: Path,
    redis_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Console]:
    env = {
        "SANSHEN_DATA_DIR": str(tmp_path / "data"),
        "SANSHEN_KDF_PROFILE": "min",
        "SANSHEN_REDIS_URL": redis_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    app = App(Settings())
    upgrade(app.db)
    demo.ensure_organisation(app)
    procs = Processes(tmp_path / "logs", env)
    try:
        yield Console(start_api(procs), app, procs)
    finally:
        procs.stop_all()
        app.db.dispose()
        get_settings.cache_clear()


@dataclass
class Live:
    stack: Stack
    url: str


@pytest.fixture
def live(stack: Stack) -> Live:  # noqa: F811
    """The pipeline's stack with its worker and scheduler running, and the API beside them."""
    stack.start("worker")
    stack.start("scheduler")
    stack.procs.env = stack.env
    return Live(stack, start_api(stack.procs))
