"""The board and the item page against the real pipeline: a cell turns green without a reload
when the worker has sent, and a failed publication is sent again from the item page."""

from __future__ import annotations

from datetime import time

import httpx
from playwright.sync_api import Locator, Page, expect

from orchestrator.services import amendments
from orchestrator.web import auth
from tests.clock import shanghai_today, shanghai_tomorrow
from tests.console.conftest import Live, sign_in
from tests.orchestrator.conftest import PASSWORDS


def cell(page: Page, sub: int, channel: str) -> Locator:
    return page.locator(f"tr[data-submission='{sub}'] td[data-channel='{channel}'] .state")


def test_a_cell_turns_published_on_the_open_board_after_the_worker_sends(
    live: Live, page: Page
) -> None:
    stack = live.stack
    sub = stack.signed_off(("gov_website",), publish_date=shanghai_tomorrow())
    (pub,) = stack.publications(sub)
    with stack.app.db.session() as session:  # the leader signs it over to late tonight
        amendments.amend_date(
            session,
            pub.id,
            new_date=shanghai_today(),
            at_time=time(23, 59),
            actor="publicity",
            password=PASSWORDS["publicity"],
            policy=stack.app.policy,
        )
    sign_in(page, live.url, "web", PASSWORDS["web"])
    page.goto(f"{live.url}/board")
    expect(cell(page, sub, "gov_website")).to_have_text("待发布")
    page.evaluate("window.notReloaded = true")

    other_tab = page.context.new_page()  # 政府网站运行科 publishes it now from the item page
    other_tab.goto(f"{live.url}/items/{sub}")
    other_tab.click(f"#pub-{pub.id} button[name=now]")
    expect(other_tab.locator(".flash-ok")).to_contain_text("政府网站：已改期至")
    expect(cell(page, sub, "gov_website")).to_have_text("已发布", timeout=30_000)
    assert page.evaluate("window.notReloaded") is True
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}
    expect(page.locator("#board-status")).to_contain_text("已更新")


def test_a_failed_publication_is_retried_from_the_item_page_and_turns_published(
    live: Live, page: Page
) -> None:
    stack = live.stack
    stack.sims.simulator("gov_website").faults.update({"rates": {"content_rejected": 1.0}})
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "failed"}, what="failed")
    (pub,) = stack.publications(sub)
    stack.sims.simulator("gov_website").faults.update({"rates": {}})
    stack.kill("scheduler")  # no stale sweep: the retry itself hands the row to the worker

    sign_in(page, live.url, "ops", PASSWORDS["ops"])  # 值守运维 may retry
    page.goto(f"{live.url}/board")
    failed_row = page.locator("tbody tr").first  # failed rows come first
    expect(failed_row).to_have_attribute("data-submission", str(sub))
    expect(cell(page, sub, "gov_website")).to_have_text("失败")
    page.click(f"tr[data-submission='{sub}'] td[data-channel='gov_website'] a")
    page.wait_for_url(f"{live.url}/items/{sub}#pub-{pub.id}")
    expect(page.locator(f"#pub-{pub.id} details")).to_contain_text("不可重试的错误")
    page.click(f"#pub-{pub.id} button[name=retry]")
    expect(page.locator(".flash-ok")).to_have_text("政府网站：已重新排队发送")

    page.goto(f"{live.url}/board")
    expect(cell(page, sub, "gov_website")).to_have_text("已发布", timeout=15_000)
    assert stack.states(sub) == {"gov_website": "published"}
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}


def test_an_api_retry_goes_to_the_worker_at_once(live: Live) -> None:
    """POST …/retry enqueues after its commit; with no scheduler left to sweep queued rows,
    only that hands the row to the worker."""
    stack = live.stack
    stack.sims.simulator("gov_website").faults.update({"rates": {"content_rejected": 1.0}})
    sub = stack.signed_off(("gov_website",))
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "failed"}, what="failed")
    (pub,) = stack.publications(sub)
    stack.sims.simulator("gov_website").faults.update({"rates": {}})
    stack.kill("scheduler")
    with stack.app.db.session() as session:
        token, _ = auth.create_token(session, "ops", "tests")
    reply = httpx.post(
        f"{live.url}/api/v1/publications/{pub.id}/retry",
        json={},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    stack.wait_for(
        lambda: stack.states(sub) == {"gov_website": "published"}, timeout=15, what="published"
    )
    assert stack.ledger("gov_website") == {pub.idempotency_key: 1}


def test_retract_all_from_the_item_page_reaches_every_platform(live: Live, page: Page) -> None:
    stack = live.stack
    sub = stack.signed_off(("gov_website", "suishenban"))
    stack.wait_for(
        lambda: set(stack.states(sub).values()) == {"published"}, timeout=40, what="published"
    )
    sign_in(page, live.url, "web", PASSWORDS["web"])  # 政府网站运行科 retracts own platforms
    page.goto(f"{live.url}/items/{sub}")
    page.fill("form[action$='/retract-all'] input[name=reason]", "信息有误")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[name=retract_all]")
    expect(page.locator(".flash-ok")).to_have_text("政府网站：已撤稿；随申办旗舰店：已撤稿")
    expect(page.locator(".publication .state")).to_have_text(["已撤稿", "已撤稿"])
    assert stack.states(sub) == {"gov_website": "retracted", "suishenban": "retracted"}
    expect(page.locator("button[name=retract_all]")).to_have_count(0)

    page.goto(f"{live.url}/health")  # the stack's worker answers, its scheduler has run
    expect(page.locator("#health-workers")).to_have_attribute("data-ok", "true")
    expect(page.locator("#health-scheduler")).to_have_attribute("data-ok", "true")
