"""Screenshots of what the gate binding changed, at 1280 and 360 px wide (full pages).

    /work/venv/bin/python docs/screenshots/gate_binding.py

Starts the console over a temporary demo database (no worker: nothing is due), signs off one
item for tomorrow, has the 宣传分管领导 sign a 改期 of its website row, leaves a second item
waiting for 复审, and photographs:
- item-amend-*.png: the item as 孙宣 sees it (signed date, who signed the 改期, 签署改期 form);
- review-scope-*.png: the waiting item as 王强 (综合科's 科室负责人) sees it: who may act.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from gate.model import Decision, ReviewStage  # noqa: E402
from orchestrator import demo, redis_embedded  # noqa: E402
from orchestrator.app import App  # noqa: E402
from orchestrator.devstack import Processes  # noqa: E402
from orchestrator.migrate import upgrade  # noqa: E402
from orchestrator.models import Publication  # noqa: E402
from orchestrator.services import amendments, review, submissions  # noqa: E402
from orchestrator.settings import Settings  # noqa: E402
from tests.clock import shanghai_tomorrow  # noqa: E402
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, start_api  # noqa: E402

WIDTHS = {"1280": {"width": 1280, "height": 800}, "360": {"width": 360, "height": 740}}


def seed(app: App) -> tuple[int, int]:
    tomorrow = shanghai_tomorrow()
    signed = demo.submit_and_sign_off(
        app, demo.demo_draft(("gov_website", "wechat"), publish_date=tomorrow)
    )
    with app.db.session() as session:
        pub = session.query(Publication).filter_by(submission_id=signed, channel="gov_website")
        amendments.amend_date(
            session,
            pub.one().id,
            new_date=tomorrow + timedelta(days=2),
            actor="sunxuan",
            password="demo-pass-5",
            policy=app.policy,
            comment="活动延期两天",
        )
    with app.db.session() as session:
        waiting = submissions.create(
            session,
            app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(title="“一网通办”窗口延时服务", major_event=False),
        ).id
    with app.db.session() as session:
        review.review(
            session,
            waiting,
            stage=ReviewStage.FIRST,
            decision=Decision.APPROVE,
            actor="wangfang",
            password="demo-pass-1",
            policy=app.policy,
            app=app,
        )
    return signed, waiting


def shoot(url: str, signed: int, waiting: int) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for name, viewport in WIDTHS.items():
            for user, password, path, shot in (
                ("sunxuan", "demo-pass-5", f"/items/{signed}", "item-amend"),
                ("wangqiang", "demo-pass-9", f"/submissions/{waiting}/review", "review-scope"),
            ):
                page = browser.new_page(
                    viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai"
                )
                page.goto(f"{url}/login")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_load_state()
                page.goto(f"{url}{path}")
                page.screenshot(path=HERE / f"{shot}-{name}.png", full_page=True)
                page.close()
        browser.close()


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
        signed, waiting = seed(app)
        shoot(url, signed, waiting)
    finally:
        procs.stop_all()
        app.db.dispose()
        redis_embedded.stop(folder / "redis")
    print("screenshots written to", HERE)


if __name__ == "__main__":
    main()
