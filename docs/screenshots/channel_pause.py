"""Screenshots of the 系统状态 page's channel pauses, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/channel_pause.py

Starts the console over a temporary demo database (no worker), pauses 政府网站 as 郑值
(值守运维) and 微信公众号 as the platform would on its daily quota, and photographs /health as
郑值 sees it: health-pause-*.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from channels.registry import load_channels  # noqa: E402
from orchestrator import demo, redis_embedded  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.devstack import Processes  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.services import pauses  # noqa: E402
from orchestrator.services.hub import RedisRateGate  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, start_api  # noqa: E402

WIDTHS = {"1280": {"width": 1280, "height": 800}, "360": {"width": 360, "height": 740}}


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sanshen-shots-"))
    redis_url = redis_embedded.ensure_running(folder / "redis")
    env = {
        "SANSHEN_DATA_DIR": str(folder / "data"),
        "SANSHEN_KDF_PROFILE": "min",
        "SANSHEN_REDIS_URL": redis_url,
    }
    app = App(Settings(data_dir=folder / "data", kdf_profile="min", redis_url=redis_url))
    upgrade(app.db)
    demo.ensure_organisation(app)
    gate = RedisRateGate(redis_embedded.client(redis_url))
    pauses.pause(
        app, gate, load_channels(), "gov_website", minutes=240, reason="网站机房维护",
        actor="zhengop",
    )  # fmt: skip
    gate.pause("wechat", 6 * 3600, by="platform", reason="今日调用次数已达上限，次日零点恢复")
    procs = Processes(folder / "logs", env)
    try:
        url = start_api(procs)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name, viewport in WIDTHS.items():
                page = browser.new_page(
                    viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai"
                )
                page.goto(f"{url}/login")
                page.fill("input[name=username]", "zhengop")
                page.fill("input[name=password]", "demo-pass-8")
                page.click("button[type=submit]")
                page.wait_for_load_state()
                page.goto(f"{url}/health#channels")
                page.screenshot(path=HERE / f"health-pause-{name}.png", full_page=True)
                page.close()
            browser.close()
    finally:
        procs.stop_all()
        app.db.dispose()
        redis_embedded.stop(folder / "redis")
    print("screenshots written to", HERE)


if __name__ == "__main__":
    main()
