"""What the screenshot scripts share: the console over a temporary demo database (embedded
Redis, no worker), and pages photographed at 1280 and 360 px wide (full pages) as one person."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from orchestrator import demo, redis_embedded  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.devstack import Processes  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, start_api  # noqa: E402

WIDTHS = {"1280": {"width": 1280, "height": 800}, "360": {"width": 360, "height": 740}}


@contextmanager
def demo_console(extra: Mapping[str, str] | None = None) -> Iterator[tuple[str, App]]:
    """The console's URL and the app over its database, torn down afterwards; `extra`
    variables (e.g. a channel's settings) go to the console process too."""
    folder = Path(tempfile.mkdtemp(prefix="sanshen-shots-"))
    redis_url = redis_embedded.ensure_running(folder / "redis")
    env = {
        "SANSHEN_DATA_DIR": str(folder / "data"),
        "SANSHEN_KDF_PROFILE": "min",
        "SANSHEN_REDIS_URL": redis_url,
        **(extra or {}),
    }
    app = App(Settings(data_dir=folder / "data", kdf_profile="min", redis_url=redis_url))
    upgrade(app.db)
    demo.ensure_organisation(app)
    procs = Processes(folder / "logs", env)
    try:
        yield start_api(procs), app
    finally:
        procs.stop_all()
        app.db.dispose()
        redis_embedded.stop(folder / "redis")
    print("screenshots written to", HERE)


def photograph(url: str, username: str, password: str, pages: Sequence[tuple[str, str]]) -> None:
    """Each (path, name) as `username` sees it: HERE/<name>-1280.png and <name>-360.png."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width, viewport in WIDTHS.items():
            page = browser.new_page(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
            page.goto(f"{url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            for path, name in pages:
                page.goto(f"{url}{path}")
                page.screenshot(path=HERE / f"{name}-{width}.png", full_page=True)
            page.close()
        browser.close()
