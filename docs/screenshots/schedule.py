"""Screenshots of 排期日历, at 1280 and 360 px wide.

    /work/venv/bin/python docs/screenshots/schedule.py

Next week over a temporary demo database: items signed off on 政府网站, 随申办 and 微信公众号
at their times (one a 转载), two items still in review (dashed, on their 审批表 dates), two
公众号 items on one day (over its 1 a day), and a 改期 request waiting for 孙宣's signature.
Photographs:
- calendar-week-*.png: 吴运 (政府网站运行科) on next week (a list by day at 360 px);
- calendar-month-*.png: the month view;
- calendar-sign-*.png: 孙宣 (宣传分管领导) with the request to sign.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from playwright.sync_api import ViewportSize, sync_playwright
from shots import HERE, WIDTHS, demo_console
from sqlalchemy import select, update

from gate.model import RepostSource
from orchestrator import demo
from orchestrator.app import App
from orchestrator.models import Publication, RoleAssignment
from orchestrator.services import calendar, daterequests, submissions
from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, sign_in

WUYUN = ("wuyun", "demo-pass-7")
SUNXUAN = ("sunxuan", "demo-pass-5")
ITEMS = [  # (days after Monday, channels, time, title)
    (0, ("gov_website", "wechat"), "09:00", "区政务服务中心推出周末延时服务，138项事项可办"),
    (0, ("suishenban",), "10:30", "“随申办”青浦旗舰店上线企业开办一件事"),
    (1, ("gov_website",), "14:00", "一网通办新增“高效办成一件事”主题服务"),
    (2, ("wechat",), "08:30", "政务服务“好差评”十月情况通报"),
    (2, ("wechat", "gov_website"), "17:00", "青浦区政务服务中心窗口服务规范再升级"),
    (3, ("gov_website", "suishenban"), "09:30", "长三角“跨省通办”专窗办件量突破一万件"),
]


def monday_next_week() -> date:
    today = calendar.shanghai_today()
    return today - timedelta(days=today.weekday()) + timedelta(days=7)


def build(app: App) -> date:
    with app.db.session() as session:  # the demo people held their roles before today
        session.execute(update(RoleAssignment).values(valid_from=datetime(2020, 1, 1, tzinfo=UTC)))
    monday = monday_next_week()
    for offset, channels, at, title in ITEMS:
        draft = demo.demo_draft(channels, publish_date=monday + timedelta(days=offset), title=title)
        demo.submit_and_sign_off(app, draft, publish_time=at)
    repost = demo.demo_draft(
        ("gov_website",),
        publish_date=monday + timedelta(days=4),
        title="学习强国刊发：青浦“一网通办”经验",
        repost=RepostSource("学习强国", "https://www.xuexi.cn/a/1.html", datetime.now(UTC)),
    )
    demo.submit_and_sign_off(app, repost, publish_time="11:00")
    for offset, channels, title in [
        (3, ("wechat",), "区政务服务开放日活动预告"),
        (4, ("gov_website", "suishenban"), "2026年度政务公开工作要点"),
    ]:
        draft = demo.demo_draft(channels, publish_date=monday + timedelta(days=offset), title=title)
        with app.db.session() as session:
            submissions.create(
                session, app.blobs, author="wangfang", department="sjgl", draft=draft
            )
    with app.db.session() as session:
        pub = session.scalars(
            select(Publication)
            .where(Publication.channel == "suishenban")
            .order_by(Publication.scheduled_at.desc())
        ).first()
        assert pub is not None
        from orchestrator.api import publisher

        daterequests.request_change(
            session,
            pub.id,
            new_date=monday + timedelta(days=4),
            at_time=None,
            actor=WUYUN[0],
            kind=publisher().hub.classes[pub.channel].kind,
            policy=app.policy,
            comment="配合周五开放日一并发布",
        )
    return monday


def photograph(url: str, monday: date) -> None:
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
            for (username, password), shots in [
                (WUYUN, [("week", f"?date={monday}"), ("month", f"?view=month&date={monday}")]),
                (SUNXUAN, [("sign", f"?date={monday}#requests")]),
            ]:
                context.clear_cookies()
                sign_in(page, url, username, password)
                for name, query in shots:
                    page.goto(f"{url}/calendar{query}")
                    if name == "week" and not phone:
                        page.locator("#cal-week .cal-block[data-movable] summary").first.click()
                    page.screenshot(path=HERE / f"calendar-{name}-{width}.png", full_page=True)
            context.close()
        browser.close()


def main() -> None:
    with demo_console() as (url, app):
        photograph(url, build(app))


if __name__ == "__main__":
    main()
