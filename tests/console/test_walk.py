"""The walk: one item from the author's form to every channel, by people in a real browser.

An author signs in and writes an item for all five channels with an image and a cover; each
reviewer signs in and signs their stage with their password; the 宣传分管领导 signs off. The
real Celery worker, the scheduler and the platform simulators then report it upward first (the
upward platforms adopt at once); the own platforms wait and make way for the one repost, which
the reviewers sign in turn and which then goes out once on each own platform, marked 转载. With UPDATE_SCREENSHOTS=1 it also saves the work pages' screenshots (1280×800)."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from orchestrator.demo import tiny_png
from orchestrator.states import State
from tests.console.conftest import Live, sign_in, start_api
from tests.orchestrator.conftest import PASSWORDS
from tests.pipeline.conftest import ALL_CHANNELS, Stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Set to 1 to refresh docs/screenshots/{submission-new,todo,review,upward}.png from this walk.
UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
COVER = files("orchestrator").joinpath("data/demo-cover.jpg").read_bytes()
TITLE = "区政务服务中心推出周末延时服务"
UPWARD = ("xuexi", "lvse_qingpu")
OWN = tuple(c for c in ALL_CHANNELS if c not in UPWARD)


@pytest.fixture
def walk(stack: Stack) -> Live:
    """The `live` stack, asking platforms for an article's result after 1 s instead of 30."""
    stack.env["SANSHEN_CONFIRM_FIRST_CHECK"] = "1"
    stack.start("worker")
    stack.start("scheduler")
    stack.procs.env = stack.env
    return Live(stack, start_api(stack.procs))


def shot(page: Page, name: str) -> None:
    if not UPDATE_SCREENSHOTS:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))


def switch_to(page: Page, live: Live, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, live.url, username, PASSWORDS[username])


def write_item(page: Page, live: Live, tmp_path: Path) -> int:
    (tmp_path / "hall.png").write_bytes(tiny_png(16, 12, (30, 90, 160)))
    (tmp_path / "cover.jpg").write_bytes(COVER)
    page.goto(f"{live.url}/submissions/new")
    page.fill("input[name=title]", TITLE)
    page.fill(
        "textarea[name=body]",
        "<p>自下月起，区政务服务中心每周六上午9时至12时提供延时服务，"
        "企业群众可办理社保、医保、户籍等高频事项。</p>"
        '<p><img src="hall.png" alt="服务大厅"></p>',
    )
    page.fill("input[name=digest]", "周六上午延时服务")
    page.fill("input[name=byline]", "数据管理发展科")
    page.set_input_files("input[name=images]", str(tmp_path / "hall.png"))
    page.set_input_files("input[name=cover]", str(tmp_path / "cover.jpg"))
    page.check("input[name=major_event]")
    today = page.locator("input[name=publish_date]").nth(0).input_value()
    for row, channel in enumerate(ALL_CHANNELS):
        page.locator("select[name=channel]").nth(row).select_option(channel)
        page.locator("input[name=publish_date]").nth(row).fill(today)
    page.locator("input[name=title]").focus()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "submission-new.png")
    page.click("form.subform button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("已提交，等待初审")
    written = page.locator("#waiting tr", has_text=TITLE)
    return int(written.get_attribute("data-submission") or 0)


def sign_stage(page: Page, live: Live, who: str, sub_id: int, stage: str, next_note: str) -> None:
    """`who` finds the item in 我的待办 and signs `stage` with their password."""
    switch_to(page, live, who)
    row = page.locator(f'#waiting tr[data-submission="{sub_id}"]')
    expect(row).to_contain_text(stage)
    if who == "head":
        shot(page, "todo.png")
    row.locator("a.button").click()
    expect(page.locator("#decide h2")).to_have_text(stage)
    page.fill("textarea[name=comment]", "同意")
    page.fill("input[name=password]", PASSWORDS[who])
    if who == "head":
        shot(page, "review.png")
    page.click("#decide button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text(f"已记录{stage}通过{next_note}")


def test_an_item_walks_from_the_form_to_every_channel(
    walk: Live, page: Page, tmp_path: Path
) -> None:
    live, stack = walk, walk.stack
    sign_in(page, live.url, "author", PASSWORDS["author"])
    sub_id = write_item(page, live, tmp_path)

    sign_stage(page, live, "author", sub_id, "初审", "，下一步：复审")
    sign_stage(page, live, "head", sub_id, "复审", "，下一步：终审")
    sign_stage(page, live, "leader", sub_id, "终审", "，下一步：主要领导审定")
    sign_stage(page, live, "chief", sub_id, "主要领导审定", "，下一步：稿件用途")
    sign_stage(page, live, "zhk", sub_id, "稿件用途", "，下一步：签发")  # 综合科 keeps the rows
    sign_stage(page, live, "publicity", sub_id, "签发", "。审核闸门通过")
    expect(page).to_have_url(f"{live.url}/items/{sub_id}")

    # Upward first: 学习强国 and 绿色青浦 adopt; the own platforms wait, then make way for the
    # one repost that the first adoption drafts.
    stack.wait_for(lambda: stack.settled(sub_id), timeout=90, what="every channel settled")
    states = stack.states(sub_id)
    assert {c: states[c] for c in UPWARD} == dict.fromkeys(UPWARD, State.PUBLISHED.value)
    assert {c: states[c] for c in OWN} == dict.fromkeys(OWN, State.CANCELLED.value)
    page.reload()
    for channel in OWN:
        card = page.locator(f'.publication[data-channel="{channel}"]')
        expect(card).to_contain_text("上级平台已采用，改由转载稿")

    switch_to(page, live, "zhk")
    page.goto(f"{live.url}/upward")
    sources = page.locator("#reposts .source")
    expect(sources).to_have_count(1)  # one repost, whichever platform adopted first
    statuses = page.locator("#upward-queue .upward-status")
    expect(statuses.filter(has_text="已采用")).to_have_count(len(UPWARD))
    expect(statuses.filter(has_text="已转载")).to_have_count(1)
    expect(statuses.filter(has_text="本次只登记")).to_have_count(1)
    repost_id = int(
        page.locator("#reposts tr[data-submission]").get_attribute("data-submission") or 0
    )
    shot(page, "upward.png")

    # The repost is the signed item with its source: it waits for the 签发 alone (the seed),
    # nobody else has it in 我的待办; then it goes out once on each own platform.
    switch_to(page, live, "author")
    expect(page.locator(f'#waiting tr[data-submission="{repost_id}"]')).to_have_count(0)
    switch_to(page, live, "publicity")
    page.goto(f"{live.url}/items/{repost_id}")
    expect(page.locator("#carried")).to_contain_text(f"转载本单位稿件 稿件 {sub_id}")
    expect(page.locator("#carried")).to_contain_text("只需宣传分管领导签发")
    sign_stage(page, live, "publicity", repost_id, "签发", "。审核闸门通过")
    stack.wait_for(lambda: stack.settled(repost_id), timeout=90, what="the repost published")
    assert stack.states(repost_id) == dict.fromkeys(OWN, State.PUBLISHED.value)
    for channel in OWN:
        assert sum(stack.ledger(channel).values()) == 1, channel
    page.goto(f"{live.url}/board")
    board_row = page.locator(f'tr[data-submission="{repost_id}"]')
    for channel in OWN:
        cell = board_row.locator(f'td[data-channel="{channel}"]')
        expect(cell.locator("[data-state]")).to_have_attribute("data-state", "published")
        expect(cell.locator(".repost-badge")).to_have_text("转载")
