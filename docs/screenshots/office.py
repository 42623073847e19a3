"""Screenshots of the office's way of working, at 1280 and 360 px wide.

    /work/venv/bin/python docs/screenshots/office.py

Starts the simulators (the 企业微信 one included) and the console over a temporary demo
database. An urgent item has waited five hours for 李军's 复审 (its 初审 signed then), a second
item waits for his 复审 since just now; one notification round tells him, reminds him of the
urgent one and tells 赵敏 (分管领导) it is past twice its limit. Photographs:
- office-todo-*.png: 李军's 我的待办 with the wait and the limit of each item;
- office-board-*.png: the board's 审核中 list, overdue first;
- notify-*.png: 李军's 通知设置 with the messages sent to him;
- office-refused-*.png: 王芳's form refused before review (a PNG cover for the 公众号), with
  the channel, the fix and the 自动修正 box;
- office-wecom-1280.png: the simulators' operator view listing the 企业微信 messages.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image
from playwright.sync_api import ViewportSize, sync_playwright
from pydantic import SecretStr
from shots import HERE, WIDTHS, demo_console
from sqlalchemy import update

from channels.simulators.server import SimulatorServer
from gate.model import Decision, ReviewStage
from orchestrator import demo
from orchestrator.app import App
from orchestrator.devstack import simulator_env
from orchestrator.models import RoleAssignment
from orchestrator.services import notifications, review, submissions
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS

LIJUN = ("lijun", "demo-pass-2")
WANGFANG = ("wangfang", "demo-pass-1")


def waiting(app: App, title: str, hours_ago: float, urgent: bool) -> int:
    then = datetime.now(UTC) - timedelta(hours=hours_ago)
    with app.db.session() as session:
        sub = submissions.create(
            session,
            app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(("gov_website", "wechat"), title=title),
            now=then,
            urgent=urgent,
        ).id
    with app.db.session() as session:
        review.review(
            session,
            sub,
            stage=ReviewStage.FIRST,
            decision=Decision.APPROVE,
            actor="wangfang",
            password="demo-pass-1",
            policy=app.policy,
            comment="同意",
            now=then + timedelta(minutes=5),
        )
    return sub


def png_cover() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 500), (40, 110, 170)).save(out, format="PNG")
    return out.getvalue()


def photograph(url: str, sims_url: str) -> None:
    cover = HERE / "_cover.png"
    cover.write_bytes(png_cover())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for width, size in WIDTHS.items():
            phone = width == "360"
            context = browser.new_context(
                viewport=ViewportSize(width=size["width"], height=size["height"]),
                is_mobile=phone,
                has_touch=phone,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
            )
            page = context.new_page()
            page.goto(f"{url}/login")
            page.fill("input[name=username]", LIJUN[0])
            page.fill("input[name=password]", LIJUN[1])
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/todo")
            page.screenshot(path=HERE / f"office-todo-{width}.png", full_page=True)
            page.goto(f"{url}/board")
            page.locator("#review-waits summary").click()
            page.screenshot(path=HERE / f"office-board-{width}.png", full_page=True)
            page.goto(f"{url}/me/notify")
            page.screenshot(path=HERE / f"notify-{width}.png", full_page=True)
            context.clear_cookies()
            page.goto(f"{url}/login")
            page.fill("input[name=username]", WANGFANG[0])
            page.fill("input[name=password]", WANGFANG[1])
            page.click("button[type=submit]")
            page.goto(f"{url}/submissions/new")
            page.fill("input[name=title]", "区政务服务中心周六延时服务的通知")
            page.locator("textarea[name=body]").fill("<p>每周六上午提供延时服务。</p>")
            page.locator("select[name=channel]").nth(0).select_option("wechat")
            page.set_input_files("input[name=cover]", str(cover))
            page.click("form.subform button[type=submit]")
            page.wait_for_selector("#form-error")
            page.screenshot(path=HERE / f"office-refused-{width}.png", full_page=True)
            if not phone:
                page.goto(sims_url + "/")
                page.locator("#wecom").scroll_into_view_if_needed()
                page.locator("#wecom").screenshot(path=HERE / "office-wecom-1280.png")
            context.close()
        browser.close()
    cover.unlink()


def main() -> None:
    with SimulatorServer() as sims:
        wecom = sims.wecom_app.client_settings(sims.wecom_app_url)
        env = simulator_env({name: sims.client_settings(name) for name in sims.names}) | {
            "SANSHEN_WECOM_CORP_ID": wecom["corp_id"],
            "SANSHEN_WECOM_SECRET": wecom["secret"],
            "SANSHEN_WECOM_AGENT_ID": str(wecom["agent_id"]),
            "SANSHEN_WECOM_BASE_URL": wecom["base_url"],
        }
        with demo_console(env) as (url, app):
            office(url, app, sims)


def office(url: str, app: App, sims: SimulatorServer) -> None:
    with app.db.session() as session:  # the demo people held their roles before today
        session.execute(update(RoleAssignment).values(valid_from=datetime(2020, 1, 1, tzinfo=UTC)))
    waiting(app, "区政务服务中心推出周末延时服务，138项事项可办", hours_ago=5, urgent=True)
    waiting(app, "一网通办新增“高效办成一件事”主题服务", hours_ago=0.2, urgent=False)
    wecom = sims.wecom_app.client_settings(sims.wecom_app_url)
    settings = app.settings.model_copy(
        update={
            "public_url": url,
            "wecom_corp_id": wecom["corp_id"],
            "wecom_secret": SecretStr(wecom["secret"]),
            "wecom_agent_id": wecom["agent_id"],
            "wecom_base_url": wecom["base_url"],
        }
    )
    round_app = App(settings)
    try:
        print(notifications.run_once(round_app))
    finally:
        round_app.db.dispose()
    photograph(url, sims.url)


if __name__ == "__main__":
    main()
