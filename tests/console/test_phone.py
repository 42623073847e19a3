"""The leaders approve on their phones: a 360 × 740 touch screen in Chromium, from the link in a
message through sign-in, 我的待办 and the password to 签发, and the item page following what
happens to the item while it is open. On every page: no sideways scrolling, controls a thumb can
hit, text a person can read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from gate.model import ReviewStage
from orchestrator import demo
from orchestrator.models import Publication, ReviewAction
from orchestrator.services import submissions, verification
from orchestrator.services.dispatch import move
from orchestrator.states import State
from orchestrator.verify import Outcome, Verdict
from tests.clock import shanghai_tomorrow
from tests.console.conftest import DEMO_PASSWORDS, Console, csp_violations, sign_in

WIDTH, HEIGHT = 360, 740
KEYBOARD_UP = 420  # what is left of the screen above the on-screen keyboard
LEADER = "sunxuan"  # 孙宣, 宣传分管领导: 签发

# Every visible control (a checkbox or radio button by its label) shorter than 40 px.
SMALL_CONTROLS = """() => {
  const found = [];
  for (const el of document.querySelectorAll(
      "button, a.button, input, select, textarea, summary, .nav a")) {
    if (el.type === "hidden") continue;
    const box = (["checkbox", "radio"].includes(el.type) && el.closest("label") || el)
      .getBoundingClientRect();
    if (box.width && box.height && box.height < 40) {
      const said = (el.textContent || el.name || "").trim().slice(0, 20);
      found.push(`${el.tagName.toLowerCase()} "${said}": ${Math.round(box.height)} px`);
    }
  }
  return found;
}"""

# Every visible piece of text set smaller than 12 px.
TINY_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el.getClientRects().length) continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < 12) found.push(`"${node.textContent.trim().slice(0, 20)}": ${size} px`);
  }
  return found;
}"""


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A tab on a touch phone 360 px wide; any CSP violation fails the test."""
    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    violations = csp_violations(opened)
    yield opened
    context.close()
    assert not violations, "\n".join(violations)


def assert_fits_a_phone(page: Page) -> None:
    page.wait_for_load_state()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} scrolls sideways: {width} px wide"
    assert page.evaluate(SMALL_CONTROLS) == [], page.url
    assert page.evaluate(TINY_TEXT) == [], page.url


def assert_reachable(page: Page, selector: str, height: int = HEIGHT) -> None:
    """After scrolling to it, the whole control is on a screen `height` px tall (less than the
    phone's when the on-screen keyboard takes the bottom of it)."""
    page.set_viewport_size({"width": WIDTH, "height": height})
    control = page.locator(selector)
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
    assert box["height"] >= 44, box
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def waiting_for_sign_off(console: Console) -> int:
    """A demo submission every stage has approved but 签发."""
    with console.app.db.session() as session:
        sub = submissions.create(
            session,
            console.app.blobs,
            author="wangfang",
            department="sjgl",
            draft=demo.demo_draft(("gov_website",), publish_date=shanghai_tomorrow()),
        ).id
    demo.walk(console.app, sub, lambda _line: None, major=True, until=ReviewStage.SIGN_OFF)
    return sub


def signed_by(console: Console, sub: int) -> list[tuple[str, str]]:
    with console.app.db.read() as session:
        rows = session.scalars(
            select(ReviewAction).where(ReviewAction.submission_id == sub).order_by(ReviewAction.id)
        )
        return [(a.stage, a.actor.username) for a in rows]


def test_a_leader_signs_off_on_a_phone_from_the_link_in_a_message(
    console: Console, phone: Page
) -> None:
    sub = waiting_for_sign_off(console)
    review = f"/submissions/{sub}/review"

    phone.goto(console.url + review)  # the link, opened while signed out
    expect(phone).to_have_url(f"{console.url}/login?next={review}")
    assert_fits_a_phone(phone)
    password = phone.locator("input[name=password]")
    expect(password).to_have_attribute("autocomplete", "current-password")
    expect(password).to_have_attribute("inputmode", "text")
    expect(phone.locator("input[name=username]")).to_have_attribute("autocapitalize", "none")
    phone.fill("input[name=username]", LEADER)
    password.fill(DEMO_PASSWORDS[LEADER])
    assert_reachable(phone, "button[type=submit]", height=KEYBOARD_UP)
    phone.locator("button[type=submit]").tap()
    expect(phone).to_have_url(console.url + review)
    expect(phone.locator("#decide h2")).to_have_text("签发")

    phone.locator(".nav a", has_text="我的待办").tap()
    row = phone.locator(f'#waiting tr[data-submission="{sub}"]')
    expect(row).to_contain_text("签发")
    assert_fits_a_phone(phone)
    row.get_by_role("link", name="签发", exact=True).tap()
    expect(phone).to_have_url(console.url + review)
    assert_fits_a_phone(phone)

    password = phone.locator("#decide input[name=password]")
    expect(password).to_have_attribute("autocomplete", "current-password")
    expect(password).to_have_attribute("inputmode", "text")
    password.fill(DEMO_PASSWORDS[LEADER])
    assert_reachable(phone, "#decide button[type=submit]")
    assert_reachable(phone, "#decide button[type=submit]", height=KEYBOARD_UP)
    phone.locator("#decide button[type=submit]").tap()
    expect(phone).to_have_url(f"{console.url}/items/{sub}")
    expect(phone.locator(".flash-ok")).to_contain_text("签发")
    assert signed_by(console, sub)[-1] == ("sign_off", LEADER)
    expect(phone.locator(".publication")).to_have_count(1)
    assert_fits_a_phone(phone)

    phone.locator(".nav a", has_text="发布看板").tap()
    expect(
        phone.locator(f'tr[data-submission="{sub}"] td[data-channel="gov_website"]')
    ).to_be_visible()
    expect(phone.locator("#board-filters")).to_be_hidden()  # folded away: the rows come first
    assert_fits_a_phone(phone)
    phone.locator(".filters-fold summary").tap()
    expect(phone.locator("#board-filters select[name=state]")).to_be_visible()
    assert_fits_a_phone(phone)
    phone.locator(".nav a", has_text="我的待办").tap()
    expect(phone.locator("#waiting-empty")).to_be_visible()
    assert_fits_a_phone(phone)


def test_the_submission_form_fits_a_phone(console: Console, phone: Page) -> None:
    """The 信息发布审批表 fieldset once stood 1 px wider than the page."""
    sign_in(phone, console.url, "wangfang", DEMO_PASSWORDS["wangfang"])
    phone.goto(f"{console.url}/submissions/new")
    expect(phone.locator("legend", has_text="信息发布审批表")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_the_item_page_follows_the_review_and_the_publications_without_a_reload(
    console: Console, phone: Page
) -> None:
    sub = waiting_for_sign_off(console)
    sign_in(phone, console.url, LEADER, DEMO_PASSWORDS[LEADER])
    phone.goto(f"{console.url}/items/{sub}")
    expect(phone.locator("#item-summary")).to_contain_text("等待签发")
    expect(phone.locator(".publication")).to_have_count(0)
    phone.evaluate("window.notReloaded = true")
    phone.evaluate("document.getElementById('item-summary').dataset.mark = 'kept'")
    expect(phone.locator("#item-status")).to_contain_text("已更新")
    # nothing changed: the polled fragment is the page's own, so nothing is swapped
    expect(phone.locator("#item-summary[data-mark=kept]")).to_have_count(1)
    assert httpx.get(f"{console.url}/items/{sub}/live").status_code == 401

    demo.walk(console.app, sub, lambda _line: None, major=True)  # 签发, elsewhere
    expect(phone.locator("#timeline li").last).to_contain_text("孙宣（签发）")
    expect(phone.locator("#item-summary")).to_contain_text("审核：已签发")
    card = phone.locator(".publication")
    state = card.locator("h3 .state")
    expect(state).to_have_text("待发布")
    pub_id = int(card.get_attribute("id").removeprefix("pub-"))  # type: ignore[union-attr]

    def moved(source: State, target: State, **values: object) -> None:
        with console.app.db.session() as session:
            assert move(session, pub_id, (source,), target, now=datetime.now(UTC), **values)

    # what the leader is typing is not swept away: the change waits until they are done
    reason = card.locator("form.amend input[name=reason]")
    reason.fill("会议改期")
    moved(State.SCHEDULED, State.QUEUED)
    expect(phone.locator("#item-status")).to_contain_text("输入完成后显示")
    expect(state).to_have_text("待发布")
    reason.fill("")
    reason.blur()
    expect(state).to_have_text("排队中")

    moved(State.QUEUED, State.SENDING)
    refusal = (
        "内容不合法，被微信拒绝（平台说明：invalid content rid: 7af04b4d-9c1e-4f0a-b7d3-5e6f）"
    )
    moved(State.SENDING, State.FAILED, last_error=refusal, last_error_class="content_rejected")
    expect(state).to_have_text("失败")
    expect(card).to_contain_text(refusal)
    assert_fits_a_phone(phone)

    moved(State.FAILED, State.QUEUED)
    moved(State.QUEUED, State.SENDING)
    url = "https://www.shqp.gov.cn/gzdt/20261206/001.html"
    moved(State.SENDING, State.PUBLISHED, url=url, published_at=datetime.now(UTC))
    expect(state).to_have_text("已发布")
    expect(card.locator(".pub-url a")).to_have_attribute("href", url)
    outcome = Outcome(Verdict.CONSISTENT, "consistent", "线上页面与签发版本一致", url)
    verification.record(console.app, pub_id, outcome, trigger="watch")
    expect(card.locator(f"#verify-{pub_id} .verdict").first).to_have_text("核验一致")
    expect(phone.locator("#item-status")).to_contain_text("已更新")
    assert phone.evaluate("window.notReloaded") is True
    assert_fits_a_phone(phone)
    with console.app.db.read() as session:
        assert session.get(Publication, pub_id).verdict == "consistent"  # type: ignore[union-attr]
