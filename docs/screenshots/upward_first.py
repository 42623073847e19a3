"""Screenshots of upward first, then one repost, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/upward_first.py

Starts the console over a temporary demo database (no worker). One item goes to 学习强国 and the
office's platforms: 学习强国 adopts it, the one repost is drafted and signed off. A second item
still waits for its adoption. Photographs, as 周综合 (综合科):
- upward-first-upward-*.png: 对上报送 with the rows waiting for adoption (放行/撤下) and the repost;
- upward-first-item-*.png: the waiting item's page (待上级采用, 放行/撤下);
- upward-first-board-*.png: the board, the repost's cells marked 转载.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from orchestrator import demo, redis_embedded  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.devstack import Processes  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.models import Publication, Submission  # noqa: E402
from orchestrator.services.dispatch import move, record_move  # noqa: E402
from orchestrator.services.hub import ChannelHub, MemoryRateGate  # noqa: E402
from orchestrator.services.publishing import Publisher  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from orchestrator.states import State  # noqa: E402
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, start_api  # noqa: E402

WIDTHS = {"1280": {"width": 1280, "height": 800}, "360": {"width": 360, "height": 740}}
BOTH = ("gov_website", "suishenban", "wechat", "xuexi")


def seed(app: App) -> int:
    adopted = demo.submit_and_sign_off(app, demo.demo_draft(BOTH), publish_time="00:00")
    now = datetime.now(UTC)
    with app.db.session() as session:
        pub = session.query(Publication).filter_by(submission_id=adopted, channel="xuexi").one()
        for source, goal in ((State.SCHEDULED, State.QUEUED), (State.QUEUED, State.SENDING)):
            move(session, pub.id, (source,), goal, now=now)
        move(
            session,
            pub.id,
            (State.SENDING,),
            State.PUBLISHED,
            now=now,
            url="https://www.xuexi.cn/lgpage/detail/index.html?id=qp20261206",
            published_at=now,
        )
        record_move(session, pub.id, "publication.sent", State.PUBLISHED, at=now)
        Publisher(app, ChannelHub(), MemoryRateGate()).on_published(session, pub.id, now)
    with app.db.session() as session:
        repost = session.query(Submission).filter_by(repost_origin_id=adopted).one().id
    demo.walk(app, repost, lambda _line: None, "23:59", major=True)
    waiting = demo.demo_draft(BOTH, title="“一网通办”窗口延时服务上线")
    return demo.submit_and_sign_off(app, waiting, publish_time="23:59")


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
    procs = Processes(folder / "logs", env)
    try:
        url = start_api(procs)
        waiting = seed(app)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for name, viewport in WIDTHS.items():
                page = browser.new_page(
                    viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai"
                )
                page.goto(f"{url}/login")
                page.fill("input[name=username]", "zhouzh")
                page.fill("input[name=password]", "demo-pass-6")
                page.click("button[type=submit]")
                page.wait_for_load_state()
                for path, shot in (
                    ("/upward", "upward"),
                    (f"/items/{waiting}", "item"),
                    ("/board", "board"),
                ):
                    page.goto(f"{url}{path}")
                    page.screenshot(path=HERE / f"upward-first-{shot}-{name}.png", full_page=True)
                page.close()
            browser.close()
    finally:
        procs.stop_all()
        app.db.dispose()
        redis_embedded.shutdown(folder / "redis")
    print("screenshots written to", HERE)


if __name__ == "__main__":
    main()
