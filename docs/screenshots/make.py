"""Screenshots of the console (1280×800) for the docs: sign-in, board, one item, health.

    /work/venv/bin/python docs/screenshots/make.py

Runs the real pipeline in a temporary folder — embedded Redis, the platform simulators, a
Celery worker, the scheduler and the API — with the demo organisation, publishes three demo
submissions (one platform refuses everything, one submission waits for tomorrow) and drives
Debian's headless Chromium through the pages.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from channels.simulators.server import SimulatorServer  # noqa: E402
from orchestrator import demo, redis_embedded  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.devstack import Processes, scheduler_argv, simulator_env, worker_argv  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, start_api  # noqa: E402

TODAY = datetime.now(UTC).date()


def seed(app: App) -> int:
    """Three submissions; returns the one worth showing on the item page."""
    shown = demo.submit_and_sign_off(
        app, demo.demo_draft(demo.ALL_DEMO_CHANNELS, publish_date=TODAY), publish_time="00:00"
    )
    demo.submit_and_sign_off(
        app,
        demo.demo_draft(
            ("gov_website", "wechat"),
            publish_date=TODAY + timedelta(days=1),
            title="青浦区政务服务中心周末延时服务通知",
            major_event=False,
        ),
    )
    demo.submit_and_sign_off(
        app,
        demo.demo_draft(
            ("gov_website", "xuexi"),
            publish_date=TODAY,
            title="“高效办成一件事”青浦实践",
            major_event=False,
        ),
        publish_time="00:00",
    )
    return shown


def shoot(url: str, item: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai")
        page.goto(f"{url}/login")
        page.screenshot(path=HERE / "login.png")
        page.fill("input[name=username]", "zhengop")
        page.fill("input[name=password]", "demo-pass-8")
        page.click("button[type=submit]")
        page.goto(f"{url}/board")
        page.wait_for_timeout(3500)  # one live update
        page.screenshot(path=HERE / "board.png")
        page.goto(f"{url}/items/{item}")
        page.screenshot(path=HERE / "item.png")
        page.goto(f"{url}/health")
        page.screenshot(path=HERE / "health.png")
        browser.close()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="sanshen-shots-"))
    redis_url = redis_embedded.ensure_running(folder / "redis")
    try:
        with SimulatorServer() as sims:
            sims.simulator("suishenban").faults.update({"rates": {"content_rejected": 1.0}})
            env = {
                "SANSHEN_DATA_DIR": str(folder / "data"),
                "SANSHEN_KDF_PROFILE": "min",
                "SANSHEN_REDIS_URL": redis_url,
                "SANSHEN_SCHEDULER_INTERVAL": "0.3",
                "SANSHEN_RECONCILE_INTERVAL": "1",
                "SANSHEN_CONFIRM_FIRST_CHECK": "1",
            } | simulator_env({name: sims.client_settings(name) for name in sims.names})
            app = App(Settings(data_dir=folder / "data", kdf_profile="min", redis_url=redis_url))
            upgrade(app.db)
            demo.ensure_organisation(app)
            procs = Processes(folder / "logs", env)
            try:
                procs.start("worker", worker_argv(2))
                procs.start("scheduler", scheduler_argv())
                url = start_api(procs)
                item = seed(app)
                time.sleep(8)  # let the worker send what is due
                shoot(url, item)
            finally:
                procs.stop_all()
                app.db.dispose()
    finally:
        redis_embedded.stop(folder / "redis")
    print("screenshots written to", HERE)


if __name__ == "__main__":
    main()
