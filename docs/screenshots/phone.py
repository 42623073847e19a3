"""Screenshots of what the leaders approve on their phones, at 360 × 740 and 1280 px wide.

    /work/venv/bin/python docs/screenshots/phone.py

Starts the platform simulators and the console over a temporary demo database (no worker). One
item waits for 签发; a second was signed off and sent in this process: 政府网站 and 随申办
published it (发布核验 found both pages as signed), 微信公众号 refused it. Photographs, as
孙宣 (宣传分管领导):
- phone-login-*.png: the sign-in page opened from a link to the review page (signed out);
- phone-todo-*.png: 我的待办 with the item waiting for 签发;
- phone-review-*.png: its review page, the password prompt in view;
- phone-item-*.png: the sent item's page (states, verdicts, the review timeline);
- phone-board-*.png: the board.
The 360 pictures are full pages of a touch phone (is_mobile, has_touch), the 1280 ones of a
desktop browser.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from playwright.sync_api import Page, ViewportSize, sync_playwright
from shots import HERE, WIDTHS, demo_console

from channels.simulators.server import SimulatorServer
from gate.model import ReviewStage
from orchestrator import demo
from orchestrator.app import App
from orchestrator.devstack import simulator_env
from orchestrator.models import Publication
from orchestrator.services import submissions, verification
from orchestrator.services.dispatch import claim_due
from orchestrator.services.hub import ChannelHub, MemoryRateGate
from orchestrator.services.publishing import Publisher
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS

SENT = ("gov_website", "suishenban", "wechat")
LEADER = ("sunxuan", "demo-pass-5")


def sent_item(app: App, hub: ChannelHub) -> int:
    """Signed off and sent at once by the publisher in this process."""
    sub = demo.submit_and_sign_off(
        app,
        demo.demo_draft(SENT, title="青浦区政务服务“一网通办”再添新功能，企业群众办事更便捷"),
        publish_time="00:00",
    )
    with app.db.session() as session:
        claim_due(session, now=datetime.now(UTC), per_channel=20)
    with app.db.read() as session:
        pubs = [p.id for p in session.query(Publication).filter_by(submission_id=sub)]
    publisher = Publisher(app, hub, MemoryRateGate())
    for pub in pubs:
        if publisher.send(pub) == "published":
            verification.verify(app, hub, pub, trigger="watch")
    return sub


def waiting_for_sign_off(app: App) -> int:
    with app.db.session() as session:
        sub = submissions.create(
            session,
            app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(
                ("gov_website", "wechat"), title="区政务服务中心推出周末延时服务，138项事项可办"
            ),
        ).id
    demo.walk(app, sub, lambda _line: None, major=True, until=ReviewStage.SIGN_OFF)
    return sub


def shoot(page: Page, name: str, width: str) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > int(width):  # a phone would zoom out: the picture would not show what people see
        raise SystemExit(f"{page.url} is {wide} px wide at {width} px")
    page.screenshot(path=HERE / f"phone-{name}-{width}.png", full_page=True)


def photograph(url: str, waiting: int, sent: int) -> None:
    review = f"/submissions/{waiting}/review"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width, size in WIDTHS.items():
            phone = width == "360"  # a touch phone; the desktop browser otherwise
            context = browser.new_context(
                viewport=ViewportSize(width=size["width"], height=size["height"]),
                is_mobile=phone,
                has_touch=phone,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
            )
            page = context.new_page()
            page.goto(url + review)  # the link in the message, signed out
            page.fill("input[name=username]", LEADER[0])
            shoot(page, "login", width)
            page.fill("input[name=password]", LEADER[1])
            page.click("button[type=submit]")
            page.wait_for_url(url + review)
            page.fill("textarea[name=comment]", "同意发布")
            page.locator("input[name=password]").focus()
            shoot(page, "review", width)
            for path, name in (("/todo", "todo"), (f"/items/{sent}", "item"), ("/board", "board")):
                page.goto(url + path)
                shoot(page, name, width)
            context.close()
        browser.close()


def main() -> None:
    with SimulatorServer() as sims:
        env = simulator_env({name: sims.client_settings(name) for name in SENT})
        sims.simulator("wechat").faults.update({"rates": {"content_rejected": 1.0}})
        with demo_console(env) as (url, app):
            hub = ChannelHub({**os.environ, **env})
            sent = sent_item(app, hub)
            waiting = waiting_for_sign_off(app)
            photograph(url, waiting, sent)


if __name__ == "__main__":
    main()
