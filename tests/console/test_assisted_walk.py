"""The assisted walk in a real browser: the website channel in assisted mode. 政府网站运行科
opens the publish package from 我的待办, publishes through the platform's CMS form (the
simulator's back-end), records the URL with a signature; the board shows 核验一致. Someone then
edits the live page: within a watch round the board flags it and the item page shows the diff."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import Live, sign_in, start_api
from tests.orchestrator.conftest import PASSWORDS
from tests.pipeline.conftest import Stack

BODY = (
    "<p>为方便上班族办事，区政务服务中心自下月起在每周六上午提供延时服务，"
    "办理时间为9:00至12:00，可办理社保、医保、户籍等138项高频事项。</p>"
    "<p>市民可通过随申办预约，到场后凭预约码取号，无需排队。</p>"
)


@pytest.fixture
def assisted_live(stack: Stack) -> Live:
    stack.env |= {
        "SANSHEN_CHANNEL_GOV_WEBSITE_MODE": "assisted",
        "SANSHEN_VERIFY_INTERVAL": "0.5",
        "SANSHEN_VERIFY_FIRST_DAY_EVERY": "1",
    }
    stack.start("worker")
    stack.start("scheduler")
    stack.procs.env = stack.env
    return Live(stack, start_api(stack.procs))


def test_a_clerk_publishes_by_hand_and_the_watch_catches_an_edit(
    assisted_live: Live, page: Page
) -> None:
    live, stack = assisted_live, assisted_live.stack
    sub = stack.signed_off(("gov_website",), body_html=BODY, images=[])
    stack.wait_for(lambda: stack.states(sub) == {"gov_website": "manual"}, what="待人工发布")
    (pub,) = stack.publications(sub)

    sign_in(page, live.url, "web", PASSWORDS["web"])
    page.goto(f"{live.url}/todo")
    row = page.locator(f"#by-hand tr[data-publication='{pub.id}']")
    expect(row).to_contain_text("待人工发布")
    row.get_by_role("link", name="发布包").click()
    expect(page.locator("h1")).to_contain_text("发布包：政府网站")
    expect(page.locator("#pkg-limits-ok")).to_be_visible()
    # the signed 审批表 and the images (here the cover) come with the package
    form = page.request.get(live.url + page.locator("#pkg-form").get_attribute("href"))
    assert form.ok and form.body().startswith(b"%PDF")
    images = page.request.get(f"{live.url}/work/package/{pub.id}/images.zip")
    assert images.ok and images.body().startswith(b"PK")
    title = page.locator("#pkg-title").inner_text()
    body_html = page.locator("#pkg-html").input_value()
    assert "9:00至12:00" in page.locator("#pkg-text").input_value()

    # the platform's back-end, in another tab: paste and publish
    cms = page.context.new_page()
    cms.goto(f"{stack.sims.base_url('gov_website')}/cms/")
    cms.fill("#title", title)
    cms.fill("#body", body_html)
    cms.fill("#source", "青浦区政务服务中心")
    cms.click("#publish")
    url = cms.locator("#published-url").inner_text().strip()
    article_id = cms.locator("#published-id").inner_text().strip()
    cms.close()

    page.fill("#record input[name=url]", "https://evil.example/a.html")
    page.fill("#record input[name=external_id]", article_id)
    page.fill("#record input[name=password]", PASSWORDS["web"])
    page.click("#record-submit")
    expect(page.locator("#package-error")).to_contain_text("不是该渠道的发布地址")
    expect(page.locator("#record input[name=external_id]")).to_have_value(article_id)
    page.fill("#record input[name=url]", url)
    page.fill("#record input[name=password]", PASSWORDS["web"])
    page.click("#record-submit")
    expect(page.locator(".flash")).to_contain_text("核验一致")
    expect(page.locator("#manual-actions")).to_contain_text(url)

    page.goto(f"{live.url}/board")
    cell = page.locator(f"tr[data-submission='{sub}'] td[data-channel='gov_website']")
    expect(cell.locator("[data-verdict]")).to_have_attribute("data-verdict", "consistent")

    stack.sims.simulator("gov_website").alter_page(url, replace=["138项", "18项"])
    stack.wait_for(
        lambda: stack.publications(sub)[0].verdict == "mismatch", timeout=30, what="巡检发现改动"
    )
    page.goto(f"{live.url}/board")
    expect(cell.locator("[data-verdict]")).to_have_attribute("data-verdict", "mismatch")
    page.goto(f"{live.url}/items/{sub}")
    verdict = page.locator(f"#verify-{pub.id}")
    expect(verdict).to_contain_text("核验不一致")
    expect(verdict.locator(".diff del")).to_contain_text("3")
    page.goto(f"{live.url}/alerts")
    expect(page.locator("body")).to_contain_text("线上页面与签发版本不一致")
