"""The board without a worker: failed rows first, filters, live rows, alerts and health."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from orchestrator.models import Alert, AuditEvent
from orchestrator.redis_embedded import client
from orchestrator.services.hub import RedisRateGate
from tests.clock import shanghai_tomorrow
from tests.console.conftest import DEMO_PASSWORDS, Console, sign_in
from tests.console.test_pages_item import fail, publications


def row_ids(page: Page) -> list[str]:
    rows = page.locator("table.board tbody tr")
    return [rows.nth(i).get_attribute("data-submission") or "" for i in range(rows.count())]


def test_failed_rows_come_first_and_the_filters_narrow_the_board(
    console: Console, page: Page
) -> None:
    first = console.signed_off(("gov_website", "suishenban"))
    second = console.signed_off(("wechat",), publish_date=shanghai_tomorrow() + timedelta(days=1))
    third = console.signed_off(("gov_website",))
    fail(console, publications(console, first)["gov_website"].id)
    sign_in(page, console.url, "wuyun", DEMO_PASSWORDS["wuyun"])

    page.goto(f"{console.url}/board")
    assert row_ids(page) == [str(first), str(third), str(second)]
    expect(page.locator(f"tr[data-submission='{first}']")).to_have_class("attention")

    page.select_option("select[name=state]", "failed")
    page.click("#board-filters button[type=submit]")
    # the click only starts the navigation: read the rows of the filtered page once it is loaded
    page.wait_for_url(re.compile(r"/board\?state=failed&"))
    assert row_ids(page) == [str(first)]

    page.goto(f"{console.url}/board?channel=wechat")
    assert row_ids(page) == [str(second)]
    expect(page.locator("table.board thead th")).to_have_text(
        ["编号", "标题", "科室", "微信公众号"]
    )

    page.goto(f"{console.url}/board?to={shanghai_tomorrow().isoformat()}")
    assert row_ids(page) == [str(first), str(third)]
    page.goto(f"{console.url}/board?department=zhk")
    expect(page.locator("#board-rows")).to_contain_text("没有符合条件的发布")
    page.goto(f"{console.url}/board?from=2026-13-01")
    expect(page.locator(".flash-error")).to_contain_text("起始日期“2026-13-01”不是有效日期")


def test_the_open_board_follows_the_database_without_a_reload(console: Console, page: Page) -> None:
    older = console.signed_off(("gov_website",))
    newer = console.signed_off(("gov_website",))
    sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"])
    page.goto(f"{console.url}/board")
    assert row_ids(page) == [str(newer), str(older)]
    page.evaluate("window.notReloaded = true")
    fail(console, publications(console, older)["gov_website"].id)
    cell = page.locator(f"tr[data-submission='{older}'] td[data-channel='gov_website'] .state")
    expect(cell).to_have_text("失败")
    assert row_ids(page) == [str(older), str(newer)]
    assert page.evaluate("window.notReloaded") is True


def test_alerts_are_listed_newest_first_with_their_delivery(console: Console, page: Page) -> None:
    sub = console.signed_off(("gov_website",))
    pub = publications(console, sub)["gov_website"].id
    now = datetime.now(UTC)
    with console.app.db.session() as session:
        session.add_all(
            [
                Alert(
                    dedup_key=f"failed:{pub}:1",
                    kind="failed",
                    publication_id=pub,
                    message="政府网站发布失败：内容被拒绝",
                    created_at=now - timedelta(minutes=5),
                    delivery_state="sent",
                    delivery_attempts=1,
                    delivered_at=now - timedelta(minutes=4),
                ),
                Alert(
                    dedup_key=f"overdue:{pub}:2",
                    kind="overdue",
                    publication_id=pub,
                    message="政府网站逾期未发",
                    created_at=now,
                    delivery_state="failed",
                    delivery_attempts=3,
                    last_error="邮件服务器拒绝连接",
                ),
            ]
        )
    sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"])
    page.goto(f"{console.url}/alerts")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("逾期未发")
    expect(rows.first).to_contain_text("发送失败")
    expect(rows.first).to_contain_text("邮件服务器拒绝连接")
    expect(rows.last).to_contain_text("已发送")
    # 值守 takes the newest on: the button goes, the name and time stay.
    rows.first.get_by_role("button", name="确认已知悉").click()
    expect(page.locator("tbody tr").first).to_contain_text("zhengop")
    expect(page.locator("tbody tr").first.get_by_role("button")).to_have_count(0)
    expect(page.locator("tbody tr").last.get_by_role("button", name="确认已知悉")).to_have_count(1)
    rows.last.locator("a").click()
    page.wait_for_url(f"{console.url}/items/{sub}#pub-{pub}")


def test_health_says_which_part_is_down(console: Console, page: Page) -> None:
    sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"])
    page.goto(f"{console.url}/health")
    expect(page.locator("#health-broker")).to_have_attribute("data-ok", "true")
    expect(page.locator("#health-database")).to_have_attribute("data-ok", "true")
    workers = page.locator("#health-workers")  # this console runs no worker
    expect(workers).to_have_attribute("data-ok", "false")
    expect(workers).to_contain_text("没有发送进程应答")
    expect(page.locator("h1")).to_contain_text("有异常")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#health-status")).to_contain_text("已更新", timeout=15_000)
    expect(workers).to_contain_text("没有发送进程应答")  # swapped in again, still down
    assert page.evaluate("window.notReloaded") is True


def test_an_operator_pauses_and_resumes_a_channel_on_the_health_page(
    console: Console, page: Page
) -> None:
    gate = RedisRateGate(client(os.environ["SANSHEN_REDIS_URL"]))
    try:
        sign_in(page, console.url, "zhengop", DEMO_PASSWORDS["zhengop"])
        page.goto(f"{console.url}/health")
        row = page.locator("#channel-gov_website")
        expect(row).to_have_attribute("data-paused", "false")
        expect(row).to_contain_text("正常发送")
        row.locator("input[name=reason]").fill("网站机房维护")
        row.locator("select[name=minutes]").select_option("30")
        row.locator("button[name=pause]").click()
        expect(page.locator(".flash-ok")).to_have_text("政府网站：已暂停发送 30 分钟")
        expect(row).to_have_attribute("data-paused", "true")
        expect(row).to_contain_text("郑值：网站机房维护")
        assert 29 * 60 < gate.wait_left("gov_website") <= 30 * 60

        page.once("dialog", lambda dialog: dialog.accept())
        row.locator("button[name=resume]").click()
        expect(page.locator(".flash-ok")).to_have_text(
            "政府网站：已恢复发送，0 条等待中的发布现在到期"
        )
        expect(row).to_have_attribute("data-paused", "false")
        assert gate.wait_left("gov_website") == 0
        with console.app.db.session() as session:
            said = session.execute(
                select(AuditEvent.action, AuditEvent.actor, AuditEvent.subject)
                .where(AuditEvent.action.like("channel.%"))
                .order_by(AuditEvent.id)
            ).all()
        assert said == [
            ("channel.pause", "zhengop", "channel:gov_website"),
            ("channel.resume", "zhengop", "channel:gov_website"),
        ]

        page.context.clear_cookies()
        sign_in(page, console.url, "wangfang", DEMO_PASSWORDS["wangfang"])  # a writer
        page.goto(f"{console.url}/health")
        expect(row).to_contain_text("无权操作")
        expect(row.locator("form")).to_have_count(0)
    finally:
        gate.resume("gov_website")
